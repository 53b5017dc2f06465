// `tinydeploy generate` (the C++ deployment package) and `tinydeploy library` (the package built
// into a static library with its header, example and memory report).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "tinydeploy/codegen/package.h"

namespace tinydeploy::cli {

struct PackageCommandOptions {
  std::filesystem::path model;
  std::string target = "host";  // host, cortex-m4, cortex-m55
  std::filesystem::path output_dir;
  std::optional<std::string> name;  // default: the model file's stem
  uint64_t example_seed = 0;        // seed of the example's random inputs (as `run --random`)
  bool quiet = false;               // no progress lines
  bool force = false;               // -o may replace an existing directory tinydeploy did not write
};

// The package `generate` writes: the model read, checked and lowered once, with the example's
// inputs and the outputs the host engine computes for them.
codegen::Package make_package(const PackageCommandOptions& options);

void run_generate(const PackageCommandOptions& options, std::ostream& out);
void run_library(const PackageCommandOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
