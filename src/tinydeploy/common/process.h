// Running a tool (python, cmake, nm) as a child process, without a shell.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tinydeploy {

struct ProcessResult {
  int exit_code = 0;   // 128 + signal number when the process was killed
  std::string output;  // what it wrote to the captured streams
};

enum class Capture { Stdout, Stderr, Both };

// Runs `argv` (argv[0] looked up in PATH) and waits for it. The
// captured streams go through `log_file`, which is kept; the others are discarded. Throws
// tinydeploy::Error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file, Capture capture);

}  // namespace tinydeploy
