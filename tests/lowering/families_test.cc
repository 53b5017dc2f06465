// Each operator family's lowering on one-operator models: the parameters it derives from the
// model (read back from the kernel call's arguments, against values worked out here from
// TFLite's formulas), one refusal per family, the runtime file each call names, and the scratch
// sizes the memory plan places; then lowering::lower over a model with refused operators.
//
// Multipliers: TFLite's QuantizeMultiplier writes a real r as q * 2^shift with q in [0.5, 1) and
// keeps round(q * 2^31). The scales below are chosen so that q is exact: 0.5 gives 2^30 =
// 1073741824, 0.75 gives 1610612736, and 0.1f = 13421773 * 2^-27 gives 13421773 * 2^7 =
// 1717986944 (13421773 lies in [2^23, 2^24), so q = 13421773 / 2^24).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "lowering/one_op.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/lowering.h"

namespace tinydeploy::lowering {
namespace {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Padding;
using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::VariantWith;

constexpr int32_t kHalf = 1073741824;            // 0.5 in Q31
constexpr int32_t kThreeQuarters = 1610612736;   // 0.75 in Q31
constexpr int32_t kPointEight = 13421773 * 128;  // 0.1f's significand 13421773 / 2^24 in Q31

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

// ---------------------------------------------------------------------------------------------
// conv

TEST(ConvFamilyTest, Conv2DGeometryAndPerChannelMultipliers) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 6, 6, 2}, DType::Int8, {0.5f}, {-1});
  const int32_t w = m.constant<int8_t>("w", {3, 3, 3, 2}, DType::Int8, std::vector<int8_t>(54, 1),
                                       {0.25f, 0.75f, 0.1f});
  const int32_t b =
      m.constant<int32_t>("b", {3}, DType::Int32, {10, -20, 30}, {0.125f, 0.375f, 0.05f});
  const int32_t y = m.tensor("y", {1, 3, 3, 3}, DType::Int8, {1.0f}, {3});
  model::Conv2DOptions o;
  o.padding = Padding::Same;
  o.stride_h = 2;
  o.stride_w = 2;
  o.dilation_h = 1;
  o.dilation_w = 2;
  o.activation = Activation::Relu6;
  m.op(BuiltinOp::CONV_2D, {x, w, b}, {y}, o);
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "conv");
  EXPECT_EQ(call.source, "conv");
  EXPECT_EQ(call.scratch_bytes, 0);
  // SAME padding: total = (out - 1) * stride + (filter - 1) * dilation + 1 - in, half before.
  // Height: (3 - 1) * 2 + 3 - 6 = 1 -> 0 before. Width (dilation 2, effective filter 5):
  // (3 - 1) * 2 + 5 - 6 = 3 -> 1 before.
  EXPECT_THAT(argument<rt::ConvGeometry>(call), FieldsAre(2, 2, 1, 2, 0, 1));
  // Offsets: minus the input zero point, the output zero point. RELU6 in output units:
  // 3 + round(0 / 1) = 3 and 3 + round(6 / 1) = 9.
  EXPECT_THAT(argument<rt::QuantizedActivation>(call), FieldsAre(1, 3, 3, 9));
  // input scale x filter scale / output scale: 0.125 = 0.5 * 2^-2, 0.375 = 0.75 * 2^-1,
  // 0.5 * 0.1f = 13421773 * 2^-28 = (13421773 / 2^24) * 2^-4.
  const ChannelScales scales = argument<ChannelScales>(call);
  EXPECT_THAT(scales.multiplier, ElementsAre(kHalf, kThreeQuarters, kPointEight));
  EXPECT_THAT(scales.shift, ElementsAre(-2, -1, -4));
  EXPECT_THAT(argument<rt::Dims4>(call, 0), FieldsAre(1, 6, 6, 2));
  EXPECT_THAT(argument<rt::Dims4>(call, 1), FieldsAre(3, 3, 3, 2));
  EXPECT_THAT(argument<rt::Dims4>(call, 2), FieldsAre(1, 3, 3, 3));
  EXPECT_THAT(argument<TensorPointer>(call, 0), FieldsAre(x, CType::Int8, false));
  EXPECT_THAT(argument<TensorPointer>(call, 3), FieldsAre(y, CType::Int8, true));
}

