// Removing a directory tree that tinydeploy created or was told to replace: only while its name
// still refers to that very directory, never following a symbolic link, and without allocating
// memory, so that the interrupt cleanup can use it whatever the rest of the program is doing.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

namespace tinydeploy {

// A directory's identity: its device and inode, as lstat reports them.
struct DirectoryIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const DirectoryIdentity&) const = default;
};

DirectoryIdentity identity_of(const struct stat& status);

// Removes the directory `name` in the directory open as `parent_fd`, with everything under it,
// if `name` is still the directory `identity`. Links inside are removed, never followed.
// Returns 0 (also when `name` no longer exists), ESTALE when `name` is something else now, or
// the errno of the first failure (the rest is left in place).
int remove_tree_at(int parent_fd, const char* name, DirectoryIdentity identity);

// The same with the parent directory given as a path.
int remove_tree(const char* parent, const char* name, DirectoryIdentity identity);

}  // namespace tinydeploy
