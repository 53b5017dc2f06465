// What tinydeploy undoes when it is interrupted (SIGINT, SIGTERM, SIGHUP): the child process
// group it is waiting for is stopped, the temporary directories it created are removed, and the
// tool exits with 128 + the signal number after one line on stderr.
//
// The signals are blocked in every thread and taken by one dedicated thread (sigwait), which
// does the cleanup as ordinary code. It first takes the cleanup lock (so no temporary directory
// is half created, half committed or half removed), then parks the main thread in a signal
// handler (so nothing writes into a directory while it is removed), and only then stops the
// child and removes what is registered. The removal allocates no memory and only removes a
// directory that still is the one tinydeploy created (same device and inode).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "tinydeploy/common/remove_tree.h"

namespace tinydeploy::interrupt {

// Call first in main(), before any other thread exists. Signals that are ignored when the tool
// starts (nohup, background jobs of a shell) stay ignored. Without this call (unit tests) the
// signals keep their default action and nothing is cleaned up on them.
void handle_interrupt_signals();

// Held while a temporary directory is created, committed or removed, and while what is
// registered changes: the cleanup never sees a step half done. Recursive.
std::unique_lock<std::recursive_mutex> lock();

// A directory to remove on interruption: `name` in the directory `parent` (absolute), while it
// is still `identity`. Returns the registration's id. Call with lock() held.
uint64_t register_directory(std::string parent, std::string name, DirectoryIdentity identity);
void unregister_directory(uint64_t id);

// The child process (leader of its own process group) being waited for; 0 when there is none.
// Call with lock() held.
void set_running_child(pid_t pid);

// Children that run beside the tool for a while (a target program, an emulator), each leader of
// its own process group: stopped on interruption too. Call with lock() held.
void add_background_child(pid_t pid);
void remove_background_child(pid_t pid);

}  // namespace tinydeploy::interrupt
