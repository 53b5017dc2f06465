#include "tinydeploy/runtime/svdf.h"

#include <gtest/gtest.h>

#include <vector>

namespace tinydeploy::runtime {
namespace {

// The state slides one position to the left per invoke and each filter's newest position takes
// the feature value: worked by hand on a 2-filter, 3-deep memory with identity feature weights.
TEST(SvdfTest, FloatStateSlidesAndTimeWeightsApplyOldestFirst) {
  SvdfShape shape;
  shape.input_size = 2;
  shape.filters = 2;
  shape.memory = 3;
  const std::vector<float> weights_feature = {1, 0, 0, 1};
  const std::vector<float> weights_time = {1, 2, 4, 1, 1, 1};
  const std::vector<float> bias = {0.5f, 0.0f};
  std::vector<float> state(6, 0.0f);
  std::vector<float> output(2);
  std::vector<float> scratch(2);
  const std::vector<std::vector<float>> inputs = {{1, 2}, {3, -1}, {0, 0}};
  const std::vector<std::vector<float>> expected = {{4.5f, 2.0f}, {14.5f, 1.0f}, {7.5f, 1.0f}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    svdf(kSvdfActivationNone, shape, inputs[i].data(), weights_feature.data(), weights_time.data(),
         bias.data(), state.data(), output.data(), scratch.data());
    EXPECT_EQ(output, expected[i]) << "invoke " << i;
  }
  EXPECT_EQ(state, (std::vector<float>{1, 3, 0, 2, -1, 0}));
}

TEST(SvdfTest, FloatRankSumsConsecutiveFiltersAndAppliesTheActivation) {
  SvdfShape shape;
  shape.batches = 2;
  shape.input_size = 1;
  shape.filters = 4;  // 2 units of rank 2
  shape.rank = 2;
  const std::vector<float> weights_feature = {1, 2, 3, -4};
  const std::vector<float> weights_time = {1, 1, 1, 1};
  std::vector<float> state(8, 0.0f);
  std::vector<float> output(4);
  std::vector<float> scratch(8);
  const std::vector<float> input = {1, -1};
  // Unit 0 = filters 0 + 1 (x * 3), unit 1 = filters 2 + 3 (x * -1), no bias.
  svdf(kSvdfActivationRelu6, shape, input.data(), weights_feature.data(), weights_time.data(),
       nullptr, state.data(), output.data(), scratch.data());
  EXPECT_EQ(output, (std::vector<float>{3, 0, 0, 1}));
  svdf(kSvdfActivationSignBit, shape, input.data(), weights_feature.data(), weights_time.data(),
       nullptr, state.data(), output.data(), scratch.data());
  EXPECT_EQ(output, (std::vector<float>{0, 1, 1, 0}));
  svdf(kSvdfActivationReluN1To1, shape, input.data(), weights_feature.data(), weights_time.data(),
       nullptr, state.data(), output.data(), scratch.data());
  EXPECT_EQ(output, (std::vector<float>{1, -1, -1, 1}));
}

// TFLite Micro saturates the rescaled feature value to the state type and then adds the state
// zero point in that type's width: 127 + 3 keeps its low 8 bits, -126.
TEST(SvdfTest, Int8StateKeepsTheLowBitsOfASaturatedValuePlusZeroPoint) {
  SvdfShape shape;
  SvdfQuantization q;
  q.state_zero_point = 3;
  q.feature = {1 << 30, 1};  // 1.0
  q.time = {1 << 30, 1};
  const int8_t input = 127;
  const int8_t weights_feature = 127;
  const int8_t weights_time = 1;
  int8_t state = 0;
  int8_t output = 0;
  int32_t scratch = 0;
  svdf(q, shape, &input, &weights_feature, &weights_time, nullptr, &state, &output, &scratch);
  EXPECT_EQ(state, -126);
  EXPECT_EQ(scratch, -129);
  EXPECT_EQ(output, -128);
}

TEST(SvdfTest, Int16StateRescalesBothProductsWithOffsetsAndBias) {
  SvdfShape shape;
  shape.input_size = 2;
  shape.filters = 2;
  shape.rank = 2;
  shape.memory = 2;
  SvdfQuantization q;
  q.input_offset = 5;                          // input zero point -5
  q.output_zero_point = -3;                    // applied after the time rescaling
  q.feature = {1 << 30, 0};                    // 0.5
  q.time = {1 << 30, -2};                      // 0.125
  const std::vector<int8_t> input = {-5, 15};  // 0 and 20 after the offset
  const std::vector<int8_t> weights_feature = {1, 3, 2, -7};
  const std::vector<int16_t> weights_time = {100, 10, -1000, 1000};
  const std::vector<int32_t> bias = {401};
  std::vector<int16_t> state = {0, 0, 0, 0};
  std::vector<int32_t> scratch(2);
  int8_t output = 0;
  svdf(q, shape, input.data(), weights_feature.data(), weights_time.data(), bias.data(),
       state.data(), &output, scratch.data());
  // Feature: filter 0: 60 * 0.5 = 30; filter 1: -140 * 0.5 = -70.
  EXPECT_EQ(state, (std::vector<int16_t>{0, 30, 0, -70}));
  // Time: 10 * 30 = 300 and 1000 * -70 = -70000; + 401 = -69299; * 0.125 = -8662.4 -> -8662,
  // - 3, saturated to -128.
  EXPECT_EQ(scratch, (std::vector<int32_t>{300, -70000}));
  EXPECT_EQ(output, -128);
  // A zero input (after the offset): 30 and -70 move to the older position, 0 is written.
  const std::vector<int8_t> silent = {-5, -5};
  svdf(q, shape, silent.data(), weights_feature.data(), weights_time.data(), bias.data(),
       state.data(), &output, scratch.data());
  EXPECT_EQ(state, (std::vector<int16_t>{30, 0, -70, 0}));
  EXPECT_EQ(scratch, (std::vector<int32_t>{3000, 70000}));
  // (3000 + 70000 + 401) * 0.125 = 9175.1 -> 9175, saturated to 127.
  EXPECT_EQ(output, 127);
}

}  // namespace
}  // namespace tinydeploy::runtime
