// An output directory filled artifact by artifact (`deploy`): each file or subdirectory appears
// whole or not at all, and the artifacts of earlier steps stay in place when a later step fails.
// Whether the directory may be written at all is the output policy's decision (output_directory.h).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy {

class ArtifactDirectory {
 public:
  // Checks the request by the output policy. A directory tinydeploy wrote is kept with its
  // artifacts (for reuse); a new path, an empty directory or (with --force) another directory
  // becomes an empty output directory with tinydeploy's marker.
  explicit ArtifactDirectory(const OutputRequest& request);

  const std::filesystem::path& path() const { return path_; }

  // Writes the file `name` (a plain name, no directories) atomically.
  void write_file(std::string_view name, std::string_view content) const;

  // A directory to build a directory artifact in, on the same file system.
  TemporaryDirectory stage() const { return TemporaryDirectory(path_); }

  // Moves `staged` into place as the subdirectory `name`, replacing what was there in one step.
  void install_directory(TemporaryDirectory& staged, std::string_view name) const;

  // Removes the artifact `name` (a file or a directory) if it exists.
  void remove(std::string_view name) const;

  bool contains(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace tinydeploy
