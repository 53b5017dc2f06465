#include "tinydeploy/cli/option_values.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

#include "tinydeploy/common/text.h"

namespace tinydeploy::cli {
namespace {

// The leading decimal digits of `text` as an unsigned number; false when there are none, when
// the text starts with a sign, or when the number does not fit.
bool leading_number(const std::string& text, uint64_t& value, size_t& digits) {
  if (text.empty() || text.front() == '-' || text.front() == '+') return false;
  const auto [stop, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  digits = static_cast<size_t>(stop - text.data());
  return ec == std::errc() && digits > 0;
}

}  // namespace

std::string check_seed(std::string& text) {
  uint64_t value = 0;
  size_t digits = 0;
  if (!leading_number(text, value, digits) || digits != text.size()) {
    return fmt::format("a seed is a decimal integer from 0 to {}, not '{}'",
                       std::numeric_limits<uint64_t>::max(), printable(text));
  }
  text = std::to_string(value);  // no leading zero left for strtoull's octal
  return {};
}

std::string check_byte_size(std::string& text) {
  uint64_t value = 0;
  size_t digits = 0;
  const bool number = leading_number(text, value, digits);
  std::string unit = number ? text.substr(digits) : std::string();
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit.empty() || unit == "b") shift = 0;
  if (unit == "k" || unit == "kib") shift = 10;
  if (unit == "m" || unit == "mib") shift = 20;
  if (unit == "g" || unit == "gib") shift = 30;
  constexpr uint64_t kMax = uint64_t{1} << 62;
  if (!number || shift < 0 || value > (kMax >> shift)) {
    return fmt::format(
        "a size is a number of bytes with an optional unit K, M or G (KiB, MiB, GiB), e.g. 512M, "
        "at most 2^62 bytes, not '{}'",
        printable(text));
  }
  text = std::to_string(value << shift);
  return {};
}

}  // namespace tinydeploy::cli
