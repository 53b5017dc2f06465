#include "tinydeploy/codegen/package.h"

#include <gtest/gtest.h>

#include "tinydeploy/common/error.h"

namespace tinydeploy::codegen {
namespace {

TEST(PackageName, DefaultsToTheModelStemAsACIdentifier) {
  EXPECT_EQ(default_package_name("models/kws_ref_model.tflite"), "kws_ref_model");
  EXPECT_EQ(default_package_name("/x/VWW-96 int8.tflite"), "vww_96_int8");
  EXPECT_EQ(default_package_name("3d-unet.tflite"), "model_3d_unet");
  EXPECT_EQ(default_package_name("---.tflite"), "model_");
}

TEST(PackageName, RefusesWhatCannotPrefixCSymbols) {
  EXPECT_NO_THROW(check_package_name("kws"));
  EXPECT_NO_THROW(check_package_name("_model_2"));
  for (const char* bad : {"", "9lives", "kws-model", "kws model", "k\xc3\xa9",
                          "a123456789012345678901234567890123456789012345678"}) {
    EXPECT_THROW(check_package_name(bad), Error) << bad;
  }
}

TEST(Target, ParsesTheThreeTargetsOnly) {
  EXPECT_EQ(parse_target("host"), Target::Host);
  EXPECT_EQ(parse_target("cortex-m4"), Target::CortexM4);
  EXPECT_EQ(parse_target("cortex-m55"), Target::CortexM55);
  EXPECT_EQ(target_name(Target::CortexM55), "cortex-m55");
  EXPECT_THROW(parse_target("cortex-m7"), Error);
}

}  // namespace
}  // namespace tinydeploy::codegen
