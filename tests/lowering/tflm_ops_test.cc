// Lowering of the operators added after TFLite Micro's kernels (resize, ARG_MAX/ARG_MIN, SLICE,
// GATHER, DEPTH_TO_SPACE/SPACE_TO_DEPTH, SUM, REDUCE_MAX/REDUCE_MIN, ABS, NEG,
// PRELU): the tables and
// views derived with TFLite's formulas, worked out by hand here, and the refusals that name TFLite
// Micro's reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowering/one_op.h"

namespace tinydeploy::lowering {
namespace {

using model::BuiltinOp;
using model::DType;
using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::HasSubstr;

// The `nth` argument of type T of a kernel call (a failure when there is none).
template <typename T>
T argument(const KernelCall& call, size_t nth = 0) {
  for (const Argument& value : call.arguments) {
    const T* found = std::get_if<T>(&value);
    if (found != nullptr && nth-- == 0) return *found;
  }
  ADD_FAILURE() << "kernel call " << call.kernel << " has no such argument";
  return T{};
}

template <typename T>
std::vector<T> table(const KernelCall& call, size_t nth) {
  return std::get<std::vector<T>>(argument<ConstantArray>(call, nth).values);
}

OneOp resize(BuiltinOp op, DType type, std::vector<int32_t> in, std::vector<int32_t> size,
             model::ResizeOptions options) {
  OneOp m;
  const int32_t x = m.tensor("x", in, type, {0.5f});
  const int32_t s = m.constant<int32_t>("size", {2}, DType::Int32, size);
  const int32_t y = m.tensor("y", {in[0], size[0], size[1], in[3]}, type, {0.5f});
  m.op(op, {x, s}, {y}, options);
  return m;
}

TEST(ResizeFamilyTest, NearestAlignCornersRoundsHalfAwayFromZero) {
  const KernelCall call =
      resize(BuiltinOp::RESIZE_NEAREST_NEIGHBOR, DType::Int16, {1, 2, 5, 3}, {3, 10}, {true, false})
          .lowered();
  EXPECT_EQ(call.kernel, "resize_nearest");
  EXPECT_EQ(call.source, "resize");
  // Rows: scale (2 - 1) / (3 - 1) = 0.5, round(0, 0.5, 1) = 0, 1, 1. Columns: scale 4/9,
  // round(i * 4/9) for i = 0..9.
  EXPECT_THAT(table<int32_t>(call, 0), ElementsAre(0, 1, 1));
  EXPECT_THAT(table<int32_t>(call, 1), ElementsAre(0, 0, 1, 1, 2, 2, 3, 3, 4, 4));
  EXPECT_EQ(argument<int32_t>(call, 2), 2);  // element size
}

TEST(ResizeFamilyTest, BilinearInt8HalfPixelQ10Table) {
  const KernelCall call =
      resize(BuiltinOp::RESIZE_BILINEAR, DType::Int8, {1, 2, 1, 3}, {4, 1}, {false, true})
          .lowered();
  EXPECT_EQ(call.kernel, "resize_bilinear");
  // scale_10 = (1024 * 2 + 2) / 4 = 512; coordinate i * 512 + 256 - 512; lower = max(c / 1024,
  // 0) (C division), upper = min((c + 1023) / 1024, 1).
  EXPECT_THAT(table<int32_t>(call, 0), ElementsAre(-256, 0, 0, 256, 0, 1, 768, 0, 1, 1280, 1, 1));
  EXPECT_THAT(table<int32_t>(call, 1), ElementsAre(0, 0, 0));
}

TEST(ResizeFamilyTest, BilinearRefusesWhatTfliteMicroRefuses) {
  EXPECT_THAT(
      resize(BuiltinOp::RESIZE_BILINEAR, DType::Int8, {1, 2, 2, 1}, {4, 4}, {true, true}).error(),
      HasSubstr("refuses half_pixel_centers together with align_corners"));
  EXPECT_THAT(resize(BuiltinOp::RESIZE_BILINEAR, DType::Int16, {1, 2, 2, 1}, {4, 4}, {}).error(),
              HasSubstr("TFLite Micro's RESIZE_BILINEAR takes float32 or int8, not int16"));
}

TEST(ResizeFamilyTest, NonConstantSizeIsRefused) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 2, 2, 1}, DType::Float32);
  const int32_t s = m.tensor("size", {2}, DType::Int32);
  const int32_t y = m.tensor("y", {1, 4, 4, 1}, DType::Float32);
  m.op(BuiltinOp::RESIZE_NEAREST_NEIGHBOR, {x, s}, {y}, model::ResizeOptions{});
  EXPECT_THAT(m.error(), HasSubstr("takes a constant size tensor only"));
}

