#include "tinydeploy/common/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tinydeploy {
namespace {

// Deeper trees are left alone rather than risk the stack (tinydeploy's own trees are shallow).
constexpr int kMaxDepth = 256;

int remove_entry(int dir_fd, const char* name, int depth);

bool is_dot_or_dot_dot(const char* name) {
  return std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
}

// Removes everything inside the open directory `fd`. Entries are read one buffer at a time from
// the start again after each batch, since removing entries may move the others.
int empty_directory(int fd, int depth) {
  alignas(struct dirent64) char buffer[2048];
  for (;;) {
    if (lseek(fd, 0, SEEK_SET) < 0) return errno;
    const ssize_t length = getdents64(fd, buffer, sizeof buffer);
    if (length < 0) return errno;
    int removed = 0;
    int failure = 0;
    for (ssize_t at = 0; at < length;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
      at += entry->d_reclen;
      if (is_dot_or_dot_dot(entry->d_name)) continue;
      const int error = remove_entry(fd, entry->d_name, depth + 1);
      if (error == 0) {
        ++removed;
      } else if (failure == 0) {
        failure = error;
      }
    }
    if (failure != 0) return failure;
    if (removed == 0) return 0;  // only "." and ".." were left
  }
}

int remove_entry(int dir_fd, const char* name, int depth) {
  if (unlinkat(dir_fd, name, 0) == 0) return 0;
  if (errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return errno;
  if (depth > kMaxDepth) return ELOOP;
  const int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = empty_directory(fd, depth);
  close(fd);
  if (error == 0 && unlinkat(dir_fd, name, AT_REMOVEDIR) != 0) error = errno;
  return error;
}

}  // namespace

DirectoryIdentity identity_of(const struct stat& status) { return {status.st_dev, status.st_ino}; }

int remove_tree_at(int parent_fd, const char* name, DirectoryIdentity identity) {
  struct stat status {};
  if (fstatat(parent_fd, name, &status, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? 0 : errno;
  }
  if (!S_ISDIR(status.st_mode) || identity_of(status) != identity) return ESTALE;
  const int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  // The name may have been replaced between the two calls: check what was opened.
  if (fstat(fd, &status) != 0 || identity_of(status) != identity) {
    close(fd);
    return ESTALE;
  }
  int error = empty_directory(fd, 0);
  close(fd);
  if (error == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) != 0) error = errno;
  return error;
}

int remove_tree(const char* parent, const char* name, DirectoryIdentity identity) {
  const int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return errno;
  const int error = remove_tree_at(parent_fd, name, identity);
  close(parent_fd);
  return error;
}

}  // namespace tinydeploy
