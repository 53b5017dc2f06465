// A scratch directory that tinydeploy creates and removes: removed when it goes out of scope, and
// by the interrupt cleanup (interrupt.h) on SIGINT/SIGTERM. Only the directory it created is
// ever removed: if its name refers to another directory by then, it is left alone.
#pragma once

#include <cstdint>
#include <filesystem>

#include "tinydeploy/common/remove_tree.h"

namespace tinydeploy {

class TemporaryDirectory {
 public:
  // Creates `near`/tinydeploy-XXXXXX. Throws tinydeploy::Error when it cannot.
  explicit TemporaryDirectory(const std::filesystem::path& near);
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory();

  // Absolute.
  const std::filesystem::path& path() const { return path_; }
  DirectoryIdentity identity() const { return identity_; }

  // Keeps the directory (for a failure's logs) instead of removing it.
  std::filesystem::path keep();
  // Forgets the directory once something else took it over (moved it into place): it is
  // neither removed at the end nor on interruption.
  void release();

 private:
  std::filesystem::path path_;
  DirectoryIdentity identity_;
  uint64_t registration_ = 0;
};

// The directory for scratch files: $TMPDIR (or /tmp). Throws tinydeploy::Error when it is not
// a directory.
std::filesystem::path temporary_root();

}  // namespace tinydeploy
