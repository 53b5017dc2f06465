// Firmware images built once per content: the same firmware tree (same model, options, board and
// tinydeploy sources) reuses the image built before instead of building again.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

#include "tinydeploy/codegen/package.h"

namespace tinydeploy::build {

struct FirmwareImage {
  std::filesystem::path image;      // the program: a host executable or a Cortex-M ELF file
  std::filesystem::path directory;  // its cache entry (sources, build, logs)
  bool reused = false;              // found in the cache
};

// $TINYDEPLOY_CACHE_DIR, else $XDG_CACHE_HOME/tinydeploy, else ~/.cache/tinydeploy.
std::filesystem::path cache_directory();

// Entries kept per board unless $TINYDEPLOY_CACHE_MAX_ENTRIES says otherwise (1 to 100000; an
// entry is a few megabytes: the generated sources and the build).
inline constexpr size_t kDefaultMaxCacheEntries = 64;

// $TINYDEPLOY_CACHE_MAX_ENTRIES, else kDefaultMaxCacheEntries. Throws tinydeploy::Error for a
// value that is not a whole number from 1 to 100000.
size_t max_cache_entries();

// Removes the least recently used cache entries of one board's directory until at most `keep`
// remain (`except`, the entry just stored, is never removed). Only directories named like the
// entries build_firmware makes (24 hexadecimal digits) count and go: anything else there, a build
// in progress included, is left alone. Returns the number removed.
size_t prune_cache_entries(const std::filesystem::path& board_directory, size_t keep,
                           const std::filesystem::path& except);

// Builds `program` (a target of firmware/CMakeLists.txt, e.g. "validator") from the firmware
// tree `files`, or returns the image an identical tree built before. The entry appears in the
// cache only once its build succeeded (a reused entry counts as used now, and the least recently
// used beyond max_cache_entries() go); a failed build throws with the compiler's diagnostics and
// keeps its sources and logs in a directory the message names. `progress` receives short step
// names ("building the validator for qemu-m4").
FirmwareImage build_firmware(const std::vector<codegen::GeneratedFile>& files,
                             std::string_view board, std::string_view program, bool cross,
                             const std::function<void(std::string_view)>& progress);

}  // namespace tinydeploy::build
