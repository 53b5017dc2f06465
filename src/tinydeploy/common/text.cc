#include "tinydeploy/common/text.h"

#include <fmt/format.h>

#include <cstdint>

namespace tinydeploy {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` and its code point, or
// length 0 when it is not well formed (stray continuation byte, truncation, overlong form,
// surrogate, beyond U+10FFFF).
struct Decoded {
  size_t length = 0;
  uint32_t code_point = 0;
};

Decoded decode_utf8(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return {1, lead};
  size_t length = 0;
  uint32_t code_point = 0;
  uint32_t minimum = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1fu;
    minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0fu;
    minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07u;
    minimum = 0x10000;
  } else {
    return {};
  }
  if (text.size() < length) return {};
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return {};
    code_point = (code_point << 6) | (byte(i) & 0x3fu);
  }
  if (code_point < minimum || code_point > 0x10ffff) return {};
  if (code_point >= 0xd800 && code_point <= 0xdfff) return {};
  return {length, code_point};
}

// Code points that reorder or hide the text around them on a terminal ("Trojan Source").
bool is_direction_control(uint32_t c) {
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
         c == 0x200f || c == 0x061c;
}

std::string escaped(std::string_view text, bool message) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const Decoded d = decode_utf8(text.substr(i));
    if (d.length == 0) {
      out += fmt::format("\\x{:02X}", static_cast<uint8_t>(text[i]));
      ++i;
      continue;
    }
    const uint32_t c = d.code_point;
    if (message && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
    } else if (c == '\\' && !message) {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
      for (size_t k = 0; k < d.length; ++k) {
        out += fmt::format("\\x{:02X}", static_cast<uint8_t>(text[i + k]));
      }
    } else if (is_direction_control(c)) {
      out += fmt::format("\\u{{{:04X}}}", c);
    } else {
      out.append(text.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text) { return escaped(text, false); }

std::string printable_message(std::string_view text) { return escaped(text, true); }

// Built by appending: GCC 12's -Wrestrict misfires on string::insert and on "-" + string.
std::string grouped(uint64_t value) {
  const std::string digits = fmt::format("{}", value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string grouped(int64_t value) {
  if (value >= 0) return grouped(static_cast<uint64_t>(value));
  std::string out = "-";
  out += grouped(static_cast<uint64_t>(-(value + 1)) + 1);
  return out;
}

}  // namespace tinydeploy