TEST(ConvFamilyTest, DepthwiseMultiplierMustAgreeWithTheShapes) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 4, 4, 2}, DType::Float32);
  const int32_t w =
      m.constant<float>("w", {1, 3, 3, 4}, DType::Float32, std::vector<float>(36, 1.0f));
  const int32_t y = m.tensor("y", {1, 4, 4, 4}, DType::Float32);
  model::DepthwiseConv2DOptions o;
  o.stride_h = 1;
  o.stride_w = 1;
  o.depth_multiplier = 3;
  m.op(BuiltinOp::DEPTHWISE_CONV_2D, {x, w}, {y}, o);
  EXPECT_EQ(m.error(),
            "test.tflite: operator 0 (DEPTHWISE_CONV_2D): depth_multiplier 3 disagrees with the 2 "
            "input and 4 output channels");
}

// TRANSPOSE_CONV from a [1, 3, 3, 1] input to a [1, 5, 5, 2] output, stride 2, SAME.
OneOp transpose_conv(DType activations, DType bias_type) {
  OneOp m;
  const int32_t shape = m.constant<int32_t>("shape", {4}, DType::Int32, {1, 5, 5, 2});
  const int32_t w =
      m.constant<int8_t>("w", {2, 3, 3, 1}, DType::Int8, std::vector<int8_t>(18, 2), {0.5f});
  const int32_t x = m.tensor("x", {1, 3, 3, 1}, activations, {0.25f});
  const int32_t b = bias_type == DType::Int32 ? m.constant<int32_t>("b", {2}, DType::Int32, {1, 2})
                                              : m.constant<int64_t>("b", {2}, DType::Int64, {1, 2});
  const int32_t y = m.tensor("y", {1, 5, 5, 2}, activations, {1.0f});
  model::TransposeConvOptions o;
  o.padding = Padding::Same;
  o.stride_h = 2;
  o.stride_w = 2;
  m.op(BuiltinOp::TRANSPOSE_CONV, {shape, w, x, b}, {y}, o);
  return m;
}

TEST(ConvFamilyTest, TransposeConvScratchHoldsOneAccumulatorPerOutput) {
  // 1 x 5 x 5 x 2 = 50 outputs: int32 accumulators for int8, int64 ones for int16.
  const KernelCall int8 = transpose_conv(DType::Int8, DType::Int32).lowered();
  EXPECT_EQ(int8.source, "conv");
  EXPECT_EQ(int8.scratch_bytes, 50 * 4);
  EXPECT_THAT(int8.arguments.back(), VariantWith<ScratchPointer>(FieldsAre(CType::Int32)));
  // The padding of the forward convolution from the output back to the input: SAME gives
  // ceil(5 / 2) = 3 positions, total (3 - 1) * 2 + 3 - 5 = 2, 1 before.
  EXPECT_THAT(argument<rt::ConvGeometry>(int8), FieldsAre(2, 2, 1, 1, 1, 1));
  // 0.25 x 0.5 / 1 = 0.125 = 0.5 * 2^-2, broadcast to both output channels.
  EXPECT_THAT(argument<ChannelScales>(int8).multiplier, ElementsAre(kHalf, kHalf));
  EXPECT_THAT(argument<ChannelScales>(int8).shift, ElementsAre(-2, -2));

  const KernelCall int16 = transpose_conv(DType::Int16, DType::Int64).lowered();
  EXPECT_EQ(int16.source, "conv");
  EXPECT_EQ(int16.scratch_bytes, 50 * 8);
  EXPECT_THAT(int16.arguments.back(), VariantWith<ScratchPointer>(FieldsAre(CType::Int64)));
}

