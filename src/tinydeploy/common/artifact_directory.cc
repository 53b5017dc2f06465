#include "tinydeploy/common/artifact_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tinydeploy/common/atomic_file.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/interrupt.h"
#include "tinydeploy/common/remove_tree.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;

void check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name == kOutputMarker) {
    throw Error("'{}' is not an artifact name", name);
  }
}

}  // namespace

ArtifactDirectory::ArtifactDirectory(const OutputRequest& request) {
  const OutputTarget target = check_output_target(request);
  if (target.existing != OutputTarget::Existing::TinydeployOutput) {
    OutputDirectory fresh(request);
    fresh.commit();
  }
  path_ = target.parent / target.name;
}

void ArtifactDirectory::write_file(std::string_view name, std::string_view content) const {
  check_name(name);
  write_file_atomically(path_ / name, content);
}

void ArtifactDirectory::install_directory(TemporaryDirectory& staged, std::string_view name) const {
  check_name(name);
  // mkdtemp made it private (0700); an artifact gets the permissions of a new directory.
  const mode_t mask = umask(0);
  umask(mask);
  chmod(staged.path().c_str(), 0777 & ~mask);
  const fs::path target = path_ / name;
  const auto hold = interrupt::lock();
  struct stat status {};
  if (lstat(target.c_str(), &status) != 0) {
    if (errno != ENOENT)
      throw Error("cannot replace {}: {}", target.string(), std::strerror(errno));
    if (rename(staged.path().c_str(), target.c_str()) != 0) {
      throw Error("cannot move {} into place: {}", target.string(), std::strerror(errno));
    }
    staged.release();
    return;
  }
  if (!S_ISDIR(status.st_mode)) {
    // A file or a link where the directory goes: it is replaced (rename cannot put a directory
    // over it), never followed.
    if (unlink(target.c_str()) != 0) {
      throw Error("cannot replace {}: {}", target.string(), std::strerror(errno));
    }
    if (rename(staged.path().c_str(), target.c_str()) != 0) {
      throw Error("cannot move {} into place: {}", target.string(), std::strerror(errno));
    }
    staged.release();
    return;
  }
  const fs::path previous = replace_directory(staged.path(), target, true);
  staged.release();
  struct stat old {};
  if (lstat(previous.c_str(), &old) == 0 && S_ISDIR(old.st_mode)) {
    const int error =
        remove_tree(previous.parent_path().c_str(), previous.filename().c_str(), identity_of(old));
    if (error != 0) {
      throw Error("cannot remove the previous {} (now {}): {}", target.string(), previous.string(),
                  std::strerror(error));
    }
  }
}

void ArtifactDirectory::remove(std::string_view name) const {
  check_name(name);
  const fs::path target = path_ / name;
  struct stat status {};
  if (lstat(target.c_str(), &status) != 0) return;
  const int error = S_ISDIR(status.st_mode)
                        ? remove_tree(path_.c_str(), target.filename().c_str(), identity_of(status))
                        : (unlink(target.c_str()) == 0 ? 0 : errno);
  if (error != 0 && error != ENOENT) {
    throw Error("cannot remove {}: {}", target.string(), std::strerror(error));
  }
}

bool ArtifactDirectory::contains(std::string_view name) const {
  struct stat status {};
  return lstat((path_ / name).c_str(), &status) == 0;
}

}  // namespace tinydeploy
