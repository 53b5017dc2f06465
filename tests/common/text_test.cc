#include "tinydeploy/common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace tinydeploy {
namespace {

using namespace std::string_literals;

TEST(Printable, KeepsOrdinaryAndNonLatinNames) {
  EXPECT_EQ(printable("serving_default_x:0"), "serving_default_x:0");
  EXPECT_EQ(printable("model/conv2d/Conv2D;bias */ \"q\""), "model/conv2d/Conv2D;bias */ \"q\"");
  EXPECT_EQ(printable("入力_テンソル"), "入力_テンソル");
  EXPECT_EQ(printable("Ωmega €"), "Ωmega €");
  EXPECT_EQ(printable("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // U+1F600, four bytes
}

TEST(Printable, EscapesControlBytesAndBackslashes) {
  // The name of the security review's model: an escape sequence, a newline, bytes not UTF-8.
  EXPECT_EQ(printable("in\xff\xfe\x1b[31mred\n*/ \"q\" \\ ?\?/"s),
            "in\\xFF\\xFE\\x1B[31mred\\x0A*/ \"q\" \\\\ ?\?/");
  EXPECT_EQ(printable("a\0b\tc\rd\x7f"s), "a\\x00b\\x09c\\x0Dd\\x7F");
  EXPECT_EQ(printable("\xC2\x9B"
                      "2J"),
            "\\xC2\\x9B2J");  // C1 control CSI
}

TEST(Printable, EscapesMalformedUtf8) {
  EXPECT_EQ(printable("\xC0\xAF"), "\\xC0\\xAF");                    // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");           // surrogate U+D800
  EXPECT_EQ(printable("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(printable("ab\xE2\x82"), "ab\\xE2\\x82");                // truncated at the end
  EXPECT_EQ(printable("\x80x"), "\\x80x");                           // stray continuation
}

TEST(Printable, EscapesDirectionOverrides) {
  EXPECT_EQ(printable("safe\xE2\x80\xAEtxt.exe"), "safe\\u{202E}txt.exe");
  EXPECT_EQ(printable("\xE2\x81\xA6x"), "\\u{2066}x");
}

TEST(PrintableMessage, KeepsLinesTabsAndBackslashes) {
  EXPECT_EQ(printable_message("failed:\n\tsrc\\a.cc:1: error"), "failed:\n\tsrc\\a.cc:1: error");
  EXPECT_EQ(printable_message("name '\x1b[2J\xff'"), "name '\\x1B[2J\\xFF'");
  // Already printable text is unchanged.
  const std::string once = printable("x\x01\\");
  EXPECT_EQ(printable_message(once), once);
}

}  // namespace
}  // namespace tinydeploy
