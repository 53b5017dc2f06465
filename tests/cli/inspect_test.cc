#include "tinydeploy/cli/inspect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tinydeploy/common/error.h"

namespace tinydeploy::cli {
namespace {

using ::testing::HasSubstr;

std::filesystem::path kws() {
  return std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models" / "kws_ref_model.tflite";
}

std::string inspect(const InspectOptions& options) {
  std::ostringstream out;
  run_inspect(options, out);
  return out.str();
}

TEST(InspectTest, TextSummary) {
  const std::string text = inspect({kws(), false, false});
  EXPECT_THAT(text, HasSubstr("input_1                      [1, 49, 10, 1]     int8     scale "
                              "0.584702909 zero_point 83"));
  EXPECT_THAT(text, HasSubstr("Identity                     [1, 12]            int8     scale "
                              "0.00390625 zero_point -128"));
  EXPECT_THAT(text, HasSubstr("operators   AVERAGE_POOL_2D x1, CONV_2D x5, DEPTHWISE_CONV_2D x4, "
                              "FULLY_CONNECTED x1, RESHAPE x1, SOFTMAX x1"));
  EXPECT_THAT(text, HasSubstr("MACs        2,656,768"));
  EXPECT_THAT(text, HasSubstr("arena       16,000 bytes (lower bound 16,000 bytes, ratio 1.000)"));
  EXPECT_THAT(text, HasSubstr("runtime     every operator is supported"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("   #  op")));
}

TEST(InspectTest, LayersTable) {
  const std::string text = inspect({kws(), false, true});
  EXPECT_THAT(text, HasSubstr("   0  CONV_2D                [1, 25, 5, 64]     int8          "
                              "320,000      2,816"));
  EXPECT_THAT(text, HasSubstr("  11  FULLY_CONNECTED        [1, 12]            int8              "
                              "768        816"));
}

TEST(InspectTest, JsonDocument) {
  const auto doc = nlohmann::json::parse(inspect({kws(), true, true}));
  EXPECT_EQ(doc["total_macs"], 2656768);
  EXPECT_EQ(doc["operator_count"], 13);
  EXPECT_EQ(doc["inputs"][0]["shape"], nlohmann::json({1, 49, 10, 1}));
  EXPECT_EQ(doc["inputs"][0]["dtype"], "int8");
  EXPECT_EQ(doc["inputs"][0]["zero_point"][0], 83);
  EXPECT_EQ(doc["op_histogram"]["CONV_2D"], 5);
  EXPECT_EQ(doc["signatures"].size(), 0u);
  EXPECT_EQ(doc["memory"]["arena_bytes"], 16000);
  EXPECT_EQ(doc["memory"]["lower_bound_bytes"], 16000);
  EXPECT_EQ(doc["memory"]["ratio"], 1.0);
  ASSERT_EQ(doc["layers"].size(), 13u);
  EXPECT_EQ(doc["layers"][0]["macs"], 320000);
  EXPECT_EQ(doc["layers"][0]["weight_bytes"], 2816);
  EXPECT_EQ(doc["layers"][0]["arena_bytes"], 8000);
  EXPECT_EQ(doc["operators"].size(), 6u);
  EXPECT_EQ(doc["unsupported"].size(), 0u);  // the runtime has a kernel for every operator
}

TEST(InspectTest, SignaturesAndMetadata) {
  const auto path =
      std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models" / "str_ww_ref_model.tflite";
  const auto doc = nlohmann::json::parse(inspect({path, true, false}));
  ASSERT_EQ(doc["signatures"].size(), 1u);
  EXPECT_EQ(doc["signatures"][0]["key"], "serving_default");
  EXPECT_EQ(doc["signatures"][0]["subgraph"], 0);
  EXPECT_EQ(doc["signatures"][0]["inputs"].size(), 1u);
  ASSERT_EQ(doc["metadata"].size(), 2u);
  EXPECT_EQ(doc["metadata"][0]["name"], "min_runtime_version");
  EXPECT_EQ(doc["metadata"][1]["name"], "CONVERSION_METADATA");
  EXPECT_THAT(inspect({path, false, false}),
              HasSubstr("signature   'serving_default' (subgraph 0, 1 inputs, 1 outputs)"));
}

TEST(InspectTest, JsonWithoutLayers) {
  const auto doc = nlohmann::json::parse(inspect({kws(), true, false}));
  EXPECT_FALSE(doc.contains("layers"));
}

TEST(InspectTest, BadInputThrowsOneError) {
  EXPECT_THROW(inspect({std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models", false, false}),
               Error);
  EXPECT_THROW(inspect({std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models" / "NOTICE.md",
                        false, false}),
               Error);
}

}  // namespace
}  // namespace tinydeploy::cli
