// Kernel variants chosen by core: a Cortex-M4 gets the DSP kernels for int8 FULLY_CONNECTED and
// for int8 CONV_2D layers that are plain matrix products (1x1 filter, stride 1, no dilation, no
// padding, one group), with the input zero point folded into the bias; a Cortex-M55 gets the
// Helium kernels for the same layers, with the weights packed and the offset folded into the
// bias where they are constant and symmetric; everything else, and every layer on the host,
// keeps the portable call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lowering/one_op.h"
#include "tinydeploy/board/core.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/runtime/cortex-m55/conv_s8_mve.h"

namespace tinydeploy::lowering {
namespace {

using board::Core;
using model::BuiltinOp;
using model::DType;
using model::Padding;

const ConstantArray* folded_bias(const KernelCall& call) {
  for (const Argument& a : call.arguments) {
    const auto* array = std::get_if<ConstantArray>(&a);
    if (array != nullptr && array->role == "folded_bias") return array;
  }
  return nullptr;
}

const ConstantArray* constant_named(const KernelCall& call, const std::string& role) {
  for (const Argument& a : call.arguments) {
    const auto* array = std::get_if<ConstantArray>(&a);
    if (array != nullptr && array->role == role) return array;
  }
  return nullptr;
}

// The tensors the call's pointer arguments name, in order (-1 for an omitted one).
std::vector<int32_t> pointed_tensors(const KernelCall& call) {
  std::vector<int32_t> tensors;
  for (const Argument& a : call.arguments) {
    if (const auto* p = std::get_if<TensorPointer>(&a)) tensors.push_back(p->tensor);
  }
  return tensors;
}

struct ConvLayer {
  int32_t filter_h = 1, filter_w = 1, filter_c = 4;
  int32_t stride = 1, dilation = 1;
  Padding padding = Padding::Valid;
  DType activations = DType::Int8;
  bool bias = true;
  float output_scale = 0.5f;
};

// CONV_2D on a 1x5x5x4 input with two output channels; input zero point -3 (offset 3).
OneOp conv_layer(const ConvLayer& l) {
  OneOp m;
  const bool int16 = l.activations == DType::Int16;
  const bool real = l.activations == DType::Float32;
  const std::vector<float> scale = real ? std::vector<float>{} : std::vector<float>{0.5f};
  const int32_t x = m.tensor("x", {1, 5, 5, 4}, l.activations, scale, {real || int16 ? 0 : -3});
  const int32_t taps = l.filter_h * l.filter_w * l.filter_c;
  std::vector<int8_t> weights(static_cast<size_t>(2 * taps));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(int(i) - 4);
  std::vector<float> weights_float(weights.begin(), weights.end());
  const int32_t w = real ? m.constant<float>("w", {2, l.filter_h, l.filter_w, l.filter_c},
                                             DType::Float32, weights_float)
                         : m.constant<int8_t>("w", {2, l.filter_h, l.filter_w, l.filter_c},
                                              DType::Int8, weights, {0.25f, 0.125f});
  std::vector<int32_t> inputs = {x, w};
  if (l.bias) {
    if (real) {
      inputs.push_back(m.constant<float>("b", {2}, DType::Float32, {1.0f, 2.0f}));
    } else if (int16) {
      inputs.push_back(m.constant<int64_t>("b", {2}, DType::Int64, {100, -200}, {0.125f, 0.0625f}));
    } else {
      inputs.push_back(m.constant<int32_t>("b", {2}, DType::Int32, {100, -200}, {0.125f, 0.0625f}));
    }
  }
  const int32_t out_hw = l.padding == Padding::Same
                             ? (5 + l.stride - 1) / l.stride
                             : (5 - (l.filter_h - 1) * l.dilation - 1) / l.stride + 1;
  const std::vector<float> output_scale =
      real ? std::vector<float>{} : std::vector<float>{l.output_scale};
  const int32_t y = m.tensor("y", {1, out_hw, out_hw, 2}, l.activations, output_scale, {0});
  model::Conv2DOptions o;
  o.padding = l.padding;
  o.stride_h = o.stride_w = l.stride;
  o.dilation_h = o.dilation_w = l.dilation;
  m.op(BuiltinOp::CONV_2D, inputs, {y}, o);
  return m;
}

TEST(KernelVariantsTest, Conv1x1OnCortexM4IsTheDspKernelWithFoldedBias) {
  const OneOp m = conv_layer({});
  const KernelCall call = m.lowered(Core::CortexM4);
  EXPECT_EQ(call.kernel, "conv_1x1_s8_dsp");
  EXPECT_EQ(call.source, "cortex-m4/conv_s8_dsp");
  // Two pixels of 4 channels widened to 16 bits, after up to 3 bytes of alignment.
  EXPECT_EQ(call.scratch_bytes, 2 * 4 * 2 + 4);
  EXPECT_TRUE(std::holds_alternative<ScratchPointer>(call.arguments.back()));
  const ConstantArray* bias = folded_bias(call);
  ASSERT_NE(bias, nullptr);
  // Weights -4, -3, -2, -1 (sum -10) and 0, 1, 2, 3 (sum 6); input offset 3: 100 + 3 * -10 = 70,
  // -200 + 3 * 6 = -182.
  EXPECT_EQ(std::get<std::vector<int32_t>>(bias->values), (std::vector<int32_t>{70, -182}));
}

// Output scale 1: scales 2^-3 and 2^-4 (shifts -2, -3), inside the prepared output stage's range
// (the layers above have a shift of -1 on channel 0 and keep the scales).
TEST(KernelVariantsTest, ConvsOnCortexM4TakeThePreparedOutputStageWhereItApplies) {
  const KernelCall one = conv_layer({.output_scale = 1.0f}).lowered(Core::CortexM4);
  EXPECT_EQ(one.kernel, "conv_1x1_s8_dsp_staged");
  const ConstantArray* stage = constant_named(one, "output_stage");
  ASSERT_NE(stage, nullptr);
  EXPECT_FALSE(stage->weights);  // a parameter array, as the scales it replaces
  // multiplier, 2^(r-2) (output zero point 0), r - 1 for r = 2 and 3.
  EXPECT_EQ(std::get<std::vector<int32_t>>(stage->values),
            (std::vector<int32_t>{1 << 30, 1, 1, 1 << 30, 2, 2}));
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(one)->values),
            (std::vector<int32_t>{70, -182}));
  const KernelCall three =
      conv_layer({.filter_h = 3, .filter_w = 3, .output_scale = 1.0f}).lowered(Core::CortexM4);
  EXPECT_EQ(three.kernel, "conv_s8_dsp_staged");
  EXPECT_NE(constant_named(three, "output_stage"), nullptr);
  // A window of 3 * 3 * 4 = 36 weights, padded to 40 with zeros: two rows of 40 bytes, the
  // model's weights not linked; scratch for two rows of 40 and their widened pair.
  const ConstantArray* padded = constant_named(three, "padded_weights");
  ASSERT_NE(padded, nullptr);
  const auto& bytes = std::get<std::vector<int8_t>>(padded->values);
  ASSERT_EQ(bytes.size(), 80u);
  EXPECT_EQ(bytes[0], -4);
  EXPECT_EQ(bytes[35], 31);
  EXPECT_EQ(bytes[36], 0);
  EXPECT_EQ(bytes[39], 0);
  EXPECT_EQ(bytes[40], 32);
  EXPECT_EQ(pointed_tensors(three), (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(three.scratch_bytes, 6 * 40 + 4);
  EXPECT_EQ(conv_layer({.output_scale = 1.0f}).lowered(Core::CortexM55).kernel,
            "conv_1x1_packed_s8_mve");
}

// Channel 1's scale 0.5 * 2^-30 / 1 (shift -30, outside the prepared range) with weights
// 0..3 and bias -200: its largest sum (200 + 255 * 6) times its multiplier stays far below
// 2^60 - 2^30, so its output is always the zero point and it is prepared as multiplier 0;
// channel 0 keeps its own stage.
TEST(KernelVariantsTest, ChannelsOfConstantOutputArePreparedAsZeroMultipliers) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, 5, 5, 4}, DType::Int8, {0.5f}, {-3});
  std::vector<int8_t> weights = {-4, -3, -2, -1, 0, 1, 2, 3};
  const int32_t w =
      m.constant<int8_t>("w", {2, 1, 1, 4}, DType::Int8, weights, {0.25f, std::ldexp(1.0f, -30)});
  const int32_t b =
      m.constant<int32_t>("b", {2}, DType::Int32, {100, -200}, {0.125f, std::ldexp(1.0f, -31)});
  const int32_t y = m.tensor("y", {1, 5, 5, 2}, DType::Int8, {1.0f}, {5});
  model::Conv2DOptions o;
  o.padding = Padding::Valid;
  o.stride_h = o.stride_w = 1;
  o.dilation_h = o.dilation_w = 1;
  m.op(BuiltinOp::CONV_2D, {x, w, b}, {y}, o);
  const KernelCall call = m.lowered(Core::CortexM4);
  EXPECT_EQ(call.kernel, "conv_1x1_s8_dsp_staged");
  const ConstantArray* stage = constant_named(call, "output_stage");
  ASSERT_NE(stage, nullptr);
  const auto& words = std::get<std::vector<int32_t>>(stage->values);
  ASSERT_EQ(words.size(), 6u);
  // Channel 0: 0.125 = 2^30 * 2^-33, r = 2: 2^0 + 5 * 2^1, shift - 1 = 1.
  EXPECT_EQ(words[0], 1 << 30);
  EXPECT_EQ(words[1], 1 + 5 * 2);
  EXPECT_EQ(words[2], 1);
  // Channel 1: multiplier 0 with shift -2, so the output is 5 for any input.
  EXPECT_EQ(words[3], 0);
  EXPECT_EQ(words[4], 1 + 5 * 2);
  EXPECT_EQ(words[5], 1);
}

