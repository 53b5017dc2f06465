// The processor cores tinydeploy generates code for. Data only, so that code generation can
// name a core without depending on the board registry (board.h) built on it.
#pragma once

#include <string>
#include <string_view>

namespace tinydeploy::board {

enum class Core { Host, CortexM4, CortexM55 };

// "host", "cortex-m4", "cortex-m55".
inline std::string_view core_name(Core core) {
  switch (core) {
    case Core::CortexM4:
      return "cortex-m4";
    case Core::CortexM55:
      return "cortex-m55";
    default:
      return "host";
  }
}

// The CMake toolchain file (under toolchains/) for a core; empty for the host.
inline std::string toolchain_file(Core core) {
  if (core == Core::Host) return {};
  return "arm-none-eabi-" + std::string(core_name(core)) + ".cmake";
}

}  // namespace tinydeploy::board
