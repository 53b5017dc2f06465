// Starting a target program on its board and opening the link to it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tinydeploy/board/board.h"
#include "tinydeploy/link/transport.h"

namespace tinydeploy::link {

// The host target runs `image` as a process; a QEMU board runs it in qemu-system-arm (with
// -icount shift=0, so that its tick counts are deterministic instruction counts); a serial
// target opens the device (the image is flashed by the user, `image` is not used). Logs of the
// process (QEMU's messages, the program's standard error) go to `log_file`. Throws naming the
// package to install when QEMU is missing.
// `qemu_extra` is appended to a QEMU board's command line (e.g. -plugin for `profile`).
std::unique_ptr<Transport> connect(const board::Target& target, const std::filesystem::path& image,
                                   const std::filesystem::path& log_file,
                                   const std::vector<std::string>& qemu_extra = {});

// The QEMU command line that runs `image` on `board` with its UART on standard input/output.
std::vector<std::string> qemu_command(const board::Board& board,
                                      const std::filesystem::path& image);

}  // namespace tinydeploy::link
