#include "tinydeploy/cli/target_session.h"

#include <fmt/format.h>

#include <chrono>

#include "tinydeploy/codegen/firmware.h"
#include "tinydeploy/link/launch.h"

namespace tinydeploy::cli {

build::FirmwareImage build_validator(const codegen::Package& package, const board::Board& board,
                                     const Progress& progress) {
  const auto files =
      codegen::firmware_files(package, board.port, board::toolchain_file(board.core));
  build::FirmwareImage firmware =
      build::build_firmware(files, board.name, "validator", board.core != board::Core::Host,
                            [&](std::string_view step) { progress.step(step); });
  if (firmware.reused) progress.step("reusing the validator built earlier for this model");
  return firmware;
}

TargetSession open_target(const board::Target& target, const std::filesystem::path& image,
                          const std::filesystem::path& log_file, double timeout_seconds,
                          const std::string& model_sha256, const Progress& progress,
                          const std::vector<std::string>& qemu_extra) {
  progress.step(fmt::format("starting {}{}", target.board.name,
                            qemu_extra.empty() ? "" : " with the profiler plugin"));
  TargetSession session;
  session.transport = link::connect(target, image, log_file, qemu_extra);
  link::Timeouts timeouts;
  timeouts.invoke = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1e3));
  session.client = std::make_unique<link::Client>(*session.transport, timeouts);
  session.hello = session.client->hello(model_sha256);
  return session;
}

}  // namespace tinydeploy::cli
