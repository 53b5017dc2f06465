// The PC reference (TensorFlow Lite's reference kernels, or TFLite Micro), run as the Python
// subprocess tools/reference/reference_runner.py.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tinydeploy::reference {

// Which interpreter computes the reference: TFLite with its reference kernels, or TFLite Micro.
enum class Interpreter { LiteRT, TFLM };

struct ReferenceRun {
  std::vector<std::filesystem::path> outputs;  // output_<i>.npy, in model output order
  // tensor index -> .npy of that tensor, when intermediates were requested
  std::map<int32_t, std::filesystem::path> intermediates;
};

// How long the reference may run before it is stopped, unless $TINYDEPLOY_REFERENCE_TIMEOUT
// (seconds; 0 for no limit) says otherwise.
constexpr std::chrono::milliseconds kDefaultReferenceTimeout{600'000};

// The limit in effect: $TINYDEPLOY_REFERENCE_TIMEOUT or the default; nullopt for none. Throws
// tinydeploy::Error when the variable is not a number of seconds.
std::optional<std::chrono::milliseconds> reference_timeout();

// Runs the reference on `inputs` (.npy files), writing into `work_dir`. The runner script is
// $TINYDEPLOY_REFERENCE_RUNNER, else the copy embedded in this binary (written into `work_dir`);
// the interpreter is $TINYDEPLOY_PYTHON or the one configured at build time (the project's
// .venv). Throws tinydeploy::Error with the runner's message (e.g. which package to
// install) when it fails, and when it runs longer than reference_timeout().
ReferenceRun run_reference(const std::filesystem::path& model, Interpreter interpreter,
                           const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& work_dir, bool intermediates);

// Runs the reference once per input set on one interpreter (one subprocess): `runs[r]` holds the
// .npy input files of run r. The interpreter is not reset between runs, so a model's state
// (variable tensors, resource variables) carries from one run to the next, as consecutive
// invokes. Returns one ReferenceRun per input set, in order.
std::vector<ReferenceRun> run_reference_batch(
    const std::filesystem::path& model, Interpreter interpreter,
    const std::vector<std::vector<std::filesystem::path>>& runs,
    const std::filesystem::path& work_dir, bool intermediates = false);

}  // namespace tinydeploy::reference
