// The board registry: the one answer to "which core, which toolchain, how much memory, which
// clock, how is it run" for every target a command accepts with --target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tinydeploy/board/core.h"

namespace tinydeploy::board {

// How a target program reaches the PC.
enum class Runner {
  None,         // build only (a core without a board)
  HostProcess,  // a native process; the link is its standard input and output
  Qemu,         // QEMU system emulation; the board's UART on QEMU's standard input and output
  Serial,       // a real board, flashed by the user, on a serial line
};

// What the target's tick counter measures.
enum class Timing {
  WallClock,             // host: nanoseconds of the PC's monotonic clock
  EmulatedInstructions,  // QEMU -icount shift=0: one instruction per ns of virtual time
  PortTicks,             // whatever counter the board's port provides (DWT cycles, a timer)
};

struct Board {
  std::string name;         // as given to --target
  std::string description;  // one line for help and reports
  Core core = Core::Host;
  Runner runner = Runner::None;
  Timing timing = Timing::WallClock;
  std::string port;          // folder under boards/ with port.c (and board.ld on Cortex-M)
  std::string qemu_machine;  // -M value for Runner::Qemu
  uint32_t clock_hz = 0;     // core clock; 0 when unknown
  int64_t flash_bytes = 0;   // memory for code and constants; 0 when unbounded (host)
  int64_t ram_bytes = 0;     // memory for data, arena and stack
};

// Every registered board, in the order help lists them.
const std::vector<Board>& boards();

// A --target value: a registered board, or serial:DEVICE[@BAUD] for a real board on a serial
// line (its core named separately, since a device path does not say).
struct Target {
  Board board;
  std::string device;  // serial only
  uint32_t baud = 0;   // serial only
};

// Throws tinydeploy::Error listing the accepted names when `text` names nothing.
Target parse_target(std::string_view text);

// The names accepted by --target, for help texts: "host, qemu-m4, ... or serial:DEVICE[@BAUD]".
std::string target_names();

}  // namespace tinydeploy::board