TEST(ConvFamilyTest, HybridConvScratchHoldsTheQuantizedInput) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 4, 4, 3}, DType::Float32);
  const int32_t w =
      m.constant<int8_t>("w", {2, 1, 1, 3}, DType::Int8, {1, -2, 3, -4, 5, -6}, {0.5f});
  const int32_t b = m.constant<float>("b", {2}, DType::Float32, {0.5f, -0.5f});
  const int32_t y = m.tensor("y", {1, 4, 4, 2}, DType::Float32);
  model::Conv2DOptions o;
  o.padding = Padding::Valid;
  o.stride_h = 1;
  o.stride_w = 1;
  m.op(BuiltinOp::CONV_2D, {x, w, b}, {y}, o);
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "conv_hybrid");
  EXPECT_EQ(call.source, "conv");
  // One int8 byte per input element: 1 x 4 x 4 x 3.
  EXPECT_EQ(call.scratch_bytes, 48);
  EXPECT_THAT(call.arguments.back(), VariantWith<ScratchPointer>(FieldsAre(CType::Int8)));
}

// ---------------------------------------------------------------------------------------------
// pooling

OneOp pool(BuiltinOp op, Activation activation, float output_scale) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 5, 5, 1}, DType::Int8, {0.25f}, {-10});
  const int32_t y = m.tensor("y", {1, 3, 3, 1}, DType::Int8, {output_scale}, {-10});
  model::Pool2DOptions o;
  o.padding = Padding::Same;
  o.stride_h = 2;
  o.stride_w = 2;
  o.filter_h = 3;
  o.filter_w = 3;
  o.activation = activation;
  m.op(op, {x}, {y}, o);
  return m;
}

TEST(PoolingFamilyTest, WindowPaddingAndClamp) {
  const KernelCall average = pool(BuiltinOp::AVERAGE_POOL_2D, Activation::Relu6, 0.25f).lowered();
  EXPECT_EQ(average.kernel, "average_pool");
  EXPECT_EQ(average.source, "pooling");
  // SAME, 5 -> 3 with a 3-tap window and stride 2: total (3 - 1) * 2 + 3 - 5 = 2, 1 before.
  EXPECT_THAT(argument<rt::PoolGeometry>(average), FieldsAre(2, 2, 3, 3, 1, 1));
  // RELU6 in output units: -10 + round(0 / 0.25) and -10 + round(6 / 0.25) = 14.
  EXPECT_THAT(argument<rt::PoolClamp>(average), FieldsAre(-10, 14));

  const KernelCall max = pool(BuiltinOp::MAX_POOL_2D, Activation::ReluN1To1, 0.25f).lowered();
  EXPECT_EQ(max.kernel, "max_pool");
  EXPECT_EQ(max.source, "pooling");
  // RELU_N1_TO_1: -10 + round(-1 / 0.25) = -14 and -10 + 4 = -6.
  EXPECT_THAT(argument<rt::PoolClamp>(max), FieldsAre(-14, -6));
  // No activation: the int8 range.
  EXPECT_THAT(
      argument<rt::PoolClamp>(pool(BuiltinOp::MAX_POOL_2D, Activation::None, 0.25f).lowered()),
      FieldsAre(-128, 127));
}

TEST(PoolingFamilyTest, QuantizationMustPassThrough) {
  EXPECT_EQ(pool(BuiltinOp::MAX_POOL_2D, Activation::None, 0.5f).error(),
            "test.tflite: operator 0 (MAX_POOL_2D): tensors 'x' and 'y' must share scale and zero "
            "point");
}

// ---------------------------------------------------------------------------------------------
// elementwise

