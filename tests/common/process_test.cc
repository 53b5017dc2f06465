#include "tinydeploy/common/process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Whether process `pid` has ended: gone, or a zombie nobody has reaped yet.
bool ended(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') != std::string::npos;
  }
  return true;
}

TEST(RunProcess, ReturnsExitCodeAndOutput) {
  TemporaryDirectory work(temporary_root());
  const ProcessResult result =
      run_process({"sh", "-c", "echo hello; exit 3"}, work.path() / "log.txt", Capture::Stdout);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.output, "hello\n");
  const ProcessResult quick = run_process({"sh", "-c", "echo fast >&2"}, work.path() / "err.txt",
                                          Capture::Stderr, std::chrono::milliseconds(60'000));
  EXPECT_EQ(quick.exit_code, 0);
  EXPECT_EQ(quick.output, "fast\n");
}

TEST(RunProcess, TimeoutStopsTheWholeProcessGroup) {
  TemporaryDirectory work(temporary_root());
  const fs::path pid_file = work.path() / "pid";
  // The shell leaves a grandchild running: the timeout must end it too.
  const std::string script = "sleep 60 & echo $! > " + pid_file.string() + "; wait";
  const auto start = std::chrono::steady_clock::now();
  try {
    run_process({"sh", "-c", script}, work.path() / "log.txt", Capture::Both,
                std::chrono::milliseconds(300));
    ADD_FAILURE() << "no timeout";
  } catch (const ProcessTimeout& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'sh' did not finish within 0.3 s and was stopped"));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  int grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  for (int i = 0; i < 100 && !ended(grandchild); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(ended(grandchild)) << "the grandchild " << grandchild << " is still running";
}

TEST(RunProcess, MissingProgramIsAnError) {
  TemporaryDirectory work(temporary_root());
  EXPECT_THROW(run_process({"tinydeploy-no-such-program"}, work.path() / "log.txt", Capture::Both),
               Error);
}

}  // namespace
}  // namespace tinydeploy
