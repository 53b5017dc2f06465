#include "tinydeploy/cli/option_values.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <vector>

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

std::string check_cache_geometry(std::string& text) {
  std::vector<uint64_t> parts;
  size_t start = 0;
  while (parts.size() < 4) {
    const size_t end = text.find(':', start);
    const std::string part = text.substr(start, end == std::string::npos ? end : end - start);
    if (part.empty() || part.size() > 9 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return "expected SIZE:WAYS:LINE in bytes, ways and bytes, e.g. 32768:4:32";
    }
    parts.push_back(std::stoull(part));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (parts.size() != 3) return "expected SIZE:WAYS:LINE in bytes, ways and bytes, e.g. 32768:4:32";
  const uint64_t size = parts[0];
  const uint64_t ways = parts[1];
  const uint64_t line = parts[2];
  if (line < 4 || line > 4096 || (line & (line - 1)) != 0) {
    return "LINE must be a power of two from 4 to 4096 bytes";
  }
  if (ways < 1 || ways > 64) return "WAYS must be from 1 to 64";
  if (size == 0 || size > (uint64_t{64} << 20) || size % (ways * line) != 0) {
    return "SIZE must be a multiple of WAYS*LINE, at most 64 MiB";
  }
  return {};
}

}  // namespace tinydeploy::cli