TEST(ReduceFamilyTest, ArgMaxShapeAndInt64Refusal) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 3, 4}, DType::Int8, {0.5f});
  const int32_t axis = m.constant<int32_t>("axis", {1}, DType::Int32, {-2});
  const int32_t y = m.tensor("y", {2, 4}, DType::Int32);
  m.op(BuiltinOp::ARG_MAX, {x, axis}, {y}, model::ArgMinMaxOptions{DType::Int32});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "arg_min_max");
  // outer 2, axis 3, inner 4, largest.
  EXPECT_EQ(argument<int32_t>(call, 0), 2);
  EXPECT_EQ(argument<int32_t>(call, 1), 3);
  EXPECT_EQ(argument<int32_t>(call, 2), 4);
  EXPECT_TRUE(argument<bool>(call));
  m.at(y).dtype = DType::Int64;
  EXPECT_THAT(m.error(), HasSubstr("TFLite Micro's ARG_MAX writes int32 indices only, not int64"));
}

TEST(ReduceFamilyTest, SumKeepsTheUndividedMultiplier) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 3, 4, 5}, DType::Int8, {0.5f}, {2});
  const int32_t a = m.constant<int32_t>("axes", {2}, DType::Int32, {1, 2});
  const int32_t y = m.tensor("y", {1, 5}, DType::Int8, {0.25f}, {-1});
  m.op(BuiltinOp::SUM, {x, a}, {y}, model::ReducerOptions{});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "mean");
  EXPECT_EQ(call.scratch_bytes, 20);
  // QuantizeMultiplier(0.5 / 0.25 = 2) = (2^30, 2), not divided by the 12 summed elements.
  EXPECT_THAT(argument<rt::MeanParams>(call).scale, FieldsAre(1073741824, 2));
}

TEST(ReduceFamilyTest, Int8ReduceMaxNeedsOneQuantization) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 3}, DType::Int8, {0.5f}, {2});
  const int32_t a = m.constant<int32_t>("axes", {1}, DType::Int32, {1});
  const int32_t y = m.tensor("y", {2}, DType::Int8, {0.25f}, {2});
  m.op(BuiltinOp::REDUCE_MAX, {x, a}, {y}, model::ReducerOptions{});
  EXPECT_THAT(m.error(), HasSubstr("needs the output's scale and zero point equal to the input's"));
  m.at(y).quantization.scale = {0.5f};
  EXPECT_EQ(m.lowered().kernel, "reduce_max_min");
}

TEST(LayoutFamilyTest, SliceViewWithSizeToTheEnd) {
  OneOp m;
  const int32_t x = m.tensor("x", {4, 6}, DType::Int16);
  const int32_t begin = m.constant<int32_t>("begin", {2}, DType::Int32, {1, 2});
  const int32_t size = m.constant<int64_t>("size", {2}, DType::Int64, {2, -1});
  const int32_t y = m.tensor("y", {2, 4}, DType::Int16);
  m.op(BuiltinOp::SLICE, {x, begin, size}, {y});
  EXPECT_THAT(m.error(), HasSubstr("begin and size must be of one type"));
  m.at(size).dtype = DType::Int32;
  m.at(size).data = m.at(begin).data;  // {1, 2}: a [1, 2] window
  m.at(y).shape = {1, 2};
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "gather");
  const auto view = argument<rt::StridedView>(call);
  EXPECT_THAT(view.count, ElementsAre(1, 1, 1, 1, 1, 2));
  EXPECT_EQ(view.offset, 8);  // row 1, column 2
}

TEST(LayoutFamilyTest, DepthToSpaceView) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 1, 2, 4}, DType::Float32);
  const int32_t y = m.tensor("y", {1, 2, 4, 1}, DType::Float32);
  m.op(BuiltinOp::DEPTH_TO_SPACE, {x}, {y}, model::DepthSpaceOptions{2});
  const auto view = argument<rt::StridedView>(m.lowered());
  // Output (dy, w, dx) reads input channel (dy * 2 + dx) of pixel w: strides 2, 4, 1.
  EXPECT_THAT(view.count, ElementsAre(1, 1, 1, 2, 2, 2));
  EXPECT_THAT(view.stride, ElementsAre(0, 0, 0, 2, 4, 1));
}

