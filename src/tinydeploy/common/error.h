// The one exception type of the host tool: a message a user can act on.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace tinydeploy {

// Thrown for every error a user can cause (bad model file, unsupported op, bad input).
// The message is complete on its own: the CLI prints it after "error: " and exits non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  template <typename... Args>
  explicit Error(fmt::format_string<Args...> format, Args&&... args)
      : std::runtime_error(fmt::format(format, std::forward<Args>(args)...)) {}
};

}  // namespace tinydeploy
