// Target programs around a generated package: the source tree of a firmware image (the
// validator today) for one board, built with the CMake project in firmware/CMakeLists.txt.
#pragma once

#include <string_view>
#include <vector>

#include "tinydeploy/codegen/package.h"

namespace tinydeploy::codegen {

// Every file of the firmware tree: package/ (the package as generated), model_binding.c (the
// package's API behind the fixed interface firmware/validator/validator_model.h), the validator,
// the link code, the board port `port` (a folder under boards/), the Cortex-M start-up when the
// board has one, the toolchain files, and firmware_config.cmake naming the board's port and
// `toolchain` (a file under toolchains/, empty for the host). Deterministic, like the package.
std::vector<GeneratedFile> firmware_files(const Package& package, std::string_view port,
                                          std::string_view toolchain);

}  // namespace tinydeploy::codegen