TEST(ElementwiseFamilyTest, AddBroadcastStridesAndRescaling) {
  OneOp m;
  const int32_t a = m.tensor("a", {2, 1, 3}, DType::Int8, {0.5f}, {5});
  const int32_t c = m.tensor("c", {1, 4, 1}, DType::Int8, {0.25f}, {-3});
  const int32_t y = m.tensor("y", {2, 4, 3}, DType::Int8, {1.0f}, {7});
  model::ArithmeticOptions o;
  o.activation = Activation::Relu;
  m.op(BuiltinOp::ADD, {a, c}, {y}, o);
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "add");
  EXPECT_EQ(call.source, "elementwise");
  // Right-aligned to 6 dims: a = [1,1,1,2,1,3], c = [1,1,1,1,4,1], output [1,1,1,2,4,3]. An
  // input's stride is its contiguous stride, 0 where it broadcasts (dimension 1).
  const rt::BroadcastShape shape = argument<rt::BroadcastShape>(call);
  EXPECT_THAT(shape.dims, ElementsAre(1, 1, 1, 2, 4, 3));
  EXPECT_THAT(shape.stride1, ElementsAre(0, 0, 0, 3, 0, 1));
  EXPECT_THAT(shape.stride2, ElementsAre(0, 0, 0, 0, 1, 0));
  // TFLite's int8 ADD: left shift 20; twice the larger input scale = 1.0; input multipliers
  // s / 1.0 (0.5 = 0.5 * 2^0, 0.25 = 0.5 * 2^-1); output multiplier 1.0 / (2^20 * 1.0) =
  // 0.5 * 2^-19. RELU: 7 + round(0 / 1) = 7.
  const rt::AddParams params = argument<rt::AddParams>(call);
  EXPECT_EQ(params.input1_offset, -5);
  EXPECT_EQ(params.input2_offset, 3);
  EXPECT_EQ(params.output_offset, 7);
  EXPECT_EQ(params.left_shift, 20);
  EXPECT_THAT(params.input1, FieldsAre(kHalf, 0));
  EXPECT_THAT(params.input2, FieldsAre(kHalf, -1));
  EXPECT_THAT(params.output, FieldsAre(kHalf, -19));
  EXPECT_EQ(params.min, 7);
  EXPECT_EQ(params.max, 127);
}

TEST(ElementwiseFamilyTest, ShapesThatDoNotBroadcastAreRefused) {
  OneOp m;
  const int32_t a = m.tensor("a", {2, 3}, DType::Float32);
  const int32_t c = m.tensor("c", {4, 3}, DType::Float32);
  const int32_t y = m.tensor("y", {2, 3}, DType::Float32);
  m.op(BuiltinOp::MUL, {a, c}, {y}, model::ArithmeticOptions{});
  EXPECT_EQ(m.error(),
            "test.tflite: operator 0 (MUL): input shapes do not broadcast to the output shape");
}

// ---------------------------------------------------------------------------------------------
// activation

TEST(ActivationFamilyTest, Relu6ClampsInTheInputsUnitsAsTfliteMicro) {
  // TensorFlow Lite Micro clamps to the input's zero point and its quantized 6 and stores the
  // value as it is, whatever the output's quantization (here another scale and zero point).
  OneOp m;
  const int32_t x = m.tensor("x", {2, 5}, DType::Int8, {0.25f}, {10});
  const int32_t y = m.tensor("y", {2, 5}, DType::Int8, {0.5f}, {-3});
  m.op(BuiltinOp::RELU6, {x}, {y});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "clamp");
  EXPECT_EQ(call.source, "activation");
  // 10 + round(0 / 0.25) and 10 + round(6 / 0.25) = 34; then the elements.
  ASSERT_GE(call.arguments.size(), 3u);
  EXPECT_EQ(std::get<int32_t>(call.arguments[0]), 10);
  EXPECT_EQ(std::get<int32_t>(call.arguments[1]), 34);
  EXPECT_EQ(std::get<int32_t>(call.arguments[2]), 10);
}

TEST(ActivationFamilyTest, Relu6QuantizedSixSaturatesAtTheTypesEnd) {
  OneOp m;
  const int32_t x = m.tensor("x", {4}, DType::Int16, {1e-6f}, {0});
  const int32_t y = m.tensor("y", {4}, DType::Int16, {1e-6f}, {0});
  m.op(BuiltinOp::RELU6, {x}, {y});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "clamp");
  EXPECT_EQ(std::get<int32_t>(call.arguments[0]), 0);
  EXPECT_EQ(std::get<int32_t>(call.arguments[1]), 32767);
}

