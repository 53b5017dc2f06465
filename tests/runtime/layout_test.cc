#include "tinydeploy/runtime/layout.h"

#include <gtest/gtest.h>

#include <vector>

#include "tinydeploy/runtime/elementwise.h"
#include "tinydeploy/runtime/reduce.h"

namespace tinydeploy::runtime {
namespace {

TEST(GatherTest, ReversedStridedSliceOfAMatrix) {
  // 3x4 input 0..11; rows 2,0 (stride -2) and columns 1,3 (stride 2).
  std::vector<int16_t> input(12);
  for (int i = 0; i < 12; ++i) input[static_cast<size_t>(i)] = static_cast<int16_t>(i);
  StridedView view;
  view.count[4] = 2;
  view.stride[4] = -8;
  view.count[5] = 2;
  view.stride[5] = 2;
  view.offset = 2 * 4 + 1;
  std::vector<int16_t> output(4);
  gather(view, 2, input.data(), output.data());
  EXPECT_EQ(output, (std::vector<int16_t>{9, 11, 1, 3}));
}

TEST(GatherTest, TransposeAsAView) {
  const std::vector<float> input = {1, 2, 3, 4, 5, 6};  // 2x3
  StridedView view;                                     // output 3x2
  view.count[4] = 3;
  view.stride[4] = 1;
  view.count[5] = 2;
  view.stride[5] = 3;
  std::vector<float> output(6);
  gather(view, 4, input.data(), output.data());
  EXPECT_EQ(output, (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(PadTest, FillsAroundTheInputWithTheValue) {
  const std::vector<int8_t> input = {1, 2, 3, 4};  // 2x2
  PadShape shape;
  shape.input_dims[4] = 2;
  shape.input_dims[5] = 2;
  shape.before[4] = 1;
  shape.after[5] = 1;
  const int8_t fill = -5;
  std::vector<int8_t> output(9);
  pad(shape, 1, input.data(), &fill, output.data());
  EXPECT_EQ(output, (std::vector<int8_t>{-5, -5, -5, 1, 2, -5, 3, 4, -5}));
}

TEST(ConcatenateTest, InterleavesChunksPerOuterIndex) {
  const std::vector<int8_t> a = {1, 2, 3, 4};  // 2x2
  const std::vector<int8_t> b = {9, 8};        // 2x1
  const void* inputs[] = {a.data(), b.data()};
  const int32_t chunks[] = {2, 1};
  std::vector<int8_t> output(6);
  concatenate(2, 2, inputs, chunks, output.data());
  EXPECT_EQ(output, (std::vector<int8_t>{1, 2, 9, 3, 4, 8}));
}

TEST(SplitTest, HandsEachOutputItsChunkPerOuterIndex) {
  // A 2x3 int16 matrix split along its columns into 2 + 1 (SPLIT_V), in bytes.
  const std::vector<int16_t> input = {1, 2, 3, 4, 5, 6};
  std::vector<int16_t> left(4);
  std::vector<int16_t> right(2);
  void* const outputs[] = {left.data(), right.data()};
  const int32_t chunks[] = {4, 2};
  split(2, 2, input.data(), chunks, outputs);
  EXPECT_EQ(left, (std::vector<int16_t>{1, 2, 4, 5}));
  EXPECT_EQ(right, (std::vector<int16_t>{3, 6}));
}

TEST(SplitTest, UnpackAlongTheMiddleAxisAndAnEmptyPart) {
  // 2x3x1 int8 unpacked along axis 1: three 2x1 outputs; a zero-byte part may be null.
  const std::vector<int8_t> input = {1, 2, 3, 4, 5, 6};
  std::vector<int8_t> a(2);
  std::vector<int8_t> b(2);
  std::vector<int8_t> c(2);
  void* const outputs[] = {a.data(), nullptr, b.data(), c.data()};
  const int32_t chunks[] = {1, 0, 1, 1};
  split(2, 4, input.data(), chunks, outputs);
  EXPECT_EQ(a, (std::vector<int8_t>{1, 4}));
  EXPECT_EQ(b, (std::vector<int8_t>{2, 5}));
  EXPECT_EQ(c, (std::vector<int8_t>{3, 6}));
}

TEST(SplitTest, IsTheInverseOfConcatenate) {
  std::vector<uint8_t> input(60);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>(i * 7 + 3);
  std::vector<uint8_t> p0(15);
  std::vector<uint8_t> p1(45);
  void* const parts[] = {p0.data(), p1.data()};
  const int32_t chunks[] = {3, 9};
  split(5, 2, input.data(), chunks, parts);
  const void* const back[] = {p0.data(), p1.data()};
  std::vector<uint8_t> joined(60);
  concatenate(5, 2, back, chunks, joined.data());
  EXPECT_EQ(joined, input);
}

TEST(BroadcastTest, RowPlusColumn) {
  const std::vector<float> column = {10, 20};  // 2x1
  const std::vector<float> row = {1, 2, 3};    // 1x3
  BroadcastShape shape;
  shape.dims[4] = 2;
  shape.dims[5] = 3;
  shape.stride1[4] = 1;  // column varies along dim 4 only
  shape.stride2[5] = 1;  // row varies along dim 5 only
  std::vector<float> output(6);
  add(FloatActivation{}, shape, column.data(), row.data(), output.data());
  EXPECT_EQ(output, (std::vector<float>{11, 12, 13, 21, 22, 23}));
}

TEST(MeanTest, QuantizedMeanOverTheLastAxisRounds) {
  // 2x3 input, zero point 1, same scale in and out, so the prepared multiplier is 1/3.
  const std::vector<int8_t> input = {2, 3, 5, -1, -1, -2};
  ReduceShape shape;
  shape.input_dims[4] = 2;
  shape.input_dims[5] = 3;
  shape.output_stride[4] = 1;
  shape.output_elements = 2;
  shape.reduced_elements = 3;
  MeanParams params;
  params.input_zero_point = 1;
  params.output_zero_point = 1;
  params.scale = {1431655765, -1};  // 2/3 * 2^-1 = 1/3
  std::vector<int8_t> output(2);
  std::vector<int32_t> scratch(2);
  mean(params, shape, input.data(), output.data(), scratch.data());
  // Row 0: the centred sum is 7. The Q31 multiply gives round(7 * 2/3) = 5, then the rounding
  // shift round(5 / 2) = 3 (ties away from zero): TFLite's double rounding makes 7/3 = 2.33
  // come out as 3, plus the zero point = 4. Row 1: -7 -> -5 -> -3, plus 1 = -2.
  EXPECT_EQ(output, (std::vector<int8_t>{4, -2}));
}

TEST(GatherIndexedTest, RowsWithAnIndexOutOfRangeWrittenAsZeros) {
  // 2 blocks (outer) of 3 slices of 2 int8 each; indices 2, -1, 0, 3: -1 and 3 lie outside.
  const std::vector<int8_t> input = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<int32_t> indices = {2, -1, 0, 3};
  std::vector<int8_t> output(16, 99);
  gather_indexed(1, 2, 3, 4, 2, indices.data(), input.data(), output.data());
  EXPECT_EQ(output, (std::vector<int8_t>{5, 6, 0, 0, 1, 2, 0, 0, 11, 12, 0, 0, 7, 8, 0, 0}));
}

TEST(ReduceMaxMinTest, FloatStartsFromTheLowestFiniteValueAndSkipsNan) {
  ReduceShape shape;  // [2, 3] reduced over the last axis
  shape.input_dims[4] = 2;
  shape.input_dims[5] = 3;
  shape.output_stride[4] = 1;
  shape.output_elements = 2;
  shape.reduced_elements = 3;
  const float nan = __builtin_nanf("");
  const std::vector<float> input = {nan, -1.0f, 2.0f, -__builtin_inff(), -__builtin_inff(), nan};
  std::vector<float> output(2);
  reduce_max_min(shape, true, input.data(), output.data());
  EXPECT_EQ(output, (std::vector<float>{2.0f, -3.40282347e+38f}));
}

TEST(ArgMinMaxTest, FirstIndexWinsTies) {
  const std::vector<int8_t> input = {3, 7, 7, -2, 5, -2};  // [2, 3], along the last axis
  std::vector<int32_t> output(2);
  arg_min_max(2, 3, 1, true, input.data(), output.data());
  EXPECT_EQ(output, (std::vector<int32_t>{1, 1}));
  arg_min_max(2, 3, 1, false, input.data(), output.data());
  EXPECT_EQ(output, (std::vector<int32_t>{0, 0}));
}

}  // namespace
}  // namespace tinydeploy::runtime
