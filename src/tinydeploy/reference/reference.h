// The PC reference (TensorFlow Lite's reference kernels, or TFLite Micro), run as the Python
// subprocess tools/reference/reference_runner.py.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tinydeploy::reference {

enum class Engine { LiteRT, TFLM };

struct ReferenceRun {
  std::vector<std::filesystem::path> outputs;  // output_<i>.npy, in model output order
  // tensor index -> .npy of that tensor, when intermediates were requested
  std::map<int32_t, std::filesystem::path> intermediates;
};

// Runs the reference on `inputs` (.npy files), writing into `work_dir`. The runner script is
// found through $TINYDEPLOY_REFERENCE_RUNNER, else in the source tree this binary was built
// from; the interpreter is $TINYDEPLOY_PYTHON or the one configured at build time (the
// project's .venv). Throws tinydeploy::Error with the
// runner's message (e.g. which package to install) when it fails.
ReferenceRun run_reference(const std::filesystem::path& model, Engine engine,
                           const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& work_dir, bool intermediates);

// Runs the reference once per input set on one interpreter (one subprocess): `runs[r]` holds the
// .npy input files of run r. Returns one ReferenceRun per input set, in order.
std::vector<ReferenceRun> run_reference_batch(
    const std::filesystem::path& model, Engine engine,
    const std::vector<std::vector<std::filesystem::path>>& runs,
    const std::filesystem::path& work_dir);

}  // namespace tinydeploy::reference