OneOp leaky_relu(float alpha) {
  OneOp m;
  const int32_t x = m.tensor("x", {8}, DType::Int8, {0.5f}, {-3});
  const int32_t y = m.tensor("y", {8}, DType::Int8, {0.25f}, {4});
  m.op(BuiltinOp::LEAKY_RELU, {x}, {y}, model::LeakyReluOptions{alpha});
  return m;
}

TEST(ActivationFamilyTest, LeakyReluAlphaMultipliers) {
  // identity: 0.5 / 0.25 = 2 = 0.5 * 2^2; alpha: 0.5 x 0.2f / 0.25 = 13421773 * 2^-25 =
  // (13421773 / 2^24) * 2^-1.
  const KernelCall call = leaky_relu(0.2f).lowered();
  EXPECT_EQ(call.source, "activation");
  const auto params = argument<rt::LeakyReluParams>(call);
  EXPECT_EQ(params.input_zero_point, -3);
  EXPECT_EQ(params.output_zero_point, 4);
  EXPECT_THAT(params.identity, FieldsAre(kHalf, 2));
  EXPECT_THAT(params.alpha, FieldsAre(kPointEight, -1));
  EXPECT_FALSE(params.alpha_negative);
  // A negative alpha: its magnitude 0.5 x 0.5 / 0.25 = 1 = 0.5 * 2^1, and the sign apart.
  const auto negative = argument<rt::LeakyReluParams>(leaky_relu(-0.5f).lowered());
  EXPECT_THAT(negative.alpha, FieldsAre(kHalf, 1));
  EXPECT_TRUE(negative.alpha_negative);
}

TEST(ActivationFamilyTest, QuantizeAffineParameters) {
  OneOp from_float;
  const int32_t f = from_float.tensor("f", {6}, DType::Float32);
  const int32_t q = from_float.tensor("q", {6}, DType::Int8, {0.125f}, {-5});
  from_float.op(BuiltinOp::QUANTIZE, {f}, {q});
  const KernelCall quantize = from_float.lowered();
  EXPECT_EQ(quantize.kernel, "quantize");
  EXPECT_EQ(quantize.source, "activation");
  EXPECT_THAT(argument<rt::AffineQuantization>(quantize), FieldsAre(0.125f, -5));

  // int8 -> int16 requantization: 0.75 / 0.5 = 1.5 = 0.75 * 2^1, clamped to int16's range.
  OneOp widen;
  const int32_t a = widen.tensor("a", {6}, DType::Int8, {0.75f}, {3});
  const int32_t b = widen.tensor("b", {6}, DType::Int16, {0.5f});
  widen.op(BuiltinOp::QUANTIZE, {a}, {b});
  const KernelCall requantize = widen.lowered();
  EXPECT_EQ(requantize.kernel, "requantize");
  EXPECT_THAT(argument<rt::RequantizeParams>(requantize),
              FieldsAre(3, 0, FieldsAre(kThreeQuarters, 1), -32768, 32767));
}

TEST(ActivationFamilyTest, Int8LogisticOutputQuantizationIsFixed) {
  OneOp m;
  const int32_t x = m.tensor("x", {4}, DType::Int8, {0.1f});
  const int32_t y = m.tensor("y", {4}, DType::Int8, {1.0f / 128});
  m.op(BuiltinOp::LOGISTIC, {x}, {y});
  EXPECT_EQ(m.error(),
            "test.tflite: operator 0 (LOGISTIC): an int8 LOGISTIC output must have scale 1/256 and "
            "zero point -128");
}

// ---------------------------------------------------------------------------------------------
// layout