TEST(LayoutFamilyTest, GatherRefusesAConstantIndexOutOfRange) {
  OneOp m;
  const int32_t params = m.tensor("params", {3, 4}, DType::Float32);
  const int32_t indices = m.constant<int32_t>("indices", {2}, DType::Int32, {0, 3});
  const int32_t y = m.tensor("y", {2, 4}, DType::Float32);
  m.op(BuiltinOp::GATHER, {params, indices}, {y}, model::GatherOptions{});
  EXPECT_THAT(m.error(), HasSubstr("index 3 is outside the gathered axis of size 3"));
}

TEST(LayoutFamilyTest, GatherWithRunTimeIndices) {
  OneOp m;
  const int32_t params = m.tensor("params", {3, 4, 2}, DType::Int8, {0.5f});
  const int32_t indices = m.tensor("indices", {5}, DType::Int32);
  const int32_t y = m.tensor("y", {3, 5, 2}, DType::Int8, {0.5f});
  m.op(BuiltinOp::GATHER, {params, indices}, {y}, model::GatherOptions{1, 0});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "gather_indexed");
  // batches 1, outer 3, axis 4, 5 indices, slices of 2 bytes.
  EXPECT_EQ(argument<int32_t>(call, 0), 1);
  EXPECT_EQ(argument<int32_t>(call, 1), 3);
  EXPECT_EQ(argument<int32_t>(call, 2), 4);
  EXPECT_EQ(argument<int32_t>(call, 3), 5);
  EXPECT_EQ(argument<int32_t>(call, 4), 2);
}

TEST(ActivationFamilyTest, AbsRescalesOnlyWhenTheScalesDiffer) {
  OneOp m;
  const int32_t x = m.tensor("x", {4}, DType::Int8, {0.5f}, {3});
  const int32_t y = m.tensor("y", {4}, DType::Int8, {0.25f}, {-128});
  m.op(BuiltinOp::ABS, {x}, {y});
  KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "absolute");
  EXPECT_EQ(call.source, "activation");
  // Zero points 3 and -128, rescaled by QuantizeMultiplier(0.5 / 0.25 = 2) = (2^30, 2).
  EXPECT_TRUE(argument<bool>(call));
  EXPECT_EQ(argument<int32_t>(call, 0), 3);
  EXPECT_EQ(argument<int32_t>(call, 1), -128);
  EXPECT_EQ(argument<int32_t>(call, 2), 1073741824);
  EXPECT_EQ(argument<int32_t>(call, 3), 2);
  m.at(y).quantization.scale = {0.5f};
  call = m.lowered();
  EXPECT_FALSE(argument<bool>(call));
}

TEST(ActivationFamilyTest, NegIsFloatOnlyAsInTfliteMicro) {
  OneOp m;
  const int32_t x = m.tensor("x", {4}, DType::Int8, {0.5f});
  const int32_t y = m.tensor("y", {4}, DType::Int8, {0.5f});
  m.op(BuiltinOp::NEG, {x}, {y});
  EXPECT_THAT(m.error(), HasSubstr("TFLite Micro's NEG takes float32 only, not int8 to int8"));
}

TEST(ElementwiseFamilyTest, PreluTwoMultipliersAndTypes) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 2, 3}, DType::Int8, {0.5f}, {-3});
  const int32_t alpha = m.constant<int8_t>("alpha", {3}, DType::Int8, {1, 2, 3}, {0.25f});
  const int32_t y = m.tensor("y", {1, 2, 3}, DType::Int8, {0.25f}, {5});
  m.op(BuiltinOp::PRELU, {x, alpha}, {y});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "prelu");
  EXPECT_EQ(call.source, "elementwise");
  // Positive side: QuantizeMultiplier(0.5 / 0.25 = 2) = (2^30, 2); negative side: 0.5 x 0.25 /
  // 0.25 = 0.5 = (2^30, 0).
  EXPECT_EQ(argument<int32_t>(call, 0), 1073741824);
  EXPECT_EQ(argument<int32_t>(call, 1), 2);
  const auto params = argument<rt::MulParams>(call);
  EXPECT_EQ(params.input1_offset, 3);
  EXPECT_EQ(params.input2_offset, 0);
  EXPECT_EQ(params.output_offset, 5);
  EXPECT_THAT(params.output, FieldsAre(1073741824, 0));
  m.at(alpha).dtype = DType::Int16;
  EXPECT_THAT(m.error(), HasSubstr("TFLite Micro's PRELU takes float32, or int8 or int16 input "
                                   "with int8 alpha, not int8 and int16 to int8"));
}

}  // namespace
}  // namespace tinydeploy::lowering
