#include "tinydeploy/common/output_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/interrupt.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMarkerFirstLine = "tinydeploy output directory\n";

std::string marker_text(const std::string& command) {
  return fmt::format(
      "{}Written by `tinydeploy {}`. tinydeploy replaces this directory, whole, when it is asked "
      "to write here again (-o);\ndelete this file to keep it from doing so.\n",
      kMarkerFirstLine, command);
}

// Whether `dir` holds tinydeploy's marker: a regular file (not a link) that starts with the
// marker's first line.
bool has_marker(const fs::path& dir) {
  const fs::path marker = dir / kOutputMarker;
  const int fd = open(marker.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat status {};
  std::array<char, kMarkerFirstLine.size()> start{};
  const bool found = fstat(fd, &status) == 0 && S_ISREG(status.st_mode) &&
                     read(fd, start.data(), start.size()) == static_cast<ssize_t>(start.size()) &&
                     std::string_view(start.data(), start.size()) == kMarkerFirstLine;
  close(fd);
  return found;
}

// Path components, without empty ones (a trailing separator).
std::vector<std::string> components(const fs::path& path) {
  std::vector<std::string> parts;
  for (const fs::path& part : path) {
    if (!part.empty()) parts.push_back(part.string());
  }
  return parts;
}

// Whether `path` is `dir` or lies under it (both absolute and normalised).
bool within(const fs::path& path, const fs::path& dir) {
  const std::vector<std::string> p = components(path);
  const std::vector<std::string> d = components(dir);
  return d.size() <= p.size() && std::equal(d.begin(), d.end(), p.begin());
}

fs::path real_path(const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? fs::path() : real;
}

fs::path lexical_path(const fs::path& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return ec ? fs::path() : absolute.lexically_normal();
}

// "is X" or "contains X", when the directory `real` (canonical) or `lexical` (as named) is or
// holds `path`.
std::optional<std::string> relation(const fs::path& real, const fs::path& lexical,
                                    const fs::path& path, std::string_view what) {
  if (path.empty()) return std::nullopt;
  const fs::path path_real = real_path(path);
  const fs::path path_lexical = lexical_path(path);
  const bool same = (!path_real.empty() && components(path_real) == components(real)) ||
                    (!path_lexical.empty() && components(path_lexical) == components(lexical));
  if (same) return fmt::format("is {}", what);
  if ((!path_real.empty() && within(path_real, real)) ||
      (!path_lexical.empty() && within(path_lexical, lexical))) {
    return fmt::format("contains {}", what);
  }
  return std::nullopt;
}

// Why the existing directory `real` may never be replaced, if it may not.
std::optional<std::string> protected_reason(const fs::path& real, const fs::path& lexical,
                                            const OutputRequest& request) {
  std::optional<std::string> reason = relation(
      real, lexical, request.model, fmt::format("the input model '{}'", request.model.string()));
  for (const fs::path& input : request.input_files) {
    if (!reason) {
      reason = relation(real, lexical, input, fmt::format("the input file '{}'", input.string()));
    }
  }
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (!reason && !ec) reason = relation(real, lexical, cwd, "the current directory");
  const char* home = std::getenv("HOME");
  if (!reason && home != nullptr && *home != '\0') {
    reason = relation(real, lexical, home, "your home directory");
  }
  const fs::path temporary = fs::temp_directory_path(ec);
  if (!reason && !ec) reason = relation(real, lexical, temporary, "the temporary directory");
  return reason;
}

const char* kind_of(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "neither a file nor a directory";
}

bool same_file(const struct stat& status, const fs::path& other) {
  struct stat other_status {};
  return !other.empty() && stat(other.c_str(), &other_status) == 0 &&
         other_status.st_dev == status.st_dev && other_status.st_ino == status.st_ino;
}

// Every directory on the way to `parent` must exist.
void check_parent(const fs::path& parent, const std::string& shown) {
  fs::path prefix;
  for (const fs::path& part : parent) {
    prefix /= part;
    if (part.empty()) continue;
    struct stat status {};
    if (stat(prefix.c_str(), &status) != 0) {
      if (errno == ENOENT) {
        throw Error(
            "{}: its parent directory '{}' does not exist: create it first, or choose a path in "
            "an existing directory",
            shown, parent.string());
      }
      throw Error("{}: cannot reach '{}': {}", shown, prefix.string(), std::strerror(errno));
    }
    if (!S_ISDIR(status.st_mode)) {
      throw Error(
          "{}: '{}' is a file, not a directory, so nothing can be created under it: choose a "
          "path in an existing directory",
          shown, prefix.string());
    }
  }
}

std::string entries_text(const fs::path& dir) {
  std::error_code ec;
  size_t count = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && count < 10000; it.increment(ec))
    ++count;
  if (ec) return "entries tinydeploy cannot list";
  return fmt::format("{}{} {}", count, count == 10000 ? "+" : "", count == 1 ? "entry" : "entries");
}