TEST(KernelVariantsTest, Conv1x1WithoutBiasFoldsTheOffsetAlone) {
  const KernelCall call = conv_layer({.bias = false}).lowered(Core::CortexM4);
  ASSERT_EQ(call.kernel, "conv_1x1_s8_dsp");
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
            (std::vector<int32_t>{-30, 18}));
}

TEST(KernelVariantsTest, HostKeepsThePortableConv) {
  EXPECT_EQ(conv_layer({}).lowered(Core::Host).kernel, "conv");
  EXPECT_EQ(conv_layer({}).lowered(Core::Host).source, "conv");
  const KernelCall three = conv_layer({.filter_h = 3, .filter_w = 3}).lowered(Core::Host);
  EXPECT_EQ(three.kernel, "conv");
  EXPECT_EQ(three.scratch_bytes, 0);
}

const ConstantArray* prepared(const KernelCall& call, const std::string& role) {
  for (const Argument& a : call.arguments) {
    const auto* array = std::get_if<ConstantArray>(&a);
    if (array != nullptr && array->role == role) return array;
  }
  return nullptr;
}

TEST(KernelVariantsTest, Conv1x1OnCortexM55IsThePackedMveKernelWithFoldedBias) {
  const OneOp m = conv_layer({});
  const KernelCall call = m.lowered(Core::CortexM55);
  EXPECT_EQ(call.kernel, "conv_1x1_packed_s8_mve");
  EXPECT_EQ(call.source, "cortex-m55/conv_s8_mve");
  EXPECT_EQ(call.scratch_bytes, 0);
  ASSERT_NE(folded_bias(call), nullptr);
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
            (std::vector<int32_t>{70, -182}));
  // Two units (no whole block of four) of 4 features, each padded to 16 with zeros.
  const ConstantArray* packed = prepared(call, "packed_filter");
  ASSERT_NE(packed, nullptr);
  EXPECT_TRUE(packed->weights);
  std::vector<int8_t> expected(32, 0);
  for (int k = 0; k < 4; ++k) {
    expected[static_cast<size_t>(k)] = static_cast<int8_t>(k - 4);
    expected[static_cast<size_t>(16 + k)] = static_cast<int8_t>(k);
  }
  EXPECT_EQ(std::get<std::vector<int8_t>>(packed->values), expected);
  // Only the input and the output are tensors: the filter and bias are not linked.
  EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 3}));
  const KernelCall unbiased = conv_layer({.bias = false}).lowered(Core::CortexM55);
  EXPECT_EQ(unbiased.kernel, "conv_1x1_packed_s8_mve");
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(unbiased)->values),
            (std::vector<int32_t>{-30, 18}));
}

