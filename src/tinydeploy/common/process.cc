#include "tinydeploy/common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "tinydeploy/common/interrupt.h"

extern char** environ;

namespace tinydeploy {
namespace {

void sleep_milliseconds(long ms) {
  struct timespec duration {};
  duration.tv_sec = ms / 1000;
  duration.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&duration, nullptr);
}

// Reaps `pid` if it has ended. Async-signal-safe.
bool reaped(pid_t pid, int& status) {
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  return done == pid || done < 0;  // ended, or not a child to wait for
}

// Whether `pid` has ended, without reaping it. Async-signal-safe.
bool has_ended(pid_t pid) {
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | WNOHANG) < 0) {
    if (errno != EINTR) return true;  // not our child (any more): nothing to wait for
  }
  return info.si_pid == pid;
}

// Blocks until `pid` has ended, without reaping it.
void wait_until_ended(pid_t pid) {
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0) {
    if (errno != EINTR) return;
  }
}

std::string seconds_text(std::chrono::milliseconds duration) {
  return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

}  // namespace

int stop_process_group(pid_t leader) {
  int status = 0;
  bool leader_reaped = false;
  kill(-leader, SIGTERM);
  // Until the whole group has ended (kill(-group, 0) fails once no member is left), so that
  // compilers and the like have removed their own temporary files.
  for (int waited = 0; waited < 200; ++waited) {
    if (!leader_reaped) leader_reaped = reaped(leader, status);
    if (leader_reaped && kill(-leader, 0) != 0) return status;
    sleep_milliseconds(10);
  }
  // While a member is left the group id cannot be reused, so this reaches only the group.
  kill(-leader, SIGKILL);
  while (!leader_reaped && waitpid(leader, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file, Capture capture,
                          std::optional<std::chrono::milliseconds> timeout) {
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
  // Its own process group, so that a timeout or an interruption stops everything it started;
  // and no blocked signals, which the child would otherwise inherit from the tool.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int spawned = 0;
  {
    // Started and registered in one step: an interruption sees either no child or this one.
    const auto hold = interrupt::lock();
    spawned = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    if (spawned == 0) interrupt::set_running_child(pid);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    throw Error("cannot start '{}': {}", argv[0], std::strerror(spawned));
  }

  bool timed_out = false;
  if (timeout) {
    const auto deadline = std::chrono::steady_clock::now() + *timeout;
    long pause_ms = 1;
    while (!has_ended(pid) && !timed_out) {
      timed_out = std::chrono::steady_clock::now() >= deadline;
      if (!timed_out) sleep_milliseconds(pause_ms);
      pause_ms = std::min(pause_ms * 2, 50L);
    }
  }
  int status = 0;
  if (timed_out) {
    // Under the lock: an interruption meanwhile waits, then finds no child left to stop.
    const auto hold = interrupt::lock();
    status = stop_process_group(pid);
    interrupt::set_running_child(0);
  } else {
    wait_until_ended(pid);
    const auto hold = interrupt::lock();
    interrupt::set_running_child(0);
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) throw Error("lost the '{}' process", argv[0]);
    }
  }
  if (timed_out) {
    throw ProcessTimeout("'{}' did not finish within {} and was stopped", argv[0],
                         seconds_text(*timeout));
  }
  std::ifstream in(log_file, std::ios::binary);
  ProcessResult result;
  result.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace tinydeploy