bool is_empty_directory(const fs::path& dir) {
  std::error_code ec;
  return fs::is_empty(dir, ec) && !ec;
}

}  // namespace

OutputTarget check_output_target(const OutputRequest& request) {
  std::string text = request.path.string();
  if (text.empty()) {
    throw Error(
        "the output directory (-o) is an empty path: name a directory to create, e.g. -o out");
  }
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  const std::string shown = fmt::format("output directory '{}'", text);
  const std::string suggestion = "name a new directory, e.g. -o out";
  if (text == "/") {
    throw Error("{} is the root directory, which tinydeploy never replaces: {}", shown, suggestion);
  }
  if (text == ".") {
    throw Error("{} is the current directory, which tinydeploy never replaces: {}", shown,
                suggestion);
  }
  if (text == "..") {
    throw Error("{} is the parent of the current directory, which tinydeploy never replaces: {}",
                shown, suggestion);
  }
  const fs::path path(text);
  const std::string name = path.filename().string();
  if (name == "." || name == "..") {
    throw Error("{} ends in '{}': name the output directory by its own name", shown, name);
  }

  OutputTarget target;
  target.shown = path;
  target.name = name;
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  check_parent(parent, shown);
  std::error_code ec;
  target.parent = fs::canonical(parent, ec);
  if (ec) throw Error("{}: cannot resolve '{}': {}", shown, parent.string(), ec.message());
  const fs::path full = target.parent / name;

  struct stat status {};
  if (lstat(full.c_str(), &status) != 0) {
    if (errno == ENOENT) return target;  // a new directory
    throw Error("{}: cannot read what is there: {}", shown, std::strerror(errno));
  }
  if (S_ISLNK(status.st_mode)) {
    std::error_code link_ec;
    const fs::path link = fs::read_symlink(full, link_ec);
    throw Error(
        "{} is a symbolic link (to '{}'); tinydeploy never writes through or replaces a link, "
        "even with --force: choose another path",
        shown, link.string());
  }
  if (S_ISREG(status.st_mode)) {
    if (same_file(status, request.model)) {
      throw Error(
          "{} is the input model itself; tinydeploy writes a directory and never replaces a file, "
          "even with --force: choose another path, e.g. -o {}_out",
          shown, request.model.stem().string());
    }
    for (const fs::path& input : request.input_files) {
      if (same_file(status, input)) {
        throw Error(
            "{} is the input file '{}'; tinydeploy writes a directory and never replaces a file, "
            "even with --force: choose another path",
            shown, input.string());
      }
    }
    throw Error(
        "{} is an existing file ({} bytes); tinydeploy writes a directory and never replaces a "
        "file, even with --force: choose another path, or remove the file yourself",
        shown, status.st_size);
  }
  if (!S_ISDIR(status.st_mode)) {
    throw Error(
        "{} is {}; tinydeploy writes a directory and never replaces anything else, even with "
        "--force: choose another path",
        shown, kind_of(status.st_mode));
  }

  target.identity = identity_of(status);
  if (const auto reason = protected_reason(full, lexical_path(path), request)) {
    throw Error("{} {}; tinydeploy never replaces it, even with --force: choose another path",
                shown, *reason);
  }
  if (has_marker(full)) {
    target.existing = OutputTarget::Existing::TinydeployOutput;
  } else if (is_empty_directory(full)) {
    target.existing = OutputTarget::Existing::EmptyDirectory;
  } else if (request.force) {
    if (target.parent == target.parent.root_path()) {
      throw Error(
          "{} is a top-level directory; tinydeploy never replaces one, even with --force: "
          "choose another path",
          shown);
    }
    target.existing = OutputTarget::Existing::ForcedDirectory;
  } else {
    throw Error(
        "{} already exists and was not written by tinydeploy (it holds {} and no {} marker): "
        "choose a new path, or add --force to replace it and everything in it",
        shown, entries_text(full), kOutputMarker);
  }
  return target;
}

