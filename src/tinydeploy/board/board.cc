#include "tinydeploy/board/board.h"

#include <fmt/format.h>

#include <charconv>

#include "tinydeploy/common/error.h"

namespace tinydeploy::board {

const std::vector<Board>& boards() {
  static const std::vector<Board> registry = [] {
    std::vector<Board> list;
    Board host;
    host.name = "host";
    host.description = "this PC: the target program runs as a native process";
    host.core = Core::Host;
    host.runner = Runner::HostProcess;
    host.timing = Timing::WallClock;
    host.port = "host";
    list.push_back(host);

    Board m4;
    m4.name = "cortex-m4";
    m4.description = "any Cortex-M4F (build only: bring the board's port to run it)";
    m4.core = Core::CortexM4;
    list.push_back(m4);

    Board m55 = m4;
    m55.name = "cortex-m55";
    m55.description = "any Cortex-M55 with MVE (build only: bring the board's port to run it)";
    m55.core = Core::CortexM55;
    list.push_back(m55);

    // QEMU's mps2-an386: 4 MiB SSRAM at 0 for code and constants, 4 MiB at 0x20000000 for data.
    Board qemu_m4;
    qemu_m4.name = "qemu-m4";
    qemu_m4.description = "QEMU mps2-an386: Cortex-M4F at 25 MHz, emulated";
    qemu_m4.core = Core::CortexM4;
    qemu_m4.runner = Runner::Qemu;
    qemu_m4.timing = Timing::EmulatedInstructions;
    qemu_m4.port = "qemu-m4";
    qemu_m4.qemu_machine = "mps2-an386";
    qemu_m4.clock_hz = 25'000'000;
    qemu_m4.flash_bytes = 4 << 20;
    qemu_m4.ram_bytes = 4 << 20;
    list.push_back(qemu_m4);

    // QEMU's mps3-an547: code and constants in DDR (256 MiB used), data in 4 MiB of SRAM.
    Board qemu_m55;
    qemu_m55.name = "qemu-m55";
    qemu_m55.description = "QEMU mps3-an547: Cortex-M55 with MVE at 32 MHz, emulated";
    qemu_m55.core = Core::CortexM55;
    qemu_m55.runner = Runner::Qemu;
    qemu_m55.timing = Timing::EmulatedInstructions;
    qemu_m55.port = "qemu-m55";
    qemu_m55.qemu_machine = "mps3-an547";
    qemu_m55.clock_hz = 32'000'000;
    qemu_m55.flash_bytes = int64_t{256} << 20;
    qemu_m55.ram_bytes = 4 << 20;
    list.push_back(qemu_m55);
    return list;
  }();
  return registry;
}

std::string target_names() {
  std::string names;
  for (const Board& b : boards()) names += b.name + ", ";
  return names + "or serial:DEVICE[@BAUD]";
}

Target parse_target(std::string_view text) {
  constexpr std::string_view kSerial = "serial:";
  if (text.substr(0, kSerial.size()) == kSerial) {
    std::string_view rest = text.substr(kSerial.size());
    Target target;
    target.baud = 115200;
    const size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
      const std::string_view baud = rest.substr(at + 1);
      const auto [end, error] =
          std::from_chars(baud.data(), baud.data() + baud.size(), target.baud);
      if (error != std::errc() || end != baud.data() + baud.size() || target.baud == 0) {
        throw Error("--target {}: '{}' is not a baud rate", text, baud);
      }
      rest = rest.substr(0, at);
    }
    if (rest.empty())
      throw Error("--target {}: name the serial device, e.g. serial:/dev/ttyACM0", text);
    target.device = std::string(rest);
    target.board.name = std::string(text);
    target.board.description = "a board on the serial line " + target.device;
    target.board.runner = Runner::Serial;
    target.board.timing = Timing::PortTicks;
    return target;
  }
  for (const Board& b : boards()) {
    if (b.name == text) return Target{b, {}, 0};
  }
  throw Error("unknown target '{}': use {}", text, target_names());
}

}  // namespace tinydeploy::board
