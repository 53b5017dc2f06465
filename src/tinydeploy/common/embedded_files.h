// Sources that travel with the tool, embedded at build time: the runtime (copied into every
// generated package), the link code, board ports and firmware (copied into firmware trees), the
// toolchain files, and the PC reference runner. An installed tinydeploy needs no source checkout.
#pragma once

#include <span>
#include <string_view>

namespace tinydeploy {

struct EmbeddedFile {
  std::string_view path;  // relative to the repository root, e.g. "runtime/kernels/conv.cc"
  std::string_view content;
};

std::span<const EmbeddedFile> embedded_files();

// The content of embedded file `path`; throws tinydeploy::Error when it is not embedded.
std::string_view embedded_file(std::string_view path);

}  // namespace tinydeploy
