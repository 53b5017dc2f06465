#include "tinydeploy/common/temporary_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/interrupt.h"

namespace tinydeploy {

namespace fs = std::filesystem;

TemporaryDirectory::TemporaryDirectory(const fs::path& near) {
  std::error_code ec;
  const fs::path parent = fs::absolute(near, ec);
  if (ec) throw Error("cannot create a temporary directory in {}: {}", near.string(), ec.message());
  std::string pattern = (parent / "tinydeploy-XXXXXX").string();
  // Created and registered in one step: an interruption sees either nothing or all of it.
  const auto hold = interrupt::lock();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw Error("cannot create a temporary directory in {}: {}", parent.string(),
                std::strerror(errno));
  }
  struct stat status {};
  if (lstat(pattern.c_str(), &status) != 0) {
    throw Error("cannot read the temporary directory {}: {}", pattern, std::strerror(errno));
  }
  path_ = pattern;
  identity_ = identity_of(status);
  registration_ = interrupt::register_directory(path_.parent_path().string(),
                                                path_.filename().string(), identity_);
}

TemporaryDirectory::~TemporaryDirectory() {
  if (path_.empty()) return;
  const auto hold = interrupt::lock();
  remove_tree(path_.parent_path().c_str(), path_.filename().c_str(), identity_);
  interrupt::unregister_directory(registration_);
}

fs::path TemporaryDirectory::keep() {
  const auto hold = interrupt::lock();
  interrupt::unregister_directory(registration_);
  fs::path kept = path_;
  path_.clear();
  return kept;
}

void TemporaryDirectory::release() { keep(); }

fs::path temporary_root() {
  std::error_code ec;
  const fs::path root = fs::temp_directory_path(ec);
  if (ec) {
    const char* tmpdir = std::getenv("TMPDIR");
    throw Error("the temporary directory {} is not usable: {}",
                tmpdir != nullptr ? fmt::format("'{}' (TMPDIR)", tmpdir) : std::string("/tmp"),
                ec.message());
  }
  return root;
}

}  // namespace tinydeploy
