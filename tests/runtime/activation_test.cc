#include "tinydeploy/runtime/activation.h"

#include <gtest/gtest.h>

#include <vector>

namespace tinydeploy::runtime {
namespace {

// int8 SOFTMAX with beta * input scale = 0.1 (as the crafted softmax_int8 model prepares it).
SoftmaxParams softmax_params() {
  SoftmaxParams params;
  params.input_beta = {1717986918, 23};  // 0.1 * 2^26 = 0.8 * 2^23
  params.diff_min = -static_cast<int32_t>(15.0 * (1 << 26) / (1 << 23));
  return params;
}

std::vector<int8_t> uniform_softmax(int32_t depth) {
  const std::vector<int8_t> input(static_cast<size_t>(depth), 0);
  std::vector<int8_t> output(static_cast<size_t>(depth), 99);
  softmax(softmax_params(), 1, depth, input.data(), output.data());
  return output;
}

TEST(SoftmaxInt8Test, UniformRowsRoundEachProbability) {
  // 1/300 = 0.85/256: rounds to one step above the zero point -128.
  EXPECT_EQ(uniform_softmax(300), std::vector<int8_t>(300, -127));
  // 1/600 and 1/5000 round to 0. TFLite's own arithmetic shifts by 32 or more here (and its
  // int32 sum of exps overflows from 4096 equal values on); both are defined in this runtime.
  EXPECT_EQ(uniform_softmax(600), std::vector<int8_t>(600, -128));
  EXPECT_EQ(uniform_softmax(5000), std::vector<int8_t>(5000, -128));
}

TEST(SoftmaxInt8Test, OneLargeValueTakesEverything) {
  std::vector<int8_t> input(1000, -100);
  input[7] = 100;
  std::vector<int8_t> output(input.size());
  softmax(softmax_params(), 1, 1000, input.data(), output.data());
  EXPECT_EQ(output[7], 127);
  EXPECT_EQ(output[0], -128);
}

TEST(LeakyReluTest, RescaledNegativesNearTheInt32LimitSaturate) {
  // Alpha rescaling of about -2^30 (the largest lowering allows), output zero point 5.
  LeakyReluParams params;
  params.output_zero_point = 5;
  params.identity = {1 << 30, 1};  // x 1
  params.alpha = {INT32_MAX, 30};
  params.alpha_negative = true;
  const std::vector<int8_t> input = {-128, -2, 0, 5};
  std::vector<int8_t> output(input.size());
  leaky_relu(params, 4, input.data(), output.data());
  // -2 becomes 2^31 - 1 before the zero point is added: saturated, not overflowed; -128 x 2^30
  // saturates in the shift too (TFLite's int32 product is undefined there), so both clamp to 127.
  EXPECT_EQ(output, (std::vector<int8_t>{127, 127, 5, 10}));
}

}  // namespace
}  // namespace tinydeploy::runtime
