#include "tinydeploy/build/firmware_image.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "tinydeploy/build/cmake.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy::build {
namespace {

namespace fs = std::filesystem;

std::string tree_key(const std::vector<codegen::GeneratedFile>& files, std::string_view board,
                     std::string_view program) {
  std::string all = fmt::format("{}\n{}\n", board, program);
  for (const codegen::GeneratedFile& f : files) {
    all += fmt::format("{}\n{}\n", f.path, f.content.size());
    all += f.content;
  }
  const std::string hash = sha256_hex({reinterpret_cast<const uint8_t*>(all.data()), all.size()});
  return hash.substr(0, 24);
}

// A name build_firmware gives an entry (tree_key): nothing else in a board's directory is ours
// to remove.
bool is_entry_name(const std::string& name) {
  return name.size() == 24 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

size_t max_cache_entries() {
  const char* setting = std::getenv("TINYDEPLOY_CACHE_MAX_ENTRIES");
  if (setting == nullptr || *setting == '\0') return kDefaultMaxCacheEntries;
  const std::string_view text(setting);
  size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > 100000) {
    throw Error("TINYDEPLOY_CACHE_MAX_ENTRIES='{}' is not a number of entries from 1 to 100000",
                text);
  }
  return value;
}

size_t prune_cache_entries(const fs::path& board_directory, size_t keep, const fs::path& except) {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code ec;
  for (fs::directory_iterator it(board_directory, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path == except || !is_entry_name(path.filename().string())) continue;
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec) || it->is_symlink(entry_ec)) continue;
    const fs::file_time_type used = fs::last_write_time(path, entry_ec);
    if (!entry_ec) entries.emplace_back(used, path);
  }
  const size_t others = except.empty() ? keep : keep - std::min<size_t>(keep, 1);
  if (entries.size() <= others) return 0;
  std::sort(entries.begin(), entries.end());  // least recently used first
  size_t removed = 0;
  for (size_t i = 0; i + others < entries.size(); ++i) {
    // Best effort: an entry another process is reading may already be gone, or stay.
    std::error_code remove_ec;
    fs::remove_all(entries[i].second, remove_ec);
    if (!remove_ec) ++removed;
  }
  return removed;
}

fs::path cache_directory() {
  if (const char* dir = std::getenv("TINYDEPLOY_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "tinydeploy";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "tinydeploy";
  }
  return fs::temp_directory_path() / "tinydeploy-cache";
}

FirmwareImage build_firmware(const std::vector<codegen::GeneratedFile>& files,
                             std::string_view board, std::string_view program, bool cross,
                             const std::function<void(std::string_view)>& progress) {
  const fs::path boards = cache_directory() / "firmware" / std::string(board);
  const fs::path entry = boards / tree_key(files, board, program);
  FirmwareImage result;
  result.directory = entry;
  result.image = entry / "build" / std::string(program);
  if (fs::is_regular_file(result.image)) {
    result.reused = true;
    // Used now: the entries pruned first are those unused longest.
    std::error_code ec;
    fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);
    return result;
  }
  const size_t keep = max_cache_entries();
  require_build_tools(cross);
  std::error_code ec;
  fs::create_directories(boards, ec);
  if (ec) throw Error("cannot create the build cache {}: {}", boards.string(), ec.message());
  // Built under a temporary name, renamed into place once whole: an interrupted or failed build
  // never leaves an entry that looks usable.
  TemporaryDirectory work(boards);
  codegen::write_files(files, work.path() / "src");
  progress(fmt::format("building the {} for {}", program, board));
  try {
    cmake_build(work.path() / "src", work.path() / "build", {}, program, work.path(),
                fmt::format("the {}", program));
  } catch (const Error&) {
    work.keep();
    throw;
  }
  // The build directory is renamed with its parent; CMake's absolute paths inside it are only
  // needed to build again, which a cache entry never does.
  fs::rename(work.path(), entry, ec);
  if (ec && !fs::is_regular_file(result.image)) {
    throw Error("cannot store the firmware in {}: {}", entry.string(), ec.message());
  }
  // Renamed into place; or another run stored the same entry first, and this copy goes.
  if (!ec) work.keep();
  prune_cache_entries(boards, keep, entry);
  return result;
}

}  // namespace tinydeploy::build