TEST(KernelVariantsTest, PackedWeightsInterleaveBlocksOfFourUnits) {
  // 6 units of 20 features: one block of four (two steps of 4 x 16 bytes), then two units.
  std::vector<int8_t> weights(6 * 20);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(i % 100 + 1);
  std::vector<int8_t> packed(static_cast<size_t>(rt::packed_weights_bytes(6, 20)));
  ASSERT_EQ(packed.size(), 6u * 32u);
  rt::pack_weights_s8_mve(6, 20, weights.data(), packed.data());
  const auto w = [&](int u, int k) { return weights[static_cast<size_t>(u * 20 + k)]; };
  EXPECT_EQ(packed[0], w(0, 0));
  EXPECT_EQ(packed[16], w(1, 0));
  EXPECT_EQ(packed[48 + 15], w(3, 15));
  EXPECT_EQ(packed[64], w(0, 16));
  EXPECT_EQ(packed[64 + 16 + 3], w(1, 19));
  EXPECT_EQ(packed[64 + 16 + 4], 0);  // padding
  EXPECT_EQ(packed[128], w(4, 0));
  EXPECT_EQ(packed[160 + 19], w(5, 19));
  EXPECT_EQ(packed[160 + 20], 0);
  size_t nonzero = 0;
  for (int8_t v : packed) nonzero += v != 0;
  EXPECT_EQ(nonzero, weights.size());
}

