// The generated deployment package: ahead-of-time C++ for one model (its constant data, the
// arena, the straight sequence of runtime kernel calls), a C API header, a CMake project that
// builds libNAME.a from the package and the runtime kernels it uses, and an example application.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/board/core.h"
#include "tinydeploy/lowering/kernel_call.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::codegen {

// Consecutive inferences computed on the PC (state carried), embedded in the example: raw
// little-endian bytes of every model input and output, in model order, invoke after invoke
// (invokes x inputs entries in `inputs`, invokes x outputs in `outputs`).
struct ExampleData {
  uint64_t seed = 0;
  size_t invokes = 1;
  std::vector<std::vector<uint8_t>> inputs;
  std::vector<std::vector<uint8_t>> outputs;
};

struct PackageOptions {
  std::string name;  // a C identifier; prefixes every file and API symbol
  board::Core core = board::Core::Host;
};

struct GeneratedFile {
  std::string path;  // relative to the package root
  std::string content;
};

struct Package {
  std::string name;
  std::vector<GeneratedFile> files;
  std::vector<std::string> kernel_sources;  // runtime kernel files compiled into the library
  int64_t arena_bytes = 0;
  int64_t weight_bytes = 0;    // constant tensor data the calls use
  int64_t variable_bytes = 0;  // resource variables and variable tensors (kept across calls)
};

// Writes `files` under `root`, creating directories as needed; throws tinydeploy::Error naming
// the file that cannot be written.
void write_files(const std::vector<GeneratedFile>& files, const std::filesystem::path& root);

// The package name derived from a model path: its stem as a C identifier.
std::string default_package_name(const std::filesystem::path& model);

// Throws tinydeploy::Error unless `name` is a usable C identifier.
void check_package_name(std::string_view name);

// Generates every file of the package. `calls` are the model's lowered operators; `example` the
// PC's inference on the embedded example input. Deterministic: the same arguments give the same
// bytes. Throws tinydeploy::Error for a model the generator cannot express.
Package generate_package(const model::Model& model, const analysis::ModelAnalysis& analysis,
                         const std::vector<lowering::KernelCall>& calls, const ExampleData& example,
                         const PackageOptions& options);

}  // namespace tinydeploy::codegen
