#include "tinydeploy/common/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tinydeploy/common/error.h"

namespace tinydeploy {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& file, std::string_view content) {
  // The process id keeps two tinydeploy processes writing the same file out of each other's way.
  const fs::path temporary = fmt::format("{}.tmp-{}", file.string(), getpid());
  std::error_code ec;
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) {
      const std::string reason = std::strerror(errno);
      out.close();
      fs::remove(temporary, ec);
      throw Error("cannot write {}: {}", file.string(), reason);
    }
  }
  fs::rename(temporary, file, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw Error("cannot write {}: {}", file.string(), ec.message());
  }
}

}  // namespace tinydeploy
