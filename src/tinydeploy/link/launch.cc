#include "tinydeploy/link/launch.h"

#include <fmt/format.h>

#include "tinydeploy/build/cmake.h"
#include "tinydeploy/common/error.h"

namespace tinydeploy::link {

std::vector<std::string> qemu_command(const board::Board& board,
                                      const std::filesystem::path& image) {
  return {"qemu-system-arm",
          "-M",
          board.qemu_machine,
          "-display",
          "none",
          "-monitor",
          "none",
          "-icount",
          "shift=0",
          "-semihosting-config",
          "enable=on,target=native",
          "-chardev",
          "stdio,id=link,signal=off",
          "-serial",
          "chardev:link",
          "-kernel",
          image.string()};
}

std::unique_ptr<Transport> connect(const board::Target& target, const std::filesystem::path& image,
                                   const std::filesystem::path& log_file,
                                   const std::vector<std::string>& qemu_extra) {
  switch (target.board.runner) {
    case board::Runner::HostProcess:
      return std::make_unique<ProcessTransport>(std::vector<std::string>{image.string()}, log_file,
                                                "the host target");
    case board::Runner::Qemu: {
      build::require_program("qemu-system-arm", "qemu-system-arm");
      std::vector<std::string> command = qemu_command(target.board, image);
      command.insert(command.end(), qemu_extra.begin(), qemu_extra.end());
      return std::make_unique<ProcessTransport>(
          command, log_file,
          fmt::format("{} (QEMU {})", target.board.name, target.board.qemu_machine));
    }
    case board::Runner::Serial:
      return std::make_unique<SerialTransport>(target.device, target.baud);
    default:
      throw Error("target {} only builds: choose a board that runs programs ({})",
                  target.board.name, board::target_names());
  }
}

}  // namespace tinydeploy::link
