// The operand contracts at their limits: each check accepts the last value the runtime's
// arithmetic holds and refuses the next one. (The crafted models in tests/data/crafted check
// that `run` and `generate` refuse the lies end to end.)
#include "tinydeploy/lowering/contracts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowering/one_op.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"

namespace tinydeploy::lowering {
namespace {

using model::BuiltinOp;
using model::DType;
using ::testing::HasSubstr;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// FULLY_CONNECTED int8 [1, 1] x [1, 1]: input magnitude 128 (zero point 0), one weight 127.
OneOp fully_connected_int8(int32_t bias) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 1}, DType::Int8, {1.0f});
  const int32_t w = m.constant<int8_t>("w", {1, 1}, DType::Int8, {127}, {1.0f});
  const int32_t b = m.constant<int32_t>("b", {1}, DType::Int32, {bias}, {1.0f});
  const int32_t y = m.tensor("y", {1, 1}, DType::Int8, {1000.0f});
  m.op(BuiltinOp::FULLY_CONNECTED, {x, w, b}, {y}, model::FullyConnectedOptions{});
  return m;
}

TEST(ContractsTest, Int32AccumulatorLimitIsExact) {
  const auto largest = static_cast<int32_t>(kInt32Max - 128 * 127);
  EXPECT_EQ(fully_connected_int8(largest).error(), "");
  EXPECT_EQ(fully_connected_int8(-largest).error(), "");
  EXPECT_EQ(fully_connected_int8(largest + 1).error(),
            "test.tflite: operator 0 (FULLY_CONNECTED): the accumulator of output channel 0 can "
            "reach 2147483648 (inputs up to 128 from their zero point times the weights of 'w', "
            "plus bias 'b'), more than the 32-bit accumulator allows (2147483647)");
}

// FULLY_CONNECTED 16x8 with an int64 bias: input magnitude 32768, one weight 1.
OneOp fully_connected_int16(int64_t bias) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 1}, DType::Int16, {1.0f});
  const int32_t w = m.constant<int8_t>("w", {1, 1}, DType::Int8, {1}, {1.0f});
  const int32_t b = m.constant<int64_t>("b", {1}, DType::Int64, {bias}, {1.0f});
  const int32_t y = m.tensor("y", {1, 1}, DType::Int16, {1.0f});
  m.op(BuiltinOp::FULLY_CONNECTED, {x, w, b}, {y}, model::FullyConnectedOptions{});
  return m;
}

TEST(ContractsTest, Int64AccumulatorStaysBelowTwoToThe47) {
  const int64_t largest = (int64_t{1} << 47) - 1 - 32768;
  EXPECT_EQ(fully_connected_int16(largest).error(), "");
  EXPECT_THAT(fully_connected_int16(largest + 1).error(),
              HasSubstr("can reach 140737488355328 (inputs up to 32768 from their zero point"));
  EXPECT_THAT(fully_connected_int16(std::numeric_limits<int64_t>::min()).error(),
              HasSubstr("more than the 64-bit accumulator allows (140737488355327)"));
}

