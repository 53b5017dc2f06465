// What validate, profile and deploy do before they talk to a target: build (or reuse) the
// validator image for a package, start the target and open the link with the hello exchange.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tinydeploy/board/board.h"
#include "tinydeploy/build/firmware_image.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/link/client.h"
#include "tinydeploy/link/transport.h"

namespace tinydeploy::cli {

// The validator firmware of `package` for `board` (cross-built for a Cortex-M board, native for
// the host), from the firmware cache when the same sources were built before.
build::FirmwareImage build_validator(const codegen::Package& package, const board::Board& board,
                                     const Progress& progress);

// A started target with its link open: the client has said hello and checked that the target
// runs the model of `model_sha256`.
struct TargetSession {
  std::unique_ptr<link::Transport> transport;
  std::unique_ptr<link::Client> client;
  link::HelloInfo hello;
};

// Starts `target` running `image` (not used for a serial board), its log in `log_file`, with
// `timeout_seconds` per inference; `qemu_extra` is appended to a QEMU command line.
TargetSession open_target(const board::Target& target, const std::filesystem::path& image,
                          const std::filesystem::path& log_file, double timeout_seconds,
                          const std::string& model_sha256, const Progress& progress,
                          const std::vector<std::string>& qemu_extra = {});

}  // namespace tinydeploy::cli
