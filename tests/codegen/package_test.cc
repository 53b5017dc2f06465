#include "tinydeploy/codegen/package.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

#include "tinydeploy/common/error.h"

namespace tinydeploy::codegen {
namespace {

TEST(PackageName, DefaultsToTheModelStemAsACIdentifier) {
  EXPECT_EQ(default_package_name("models/kws_ref_model.tflite"), "kws_ref_model");
  EXPECT_EQ(default_package_name("/x/VWW-96 int8.tflite"), "vww_96_int8");
  EXPECT_EQ(default_package_name("3d-unet.tflite"), "model_3d_unet");
  EXPECT_EQ(default_package_name("---.tflite"), "model");
  EXPECT_EQ(default_package_name("__init__.tflite"), "init");
  // A 60-character stem starting with a digit: prefixed, then cut to 48 without a trailing '_'.
  const std::string long_stem = "1" + std::string(59, 'x');
  EXPECT_EQ(default_package_name(long_stem + ".tflite"), "model_1" + std::string(41, 'x'));
  EXPECT_EQ(default_package_name("1" + std::string(40, 'x') + "-y.tflite"),
            "model_1" + std::string(40, 'x'));
}

TEST(PackageName, DefaultNeverShadowsAHeaderOrACMakeTarget) {
  // A model called math.tflite would give math.h, which hides <math.h> from the runtime.
  EXPECT_EQ(default_package_name("models/math.tflite"), "math_model");
  EXPECT_EQ(default_package_name("STDINT.tflite"), "stdint_model");
  EXPECT_EQ(default_package_name("string.tflite"), "string_model");
  EXPECT_EQ(default_package_name("all.tflite"), "all_model");
  EXPECT_EQ(default_package_name("example-data.tflite"), "example_data_model");
  for (const char* stem : {"math", "stdio", "features", "unistd", "all", "Clean", "help"}) {
    EXPECT_NO_THROW(check_package_name(default_package_name(std::string(stem) + ".tflite")))
        << stem;
  }
}

TEST(PackageName, RefusesWhatCannotPrefixCSymbols) {
  EXPECT_NO_THROW(check_package_name("kws"));
  EXPECT_NO_THROW(check_package_name("model_2"));
  EXPECT_NO_THROW(check_package_name("Kws_Model"));
  // C/C++ keywords only ever appear with a suffix (int_init, class_tensor): they build.
  EXPECT_NO_THROW(check_package_name("int"));
  EXPECT_NO_THROW(check_package_name("class"));
  for (const char* bad : {"", "9lives", "kws-model", "kws model", "k\xc3\xa9",
                          "a123456789012345678901234567890123456789012345678"}) {
    EXPECT_THROW(check_package_name(bad), Error) << bad;
  }
}

std::string refusal(std::string_view name) {
  try {
    check_package_name(name);
  } catch (const Error& error) {
    return error.what();
  }
  return "accepted";
}

TEST(PackageName, RefusesReservedIdentifiers) {
  // The package appends "_init", "_model_data", ...: a trailing '_' makes a reserved "__".
  for (const char* bad : {"_model_2", "_Kws", "kws__model", "kws_", "__"}) {
    EXPECT_NE(refusal(bad).find("reserve identifiers that begin with '_' or contain '__'"),
              std::string::npos)
        << bad;
  }
}

TEST(PackageName, RefusesHeaderNamesThatWouldShadowTheSystemsHeaders) {
  // Each of these built a package that did not compile, or one that breaks its user's build.
  for (const char* header :
       {"stdint", "math", "string", "stdio", "stdlib", "features", "unistd", "errno", "assert",
        "pthread", "newlib", "reent", "arm_math", "example_data"}) {
    EXPECT_NE(refusal(header).find(fmt::format("would hide the system header <{}.h>", header)),
              std::string::npos)
        << header;
  }
  // Case-insensitive file systems (macOS, Windows) find Math.h for <math.h>.
  EXPECT_NE(refusal("Math").find("Math.h would hide the system header <math.h>"),
            std::string::npos);
  EXPECT_EQ(refusal("stdint"),
            "--name 'stdint' is not usable: the package's stdint.h would hide the system header "
            "<stdint.h> from every file built with the package's include directory; choose "
            "another name, e.g. stdint_model");
}

TEST(PackageName, RefusesCMakeReservedTargetNames) {
  for (const char* target : {"all", "clean", "help", "install", "edit_cache", "rebuild_cache",
                             "preinstall", "ZERO_CHECK", "ALL_BUILD", "test", "package"}) {
    EXPECT_NE(refusal(target).find("CMake reserves the target name"), std::string::npos) << target;
  }
}

}  // namespace
}  // namespace tinydeploy::codegen
