// Byte streams to a target: a child process's pipes (the host build of a target program, or
// QEMU with the board's UART on its standard input and output) and a serial line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace tinydeploy::link {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends every byte; throws tinydeploy::Error when the target is gone.
  virtual void write(std::span<const uint8_t> bytes) = 0;
  // Waits at most `timeout` for bytes and returns how many were stored (0: none arrived).
  // Throws tinydeploy::Error when the target closed the stream or exited.
  virtual size_t read(std::span<uint8_t> buffer, std::chrono::milliseconds timeout) = 0;
  // What the target is, for messages: "QEMU mps2-an386 (pid 123)", "/dev/ttyACM0".
  virtual std::string describe() const = 0;
};

// A child process whose standard input and output are the link; its standard error goes to
// `log_file`. The child is terminated when the transport is destroyed.
class ProcessTransport final : public Transport {
 public:
  ProcessTransport(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                   std::string description);
  ~ProcessTransport() override;
  ProcessTransport(const ProcessTransport&) = delete;
  ProcessTransport& operator=(const ProcessTransport&) = delete;

  void write(std::span<const uint8_t> bytes) override;
  size_t read(std::span<uint8_t> buffer, std::chrono::milliseconds timeout) override;
  std::string describe() const override;

 private:
  [[noreturn]] void report_exit();
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::filesystem::path log_file_;
  std::string description_;
};

// A serial device (a board's UART through a USB adapter, or a pseudo-terminal), in raw mode.
class SerialTransport final : public Transport {
 public:
  SerialTransport(const std::filesystem::path& device, uint32_t baud);
  ~SerialTransport() override;
  SerialTransport(const SerialTransport&) = delete;
  SerialTransport& operator=(const SerialTransport&) = delete;

  void write(std::span<const uint8_t> bytes) override;
  size_t read(std::span<uint8_t> buffer, std::chrono::milliseconds timeout) override;
  std::string describe() const override;

 private:
  int fd_ = -1;
  std::filesystem::path device_;
};

// An exit status of a target program that means more than a number.
std::string describe_target_exit(int status);

}  // namespace tinydeploy::link