TEST(LayoutFamilyTest, TransposeView) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 3, 4}, DType::Int16);
  const int32_t perm = m.constant<int32_t>("perm", {3}, DType::Int32, {2, 0, 1});
  const int32_t y = m.tensor("y", {4, 2, 3}, DType::Int16);
  m.op(BuiltinOp::TRANSPOSE, {x, perm}, {y});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "gather");
  EXPECT_EQ(call.source, "layout");
  // Output axis i walks input axis perm[i]: counts 4, 2, 3 with the input's strides 1, 12, 4
  // (input strides [12, 4, 1]), right-aligned in 6 dims.
  const auto view = argument<rt::StridedView>(call);
  EXPECT_THAT(view.count, ElementsAre(1, 1, 1, 4, 2, 3));
  EXPECT_THAT(view.stride, ElementsAre(0, 0, 0, 1, 12, 4));
  EXPECT_EQ(view.offset, 0);
  EXPECT_EQ(argument<int32_t>(call), 2);  // element size
}

TEST(LayoutFamilyTest, StridedSliceView) {
  OneOp m;
  const int32_t x = m.tensor("x", {4, 6}, DType::Int8);
  const int32_t begin = m.constant<int32_t>("begin", {2}, DType::Int32, {1, -1});
  const int32_t end = m.constant<int32_t>("end", {2}, DType::Int32, {4, 0});
  const int32_t strides = m.constant<int32_t>("strides", {2}, DType::Int32, {2, -2});
  const int32_t y = m.tensor("y", {2, 3}, DType::Int8);
  m.op(BuiltinOp::STRIDED_SLICE, {x, begin, end, strides}, {y}, model::StridedSliceOptions{});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.source, "layout");
  // Rows 1, 3 (stride 2 x 6 elements); columns -1 -> 5, then 3, 1 (stride -2): 3 of them. The
  // first element read is 1 * 6 + 5 = 11.
  const auto view = argument<rt::StridedView>(call);
  EXPECT_THAT(view.count, ElementsAre(1, 1, 1, 1, 2, 3));
  EXPECT_THAT(view.stride, ElementsAre(0, 0, 0, 0, 12, -2));
  EXPECT_EQ(view.offset, 11);
}

TEST(LayoutFamilyTest, PadAmountsAndQuantizedZero) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 2, 3, 1}, DType::Int8, {0.5f}, {-7});
  const int32_t paddings =
      m.constant<int32_t>("paddings", {4, 2}, DType::Int32, {0, 0, 1, 2, 0, 3, 0, 0});
  const int32_t y = m.tensor("y", {1, 5, 6, 1}, DType::Int8, {0.5f}, {-7});
  m.op(BuiltinOp::PAD, {x, paddings}, {y});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "pad");
  EXPECT_EQ(call.source, "layout");
  const auto shape = argument<rt::PadShape>(call);
  EXPECT_THAT(shape.input_dims, ElementsAre(1, 1, 1, 2, 3, 1));
  EXPECT_THAT(shape.before, ElementsAre(0, 0, 0, 1, 0, 0));
  EXPECT_THAT(shape.after, ElementsAre(0, 0, 0, 2, 3, 0));
  // PAD fills with the quantized zero, the output zero point -7 (byte 0xf9).
  const ConstantArray fill = argument<ConstantArray>(call);
  EXPECT_EQ(fill.role, "pad_value");
  EXPECT_THAT(std::get<std::vector<uint8_t>>(fill.values), ElementsAre(0xf9));
}

TEST(LayoutFamilyTest, InvalidPermutationIsRefused) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 2, 2}, DType::Float32);
  const int32_t perm = m.constant<int32_t>("perm", {3}, DType::Int32, {0, 0, 1});
  const int32_t y = m.tensor("y", {2, 2, 2}, DType::Float32);
  m.op(BuiltinOp::TRANSPOSE, {x, perm}, {y});
  EXPECT_EQ(m.error(), "test.tflite: operator 0 (TRANSPOSE): the permutation is invalid");
}

// ---------------------------------------------------------------------------------------------
// reduce

// MEAN of an int8 [1, 3, 4, 5] tensor over `axes`, to [1, 5].
OneOp mean(std::vector<int32_t> axes) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 3, 4, 5}, DType::Int8, {0.5f}, {2});
  const int32_t a =
      m.constant<int32_t>("axes", {static_cast<int32_t>(axes.size())}, DType::Int32, axes);
  const int32_t y = m.tensor("y", {1, 5}, DType::Int8, {0.25f}, {-1});
  m.op(BuiltinOp::MEAN, {x, a}, {y}, model::ReducerOptions{});
  return m;
}

