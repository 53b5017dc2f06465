#include "tinydeploy/report/html_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tinydeploy/common/text.h"

namespace tinydeploy::report {

std::string html_escape(std::string_view shown) {
  std::string out;
  out.reserve(shown.size());
  for (const char c : shown) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_text(std::string_view untrusted) { return html_escape(printable(untrusted)); }

std::string html_text_shortened(std::string_view untrusted, size_t max_chars) {
  const std::string shown = printable(untrusted);
  const auto starts_character = [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  };
  const auto characters =
      static_cast<size_t>(std::count_if(shown.begin(), shown.end(), starts_character));
  if (characters <= max_chars || max_chars == 0) return html_escape(shown);
  size_t kept = 0;
  size_t cut = 0;
  for (; cut < shown.size(); ++cut) {
    if (starts_character(shown[cut]) && kept++ == max_chars - 1) break;
  }
  return html_escape(std::string_view(shown).substr(0, cut)) + "\u2026";
}

uint64_t non_negative(int64_t value) { return value < 0 ? 0 : static_cast<uint64_t>(value); }

std::string decimal(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  const std::string digits = fmt::format("{:.{}f}", std::fabs(value), decimals);
  const size_t point = std::min(digits.find('.'), digits.size());
  std::string out = value < 0 && digits.find_first_not_of("0.") != std::string::npos ? "-" : "";
  for (size_t i = 0; i < point; ++i) {
    if (i > 0 && (point - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out + digits.substr(point);
}

std::string compact(double value) {
  if (!std::isfinite(value)) return "-";
  static constexpr std::array<const char*, 7> kPrefixes = {"", "k", "M", "G", "T", "P", "E"};
  double scaled = std::fabs(value);
  size_t prefix = 0;
  while (scaled >= 999.5 && prefix + 1 < kPrefixes.size()) {
    scaled /= 1000;
    ++prefix;
  }
  const int decimals = scaled >= 99.95 || scaled == std::floor(scaled) ? 0
                       : scaled >= 9.995                               ? 1
                                                                       : 2;
  std::string out = fmt::format("{:.{}f}", scaled, decimals);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return (value < 0 ? "-" : "") + out + kPrefixes[prefix];
}

std::string svg_number(double value) {
  if (!std::isfinite(value)) return "0";
  const std::string out = fmt::format("{:.1f}", value);
  return out == "-0.0" ? "0.0" : out;
}

double ratio(double part, double whole) {
  const double r = whole > 0 ? part / whole : 0;
  return std::isfinite(r) ? r : 0;
}

std::string percent(double part, double whole, int decimals) {
  if (!(whole > 0)) return "-";
  return decimal(100 * ratio(part, whole), decimals) + "%";
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds >= 1) return decimal(seconds, 3) + " s";
  if (seconds >= 1e-3) return decimal(seconds * 1e3, 3) + " ms";
  return decimal(seconds * 1e6, 3) + " \u00b5s";
}

}  // namespace tinydeploy::report
