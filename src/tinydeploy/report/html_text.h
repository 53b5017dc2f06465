// Text and numbers as report.html shows them: untrusted strings made safe for HTML content and
// quoted attributes, counts with thousands separators, SVG coordinates that are always finite.
// Internal to the report module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tinydeploy/common/text.h"  // grouped()

namespace tinydeploy::report {

// Text that printable() has made well-formed, escaped for HTML content and quoted attributes.
std::string html_escape(std::string_view shown);
// Untrusted text (names from the model or the metadata file): printable(), then escaped.
std::string html_text(std::string_view untrusted);
// At most `max_chars` characters of html_text(untrusted), cut at a character boundary with an
// ellipsis.
std::string html_text_shortened(std::string_view untrusted, size_t max_chars);

uint64_t non_negative(int64_t value);
// A fixed-point number with its integer part grouped; "-" for what is not a finite number.
std::string decimal(double value, int decimals);
// Three significant digits and a metric prefix: 1.01M, 250k, 12.5; "-" when not finite.
std::string compact(double value);
// An SVG coordinate or length with one decimal: "0" for NaN or an infinity.
std::string svg_number(double value);
// part / whole, 0 when whole is not positive or the quotient is not finite.
double ratio(double part, double whole);
// "12.5%"; "-" when whole is not positive.
std::string percent(double part, double whole, int decimals = 1);
// A duration in the unit that reads best (s, ms, us); "-" when not finite.
std::string duration(double seconds);

}  // namespace tinydeploy::report
