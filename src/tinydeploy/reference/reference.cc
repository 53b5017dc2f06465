#include "tinydeploy/reference/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "tinydeploy/common/embedded_files.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"

namespace tinydeploy::reference {
namespace {

namespace fs = std::filesystem;

const char* interpreter_name(Interpreter interpreter) {
  return interpreter == Interpreter::TFLM ? "tflm" : "litert";
}

// The runner: $TINYDEPLOY_REFERENCE_RUNNER, else the copy embedded in this binary, written next
// to the run's files (so an installed tinydeploy needs no source checkout).
fs::path runner_script(const fs::path& work_dir) {
  if (const char* override_path = std::getenv("TINYDEPLOY_REFERENCE_RUNNER")) {
    if (!fs::exists(override_path)) {
      throw Error("TINYDEPLOY_REFERENCE_RUNNER names a missing file ({})", override_path);
    }
    return override_path;
  }
  const fs::path script = work_dir / "reference_runner.py";
  std::ofstream out(script, std::ios::binary);
  const std::string_view text = embedded_file("tools/reference/reference_runner.py");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) throw Error("cannot write {}", script.string());
  return script;
}

// Runs the runner with `arguments`; its one "error:" line becomes the message of a failure.
void run_runner(Interpreter interpreter, const std::vector<std::string>& arguments,
                const fs::path& work_dir) {
  const std::optional<std::chrono::milliseconds> timeout = reference_timeout();
  fs::create_directories(work_dir);
  const char* python = std::getenv("TINYDEPLOY_PYTHON");
  std::vector<std::string> argv = {python != nullptr ? python : TINYDEPLOY_DEFAULT_PYTHON,
                                   runner_script(work_dir).string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  ProcessResult result;
  try {
    result = run_process(argv, work_dir / "stderr.txt", Capture::Stderr, timeout);
  } catch (const ProcessTimeout&) {
    throw Error(
        "PC reference ({}) did not finish within {:g} s and was stopped; set "
        "TINYDEPLOY_REFERENCE_TIMEOUT (seconds, 0 for no limit) to allow longer",
        interpreter_name(interpreter), static_cast<double>(timeout->count()) / 1000.0);
  }
  if (result.exit_code != 0) {
    std::string last = result.output;
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    const size_t newline = last.rfind('\n');
    if (newline != std::string::npos) last = last.substr(newline + 1);
    if (last.rfind("error: ", 0) == 0) last = last.substr(7);
    throw Error("PC reference ({}) failed: {}", interpreter_name(interpreter),
                last.empty() ? "exit code " + std::to_string(result.exit_code) : last);
  }
}

// The outputs (and intermediates) a run's manifest.json in `dir` lists.
ReferenceRun read_manifest(const fs::path& dir) {
  ReferenceRun run;
  try {
    std::ifstream manifest_file(dir / "manifest.json");
    if (!manifest_file) throw Error("the PC reference wrote no manifest in {}", dir.string());
    const nlohmann::json manifest = nlohmann::json::parse(manifest_file);
    for (const auto& name : manifest.at("outputs")) {
      run.outputs.push_back(dir / name.get<std::string>());
    }
    for (const auto& entry : manifest.at("intermediates")) {
      run.intermediates[entry.at("tensor").get<int32_t>()] =
          dir / entry.at("file").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("the PC reference wrote an unreadable manifest in {}: {}", dir.string(), e.what());
  }
  return run;
}

}  // namespace

std::optional<std::chrono::milliseconds> reference_timeout() {
  const char* setting = std::getenv("TINYDEPLOY_REFERENCE_TIMEOUT");
  if (setting == nullptr || *setting == '\0') return kDefaultReferenceTimeout;
  const std::string_view text(setting);
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || !(seconds >= 0) ||
      seconds > 1e6) {
    throw Error(
        "TINYDEPLOY_REFERENCE_TIMEOUT='{}' is not a number of seconds from 0 (no limit) to "
        "1000000",
        text);
  }
  if (seconds == 0) return std::nullopt;
  return std::chrono::milliseconds(std::max<int64_t>(1, std::llround(seconds * 1000)));
}

ReferenceRun run_reference(const fs::path& model, Interpreter interpreter,
                           const std::vector<fs::path>& inputs, const fs::path& work_dir,
                           bool intermediates) {
  std::vector<std::string> arguments = {model.string(), "--engine", interpreter_name(interpreter),
                                        "--output-dir", work_dir.string()};
  for (const auto& input : inputs) {
    arguments.push_back("--input");
    arguments.push_back(input.string());
  }
  if (intermediates) arguments.push_back("--intermediates");
  run_runner(interpreter, arguments, work_dir);
  return read_manifest(work_dir);
}

std::vector<ReferenceRun> run_reference_batch(const fs::path& model, Interpreter interpreter,
                                              const std::vector<std::vector<fs::path>>& runs,
                                              const fs::path& work_dir, bool intermediates) {
  for (size_t r = 0; r < runs.size(); ++r) {
    const fs::path dir = work_dir / fmt::format("run_{}", r);
    fs::create_directories(dir);
    for (size_t i = 0; i < runs[r].size(); ++i) {
      fs::copy_file(runs[r][i], dir / fmt::format("input_{}.npy", i),
                    fs::copy_options::overwrite_existing);
    }
  }
  std::vector<std::string> arguments = {model.string(), "--engine", interpreter_name(interpreter),
                                        "--batch", work_dir.string()};
  if (intermediates) arguments.push_back("--intermediates");
  run_runner(interpreter, arguments, work_dir);
  std::vector<ReferenceRun> out;
  for (size_t r = 0; r < runs.size(); ++r) {
    out.push_back(read_manifest(work_dir / fmt::format("run_{}", r)));
  }
  return out;
}

}  // namespace tinydeploy::reference
