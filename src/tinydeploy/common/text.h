// Text from untrusted files (tensor, operator and signature names in a model) made safe to show.
// A model can hold any bytes in its strings: terminal escape sequences, newlines that fake extra
// output lines, bytes that are not UTF-8 (which JSON cannot carry).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tinydeploy {

// `text` with every byte that could disturb a terminal or a line-oriented reader escaped:
// control characters (C0, DEL, C1), bytes that are not well-formed UTF-8 and Unicode direction
// overrides become \xNN (or \u{NNNN}); a backslash becomes \\ so that escapes are unambiguous.
// Well-formed printable UTF-8 (e.g. non-Latin names) is kept as it is.
std::string printable(std::string_view text);

// A whole message for the terminal (an error that may quote untrusted names): as printable(),
// but line breaks and tabs are kept and backslashes are left alone, so a message that is
// already printable comes out unchanged.
std::string printable_message(std::string_view text);

// 1234567 -> "1,234,567": a count for people to read.
std::string grouped(uint64_t value);
std::string grouped(int64_t value);

}  // namespace tinydeploy
