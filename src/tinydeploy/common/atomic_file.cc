#include "tinydeploy/common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tinydeploy/common/error.h"

namespace tinydeploy {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& file, std::string_view content) {
  // A new file of a unique name beside the target (mkstemp: O_CREAT | O_EXCL, so nothing at that
  // name, a link included, is ever opened), renamed over the target at the end.
  std::string temporary = file.string() + ".tmp-XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) throw Error("cannot write {}: {}", file.string(), std::strerror(errno));
  // mkstemp creates the file private (0600); the result gets the permissions of a new file.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  const char* data = content.data();
  size_t left = content.size();
  int error = 0;
  while (left > 0) {
    const ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && rename(temporary.c_str(), file.c_str()) != 0) error = errno;
  if (error != 0) {
    unlink(temporary.c_str());
    throw Error("cannot write {}: {}", file.string(), std::strerror(error));
  }
}

}  // namespace tinydeploy