TEST(ContractsTest, RequantizationRangeOfEachHelper) {
  const OneOp m = fully_connected_int8(0);
  const OpBinding b = m.binding();
  const auto refusal = [&](double real, Accumulator accumulator) {
    try {
      requantization(b, real, accumulator, "the rescaling");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // The 32-bit helper: any scale below 2^30 (its shift reaches 30).
  EXPECT_EQ(requantization(b, 0x1.fffffp29, Accumulator::Int32, "").shift, 30);
  EXPECT_EQ(requantization(b, 0.0, Accumulator::Int32, "").multiplier, 0);
  EXPECT_THAT(refusal(0x1p30, Accumulator::Int32),
              HasSubstr("the rescaling (scale 1073741824) is beyond what the runtime's 32-bit "
                        "requantization applies (a non-negative scale below 2^30)"));
  // The 64-bit helper: shifts up to 14; a significand rounding up just below 2^14 carries into
  // shift 15 and is refused too.
  EXPECT_EQ(requantization(b, 0x1.fffffp13, Accumulator::Int64, "").shift, 14);
  EXPECT_THAT(refusal(0x1p14, Accumulator::Int64), HasSubstr("below 2^14"));
  EXPECT_THAT(refusal(0x1.fffffffffffffp13, Accumulator::Int64), HasSubstr("below 2^14"));
  EXPECT_NE(refusal(std::nan(""), Accumulator::Int32), "");
  EXPECT_NE(refusal(-1.0, Accumulator::Int32), "");
  EXPECT_NE(refusal(INFINITY, Accumulator::Int32), "");
}

TEST(ContractsTest, WindowPositionsStayWithinInt32) {
  const OneOp m = fully_connected_int8(0);
  const OpBinding b = m.binding();
  // Two positions kInt32Max - 1 apart, one tap each: the last starts at INT32_MAX - 1.
  EXPECT_NO_THROW(require_window_fits(b, "height", 2, kInt32Max - 1, 1, 1, 0));
  EXPECT_NO_THROW(require_window_fits(b, "height", 1, 1, 2, kInt32Max - 1, kInt32Max));
  EXPECT_THROW(require_window_fits(b, "height", 2, kInt32Max - 1, 2, 1, 0), Error);
  EXPECT_THROW(require_window_fits(b, "height", 1, 1, 3, kInt32Max, 0), Error);
  EXPECT_THROW(require_window_fits(b, "width", 1, 1, 1, 1, kInt32Max + 1), Error);
  // Saturating arithmetic: no overflow for options at the int32 limits.
  EXPECT_THROW(require_window_fits(b, "width", kInt32Max, kInt32Max, kInt32Max, kInt32Max, 0),
               Error);
}

OneOp relu_int8(std::vector<int32_t> shape, int64_t zero_point) {
  OneOp m;
  const int32_t x = m.tensor("x", shape, DType::Int8, {0.5f}, {zero_point});
  const int32_t y = m.tensor("y", shape, DType::Int8, {0.5f}, {0});
  m.op(BuiltinOp::RELU, {x}, {y});
  return m;
}

TEST(ContractsTest, ZeroPointsWithinTheirType) {
  EXPECT_EQ(relu_int8({4}, 127).error(), "");
  EXPECT_EQ(relu_int8({4}, -128).error(), "");
  EXPECT_EQ(relu_int8({4}, 128).error(),
            "test.tflite: operator 0 (RELU): tensor 'x' has zero point 128, outside int8's range "
            "[-128, 127]");
  EXPECT_THAT(relu_int8({4}, std::numeric_limits<int64_t>::min()).error(),
              HasSubstr("zero point -9223372036854775808"));
}

TEST(ContractsTest, ElementCountsCountZeroDimensionsAsOne) {
  // No elements, but a kernel multiplying the other dimensions would overflow int32.
  EXPECT_EQ(relu_int8({0, 65536, 65536}, 0).error(),
            "test.tflite: operator 0 (RELU): tensor 'x' of shape [0, 65536, 65536] has more "
            "elements than the runtime's 32-bit indexing addresses");
  EXPECT_EQ(relu_int8({0, 32768, 65535}, 0).error(), "");
}

OneOp softmax_int8(float beta, float input_scale) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 4}, DType::Int8, {input_scale});
  const int32_t y = m.tensor("y", {1, 4}, DType::Int8, {1.0f / 256}, {-128});
  m.op(BuiltinOp::SOFTMAX, {x}, {y}, model::SoftmaxOptions{beta});
  return m;
}

TEST(ContractsTest, SoftmaxBeta) {
  // TFLite Micro requires beta x input scale x 2^26 > 1.
  EXPECT_EQ(softmax_int8(1.0f, 0x1p-26f).error(),
            "test.tflite: operator 0 (SOFTMAX): beta * input scale is too small for SOFTMAX");
  EXPECT_EQ(softmax_int8(0x1.000002p0f, 0x1p-26f).error(), "");
  EXPECT_THAT(softmax_int8(-0.5f, 0.1f).error(),
              HasSubstr("beta -0.5 must be positive for a quantized SOFTMAX"));
  EXPECT_THAT(softmax_int8(NAN, 0.1f).error(), HasSubstr("beta nan is not a finite number"));
  // Large finite betas make SOFTMAX an arg max, as in TFLite.
  EXPECT_EQ(softmax_int8(3e38f, 0.1f).error(), "");
}

TEST(ContractsTest, BiasLengthAndZeroPoint) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 2}, DType::Int8, {1.0f});
  const int32_t w = m.constant<int8_t>("w", {3, 2}, DType::Int8, {1, 2, 3, 4, 5, 6}, {1.0f});
  const int32_t b = m.constant<int32_t>("b", {2}, DType::Int32, {0, 0}, {1.0f});
  const int32_t y = m.tensor("y", {1, 3}, DType::Int8, {1000.0f});
  m.op(BuiltinOp::FULLY_CONNECTED, {x, w, b}, {y}, model::FullyConnectedOptions{});
  EXPECT_EQ(m.error(),
            "test.tflite: operator 0 (FULLY_CONNECTED): bias 'b' has 2 elements, expected one per "
            "output channel (3)");
}

}  // namespace
}  // namespace tinydeploy::lowering
