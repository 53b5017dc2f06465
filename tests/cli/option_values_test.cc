#include "tinydeploy/cli/option_values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tinydeploy::cli {
namespace {

using ::testing::HasSubstr;

// The checked value (normalized) or the message.
std::string seed(std::string text) {
  const std::string error = check_seed(text);
  return error.empty() ? text : error;
}

std::string size(std::string text) {
  const std::string error = check_byte_size(text);
  return error.empty() ? text : error;
}

TEST(SeedOption, TakesDecimalIntegersOverTheWholeRange) {
  EXPECT_EQ(seed("0"), "0");
  EXPECT_EQ(seed("23"), "23");
  EXPECT_EQ(seed("010"), "10");  // decimal, not octal 8
  EXPECT_EQ(seed("18446744073709551615"), "18446744073709551615");
}

TEST(SeedOption, RefusesNegativeOutOfRangeAndOtherSpellings) {
  // CLI11 read -1 and anything beyond 2^64-1 as 2^64-1.
  for (const char* bad : {"-1", "-0", "18446744073709551616", "99999999999999999999", "0x10", "1e3",
                          "+5", "", " 5", "5 ", "seed"}) {
    EXPECT_THAT(seed(bad), HasSubstr("a seed is a decimal integer from 0 to 18446744073709551615"))
        << bad;
  }
  EXPECT_THAT(seed("\x1b[2J"), HasSubstr("not '\\x1B[2J'"));
}

TEST(ByteSizeOption, TakesBytesAndBinaryUnits) {
  EXPECT_EQ(size("0"), "0");
  EXPECT_EQ(size("384"), "384");
  EXPECT_EQ(size("384b"), "384");
  EXPECT_EQ(size("1K"), "1024");
  EXPECT_EQ(size("1kib"), "1024");
  EXPECT_EQ(size("256M"), "268435456");
  EXPECT_EQ(size("256MiB"), "268435456");
  EXPECT_EQ(size("2G"), "2147483648");
  EXPECT_EQ(size("4294967296G"), "4611686018427387904");  // 2^62
}

TEST(ByteSizeOption, RefusesNegativeHugeAndUnknownUnits) {
  for (const char* bad : {"-1", "-1M", "1T", "1 M", "M", "", "abc", "4294967297G",
                          "99999999999999999999", "0x10", "1.5G", "+1"}) {
    EXPECT_THAT(size(bad), HasSubstr("a size is a number of bytes")) << bad;
  }
}

}  // namespace
}  // namespace tinydeploy::cli