TEST(KernelVariantsTest, OtherOneGroupConvsAreIm2colWithScratch) {
  const std::vector<std::pair<std::string, ConvLayer>> layers = {
      {"3x3 filter", {.filter_h = 3, .filter_w = 3}},
      {"stride 2", {.stride = 2}},
      {"dilation 2", {.filter_h = 3, .filter_w = 3, .dilation = 2}},
      {"SAME padding of a 3x3 filter", {.filter_h = 3, .filter_w = 3, .padding = Padding::Same}},
  };
  for (const auto& [what, layer] : layers) {
    // Cortex-M4: two windows of filter_h x filter_w x 4 channels, then the pair widened to 16
    // bits after up to 3 bytes of alignment; Cortex-M55: two windows rounded up to 16 bytes.
    const KernelCall m4 = conv_layer(layer).lowered(Core::CortexM4);
    EXPECT_EQ(m4.kernel, "conv_s8_dsp") << what;
    EXPECT_EQ(m4.source, "cortex-m4/conv_s8_dsp") << what;
    const int32_t window = layer.filter_h * layer.filter_w * 4;
    EXPECT_EQ(m4.scratch_bytes, 2 * window + 4 + 2 * 2 * window) << what;
    EXPECT_TRUE(std::holds_alternative<ScratchPointer>(m4.arguments.back())) << what;
    const KernelCall m55 = conv_layer(layer).lowered(Core::CortexM55);
    EXPECT_EQ(m55.kernel, "conv_packed_s8_mve") << what;
    EXPECT_EQ(m55.source, "cortex-m55/conv_s8_mve") << what;
    EXPECT_EQ(m55.scratch_bytes, 2 * ((window + 15) / 16 * 16)) << what;
    EXPECT_TRUE(std::holds_alternative<ScratchPointer>(m55.arguments.back())) << what;
    // The filter packed (two units, each window padded to whole vectors), not linked.
    const ConstantArray* packed = prepared(m55, "packed_filter");
    ASSERT_NE(packed, nullptr) << what;
    EXPECT_EQ(std::get<std::vector<int8_t>>(packed->values).size(),
              static_cast<size_t>(2 * ((window + 15) / 16 * 16)))
        << what;
    EXPECT_EQ(pointed_tensors(m55), (std::vector<int32_t>{0, 3})) << what;
  }
  // 3x3 weights -4 .. 31 (sum 486) and 32 .. 67 (sum 1782); input offset 3.
  for (Core core : {Core::CortexM4, Core::CortexM55}) {
    const KernelCall call = conv_layer({.filter_h = 3, .filter_w = 3}).lowered(core);
    ASSERT_NE(folded_bias(call), nullptr);
    EXPECT_TRUE(folded_bias(call)->weights);
    EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
              (std::vector<int32_t>{100 + 3 * 486, -200 + 3 * 1782}));
  }
}

TEST(KernelVariantsTest, Strided1x1ConvOnCortexM55IsTheStridedPackedProduct) {
  // 1x1 CONV_2D, stride 2, VALID: 1x5x5x4 -> 1x3x3x8, input zero point -3 (offset 3).
  OneOp m;
  const int32_t x = m.tensor("x", {1, 5, 5, 4}, DType::Int8, {0.5f}, {-3});
  std::vector<int8_t> weights(8 * 4);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(int(i) - 9);
  const int32_t w =
      m.constant<int8_t>("w", {8, 1, 1, 4}, DType::Int8, weights, std::vector<float>(8, 0.25f));
  const int32_t bias = m.constant<int32_t>("b", {8}, DType::Int32, std::vector<int32_t>(8, 5),
                                           std::vector<float>(8, 0.125f));
  const int32_t y = m.tensor("y", {1, 3, 3, 8}, DType::Int8, {0.5f}, {0});
  model::Conv2DOptions o;
  o.padding = Padding::Valid;
  o.stride_h = o.stride_w = 2;
  o.dilation_h = o.dilation_w = 1;
  m.op(BuiltinOp::CONV_2D, {x, w, bias}, {y}, o);
  const KernelCall call = m.lowered(Core::CortexM55);
  EXPECT_EQ(call.kernel, "conv_1x1_strided_packed_s8_mve");
  EXPECT_EQ(call.source, "cortex-m55/conv_s8_mve");
  EXPECT_EQ(call.scratch_bytes, 0);
  // Eight units of 4 features, each padded to 16: two blocks of four.
  EXPECT_EQ(std::get<std::vector<int8_t>>(prepared(call, "packed_filter")->values).size(),
            8u * 16u);
  // Unit u's weights are 4u - 9 .. 4u - 6 (sum 16u - 30); offset 3.
  std::vector<int32_t> expected;
  for (int u = 0; u < 8; ++u) expected.push_back(5 + 3 * (16 * u - 30));
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values), expected);
  EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(m.lowered(Core::CortexM4).kernel, "conv_s8_dsp");
}

TEST(KernelVariantsTest, ConvLayersTheVariantsDoNotCoverStayPortable) {
  const std::vector<std::pair<std::string, ConvLayer>> layers = {
      {"two groups", {.filter_c = 2}},
      {"int16 activations", {.activations = DType::Int16}},
      {"float", {.activations = DType::Float32}},
  };
  for (const auto& [what, layer] : layers) {
    for (Core core : {Core::CortexM4, Core::CortexM55}) {
      const KernelCall call = conv_layer(layer).lowered(core);
      EXPECT_EQ(call.kernel, "conv") << what << " on " << board::core_name(core);
      EXPECT_EQ(call.source, "conv") << what << " on " << board::core_name(core);
    }
  }
}

