#include "tinydeploy/build/cmake.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"

namespace tinydeploy::build {
namespace {

namespace fs = std::filesystem;

void run_step(const std::vector<std::string>& argv, const fs::path& log, std::string_view what) {
  const ProcessResult result = run_process(argv, log, Capture::Both);
  if (result.exit_code != 0) {
    throw Error("{} failed (exit code {}); the sources and the full log are kept in {}:\n{}", what,
                result.exit_code, log.parent_path().string(), diagnostics(result.output));
  }
}

}  // namespace

std::string last_lines(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; n <= lines && at > 0; ++n) {
    const size_t found = text.rfind('\n', at - 1);
    if (found == std::string::npos) return text;
    at = found;
  }
  return text.substr(at + 1);
}

bool on_path(std::string_view program) {
  if (program.find('/') != std::string_view::npos) {
    return access(std::string(program).c_str(), X_OK) == 0;
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path directory = dir.empty() ? fs::current_path() : fs::path(dir);
    if (access((directory / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

void require_program(std::string_view program, std::string_view packages) {
  if (!on_path(program)) {
    throw Error(
        "'{}' is not installed: install {} (e.g. apt-get install {}), or run "
        "scripts/setup.sh",
        program, packages, packages);
  }
}

void require_build_tools(bool cross) {
  require_program("cmake", "cmake");
  if (cross) {
    require_program("arm-none-eabi-gcc",
                    "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib");
    require_program("arm-none-eabi-g++", "libstdc++-arm-none-eabi-newlib");
  } else {
    require_program("c++", "build-essential");
  }
}

std::string diagnostics(const std::string& log) {
  std::istringstream lines(log);
  std::string line;
  std::string found;
  int context = 0;
  int shown = 0;
  while (std::getline(lines, line) && shown < 60) {
    const bool diagnostic =
        line.find("error") != std::string::npos || line.find("warning:") != std::string::npos;
    if (diagnostic) context = 3;
    if (context > 0) {
      found += line + "\n";
      --context;
      ++shown;
    }
  }
  return found.empty() ? last_lines(log, 40) : found;
}

void cmake_build(const fs::path& source, const fs::path& build_dir,
                 const std::vector<std::string>& definitions, std::string_view target,
                 const fs::path& log_dir, std::string_view what) {
  std::vector<std::string> configure = {"cmake", "-S", source.string(), "-B", build_dir.string()};
  if (on_path("ninja")) configure.insert(configure.end(), {"-G", "Ninja"});
  for (const std::string& d : definitions) configure.push_back(fmt::format("-D{}", d));
  run_step(configure, log_dir / "configure.log", fmt::format("configuring {} (cmake)", what));
  std::vector<std::string> build = {"cmake", "--build", build_dir.string()};
  if (!target.empty()) build.insert(build.end(), {"--target", std::string(target)});
  run_step(build, log_dir / "build.log", fmt::format("building {}", what));
}

}  // namespace tinydeploy::build
