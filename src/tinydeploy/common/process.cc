#include "tinydeploy/common/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "tinydeploy/common/error.h"

extern char** environ;

namespace tinydeploy {

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file, Capture capture) {
  if (argv.empty()) throw Error("internal error: no program to run");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const int log_flags = O_WRONLY | O_CREAT | O_TRUNC;
  switch (capture) {
    case Capture::Stdout:
      posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), log_flags, 0644);
      posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
      break;
    case Capture::Stderr:
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 2, log_file.c_str(), log_flags, 0644);
      break;
    case Capture::Both:
      posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), log_flags, 0644);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
      break;
  }
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw Error("cannot start '{}': {}", argv[0], std::strerror(spawned));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("lost the '{}' process", argv[0]);
  }
  std::ifstream in(log_file, std::ios::binary);
  ProcessResult result;
  result.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace tinydeploy
