// `tinydeploy validate`: runs the model on a target (host process, emulated board, or a real
// board on a serial line) and on the PC reference with the same inputs, compares every output,
// and on a mismatch (or on request) names the first layer where the target diverges.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tinydeploy/board/board.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {

struct ValidateOptions {
  std::filesystem::path model;
  std::string target = "host";
  uint32_t runs = 10;
  uint64_t seed = 0;
  std::optional<std::filesystem::path> inputs;   // .npz with every model input
  std::optional<std::filesystem::path> package;  // validate this generated package instead
  std::string reference = "tflm";                // tflm or litert
  uint32_t tolerance = 0;                        // LSB allowed on integer outputs
  bool trace = false;                            // compare every layer even when the outputs match
  double timeout_seconds = 60;                   // for one inference on the target
  bool quiet = false;
};

// Exit status: 0 PASS, kValidateFail when the target disagrees with the reference.
constexpr int kValidateFail = 1;

int run_validate(const ValidateOptions& options, std::ostream& out);

struct ValidationOutcome {
  report::ValidationMeta meta;
  std::string text;  // the table, the timing, the first divergence and PASS/FAIL, as printed
};

// Validates on the target as `run_validate` does, without printing the result. `package` (if
// given) is the generated package to build the validator from, else options.package or a
// package generated from options.model.
ValidationOutcome validate_on_target(const ValidateOptions& options,
                                     const codegen::Package* package, const Progress& progress);

// The package the validator of `board` runs: the one generated from `model` for the board's core,
// or the one in `package_dir` (written by `generate`, possibly edited).
codegen::Package validator_package(const std::filesystem::path& model,
                                   const std::optional<std::filesystem::path>& package_dir,
                                   const board::Board& board);
// The validator firmware's source tree for `board`, around validator_package.
std::vector<codegen::GeneratedFile> validator_firmware_tree(
    const std::filesystem::path& model, const std::optional<std::filesystem::path>& package_dir,
    const board::Board& board);

}  // namespace tinydeploy::cli
