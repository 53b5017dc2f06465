#include "tinydeploy/runtime/conv.h"

#include <gtest/gtest.h>

#include <vector>

namespace tinydeploy::runtime {
namespace {

constexpr int32_t kHalf = 1 << 30;  // Q31 0.5 with shift 0

TEST(ConvS8Test, ValidTwoByTwoWithOffsetsBiasAndClamp) {
  // Input 1x3x3x1 with zero point 1 (offset -1), filter 2x2 of ones, bias 4, scale 0.5,
  // output zero point 3, activation range [-128, 20].
  const std::vector<int8_t> input = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int8_t> filter = {1, 1, 1, 1};
  const std::vector<int32_t> bias = {4};
  const int32_t multiplier[] = {kHalf};
  const int32_t shift[] = {0};
  std::vector<int8_t> output(4);
  conv({}, {-1, 3, -128, 20}, {multiplier, shift}, {1, 3, 3, 1}, input.data(), {1, 2, 2, 1},
       filter.data(), bias.data(), {1, 2, 2, 1}, output.data());
  // Window sums of (x - 1): top-left 0+1+3+4 = 8, then 12, 20, 24. Plus bias: 12, 16, 24, 28.
  // Times 0.5: 6, 8, 12, 14. Plus 3: 9, 11, 15, 17 (all inside the clamp).
  EXPECT_EQ(output, (std::vector<int8_t>{9, 11, 15, 17}));
}

TEST(ConvS8Test, SamePaddingStrideAndPerChannelScales) {
  // Input 1x2x2x1 = [1 2; 3 4], zero point 0. Two 3x3 filters, SAME, stride 2: one output
  // pixel centred at (0,0) with one row/column of padding on top/left.
  const std::vector<int8_t> input = {1, 2, 3, 4};
  std::vector<int8_t> filter(2 * 9, 0);
  for (int i = 0; i < 9; ++i) filter[static_cast<size_t>(i)] = 1;  // filter 0: ones
  for (int i = 0; i < 9; ++i) filter[static_cast<size_t>(9 + i)] = static_cast<int8_t>(i);
  const int32_t multipliers[] = {kHalf, kHalf};
  const int32_t shifts[] = {0, 1};  // channel scales 0.5 and 1.0
  std::vector<int8_t> output(2);
  ConvGeometry geometry;
  geometry.stride_h = geometry.stride_w = 2;
  geometry.pad_top = geometry.pad_left = 1;
  conv(geometry, {0, 0, -128, 127}, {multipliers, shifts}, {1, 2, 2, 1}, input.data(), {2, 3, 3, 1},
       filter.data(), nullptr, {1, 1, 1, 2}, output.data());
  // The window covers input rows/cols 0..1 at filter taps (1,1),(1,2),(2,1),(2,2).
  // Filter 0: 1+2+3+4 = 10 -> 5. Filter 1: taps 4,5,7,8: 4*1+5*2+7*3+8*4 = 67 -> 67.
  EXPECT_EQ(output, (std::vector<int8_t>{5, 67}));
}

TEST(DepthwiseConvS8Test, DepthMultiplierTwo) {
  // Input 1x1x2x2 (two pixels, two channels); 1x1x2x4 filter, multiplier 2, VALID, kernel 1x2.
  const std::vector<int8_t> input = {1, 2, 3, 4};               // pixel 0: (1, 2), pixel 1: (3, 4)
  const std::vector<int8_t> filter = {1, 2, 3, 4, 5, 6, 7, 8};  // [kx][out_c]
  const int32_t multipliers[] = {kHalf, kHalf, kHalf, kHalf};
  const int32_t shifts[] = {1, 1, 1, 1};  // scale 1.0
  std::vector<int8_t> output(4);
  depthwise_conv({}, 2, {0, 0, -128, 127}, {multipliers, shifts}, {1, 1, 2, 2}, input.data(),
                 {1, 1, 2, 4}, filter.data(), nullptr, {1, 1, 1, 4}, output.data());
  // out_c 0, 1 read channel 0 (1 then 3); out_c 2, 3 read channel 1 (2 then 4).
  // oc0: 1*1 + 3*5 = 16; oc1: 1*2 + 3*6 = 20; oc2: 2*3 + 4*7 = 34; oc3: 2*4 + 4*8 = 40.
  EXPECT_EQ(output, (std::vector<int8_t>{16, 20, 34, 40}));
}

TEST(FullyConnectedS8Test, PerTensorSaturates) {
  // Two rows of three features, two units; scale 1.0, output zero point -100.
  const std::vector<int8_t> input = {1, 2, 3, 100, 100, 100};
  const std::vector<int8_t> weights = {1, 0, -1, 2, 2, 2};
  const std::vector<int32_t> bias = {10, 0};
  const int32_t multiplier[] = {kHalf};
  const int32_t shift[] = {1};
  std::vector<int8_t> output(4);
  fully_connected({0, -100, -128, 127}, {multiplier, shift}, false, 0, {2, 3, 2}, input.data(),
                  weights.data(), bias.data(), output.data());
  // Row 0: unit 0 = 1 - 3 + 10 = 8 -> -92; unit 1 = 12 -> -88.
  // Row 1: unit 0 = 0 + 10 -> -90; unit 1 = 600 -> 500 after the offset, clamped to 127.
  EXPECT_EQ(output, (std::vector<int8_t>{-92, -88, -90, 127}));
}

TEST(ConvS16Test, Int32AccumulatorWrapsAsTfliteDoes) {
  // 16x8 with an int32 bias: 32767 x 127 + (INT32_MAX - 100) leaves int32 and wraps to
  // -2143322340, which rescaled by 0.5 clamps to the int16 minimum. (Defined here; the same
  // two's complement sum TFLite's int32 accumulator makes on hardware.)
  const std::vector<int16_t> input = {32767};
  const std::vector<int8_t> filter = {127};
  const std::vector<int32_t> bias = {INT32_MAX - 100};
  const int32_t multiplier[] = {kHalf};
  const int32_t shift[] = {0};
  std::vector<int16_t> output(1);
  conv({}, {0, 0, -32768, 32767}, {multiplier, shift}, {1, 1, 1, 1}, input.data(), {1, 1, 1, 1},
       filter.data(), bias.data(), {1, 1, 1, 1}, output.data());
  EXPECT_EQ(output[0], -32768);
}

}  // namespace
}  // namespace tinydeploy::runtime
