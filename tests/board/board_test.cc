#include "tinydeploy/board/board.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tinydeploy/common/error.h"

namespace tinydeploy::board {
namespace {

using ::testing::HasSubstr;

TEST(Board, RegistryAnswersCoreToolchainMemoryClockAndRunner) {
  const Target m4 = parse_target("qemu-m4");
  EXPECT_EQ(m4.board.core, Core::CortexM4);
  EXPECT_EQ(toolchain_file(m4.board.core), "arm-none-eabi-cortex-m4.cmake");
  EXPECT_EQ(m4.board.runner, Runner::Qemu);
  EXPECT_EQ(m4.board.qemu_machine, "mps2-an386");
  EXPECT_EQ(m4.board.clock_hz, 25'000'000u);
  EXPECT_EQ(m4.board.timing, Timing::EmulatedInstructions);
  EXPECT_EQ(m4.board.ram_bytes, 4 << 20);
  const Target m55 = parse_target("qemu-m55");
  EXPECT_EQ(m55.board.core, Core::CortexM55);
  EXPECT_EQ(m55.board.qemu_machine, "mps3-an547");
  EXPECT_EQ(m55.board.clock_hz, 32'000'000u);
  const Target host = parse_target("host");
  EXPECT_EQ(host.board.runner, Runner::HostProcess);
  EXPECT_EQ(toolchain_file(host.board.core), "");
  EXPECT_EQ(parse_target("cortex-m55").board.runner, Runner::None);
  EXPECT_EQ(core_name(Core::CortexM55), "cortex-m55");
}

TEST(Board, SerialTargetsCarryDeviceAndBaud) {
  const Target plain = parse_target("serial:/dev/ttyACM0");
  EXPECT_EQ(plain.device, "/dev/ttyACM0");
  EXPECT_EQ(plain.baud, 115200u);
  EXPECT_EQ(plain.board.runner, Runner::Serial);
  const Target fast = parse_target("serial:/dev/ttyUSB1@921600");
  EXPECT_EQ(fast.device, "/dev/ttyUSB1");
  EXPECT_EQ(fast.baud, 921600u);
  EXPECT_THROW(parse_target("serial:"), Error);
  EXPECT_THROW(parse_target("serial:/dev/tty@fast"), Error);
  EXPECT_THROW(parse_target("serial:/dev/tty@0"), Error);
}

TEST(Board, UnknownTargetsListEveryName) {
  try {
    parse_target("cortex-m7");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown target 'cortex-m7'"));
    EXPECT_THAT(e.what(), HasSubstr("host, cortex-m4, cortex-m55, qemu-m4, qemu-m55"));
    EXPECT_THAT(e.what(), HasSubstr("serial:DEVICE[@BAUD]"));
  }
}

}  // namespace
}  // namespace tinydeploy::board
