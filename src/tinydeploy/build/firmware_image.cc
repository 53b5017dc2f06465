#include "tinydeploy/build/firmware_image.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

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

}  // namespace

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
    return result;
  }
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
  return result;
}

}  // namespace tinydeploy::build