fs::path replace_directory(const fs::path& replacement, const fs::path& target,
                           bool allow_exchange) {
  if (allow_exchange &&
      renameat2(AT_FDCWD, replacement.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    return replacement;
  }
  if (allow_exchange && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    throw Error("cannot move {} into place: {}", target.string(), std::strerror(errno));
  }
  // Without an atomic exchange: the old directory to a fresh name of its own (an empty directory
  // made for it, which rename replaces), then the new one in.
  std::string aside = (target.parent_path() / "tinydeploy-old-XXXXXX").string();
  if (mkdtemp(aside.data()) == nullptr) {
    throw Error("cannot create a directory in {}: {}", target.parent_path().string(),
                std::strerror(errno));
  }
  if (rename(target.c_str(), aside.c_str()) != 0) {
    const int error = errno;
    rmdir(aside.c_str());
    throw Error("cannot move {} aside: {}", target.string(), std::strerror(error));
  }
  if (rename(replacement.c_str(), target.c_str()) != 0) {
    const int error = errno;
    rename(aside.c_str(), target.c_str());
    throw Error("cannot move {} into place: {}", target.string(), std::strerror(error));
  }
  return aside;
}

OutputDirectory::OutputDirectory(const OutputRequest& request)
    : request_(request), target_(check_output_target(request)), staging_(target_.parent) {}

void OutputDirectory::commit() {
  {
    std::ofstream marker(staging() / kOutputMarker, std::ios::binary);
    marker << marker_text(request_.command);
    if (!marker.flush()) {
      throw Error("cannot write {}", (staging() / kOutputMarker).string());
    }
  }
  // mkdtemp made it private (0700); an output directory gets the permissions of a new one.
  const mode_t mask = umask(0);
  umask(mask);
  chmod(staging().c_str(), 0777 & ~mask);
  const auto hold = interrupt::lock();
  // Checked again: the path may have changed while the command worked.
  const OutputTarget now = check_output_target(request_);
  const std::string shown = fmt::format("output directory '{}'", now.shown.string());
  if (now.parent != target_.parent) {
    throw Error("{}: its parent directory changed while tinydeploy worked; nothing replaced",
                shown);
  }
  const fs::path destination = now.parent / now.name;
  if (now.existing == OutputTarget::Existing::Nothing) {
    // rename() replaces at most an empty directory that appeared meanwhile.
    if (rename(staging().c_str(), destination.c_str()) != 0) {
      throw Error("{}: cannot move the result into place (something else is there now?): {}", shown,
                  std::strerror(errno));
    }
    staging_.release();
    return;
  }
  const fs::path previous = replace_directory(staging(), destination, true);
  staging_.release();
  // Only the directory that was checked, and only if it still is that one.
  int error = 0;
  if (now.existing == OutputTarget::Existing::EmptyDirectory) {
    if (rmdir(previous.c_str()) != 0) error = errno;
  } else {
    error = remove_tree(previous.parent_path().c_str(), previous.filename().c_str(), now.identity);
  }
  if (error != 0) {
    throw Error("wrote {}, but could not remove the directory it replaced, now {}: {}",
                now.shown.string(), previous.string(), std::strerror(error));
  }
}

}  // namespace tinydeploy
