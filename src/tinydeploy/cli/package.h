// `tinydeploy generate` (the C++ deployment package) and `tinydeploy library` (the package built
// into a static library with its header, example and memory report).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "tinydeploy/codegen/package.h"
#include "tinydeploy/engine/engine.h"

namespace tinydeploy::cli {

// The largest example (inputs plus expected outputs, raw bytes) generate embeds unless told
// otherwise; each byte becomes about six characters of example/example_data.h.
inline constexpr int64_t kDefaultMaxExampleBytes = int64_t{16} << 20;

struct PackageCommandOptions {
  std::filesystem::path model;
  std::string target = "host";  // host, cortex-m4, cortex-m55
  std::filesystem::path output_dir;
  std::optional<std::string> name;  // default: the model file's stem
  uint64_t example_seed = 0;        // seed of the example's random inputs (as `run --random`)
  bool quiet = false;               // no progress lines
  bool force = false;               // -o may replace an existing directory tinydeploy did not write
  int64_t max_arena_bytes = engine::kDefaultMaxArenaBytes;  // refused before allocating
  int64_t max_example_bytes = kDefaultMaxExampleBytes;      // refused before computing it
};

// The package `generate` writes: the model read, checked and lowered once, with the example's
// inputs and the outputs the host engine computes for them.
codegen::Package make_package(const PackageCommandOptions& options);

void run_generate(const PackageCommandOptions& options, std::ostream& out);
void run_library(const PackageCommandOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
