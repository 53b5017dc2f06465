#include "tinydeploy/common/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "tinydeploy/common/process.h"

namespace tinydeploy::interrupt {
namespace {

struct Registered {
  uint64_t id = 0;
  std::string parent;
  std::string name;
  DirectoryIdentity identity;
};

struct Registry {
  std::recursive_mutex mutex;
  std::vector<Registered> directories;
  uint64_t next_id = 1;
  pid_t child = 0;
  std::vector<pid_t> background;
};

// Never destroyed: the signal thread may use it while the program exits.
Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

pthread_t main_thread;
std::atomic<bool> park_requested{false};
std::atomic<bool> parked{false};

// The handler that parks the main thread during the cleanup. Lock-free atomics and pause() only.
extern "C" void park_handler(int) {
  if (!park_requested.load()) return;  // not sent by the cleanup: ignore
  parked.store(true);
  for (;;) pause();
}

int park_signal() { return SIGRTMIN; }

void sleep_milliseconds(long ms) {
  struct timespec duration {};
  duration.tv_sec = ms / 1000;
  duration.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&duration, nullptr);
}

void write_text(const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t written = write(STDERR_FILENO, text, left);
    if (written <= 0) return;
    text += written;
    left -= static_cast<size_t>(written);
  }
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

[[noreturn]] void clean_up_and_exit(int signal) {
  Registry& r = registry();
  r.mutex.lock();  // never released: the process ends here
  park_requested.store(true);
  if (!pthread_equal(main_thread, pthread_self()) &&
      pthread_kill(main_thread, park_signal()) == 0) {
    for (int waited = 0; waited < 2000 && !parked.load(); ++waited) sleep_milliseconds(1);
  }
  if (r.child > 0) stop_process_group(r.child);
  for (const pid_t pid : r.background) stop_process_group(pid);
  bool all_removed = true;
  for (const Registered& d : r.directories) {
    if (remove_tree(d.parent.c_str(), d.name.c_str(), d.identity) != 0) {
      if (all_removed) {
        write_text("error: interrupted by ");
        write_text(signal_name(signal));
        write_text("; could not remove");
      }
      write_text(" ");
      write_text(d.parent.c_str());
      write_text("/");
      write_text(d.name.c_str());
      all_removed = false;
    }
  }
  if (all_removed) {
    write_text("error: interrupted by ");
    write_text(signal_name(signal));
    write_text("; temporary files removed\n");
  } else {
    write_text("\n");
  }
  _exit(128 + signal);
}

}  // namespace

void handle_interrupt_signals() {
  registry();
  main_thread = pthread_self();
  sigset_t wanted;
  sigemptyset(&wanted);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (sigaction(signal, nullptr, &current) == 0 && current.sa_handler != SIG_IGN) {
      sigaddset(&wanted, signal);
    }
  }
  struct sigaction park {};
  park.sa_handler = park_handler;
  park.sa_flags = SA_RESTART;
  sigemptyset(&park.sa_mask);
  sigaction(park_signal(), &park, nullptr);
  if (sigisemptyset(&wanted) != 0) return;
  pthread_sigmask(SIG_BLOCK, &wanted, nullptr);
  std::thread([wanted] {
    int signal = 0;
    while (sigwait(&wanted, &signal) != 0) {
    }
    clean_up_and_exit(signal);
  }).detach();
}

std::unique_lock<std::recursive_mutex> lock() {
  return std::unique_lock<std::recursive_mutex>(registry().mutex);
}

uint64_t register_directory(std::string parent, std::string name, DirectoryIdentity identity) {
  Registry& r = registry();
  const uint64_t id = r.next_id++;
  r.directories.push_back({id, std::move(parent), std::move(name), identity});
  return id;
}

void unregister_directory(uint64_t id) {
  auto& directories = registry().directories;
  std::erase_if(directories, [id](const Registered& d) { return d.id == id; });
}

void set_running_child(pid_t pid) { registry().child = pid; }

void add_background_child(pid_t pid) { registry().background.push_back(pid); }

void remove_background_child(pid_t pid) { std::erase(registry().background, pid); }

}  // namespace tinydeploy::interrupt