// DEPTHWISE_CONV_2D int8, 3x3 SAME over a 1x6x6x4 input with `multiplier` outputs per channel.
OneOp depthwise_layer(int32_t multiplier, float output_scale = 1.0f) {
  OneOp m;
  const int32_t channels = 4 * multiplier;
  const int32_t x = m.tensor("x", {1, 6, 6, 4}, DType::Int8, {0.5f}, {-3});
  std::vector<int8_t> weights(static_cast<size_t>(9 * channels));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(int(i % 7) - 3);
  const int32_t w = m.constant<int8_t>("w", {1, 3, 3, channels}, DType::Int8, weights,
                                       std::vector<float>(static_cast<size_t>(channels), 0.25f));
  m.at(w).quantization.quantized_dimension = 3;  // a depthwise filter's channels are last
  const int32_t b = m.constant<int32_t>("b", {channels}, DType::Int32,
                                        std::vector<int32_t>(static_cast<size_t>(channels), 7),
                                        std::vector<float>(static_cast<size_t>(channels), 0.125f));
  const int32_t y = m.tensor("y", {1, 6, 6, channels}, DType::Int8, {output_scale}, {0});
  model::DepthwiseConv2DOptions o;
  o.stride_h = o.stride_w = 1;
  o.depth_multiplier = multiplier;
  m.op(BuiltinOp::DEPTHWISE_CONV_2D, {x, w, b}, {y}, o);
  return m;
}

TEST(KernelVariantsTest, DepthwiseWithMultiplierOneIsTheDspOrThePackedMveKernel) {
  // On the M4, a scale of 0.5 * 0.25 / 0.25 (shift 0) is outside the 3x3 kernel's prepared
  // output stage: the general kernel with the plain scales.
  const KernelCall m4 = depthwise_layer(1, 0.25f).lowered(Core::CortexM4);
  EXPECT_EQ(m4.kernel, "depthwise_conv_s8_dsp");
  EXPECT_EQ(m4.source, "cortex-m4/conv_s8_dsp");
  EXPECT_EQ(m4.scratch_bytes, 0);
  // The model's bias, no prepared constants: input, filter, bias, output.
  EXPECT_EQ(folded_bias(m4), nullptr);
  EXPECT_EQ(pointed_tensors(m4), (std::vector<int32_t>{0, 1, 2, 3}));

  const KernelCall m55 = depthwise_layer(1).lowered(Core::CortexM55);
  EXPECT_EQ(m55.kernel, "depthwise_conv_packed_s8_mve");
  EXPECT_EQ(m55.source, "cortex-m55/conv_s8_mve");
  // One pixel of the zero point, rounded up to sixteen channels.
  EXPECT_EQ(m55.scratch_bytes, 16);
  // Channel c's weights over the 9 taps are (t * 4 + c) % 7 - 3; input offset 3.
  std::vector<int32_t> expected_bias;
  std::vector<int8_t> expected_filter(16 * 9, 0);
  for (int c = 0; c < 4; ++c) {
    int sum = 0;
    for (int t = 0; t < 9; ++t) {
      const int weight = (t * 4 + c) % 7 - 3;
      sum += weight;
      expected_filter[static_cast<size_t>(16 * t + c)] = static_cast<int8_t>(weight);
    }
    expected_bias.push_back(7 + 3 * sum);
  }
  ASSERT_NE(folded_bias(m55), nullptr);
  EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(m55)->values), expected_bias);
  EXPECT_EQ(std::get<std::vector<int8_t>>(prepared(m55, "packed_filter")->values), expected_filter);
  // Input and output only: the model's filter and bias are not linked.
  EXPECT_EQ(pointed_tensors(m55), (std::vector<int32_t>{0, 3}));

  for (Core core : {Core::CortexM4, Core::CortexM55}) {
    EXPECT_EQ(depthwise_layer(2).lowered(core).kernel, "depthwise_conv");
  }
  EXPECT_EQ(depthwise_layer(1).lowered(Core::Host).kernel, "depthwise_conv");
}

