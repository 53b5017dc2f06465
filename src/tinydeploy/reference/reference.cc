#include "tinydeploy/reference/reference.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"

namespace tinydeploy::reference {
namespace {

std::filesystem::path runner_script() {
  if (const char* override_path = std::getenv("TINYDEPLOY_REFERENCE_RUNNER")) return override_path;
  return std::filesystem::path(TINYDEPLOY_SOURCE_DIR) / "tools" / "reference" /
         "reference_runner.py";
}

}  // namespace

ReferenceRun run_reference(const std::filesystem::path& model, Engine engine,
                           const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& work_dir, bool intermediates) {
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
                                   engine == Engine::TFLM ? "tflm" : "litert",
                                   "--output-dir",
                                   work_dir.string()};
  for (const auto& input : inputs) {
    argv.push_back("--input");
    argv.push_back(input.string());
  }
  if (intermediates) argv.push_back("--intermediates");
  const ProcessResult result = run_process(argv, work_dir / "stderr.txt", Capture::Stderr);
  const int code = result.exit_code;
  const std::string& message = result.output;
  if (code != 0) {
    // The runner prints one "error: ..." line; pass on its last line.
    std::string last = message;
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    const size_t newline = last.rfind('\n');
    if (newline != std::string::npos) last = last.substr(newline + 1);
    if (last.rfind("error: ", 0) == 0) last = last.substr(7);
    throw Error("PC reference ({}) failed: {}", engine == Engine::TFLM ? "tflm" : "litert",
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

std::vector<ReferenceRun> run_reference_batch(
    const std::filesystem::path& model, Engine engine,
    const std::vector<std::vector<std::filesystem::path>>& runs,
    const std::filesystem::path& work_dir) {
  namespace fs = std::filesystem;
  const fs::path script = runner_script();
  if (!fs::exists(script)) {
    throw Error("the PC reference runner is missing ({}); set TINYDEPLOY_REFERENCE_RUNNER",
                script.string());
  }
  for (size_t r = 0; r < runs.size(); ++r) {
    const fs::path dir = work_dir / fmt::format("run_{}", r);
    fs::create_directories(dir);
    for (size_t i = 0; i < runs[r].size(); ++i) {
      fs::copy_file(runs[r][i], dir / fmt::format("input_{}.npy", i),
                    fs::copy_options::overwrite_existing);
    }
  }
  const char* python = std::getenv("TINYDEPLOY_PYTHON");
  const std::string engine_name = engine == Engine::TFLM ? "tflm" : "litert";
  const ProcessResult result =
      run_process({python != nullptr ? python : TINYDEPLOY_DEFAULT_PYTHON, script.string(),
                   model.string(), "--engine", engine_name, "--batch", work_dir.string()},
                  work_dir / "stderr.txt", Capture::Stderr);
  if (result.exit_code != 0) {
    std::string last = result.output;
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    const size_t newline = last.rfind('\n');
    if (newline != std::string::npos) last = last.substr(newline + 1);
    if (last.rfind("error: ", 0) == 0) last = last.substr(7);
    throw Error("PC reference ({}) failed: {}", engine_name,
                last.empty() ? "exit code " + std::to_string(result.exit_code) : last);
  }
  std::vector<ReferenceRun> out;
  for (size_t r = 0; r < runs.size(); ++r) {
    const fs::path dir = work_dir / fmt::format("run_{}", r);
    ReferenceRun run;
    try {
      std::ifstream manifest_file(dir / "manifest.json");
      const nlohmann::json manifest = nlohmann::json::parse(manifest_file);
      for (const auto& name : manifest.at("outputs")) {
        run.outputs.push_back(dir / name.get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error("PC reference wrote an unreadable manifest for run {}: {}", r, e.what());
    }
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace tinydeploy::reference
