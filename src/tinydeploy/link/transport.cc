#include "tinydeploy/link/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/interrupt.h"

namespace tinydeploy::link {
namespace {

// Waits for `fd` to become readable; false on timeout.
bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd entry{fd, POLLIN, 0};
  for (;;) {
    const int ready = poll(&entry, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw Error("waiting for the target: {}", std::strerror(errno));
    return ready > 0;
  }
}

void write_all(int fd, std::span<const uint8_t> bytes, const std::string& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && (errno == EINTR || errno == EAGAIN)) {
      if (errno == EAGAIN) {
        pollfd entry{fd, POLLOUT, 0};
        poll(&entry, 1, 100);
      }
      continue;
    }
    if (written <= 0) throw Error("cannot send to {}: {}", what, std::strerror(errno));
    done += static_cast<size_t>(written);
  }
}

std::string log_tail(const std::filesystem::path& log_file) {
  std::ifstream log(log_file);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  return text;
}

}  // namespace

std::string describe_target_exit(int status) {
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  switch (code) {
    case 0xFA:
      return "stopped on a fault (HardFault, MemManage, BusFault or UsageFault)";
    case 0xFB:
      return "stopped on an unexpected interrupt";
    case 2:
      return "could not initialise the model";
    default:
      return fmt::format("exited with code {}", code);
  }
}

ProcessTransport::ProcessTransport(const std::vector<std::string>& argv,
                                   const std::filesystem::path& log_file, std::string description)
    : log_file_(log_file), description_(std::move(description)) {
  // A target that dies must end in a message, not in SIGPIPE for the tool.
  signal(SIGPIPE, SIG_IGN);
  int in_pipe[2];
  int out_pipe[2];
  int status_pipe[2];  // reports a failed exec to the parent
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(status_pipe, O_CLOEXEC) != 0) {
    throw Error("cannot create pipes for {}: {}", description_, std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string log = log_file.string();
  // Forked and registered in one step: an interruption sees either no child or this one.
  const auto hold = interrupt::lock();
  pid_ = fork();
  if (pid_ < 0) throw Error("cannot start {}: {}", description_, std::strerror(errno));
  if (pid_ == 0) {
    // Its own process group, stopped by the tool (on interruption too), and none of the tool's
    // blocked signals.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    execvp(args[0], args.data());
    const int error = errno;
    [[maybe_unused]] const ssize_t ignored = ::write(status_pipe[1], &error, sizeof(error));
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here: whichever of the two runs first
  interrupt::add_background_child(pid_);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(status_pipe[1]);
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
  int exec_error = 0;
  const ssize_t got = ::read(status_pipe[0], &exec_error, sizeof(exec_error));
  close(status_pipe[0]);
  if (got == sizeof(exec_error)) {
    waitpid(pid_, nullptr, 0);
    interrupt::remove_background_child(pid_);
    pid_ = -1;
    throw Error("cannot run {}: {}", argv[0], std::strerror(exec_error));
  }
}

ProcessTransport::~ProcessTransport() {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  if (pid_ <= 0) return;
  // Closing its input ends a host target; an emulator is asked to stop, then made to.
  bool ended = false;
  for (int attempt = 0; attempt < 50 && !ended; ++attempt) {
    ended = waitpid(pid_, nullptr, WNOHANG) == pid_;
    if (!ended && attempt == 5) kill(-pid_, SIGTERM);
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!ended) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const auto hold = interrupt::lock();
  interrupt::remove_background_child(pid_);
}

void ProcessTransport::report_exit() {
  int status = 0;
  std::string what = "closed the link";
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      const auto hold = interrupt::lock();
      interrupt::remove_background_child(pid_);
      pid_ = -1;
      what = describe_target_exit(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string log = log_tail(log_file_);
  throw Error("{} {}{}", description_, what, log.empty() ? "" : ":\n" + log);
}

void ProcessTransport::write(std::span<const uint8_t> bytes) {
  try {
    write_all(to_child_, bytes, description_);
  } catch (const Error&) {
    report_exit();
  }
}

size_t ProcessTransport::read(std::span<uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (!wait_readable(from_child_, timeout)) return 0;
  for (;;) {
    const ssize_t got = ::read(from_child_, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) report_exit();
    return static_cast<size_t>(got);
  }
}

std::string ProcessTransport::describe() const { return description_; }

namespace {

speed_t baud_constant(uint32_t baud) {
  static const std::map<uint32_t, speed_t> rates = {
      {9600, B9600},       {19200, B19200},     {38400, B38400},     {57600, B57600},
      {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
      {921600, B921600},   {1000000, B1000000}, {1500000, B1500000}, {2000000, B2000000},
      {3000000, B3000000}, {4000000, B4000000}};
  const auto found = rates.find(baud);
  if (found == rates.end()) {
    throw Error("unsupported baud rate {} (use 9600 .. 4000000, e.g. 115200 or 921600)", baud);
  }
  return found->second;
}

}  // namespace

SerialTransport::SerialTransport(const std::filesystem::path& device, uint32_t baud)
    : device_(device) {
  const speed_t speed = baud_constant(baud);
  fd_ = open(device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot open {}: {}", device.string(), std::strerror(errno));
  termios settings{};
  if (!isatty(fd_) || tcgetattr(fd_, &settings) != 0) {
    close(fd_);
    throw Error("{} is not a serial device (a terminal)", device.string());
  }
  cfmakeraw(&settings);
  settings.c_cflag |= CLOCAL | CREAD;
  settings.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS | CSTOPB);
  settings.c_cc[VMIN] = 0;
  settings.c_cc[VTIME] = 0;
  cfsetispeed(&settings, speed);
  cfsetospeed(&settings, speed);
  if (tcsetattr(fd_, TCSANOW, &settings) != 0) {
    const int error = errno;
    close(fd_);
    throw Error("cannot configure {}: {}", device.string(), std::strerror(error));
  }
  tcflush(fd_, TCIOFLUSH);
}

SerialTransport::~SerialTransport() {
  if (fd_ >= 0) close(fd_);
}

void SerialTransport::write(std::span<const uint8_t> bytes) {
  write_all(fd_, bytes, device_.string());
}

size_t SerialTransport::read(std::span<uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (!wait_readable(fd_, timeout)) return 0;
  for (;;) {
    const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return 0;
    if (got < 0) throw Error("reading {}: {}", device_.string(), std::strerror(errno));
    if (got == 0) {
      // A pseudo-terminal whose other side closed reads as end of file.
      throw Error("{} was closed by the other side", device_.string());
    }
    return static_cast<size_t>(got);
  }
}

std::string SerialTransport::describe() const { return device_.string(); }

}  // namespace tinydeploy::link