TEST(KernelVariantsTest, Depthwise3x3OnCortexM4IsThePackedKernelWithItsOutputStage) {
  // Scale 0.5 * 0.25 / 1.0 = 2^-3: multiplier 2^30, shift -2, output zero point 0.
  const KernelCall call = depthwise_layer(1).lowered(Core::CortexM4);
  EXPECT_EQ(call.kernel, "depthwise_conv_3x3_s8_dsp");
  EXPECT_EQ(call.source, "cortex-m4/conv_s8_dsp");
  EXPECT_EQ(call.scratch_bytes, 0);
  // Input, bias, output: the filter is linked packed, not as the model's tensor.
  EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 2, 3}));
  const ConstantArray* packed = constant_named(call, "packed_weights");
  ASSERT_NE(packed, nullptr);
  EXPECT_TRUE(packed->weights);
  // Four channels, one group: tap t's word holds weights[4t .. 4t + 3], as in the model.
  const auto& bytes = std::get<std::vector<int8_t>>(packed->values);
  ASSERT_EQ(bytes.size(), 36u);
  for (size_t i = 0; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], int(i % 7) - 3) << i;
  const ConstantArray* stage = constant_named(call, "output_stage");
  ASSERT_NE(stage, nullptr);
  const auto& words = std::get<std::vector<int32_t>>(stage->values);
  ASSERT_EQ(words.size(), 12u);
  // multiplier, 2^(r-2) + 0 * 2^(r-1) with r = 2, r - 1.
  EXPECT_EQ(words[0], 1 << 30);
  EXPECT_EQ(words[1], 1);
  EXPECT_EQ(words[2], 1);
  // The M55 keeps its Helium kernel.
  EXPECT_EQ(depthwise_layer(1).lowered(Core::CortexM55).kernel, "depthwise_conv_packed_s8_mve");
}

// AVERAGE_POOL_2D int8, a global average over a 1 x height x 5 x 8 input.
OneOp average_pool_layer(int32_t height) {
  OneOp m;
  const int32_t x = m.tensor("x", {1, height, 5, 8}, DType::Int8, {0.5f}, {-3});
  const int32_t y = m.tensor("y", {1, 1, 1, 8}, DType::Int8, {0.5f}, {-3});
  model::Pool2DOptions o;
  o.padding = model::Padding::Valid;
  o.stride_h = height;
  o.stride_w = 5;
  o.filter_h = height;
  o.filter_w = 5;
  m.op(BuiltinOp::AVERAGE_POOL_2D, {x}, {y}, o);
  return m;
}

TEST(KernelVariantsTest, Int8AveragePoolOnCortexM4IsTheDspKernelWhereTheSumsFit16Bits) {
  // 25 x 5 = 125 pixels per window: the 16-bit halves hold 125 x 128.
  const KernelCall call = average_pool_layer(25).lowered(Core::CortexM4);
  EXPECT_EQ(call.kernel, "average_pool_s8_dsp");
  EXPECT_EQ(call.source, "cortex-m4/pooling_s8_dsp");
  EXPECT_EQ(call.scratch_bytes, 0);
  EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 1}));
  // 51 x 5 = 255 pixels still; 52 x 5 = 260 could overflow a half: portable.
  EXPECT_EQ(average_pool_layer(51).lowered(Core::CortexM4).kernel, "average_pool_s8_dsp");
  EXPECT_EQ(average_pool_layer(52).lowered(Core::CortexM4).kernel, "average_pool");
  // The host keeps the portable kernel; the Cortex-M55 has its own.
  EXPECT_EQ(average_pool_layer(25).lowered(Core::Host).kernel, "average_pool");
  EXPECT_EQ(average_pool_layer(25).lowered(Core::CortexM55).kernel, "average_pool_s8_mve");
}

// FULLY_CONNECTED int8 [2, 5] x [units, 5] (3 units unless per tensor); input zero point 10
// (offset -10).
OneOp fully_connected(int64_t weights_zero_point, bool per_channel, int32_t units = 3) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 5}, DType::Int8, {0.5f}, {10});
  std::vector<int8_t> weights(static_cast<size_t>(5 * units));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(i);
  const std::vector<float> scales =
      per_channel ? std::vector<float>{0.25f, 0.5f, 0.75f} : std::vector<float>{0.25f};
  const int32_t w = m.constant<int8_t>("w", {units, 5}, DType::Int8, weights, scales);
  m.at(w).quantization.zero_point.assign(scales.size(), weights_zero_point);
  std::vector<int32_t> biases(static_cast<size_t>(units));
  for (size_t i = 0; i < biases.size(); ++i) biases[i] = static_cast<int32_t>(i) + 1;
  const int32_t b = m.constant<int32_t>("b", {units}, DType::Int32, biases, {0.125f});
  const int32_t y = m.tensor("y", {2, units}, DType::Int8, {1.0f}, {0});
  m.op(BuiltinOp::FULLY_CONNECTED, {x, w, b}, {y}, model::FullyConnectedOptions{});
  return m;
}

