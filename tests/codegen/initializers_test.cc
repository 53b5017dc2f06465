#include "tinydeploy/codegen/initializers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

namespace tinydeploy::codegen {
namespace {

float parse_float_literal(const std::string& literal) {
  EXPECT_EQ(literal.back(), 'f') << literal;
  return std::strtof(literal.c_str(), nullptr);
}

TEST(FloatLiteral, ReadsBackAsTheSameFloat) {
  std::mt19937 random(42);
  for (int i = 0; i < 20000; ++i) {
    const auto bits = static_cast<uint32_t>(random());
    float value;
    std::memcpy(&value, &bits, sizeof value);
    if (!std::isfinite(value)) continue;
    const std::string literal = float_literal(value);
    const float back = parse_float_literal(literal);
    ASSERT_EQ(std::memcmp(&back, &value, sizeof value), 0) << literal;
  }
}

TEST(FloatLiteral, IsAlwaysAFloatLiteral) {
  EXPECT_EQ(float_literal(1.0f), "1.0f");
  EXPECT_EQ(float_literal(-2.0f), "-2.0f");
  EXPECT_EQ(float_literal(0.5f), "0.5f");
  EXPECT_EQ(float_literal(1e-5f), "1e-05f");
  EXPECT_EQ(float_literal(std::numeric_limits<float>::infinity()),
            "std::numeric_limits<float>::infinity()");
  EXPECT_EQ(float_literal(-std::numeric_limits<float>::infinity()),
            "-std::numeric_limits<float>::infinity()");
  EXPECT_EQ(float_literal(std::numeric_limits<float>::max()), "3.4028235e+38f");
}

TEST(Initializer, NamesEveryFieldInDeclarationOrder) {
  rt::ConvGeometry geometry;
  geometry.stride_h = 2;
  geometry.dilation_w = 3;
  geometry.pad_left = -1;
  EXPECT_EQ(initializer(geometry),
            "{/*stride_h=*/2, /*stride_w=*/1, /*dilation_h=*/1, /*dilation_w=*/3, "
            "/*pad_top=*/0, /*pad_left=*/-1}");
}

TEST(Initializer, NestsStructsAndArrays) {
  rt::AddParams add;
  add.input1 = {1073741824, -3};
  add.min = -128;
  add.max = 127;
  EXPECT_EQ(initializer(add),
            "{/*input1_offset=*/0, /*input2_offset=*/0, /*output_offset=*/0, /*left_shift=*/20, "
            "/*input1=*/{/*multiplier=*/1073741824, /*shift=*/-3}, "
            "/*input2=*/{/*multiplier=*/0, /*shift=*/0}, "
            "/*output=*/{/*multiplier=*/0, /*shift=*/0}, /*min=*/-128, /*max=*/127}");
  rt::StridedView view;
  view.count[5] = 4;
  view.stride[5] = -1;
  view.offset = 3;
  EXPECT_EQ(initializer(view),
            "{/*count=*/{1, 1, 1, 1, 1, 4}, /*stride=*/{0, 0, 0, 0, 0, -1}, /*offset=*/3}");
}

TEST(Initializer, SpellsTheMostNegativeIntegersAsExpressions) {
  rt::QuantizedActivation act{0, 0, std::numeric_limits<int32_t>::min(), 5};
  EXPECT_EQ(initializer(act),
            "{/*input_offset=*/0, /*output_offset=*/0, /*min=*/(-2147483647 - 1), /*max=*/5}");
}

TEST(Initializer, RefersToTablesByName) {
  EXPECT_EQ(initializer(rt::PerChannelScale{}, "conv_3_multiplier", "conv_3_shift"),
            "{/*multiplier=*/conv_3_multiplier, /*shift=*/conv_3_shift}");
  rt::SoftmaxInt16Params softmax;
  softmax.input_beta = {1518500250, 2};
  EXPECT_EQ(initializer(softmax, "exp_lut", "reciprocal_lut"),
            "{/*input_beta=*/{/*multiplier=*/1518500250, /*shift=*/2}, "
            "/*exp_table=*/exp_lut, /*reciprocal_table=*/reciprocal_lut}");
  rt::LeakyReluParams leaky;
  leaky.alpha_negative = true;
  EXPECT_NE(initializer(leaky).find("/*alpha_negative=*/true"), std::string::npos);
}

TEST(ArrayDefinition, AlignsWrapsAndTerminates) {
  EXPECT_EQ(array_definition("int32_t", "shift", {1, -2, 3, 4, 5}, 2),
            "alignas(16) const int32_t shift[5] = {\n    1, -2,\n    3, 4,\n    5\n};\n");
  EXPECT_EQ(array_definition("int64_t", "bias", {std::numeric_limits<int64_t>::min()}),
            "alignas(16) const int64_t bias[1] = {\n    (-9223372036854775807LL - 1)\n};\n");
  EXPECT_EQ(array_definition("int8_t", "empty", {}), "alignas(16) const int8_t empty[0] = {};\n");
}

}  // namespace
}  // namespace tinydeploy::codegen
