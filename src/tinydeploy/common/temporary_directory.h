// A scratch directory next to a destination, committed by rename so that an interrupted run
// never leaves a half-written output that looks complete.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "tinydeploy/common/error.h"

namespace tinydeploy {

namespace fs = std::filesystem;

// A directory that is removed when it goes out of scope unless released.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const fs::path& near) {
    std::string pattern = (near / "tinydeploy-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error("cannot create a temporary directory in {}: {}", near.string(),
                  std::strerror(errno));
    }
    path_ = pattern;
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  // Keeps the directory (for a failure's logs) instead of removing it.
  fs::path keep() {
    fs::path kept = path_;
    path_.clear();
    return kept;
  }
  // Moves the directory to `target`, replacing what was there.
  void commit(const fs::path& target) {
    std::error_code ec;
    const fs::path old = target.string() + ".old";
    fs::remove_all(old, ec);
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(path_, target);
    fs::remove_all(old, ec);
    path_.clear();
  }

 private:
  fs::path path_;
};

}  // namespace tinydeploy