TEST(KernelVariantsTest, FullyConnectedOnCortexM4IsTheDspKernel) {
  for (bool per_channel : {false, true}) {
    const KernelCall call = fully_connected(0, per_channel).lowered(Core::CortexM4);
    // Per tensor, scale 0.5 * 0.25 = 2^-3 (shift -2): the prepared output stage, one entry.
    // Per channel, unit 1's scale 0.25 is a shift of -1, outside it: the kernel with the scales.
    EXPECT_EQ(call.kernel,
              per_channel ? "fully_connected_s8_dsp" : "fully_connected_s8_dsp_staged");
    if (!per_channel) {
      const ConstantArray* stage = constant_named(call, "output_stage");
      ASSERT_NE(stage, nullptr);
      EXPECT_EQ(std::get<std::vector<int32_t>>(stage->values),
                (std::vector<int32_t>{1 << 30, 1, 1}));
    }
    EXPECT_EQ(call.source, "cortex-m4/conv_s8_dsp");
    // Row sums 0+..+4 = 10, 35, 60; offset -10.
    EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
              (std::vector<int32_t>{1 - 100, 2 - 350, 3 - 600}));
  }
  // Four units (no padded unit: padding may add at most a quarter of the units), per tensor:
  // the constant weights packed four units by word, 5 features padded to 8.
  {
    const KernelCall call = fully_connected(0, false, 4).lowered(Core::CortexM4);
    EXPECT_EQ(call.kernel, "fully_connected_s8_dsp_ldm4");
    const ConstantArray* packed = constant_named(call, "packed_weights");
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(std::get<std::vector<int8_t>>(packed->values),
              (std::vector<int8_t>{0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18,
                                   4, 0, 0, 0, 9, 0, 0, 0, 14, 0,  0,  0,  19, 0,  0,  0}));
    EXPECT_EQ(call.scratch_bytes, 2 * 8 + 4);
    EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
              (std::vector<int32_t>{1 - 100, 2 - 350, 3 - 600, 4 - 850}));
  }
  EXPECT_EQ(fully_connected(0, false).lowered(Core::Host).kernel, "fully_connected");
}

TEST(KernelVariantsTest, FullyConnectedWithAsymmetricWeightsStaysPortableOnCortexM4) {
  EXPECT_EQ(fully_connected(3, false).lowered(Core::CortexM4).kernel, "fully_connected");
}

TEST(KernelVariantsTest, FullyConnectedOnCortexM55IsThePackedMveKernelWithSymmetricWeights) {
  for (bool per_channel : {false, true}) {
    const KernelCall call = fully_connected(0, per_channel).lowered(Core::CortexM55);
    EXPECT_EQ(call.kernel, "fully_connected_packed_s8_mve");
    EXPECT_EQ(call.source, "cortex-m55/conv_s8_mve");
    EXPECT_EQ(std::get<bool>(call.arguments[2]), per_channel);
    // Row sums 0+..+4 = 10, 35, 60; offset -10.
    EXPECT_EQ(std::get<std::vector<int32_t>>(folded_bias(call)->values),
              (std::vector<int32_t>{1 - 100, 2 - 350, 3 - 600}));
    const ConstantArray* packed = prepared(call, "packed_weights");
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(std::get<std::vector<int8_t>>(packed->values).size(), 3u * 16u);
    EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 3}));
  }
}

TEST(KernelVariantsTest, FullyConnectedWithAsymmetricWeightsOnCortexM55KeepsTheModelsWeights) {
  const KernelCall call = fully_connected(3, false).lowered(Core::CortexM55);
  EXPECT_EQ(call.kernel, "fully_connected_s8_mve");
  EXPECT_EQ(call.source, "cortex-m55/conv_s8_mve");
  EXPECT_EQ(folded_bias(call), nullptr);
  // The portable argument list: the weights offset (-zero point) as the fourth argument.
  ASSERT_GE(call.arguments.size(), 4u);
  EXPECT_EQ(std::get<int32_t>(call.arguments[3]), -3);
  EXPECT_EQ(pointed_tensors(call), (std::vector<int32_t>{0, 1, 2, 3}));
}

// ADD or SUB int8 of `shape1` and `shape2` into [2, 3, 7] with scales 0.05, 0.02 -> 0.06 and
// zero points 5, -9 -> -3.
OneOp arithmetic(BuiltinOp op, std::vector<int32_t> shape1, std::vector<int32_t> shape2) {
  OneOp m;
  const int32_t x = m.tensor("x", shape1, DType::Int8, {0.05f}, {5});
  const int32_t z = m.tensor("z", shape2, DType::Int8, {0.02f}, {-9});
  const int32_t y = m.tensor("y", {2, 3, 7}, DType::Int8, {0.06f}, {-3});
  m.op(op, {x, z}, {y}, model::ArithmeticOptions{});
  return m;
}