TEST(ReduceFamilyTest, MeanMultiplierShapeAndScratch) {
  const KernelCall call = mean({1, 2}).lowered();
  EXPECT_EQ(call.kernel, "mean");
  EXPECT_EQ(call.source, "reduce");
  // One int32 sum per output element: 5 x 4 bytes.
  EXPECT_EQ(call.scratch_bytes, 20);
  EXPECT_THAT(call.arguments.back(), VariantWith<ScratchPointer>(FieldsAre(CType::Int32)));
  // Input dims right-aligned [1,1,1,3,4,5]; reduced axes 1 and 2 get output stride 0, the
  // others the output's contiguous strides (5 for the leading ones, 1 for the last).
  const auto shape = argument<rt::ReduceShape>(call);
  EXPECT_THAT(shape.input_dims, ElementsAre(1, 1, 1, 3, 4, 5));
  EXPECT_THAT(shape.output_stride, ElementsAre(5, 5, 5, 0, 0, 1));
  EXPECT_EQ(shape.output_elements, 5);
  EXPECT_EQ(shape.reduced_elements, 12);
  // TFLite's integer MEAN: QuantizeMultiplier(0.5 / 0.25 = 2) = (2^30, 2); then with 12
  // elements, shift = min(floor(log2 12) = 3, 32, 31 + 2) = 3, multiplier (2^30 << 3) / 12 =
  // 2^33 / 12 = 715827882 (integer division), shift 2 - 3 = -1.
  const auto params = argument<rt::MeanParams>(call);
  EXPECT_EQ(params.input_zero_point, 2);
  EXPECT_EQ(params.output_zero_point, -1);
  EXPECT_THAT(params.scale, FieldsAre(715827882, -1));
}

TEST(ReduceFamilyTest, AxisOutOfRangeIsRefused) {
  EXPECT_EQ(mean({1, 4}).error(), "test.tflite: operator 0 (MEAN): an axis is out of range");
}

// ---------------------------------------------------------------------------------------------
// variables

TEST(VariablesFamilyTest, AssignVariableCopiesIntoTheStateSlot) {
  OneOp m;
  const int32_t state = m.tensor("state", {2, 3}, DType::Int16);
  m.at(state).is_variable = true;
  const int32_t value = m.tensor("value", {2, 3}, DType::Int16);
  m.op(BuiltinOp::ASSIGN_VARIABLE, {state, value}, {});
  const KernelCall call = m.lowered();
  EXPECT_EQ(call.kernel, "copy_bytes");
  EXPECT_EQ(call.source, "layout");  // the family's kernel lives in runtime/kernels/layout.cc
  ASSERT_EQ(call.arguments.size(), 3u);
  EXPECT_EQ(std::get<int32_t>(call.arguments[0]), 2 * 3 * 2);  // bytes
  // From the value (read only) into the variable tensor (writable).
  EXPECT_THAT(std::get<TensorPointer>(call.arguments[1]), FieldsAre(value, CType::Void, false));
  EXPECT_THAT(std::get<TensorPointer>(call.arguments[2]), FieldsAre(state, CType::Void, true));
}

TEST(VariablesFamilyTest, AssignToANonVariableIsRefused) {
  OneOp m;
  const int32_t state = m.tensor("state", {2, 3}, DType::Int16);
  const int32_t value = m.tensor("value", {2, 3}, DType::Int16);
  m.op(BuiltinOp::ASSIGN_VARIABLE, {state, value}, {});
  EXPECT_EQ(m.error(),
            "test.tflite: operator 0 (ASSIGN_VARIABLE): resource variables are not supported in "
            "this model: this operator is not part of the entry subgraph's resource variables");
}

// ---------------------------------------------------------------------------------------------
// lowering::lower

