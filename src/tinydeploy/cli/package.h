// The deployment package as `generate`, `library`, `firmware` and `validate` make it: options,
// generation from a model, writing it, reading back one written earlier.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "tinydeploy/board/board.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::cli {

// The largest example (inputs plus expected outputs, raw bytes) generate embeds unless told
// otherwise; each byte becomes about six characters of example/example_data.h.
inline constexpr int64_t kDefaultMaxExampleBytes = int64_t{16} << 20;

// The example of a model with state runs this many invokes unless told otherwise.
inline constexpr size_t kStatefulExampleInvokes = 4;

struct PackageCommandOptions {
  std::filesystem::path model;
  std::string target = "host";  // a board or core of the registry (board/board.h)
  std::filesystem::path output_dir;
  std::optional<std::string> name;  // default: the model file's stem
  uint64_t example_seed = 0;        // seed of the example's random inputs (as `run --random`)
  // Consecutive invokes the example runs and checks (as `run --invokes`); by default 1, or
  // kStatefulExampleInvokes for a model with state.
  std::optional<size_t> example_invokes;
  bool quiet = false;  // no progress lines
  bool force = false;  // -o may replace an existing directory tinydeploy did not write
  int64_t max_arena_bytes = engine::kDefaultMaxArenaBytes;  // refused before allocating
  int64_t max_example_bytes = kDefaultMaxExampleBytes;      // refused before computing it
};

// A package with what it was made from: the model, its lowering and the example's data.
struct PreparedPackage {
  board::Target target;
  model::Model model;
  lowering::LoweredModel lowered;
  codegen::ExampleData example;
  codegen::Package package;
};

// The package `generate` writes, with the model it was made from (see make_package).
PreparedPackage prepare_package(const PackageCommandOptions& options);

// The package `generate` writes: the model read, checked and lowered once, with the example's
// inputs and the outputs the host engine computes for them.
codegen::Package make_package(const PackageCommandOptions& options);

// A package written earlier by `generate` (maybe edited by hand), read back as its files.
codegen::Package read_package_directory(const std::filesystem::path& dir);

// The -o directory of a package command, for the output policy.
OutputRequest output_request(const PackageCommandOptions& options, std::string command);

}  // namespace tinydeploy::cli
