// Firmware images built once per content: the same firmware tree (same model, options, board and
// tinydeploy sources) reuses the image built before instead of building again.
#pragma once

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

// Builds `program` (a target of firmware/CMakeLists.txt, e.g. "validator") from the firmware
// tree `files`, or returns the image an identical tree built before. The entry appears in the
// cache only once its build succeeded; a failed build throws with the compiler's diagnostics and
// keeps its sources and logs in a directory the message names. `progress` receives short step
// names ("building the validator for qemu-m4").
FirmwareImage build_firmware(const std::vector<codegen::GeneratedFile>& files,
                             std::string_view board, std::string_view program, bool cross,
                             const std::function<void(std::string_view)>& progress);

}  // namespace tinydeploy::build