TEST(LowerTest, CollectsRefusalsAndPlacesTheScratch) {
  OneOp m;
  // 0: MEAN int8 [1, 3, 4, 5] over axes 1 and 2 (20 bytes of scratch).
  const int32_t x = m.tensor("x", {1, 3, 4, 5}, DType::Int8, {0.5f}, {2});
  const int32_t axes = m.constant<int32_t>("axes", {2}, DType::Int32, {1, 2});
  const int32_t mx = m.tensor("mean", {1, 5}, DType::Int8, {0.25f}, {-1});
  m.add_op(BuiltinOp::MEAN, {x, axes}, {mx}, model::ReducerOptions{});
  // 1: ADD int32, which no kernel takes.
  const int32_t a = m.tensor("a", {3}, DType::Int32);
  const int32_t c = m.tensor("c", {3}, DType::Int32);
  const int32_t s = m.tensor("s", {3}, DType::Int32);
  m.add_op(BuiltinOp::ADD, {a, c}, {s}, model::ArithmeticOptions{});
  // 2: FLOOR, which no family lowers.
  const int32_t f = m.tensor("f", {3}, DType::Float32);
  const int32_t g = m.tensor("g", {3}, DType::Float32);
  m.add_op(BuiltinOp::FLOOR, {f}, {g});
  m.io({x, a, c, f}, {mx, s, g});

  const LoweredModel lowered = lower(m.model());
  EXPECT_FALSE(lowered.supported());
  ASSERT_EQ(lowered.refusals.size(), 2u);
  EXPECT_EQ(lowered.refusals[0].op_index, 1);
  EXPECT_EQ(lowered.refusals[0].op, "ADD");
  EXPECT_EQ(lowered.refusals[0].reason,
            "the runtime has no kernel for inputs (int32, int32) -> outputs (int32)");
  EXPECT_EQ(lowered.refusals[1].op_index, 2);
  EXPECT_EQ(lowered.refusals[1].op, "FLOOR");
  EXPECT_EQ(lowered.refusals[1].reason, "the runtime has no kernel for this operator");

  ASSERT_EQ(lowered.calls.size(), 1u);
  EXPECT_EQ(lowered.calls[0].op_index, 0);
  EXPECT_EQ(lowered.calls[0].scratch_bytes, 20);
  ASSERT_EQ(lowered.analysis.layers.size(), 3u);
  EXPECT_EQ(lowered.analysis.layers[0].scratch_bytes, 20);
  EXPECT_EQ(lowered.analysis.layers[1].scratch_bytes, 0);

  // The plan holds MEAN's scratch for operator 0 only, apart from the tensors live then.
  const auto& allocations = lowered.analysis.plan.allocations;
  const auto scratch = std::find_if(
      allocations.begin(), allocations.end(),
      [](const analysis::Allocation& allocation) { return allocation.scratch_of_op >= 0; });
  ASSERT_NE(scratch, allocations.end());
  EXPECT_EQ(scratch->scratch_of_op, 0);
  EXPECT_EQ(scratch->tensor, -1);
  EXPECT_EQ(scratch->size, 20);
  EXPECT_EQ(scratch->first_op, 0);
  EXPECT_EQ(scratch->last_op, 0);
  EXPECT_EQ(std::count_if(allocations.begin(), allocations.end(),
                          [](const analysis::Allocation& allocation) {
                            return allocation.scratch_of_op >= 0;
                          }),
            1);
  EXPECT_LE(scratch->offset + scratch->size, lowered.analysis.plan.arena_bytes);
  for (const int32_t live : {x, mx}) {
    const analysis::Allocation* tensor = lowered.analysis.plan.find_tensor(live);
    ASSERT_NE(tensor, nullptr);
    EXPECT_TRUE(tensor->offset + tensor->size <= scratch->offset ||
                scratch->offset + scratch->size <= tensor->offset)
        << "tensor " << live << " overlaps the scratch";
  }

  // The inventory marks the refused signatures.
  for (const analysis::OpUsage& usage : lowered.analysis.inventory) {
    EXPECT_EQ(usage.supported, usage.op == "MEAN") << usage.op;
  }
}

}  // namespace
}  // namespace tinydeploy::lowering
