// Building generated CMake projects (packages, firmware images) with the tools of this machine,
// and the checks that name the Debian package to install when one is missing.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tinydeploy::build {

// True when `program` is an executable found in PATH.
bool on_path(std::string_view program);

// Throws tinydeploy::Error naming the Debian package(s) to install when `program` is missing.
void require_program(std::string_view program, std::string_view packages);

// Throws unless cmake, and for a cross build the arm-none-eabi toolchain with its C and C++
// libraries, are installed.
void require_build_tools(bool cross);

// Configures `source` into `build_dir` (Ninja when installed) with the -D `definitions`, then
// builds `target` (empty: all). Logs go to `log_dir`/configure.log and build.log. A failure throws
// tinydeploy::Error ("building `what` failed ...") with the compiler's diagnostics; the caller
// decides what to keep.
void cmake_build(const std::filesystem::path& source, const std::filesystem::path& build_dir,
                 const std::vector<std::string>& definitions, std::string_view target,
                 const std::filesystem::path& log_dir, std::string_view what);

// The last `lines` lines of `text` (of a log: where the message is).
std::string last_lines(const std::string& text, size_t lines);

// The compiler's diagnostics in a build log (error and warning lines with the source lines and
// carets after them), or else the log's last lines.
std::string diagnostics(const std::string& log);

}  // namespace tinydeploy::build
