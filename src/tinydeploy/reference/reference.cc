#include "tinydeploy/reference/reference.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"

namespace tinydeploy::reference {
namespace {

std::filesystem::path runner_script() {
  if (const char* override_path = std::getenv("TINYDEPLOY_REFERENCE_RUNNER")) return override_path;
  return std::filesystem::path(TINYDEPLOY_SOURCE_DIR) / "tools" / "reference" /
         "reference_runner.py";
}

const char* engine_name(Engine engine) { return engine == Engine::TFLM ? "tflm" : "litert"; }

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

ReferenceRun run_reference(const std::filesystem::path& model, Engine engine,
                           const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& work_dir, bool intermediates) {
  const std::optional<std::chrono::milliseconds> timeout = reference_timeout();
  const char* python = std::getenv("TINYDEPLOY_PYTHON");
  const std::filesystem::path script = runner_script();
  if (!std::filesystem::exists(script)) {
    throw Error("the PC reference runner is missing ({}); set TINYDEPLOY_REFERENCE_RUNNER",
                script.string());
  }
  std::filesystem::create_directories(work_dir);
  std::vector<std::string> argv = {python != nullptr ? python : TINYDEPLOY_DEFAULT_PYTHON,
                                   script.string(),
                                   model.string(),
                                   "--engine",
                                   engine_name(engine),
                                   "--output-dir",
                                   work_dir.string()};
  for (const auto& input : inputs) {
    argv.push_back("--input");
    argv.push_back(input.string());
  }
  if (intermediates) argv.push_back("--intermediates");
  ProcessResult result;
  try {
    result = run_process(argv, work_dir / "stderr.txt", Capture::Stderr, timeout);
  } catch (const ProcessTimeout&) {
    throw Error(
        "PC reference ({}) did not finish within {:g} s and was stopped; set "
        "TINYDEPLOY_REFERENCE_TIMEOUT (seconds, 0 for no limit) to allow longer",
        engine_name(engine), static_cast<double>(timeout->count()) / 1000.0);
  }
  const int code = result.exit_code;
  const std::string& message = result.output;
  if (code != 0) {
    // The runner prints one "error: ..." line; pass on its last line.
    std::string last = message;
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    const size_t newline = last.rfind('\n');
    if (newline != std::string::npos) last = last.substr(newline + 1);
    if (last.rfind("error: ", 0) == 0) last = last.substr(7);
    throw Error("PC reference ({}) failed: {}", engine_name(engine),
                last.empty() ? "exit code " + std::to_string(code) : last);
  }
  std::ifstream manifest_file(work_dir / "manifest.json");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_file);
  } catch (const nlohmann::json::exception& e) {
    throw Error("PC reference wrote an unreadable manifest: {}", e.what());
  }
  ReferenceRun run;
  for (const auto& name : manifest.at("outputs")) {
    run.outputs.push_back(work_dir / name.get<std::string>());
  }
  for (const auto& entry : manifest.at("intermediates")) {
    run.intermediates[entry.at("tensor").get<int32_t>()] =
        work_dir / entry.at("file").get<std::string>();
  }
  return run;
}

}  // namespace tinydeploy::reference
