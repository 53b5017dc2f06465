// Running a tool (python, cmake, nm) as a child process, without a shell.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tinydeploy/common/error.h"

namespace tinydeploy {

struct ProcessResult {
  int exit_code = 0;   // 128 + signal number when the process was killed
  std::string output;  // what it wrote to the captured streams
};

enum class Capture { Stdout, Stderr, Both };

// Thrown by run_process when the child ran out of time (it and its process group are stopped).
class ProcessTimeout : public Error {
 public:
  using Error::Error;
};

// Runs `argv` (argv[0] looked up in PATH) in a process group of its own and waits for it. The
// captured streams go through `log_file`, which is kept; the others are discarded. Throws
// tinydeploy::Error when the program cannot be started, and ProcessTimeout when `timeout` is
// given and the program has not finished within it. On SIGINT/SIGTERM the interrupt cleanup
// (interrupt.h) stops the child's process group.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file, Capture capture,
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// Stops the process group led by `leader`, a child of this process: SIGTERM to the group, then
// SIGKILL to whatever of it is left after two seconds. Reaps the leader and returns its wait
// status. Async-signal-safe.
int stop_process_group(pid_t leader);

}  // namespace tinydeploy
