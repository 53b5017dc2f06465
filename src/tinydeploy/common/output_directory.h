// Where a command writes its result (-o): the one place that decides what may be replaced, so
// that no path given to tinydeploy can cost data.
//
// -o creates a new directory, or replaces a directory tinydeploy wrote earlier (it holds the
// marker file kOutputMarker, which tinydeploy writes into every output directory) or an empty
// one. With --force it also replaces another existing directory. It never replaces a file, a
// device, a FIFO, a socket or a symbolic link; nor, even with --force, the root or a top-level
// directory, the current directory or one of its parents, the home or temporary directory, or a
// directory holding the model or an input file. The parent directory must exist. Trailing
// slashes are ignored ("out/" is "out"); a path ending in "." or ".." is refused.
//
// The result is built in a staging directory next to the target and moved into place at the
// end: the previous directory is swapped out in one step (renameat2 RENAME_EXCHANGE, or two
// renames where the file system lacks it) and then removed, and only if it still is the
// directory that was checked.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tinydeploy/common/remove_tree.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy {

// The marker file in every output directory.
inline constexpr std::string_view kOutputMarker = ".tinydeploy-output";

struct OutputRequest {
  std::filesystem::path path;  // as given to -o
  std::filesystem::path model;
  std::vector<std::filesystem::path> input_files;
  bool force = false;   // --force: also replace an existing directory tinydeploy did not write
  std::string command;  // "run", "generate" or "library", named in the marker
};

// What is at the output path now, and whether it may be replaced.
struct OutputTarget {
  enum class Existing { Nothing, TinydeployOutput, EmptyDirectory, ForcedDirectory };
  std::filesystem::path shown;   // the path as given, without trailing slashes
  std::filesystem::path parent;  // canonical
  std::string name;              // last component
  Existing existing = Existing::Nothing;
  DirectoryIdentity identity;  // of the existing directory
};

// Applies the policy. Throws tinydeploy::Error saying what is at the path and what to do.
OutputTarget check_output_target(const OutputRequest& request);

// Moves the directory `replacement` onto `target`, an existing directory on the same file
// system: in one step where the file system can exchange two names (renameat2
// RENAME_EXCHANGE), else in two renames. Returns where the previous directory is now, for the
// caller to remove. `allow_exchange` false takes the two-rename path (for the tests).
std::filesystem::path replace_directory(const std::filesystem::path& replacement,
                                        const std::filesystem::path& target, bool allow_exchange);

class OutputDirectory {
 public:
  // Checks the request (check_output_target) and creates the staging directory.
  explicit OutputDirectory(const OutputRequest& request);

  // Where the command writes its result (same file system as the target).
  const std::filesystem::path& staging() const { return staging_.path(); }
  // The output path as the user gave it, without trailing slashes.
  const std::filesystem::path& path() const { return target_.shown; }

  // Writes the marker into the staging directory, checks the target again and moves the staging
  // directory into place, removing what it replaces.
  void commit();

 private:
  OutputRequest request_;
  OutputTarget target_;
  TemporaryDirectory staging_;
};

}  // namespace tinydeploy