TEST(KernelVariantsTest, SameShapeInt8AddAndSubOnCortexMLookUpTheirInputsAndMatchPortable) {
  for (BuiltinOp op : {BuiltinOp::ADD, BuiltinOp::SUB}) {
    const OneOp m = arithmetic(op, {2, 3, 7}, {2, 3, 7});
    const KernelCall portable = m.lowered(Core::Host);
    EXPECT_EQ(portable.kernel, op == BuiltinOp::ADD ? "add" : "sub");
    for (Core core : {Core::CortexM4, Core::CortexM55}) {
      const KernelCall lookup = m.lowered(core);
      EXPECT_EQ(lookup.kernel, "add_s8_lookup");
      EXPECT_EQ(lookup.source, "cortex-m/add_s8_lookup");
      EXPECT_EQ(std::get<int32_t>(lookup.arguments[1]), 42);
      // Every int8 value of both inputs, in all combinations over 256 runs of 42 elements.
      std::vector<int8_t> x(42), z(42), expected(42), actual(42);
      int differing = 0;
      std::vector<bool> seen(256, false);  // output values met, as value + 128
      for (int run = 0; run < 256; ++run) {
        for (int i = 0; i < 42; ++i) {
          x[static_cast<size_t>(i)] = static_cast<int8_t>(run - 128);
          z[static_cast<size_t>(i)] = static_cast<int8_t>((run * 7 + i * 37) % 256 - 128);
        }
        const auto storage = [&](std::vector<int8_t>& out) {
          return HostStorage{[&x, &z, &out](int32_t t) -> void* {
                               return t == 0 ? x.data() : (t == 1 ? z.data() : out.data());
                             },
                             nullptr};
        };
        portable.bind(portable, storage(expected))();
        lookup.bind(lookup, storage(actual))();
        differing += expected != actual;
        for (int8_t v : expected) seen[static_cast<size_t>(v + 128)] = true;
      }
      EXPECT_EQ(differing, 0) << board::core_name(core);
      // The outputs span most of the range: the requantization is exercised, not the clamp.
      EXPECT_GT(std::count(seen.begin(), seen.end(), true), 150);
    }
    EXPECT_EQ(arithmetic(op, {2, 3, 7}, {1, 1, 7}).lowered(Core::CortexM4).kernel,
              op == BuiltinOp::ADD ? "add" : "sub");
  }
}

TEST(KernelVariantsTest, LowerTakesTheCoreForEveryLayerAndKeepsThePlan) {
  OneOp m = conv_layer({});
  m.io({0}, {m.model().main().operators.front().outputs.front()});
  const LoweredModel host = lower(m.model());
  const LoweredModel m4 = lower(m.model(), Core::CortexM4);
  ASSERT_EQ(host.calls.size(), 1u);
  ASSERT_EQ(m4.calls.size(), 1u);
  EXPECT_EQ(host.calls[0].kernel, "conv");
  EXPECT_EQ(m4.calls[0].kernel, "conv_1x1_s8_dsp");
  // The same tensors, plus the DSP kernel's scratch (20 bytes, taking a 16-byte-aligned 32).
  EXPECT_EQ(host.analysis.plan.arena_bytes, 176);
  EXPECT_EQ(m4.calls[0].scratch_bytes, 20);
  EXPECT_EQ(m4.analysis.plan.arena_bytes, 176 + 32);
}

// AVERAGE_POOL_2D of a 1x5x5x20 tensor (3x3 windows, stride 2, VALID) of `type`.
OneOp average_pool(DType type) {
  OneOp m;
  const bool real = type == DType::Float32;
  const std::vector<float> scale = real ? std::vector<float>{} : std::vector<float>{0.5f};
  const int32_t x = m.tensor("x", {1, 5, 5, 20}, type, scale, {real ? 0 : 3});
  const int32_t y = m.tensor("y", {1, 2, 2, 20}, type, scale, {real ? 0 : 3});
  model::Pool2DOptions o;
  o.padding = Padding::Valid;
  o.stride_h = o.stride_w = 2;
  o.filter_h = o.filter_w = 3;
  m.op(BuiltinOp::AVERAGE_POOL_2D, {x}, {y}, o);
  return m;
}

TEST(KernelVariantsTest, Int8AveragePoolOnCortexM55IsTheMveKernel) {
  const KernelCall m55 = average_pool(DType::Int8).lowered(Core::CortexM55);
  EXPECT_EQ(m55.kernel, "average_pool_s8_mve");
  EXPECT_EQ(m55.source, "cortex-m55/pooling_s8_mve");
  EXPECT_EQ(m55.scratch_bytes, 0);
  EXPECT_EQ(pointed_tensors(m55), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(average_pool(DType::Int8).lowered(Core::Host).kernel, "average_pool");
  EXPECT_EQ(average_pool(DType::Int8).lowered(Core::CortexM4).kernel, "average_pool_s8_dsp");
  EXPECT_EQ(average_pool(DType::Float32).lowered(Core::CortexM55).kernel, "average_pool");
  EXPECT_EQ(average_pool(DType::Int8).lowered(Core::CortexM55).source, "cortex-m55/pooling_s8_mve");
}

}  // namespace
}  // namespace tinydeploy::lowering
