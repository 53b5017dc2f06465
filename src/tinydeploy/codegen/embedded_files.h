// The runtime's sources and the CMake toolchain files, embedded in the tool at build time and
// copied into every generated package.
#pragma once

#include <span>
#include <string_view>

namespace tinydeploy::codegen {

struct EmbeddedFile {
  std::string_view path;  // relative to the repository root, e.g. "runtime/kernels/conv.cc"
  std::string_view content;
};

std::span<const EmbeddedFile> embedded_runtime_files();

}  // namespace tinydeploy::codegen
