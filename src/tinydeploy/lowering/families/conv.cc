// Lowering of CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED: weighted sums over
// windows, with per-channel requantization (runtime/kernels/conv.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"
#include "tinydeploy/runtime/cortex-m55/conv_s8_mve.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

// Binds a quantized or float convolution-like call on the activation type (int8, int16 with
// int32 or int64 bias, float).
// Int16Bias32 is TFLite's 16x8 with a narrow int32 bias and accumulator: its worst case exceeds
// int32 for ordinary layer sizes (32768 x the sum of |weights|), so its sums are not bounded
// here; they wrap in the runtime as TFLite's do on hardware.
enum class Flavor { Int8, Int16Bias32, Int16Bias64, Float };

Flavor flavor(const OpBinding& b, size_t weights_input, size_t bias_input) {
  const DType in = b.input(0).dtype;
  const DType weights = b.input(weights_input).dtype;
  const DType out = b.output(0).dtype;
  const bool has_bias = b.has_input(bias_input);
  const DType bias = has_bias ? b.input(bias_input).dtype : DType::Int64;
  if (in == DType::Int8 && weights == DType::Int8 && out == DType::Int8 &&
      (!has_bias || bias == DType::Int32)) {
    return Flavor::Int8;
  }
  if (in == DType::Int16 && weights == DType::Int8 && out == DType::Int16) {
    if (bias == DType::Int32) return Flavor::Int16Bias32;
    if (bias == DType::Int64) return Flavor::Int16Bias64;
  }
  if (in == DType::Float32 && weights == DType::Float32 && out == DType::Float32 &&
      (!has_bias || bias == DType::Float32)) {
    return Flavor::Float;
  }
  unsupported_types(b);
}

// --- Variants for cores with the DSP extension (runtime/kernels/cortex-m4/conv_s8_dsp.cc) ---

constexpr const char* kDspSource = "cortex-m4/conv_s8_dsp";

// The cores whose int8 products use the dual 16-bit multiply-accumulates. The Cortex-M55 has the
// instructions too; it takes the Helium kernels below where there are some.
bool has_dsp_kernels(board::Core core) {
  return core == board::Core::CortexM4 || core == board::Core::CortexM55;
}

// --- Variants for cores with Helium (runtime/kernels/cortex-m55/conv_s8_mve.cc) ---

constexpr const char* kMveSource = "cortex-m55/conv_s8_mve";

bool has_mve_kernels(board::Core core) { return core == board::Core::CortexM55; }

// bias[u] + input_offset * (sum of weights[u][0 .. features)) for each of `units` rows of
// constant weights: the input zero point's share of every sum, computed once here so that the
// kernel multiplies raw int8 values. Nothing when the weights or bias are not constant data or
// a folded value leaves int32 (the call then stays portable).
std::optional<std::vector<int32_t>> folded_bias(const OpBinding& b, size_t weights_input,
                                                size_t bias_input, int32_t units, int32_t features,
                                                int32_t input_offset) {
  const Tensor& weights = b.input(weights_input);
  if (!weights.is_constant()) return std::nullopt;
  const auto weight_bytes = b.model.data(weights);
  const size_t count = static_cast<size_t>(units) * static_cast<size_t>(features);
  if (weight_bytes.size() < count) return std::nullopt;
  std::span<const uint8_t> bias_bytes;
  if (b.has_input(bias_input)) {
    const Tensor& bias = b.input(bias_input);
    if (!bias.is_constant()) return std::nullopt;
    bias_bytes = b.model.data(bias);
    if (bias_bytes.size() < static_cast<size_t>(units) * sizeof(int32_t)) return std::nullopt;
  }
  std::vector<int32_t> folded(static_cast<size_t>(units));
  for (size_t u = 0; u < folded.size(); ++u) {
    int64_t sum = 0;
    for (size_t k = 0; k < static_cast<size_t>(features); ++k) {
      sum += static_cast<int8_t>(weight_bytes[u * static_cast<size_t>(features) + k]);
    }
    int32_t bias = 0;
    if (!bias_bytes.empty()) std::memcpy(&bias, bias_bytes.data() + u * sizeof(int32_t), 4);
    const int64_t value = int64_t{bias} + int64_t{input_offset} * sum;
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      return std::nullopt;
    }
    folded[u] = static_cast<int32_t>(value);
  }
  return folded;
}

// The weights of `units` rows of `features` constant int8 values in the layout the Helium
// products read (pack_weights_s8_mve); nothing when they are not constant data.
std::optional<std::vector<int8_t>> packed_weights(const OpBinding& b, size_t weights_input,
                                                  int32_t units, int32_t features) {
  const Tensor& weights = b.input(weights_input);
  if (!weights.is_constant()) return std::nullopt;
  const auto bytes = b.model.data(weights);
  if (bytes.size() < static_cast<size_t>(units) * static_cast<size_t>(features)) {
    return std::nullopt;
  }
  std::vector<int8_t> packed(static_cast<size_t>(rt::packed_weights_bytes(units, features)));
  rt::pack_weights_s8_mve(units, features, reinterpret_cast<const int8_t*>(bytes.data()),
                          packed.data());
  return packed;
}

KernelCall with_source(KernelCall call, const char* source) {
  call.source = source;
  return call;
}

// The depthwise form of folded_bias: bias[c] + input_offset * (sum of channel c's weights
// over every tap of a [1, h, w, channels] filter).
std::optional<std::vector<int32_t>> depthwise_folded_bias(const OpBinding& b,
                                                          const rt::Dims4& filter,
                                                          int32_t input_offset) {
  const Tensor& weights = b.input(1);
  if (!weights.is_constant()) return std::nullopt;
  const auto weight_bytes = b.model.data(weights);
  const size_t channels = static_cast<size_t>(filter.c);
  const size_t taps = static_cast<size_t>(filter.h) * static_cast<size_t>(filter.w);
  if (weight_bytes.size() < taps * channels) return std::nullopt;
  std::span<const uint8_t> bias_bytes;
  if (b.has_input(2)) {
    const Tensor& bias = b.input(2);
    if (!bias.is_constant()) return std::nullopt;
    bias_bytes = b.model.data(bias);
    if (bias_bytes.size() < channels * sizeof(int32_t)) return std::nullopt;
  }
  std::vector<int32_t> folded(channels);
  for (size_t c = 0; c < channels; ++c) {
    int64_t sum = 0;
    for (size_t t = 0; t < taps; ++t) sum += static_cast<int8_t>(weight_bytes[t * channels + c]);
    int32_t bias = 0;
    if (!bias_bytes.empty()) std::memcpy(&bias, bias_bytes.data() + c * sizeof(int32_t), 4);
    const int64_t value = int64_t{bias} + int64_t{input_offset} * sum;
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      return std::nullopt;
    }
    folded[c] = static_cast<int32_t>(value);
  }
  return folded;
}

// The int8 DEPTHWISE_CONV_2D with multiplier 1 as depthwise_conv_packed_s8_mve: filter packed
// in groups of sixteen channels, input offset folded into the bias, taps outside the input
// reading the zero point from scratch. Nothing where the constants cannot be prepared.
std::optional<KernelCall> depthwise_packed_variant(const OpBinding& b,
                                                   const rt::ConvGeometry& geometry,
                                                   const rt::QuantizedActivation& act,
                                                   const ChannelScales& scales, const rt::Dims4& in,
                                                   const rt::Dims4& filter, const rt::Dims4& out) {
  if (filter.h * filter.w > rt::kDepthwisePackedMaxTaps || filter.c != in.c) return std::nullopt;
  const auto folded = depthwise_folded_bias(b, filter, act.input_offset);
  if (!folded) return std::nullopt;
  const auto bytes = b.model.data(b.input(1));
  std::vector<int8_t> packed(static_cast<size_t>(rt::depthwise_packed_bytes(filter)));
  rt::pack_depthwise_weights_s8_mve(filter, reinterpret_cast<const int8_t*>(bytes.data()),
                                    packed.data());
  return with_scratch(
      with_source(
          call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv_packed_s8_mve), geometry, act, scales,
               in, typed<int8_t>(b.input_slot(0)), filter,
               Constants<int8_t>{
                   .role = "packed_filter", .values = std::move(packed), .weights = true},
               Constants<int32_t>{.role = "folded_bias", .values = *folded, .weights = true}, out,
               typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
          kMveSource),
      rt::depthwise_conv_packed_s8_mve_scratch_bytes(in));
}

// How a layer's constant weights are laid out: channel u's k-th weight at u * unit_stride +
// k * feature_stride (conv and FULLY_CONNECTED: rows of `features`; depthwise: channels last);
// `features` -1 where one scale serves several channels (no bound is then looked at).
struct WeightLayout {
  size_t weights_input = 1;
  size_t bias_input = 2;
  int32_t features = 0;
  size_t unit_stride = 0;
  size_t feature_stride = 1;
};

// The scales with every channel whose output is the output zero point for any input replaced
// by multiplier 0 (and shift -2, inside the prepared form's range): a zero multiplier, or a
// channel whose largest possible sum (|bias| + the largest |x + input_offset| times the sum of
// its |weights|) times its multiplier stays below 2^(30 + r) - 2^30 for its right shift r, so
// that the rounded product is 0. Such channels (dead ones, of tiny scales: shifts of -24 to
// -31, or 0 with a zero multiplier, in vww) would otherwise keep a layer off the prepared stage.
ChannelScales with_constant_channels_zeroed(const OpBinding& b, const ChannelScales& scales,
                                            int32_t channels, const rt::QuantizedActivation& act,
                                            const WeightLayout& layout) {
  ChannelScales adjusted = scales;
  const Tensor& weights = b.input(layout.weights_input);
  if (!weights.is_constant()) return adjusted;
  const auto weight_bytes = b.model.data(weights);
  std::span<const uint8_t> bias_bytes;
  if (b.has_input(layout.bias_input)) {
    const Tensor& bias = b.input(layout.bias_input);
    if (!bias.is_constant()) return adjusted;
    bias_bytes = b.model.data(bias);
  }
  const int64_t largest_input = std::max(std::abs(int64_t{-128} + act.input_offset),
                                         std::abs(int64_t{127} + act.input_offset));
  for (int32_t u = 0; u < channels && static_cast<size_t>(u) < adjusted.multiplier.size(); ++u) {
    const int32_t multiplier = adjusted.multiplier[static_cast<size_t>(u)];
    const int32_t shift = adjusted.shift[static_cast<size_t>(u)];
    bool constant = multiplier == 0;
    if (!constant && layout.features >= 0 && shift <= -1 && shift >= -31) {
      int64_t bound = 0;
      for (int32_t k = 0; k < layout.features; ++k) {
        const size_t at = static_cast<size_t>(u) * layout.unit_stride +
                          static_cast<size_t>(k) * layout.feature_stride;
        if (at >= weight_bytes.size()) return adjusted;
        bound += std::abs(int64_t{static_cast<int8_t>(weight_bytes[at])});
      }
      bound *= largest_input;
      if (!bias_bytes.empty()) {
        if ((static_cast<size_t>(u) + 1) * 4 > bias_bytes.size()) return adjusted;
        int32_t bias = 0;
        std::memcpy(&bias, bias_bytes.data() + static_cast<size_t>(u) * 4, 4);
        bound += std::abs(int64_t{bias});
      }
      const int64_t limit = (int64_t{1} << (30 - shift)) - (int64_t{1} << 30);
      constant = bound < (int64_t{1} << 31) && bound * multiplier < limit;
    }
    if (constant) {
      adjusted.multiplier[static_cast<size_t>(u)] = 0;
      adjusted.shift[static_cast<size_t>(u)] = -2;
    }
  }
  return adjusted;
}

// The per-channel output stage prepared for the DSP kernels that take one
// (rt::prepare_output_stage; a parameter array in the model code, as the scales it replaces),
// channels of constant output taken as multiplier 0 (see
// with_constant_channels_zeroed): nothing when another channel's shift or the output offset is
// outside the prepared form's range (the layer then keeps a kernel with the plain scales).
std::optional<std::vector<int32_t>> prepared_output_stage(const OpBinding& b,
                                                          const ChannelScales& scales,
                                                          int32_t channels,
                                                          const rt::QuantizedActivation& act,
                                                          const WeightLayout& layout) {
  if (scales.multiplier.size() < static_cast<size_t>(channels) ||
      scales.shift.size() < static_cast<size_t>(channels)) {
    return std::nullopt;
  }
  const ChannelScales adjusted = with_constant_channels_zeroed(b, scales, channels, act, layout);
  std::vector<int32_t> table(3 * static_cast<size_t>(channels));
  const rt::PerChannelScale scale{adjusted.multiplier.data(), adjusted.shift.data()};
  if (!rt::prepare_output_stage(scale, channels, act.output_offset, table.data())) {
    return std::nullopt;
  }
  return table;
}

// The int8 CONV_2D as conv_1x1_packed_s8_mve (or conv_1x1_s8_mve where the fold leaves int32) /
// conv_1x1_s8_dsp where the core has it and the layer is a plain matrix product: a 1x1 filter
// over all input channels (one group), stride 1, no dilation, no padding; as conv_packed_s8_mve
// / conv_s8_dsp (im2col into scratch, then a product with the input offset folded into the
// bias) for any other one-group layer.
std::optional<KernelCall> conv_variant(const OpBinding& b, const rt::ConvGeometry& geometry,
                                       const rt::QuantizedActivation& act,
                                       const ChannelScales& scales, const rt::Dims4& in,
                                       const rt::Dims4& filter, const rt::Dims4& out) {
  const bool matrix_product =
      filter.h == 1 && filter.w == 1 && filter.c == in.c && geometry.stride_h == 1 &&
      geometry.stride_w == 1 && geometry.dilation_h == 1 && geometry.dilation_w == 1 &&
      geometry.pad_top == 0 && geometry.pad_left == 0 && out.h == in.h && out.w == in.w;
  if (!matrix_product) {
    if (!has_dsp_kernels(b.core) || filter.c != in.c) return std::nullopt;
    const auto bias = folded_bias(b, 1, 2, out.c, filter.h * filter.w * filter.c, act.input_offset);
    if (!bias) return std::nullopt;
    const bool strided_1x1 = filter.h == 1 && filter.w == 1 && geometry.pad_top == 0 &&
                             geometry.pad_left == 0 && out.c % 4 == 0 &&
                             (out.h - 1) * geometry.stride_h < in.h &&
                             (out.w - 1) * geometry.stride_w < in.w;
    if (has_mve_kernels(b.core) && strided_1x1) {
      // Strided 1x1 (resnet's shortcuts): the packed product along each output row, no copy.
      auto packed = packed_weights(b, 1, out.c, filter.c);
      if (!packed) return std::nullopt;
      return with_source(
          call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_1x1_strided_packed_s8_mve), geometry, act, scales,
               in, typed<int8_t>(b.input_slot(0)),
               Constants<int8_t>{
                   .role = "packed_filter", .values = std::move(*packed), .weights = true},
               Constants<int32_t>{.role = "folded_bias", .values = *bias, .weights = true}, out,
               typed<int8_t>(b.output_slot(0))),
          kMveSource);
    }
    if (has_mve_kernels(b.core)) {
      auto packed = packed_weights(b, 1, out.c, filter.h * filter.w * filter.c);
      if (!packed) return std::nullopt;
      return with_scratch(
          with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_packed_s8_mve), geometry, act, scales, in,
                   typed<int8_t>(b.input_slot(0)), filter,
                   Constants<int8_t>{
                       .role = "packed_filter", .values = std::move(*packed), .weights = true},
                   Constants<int32_t>{.role = "folded_bias", .values = *bias, .weights = true}, out,
                   typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
              kMveSource),
          rt::conv_packed_s8_mve_scratch_bytes(filter));
    }
    const int32_t window = filter.h * filter.w * filter.c;
    const WeightLayout layout{.features = window, .unit_stride = static_cast<size_t>(window)};
    if (auto stage = prepared_output_stage(b, scales, out.c, act, layout)) {
      Constants<int32_t> output_stage{.role = "output_stage", .values = std::move(*stage)};
      Constants<int32_t> bias_values{.role = "folded_bias", .values = *bias, .weights = true};
      if (window % 8 == 0) {
        return with_scratch(
            with_source(call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_s8_dsp_staged), geometry, act,
                             std::move(output_stage), in, typed<int8_t>(b.input_slot(0)), filter,
                             typed<int8_t>(b.input_slot(1)), std::move(bias_values), out,
                             typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
                        kDspSource),
            rt::conv_s8_dsp_staged_scratch_bytes(filter));
      }
      // Rows padded with zero weights to a multiple of 8 features (at most 7 bytes of flash per
      // output channel), linked in place of the model's weights.
      const auto weight_bytes = b.model.data(b.input(1));
      std::vector<int8_t> padded(static_cast<size_t>(filter.n) *
                                 static_cast<size_t>(rt::conv_s8_dsp_staged_row(filter)));
      rt::pad_conv_weights(reinterpret_cast<const int8_t*>(weight_bytes.data()), filter,
                           padded.data());
      return with_scratch(
          with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_s8_dsp_staged), geometry, act,
                   std::move(output_stage), in, typed<int8_t>(b.input_slot(0)), filter,
                   Constants<int8_t>{
                       .role = "padded_weights", .values = std::move(padded), .weights = true},
                   std::move(bias_values), out, typed<int8_t>(b.output_slot(0)),
                   typed<int8_t>(b.scratch_slot())),
              kDspSource),
          rt::conv_s8_dsp_staged_scratch_bytes(filter));
    }
    return with_scratch(
        with_source(
            call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_s8_dsp), geometry, act, scales, in,
                 typed<int8_t>(b.input_slot(0)), filter, typed<int8_t>(b.input_slot(1)),
                 Constants<int32_t>{.role = "folded_bias", .values = *bias, .weights = true}, out,
                 typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
            kDspSource),
        rt::conv_s8_dsp_scratch_bytes(filter));
  }
  if (has_mve_kernels(b.core)) {
    // Packed filter and folded bias where the weights are constant and the fold fits int32.
    const auto folded = folded_bias(b, 1, 2, out.c, filter.c, act.input_offset);
    auto packed = packed_weights(b, 1, out.c, filter.c);
    if (folded && packed) {
      return with_source(
          call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_1x1_packed_s8_mve), act, scales, in,
               typed<int8_t>(b.input_slot(0)), filter,
               Constants<int8_t>{
                   .role = "packed_filter", .values = std::move(*packed), .weights = true},
               Constants<int32_t>{.role = "folded_bias", .values = *folded, .weights = true}, out,
               typed<int8_t>(b.output_slot(0))),
          kMveSource);
    }
    const Slot bias = b.has_input(2) ? b.input_slot(2) : Slot{};
    return with_source(call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_1x1_s8_mve), act, scales, in,
                            typed<int8_t>(b.input_slot(0)), filter, typed<int8_t>(b.input_slot(1)),
                            typed<int32_t>(bias), out, typed<int8_t>(b.output_slot(0))),
                       kMveSource);
  }
  if (!has_dsp_kernels(b.core)) return std::nullopt;
  const auto bias = folded_bias(b, 1, 2, out.c, filter.c, act.input_offset);
  if (!bias) return std::nullopt;
  const WeightLayout layout{.features = filter.c, .unit_stride = static_cast<size_t>(filter.c)};
  if (auto stage = prepared_output_stage(b, scales, out.c, act, layout)) {
    return with_scratch(
        with_source(
            call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_1x1_s8_dsp_staged), act,
                 Constants<int32_t>{.role = "output_stage", .values = std::move(*stage)}, in,
                 typed<int8_t>(b.input_slot(0)), filter, typed<int8_t>(b.input_slot(1)),
                 Constants<int32_t>{.role = "folded_bias", .values = *bias, .weights = true}, out,
                 typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
            kDspSource),
        rt::conv_1x1_s8_dsp_scratch_bytes(filter));
  }
  return with_scratch(
      with_source(call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_1x1_s8_dsp), act, scales, in,
                       typed<int8_t>(b.input_slot(0)), filter, typed<int8_t>(b.input_slot(1)),
                       Constants<int32_t>{.role = "folded_bias", .values = *bias, .weights = true},
                       out, typed<int8_t>(b.output_slot(0)), typed<int8_t>(b.scratch_slot())),
                  kDspSource),
      rt::conv_1x1_s8_dsp_scratch_bytes(filter));
}

// The int8 DEPTHWISE_CONV_2D with depth multiplier 1 as depthwise_conv_3x3_s8_dsp where the
// filter is 3x3 without dilation and its weights are constant: the weights packed four channels
// by tap (rt::pack_depthwise_3x3_weights, the same bytes reordered, linked in place of the
// model's tensor) and the output stage prepared.
std::optional<KernelCall> depthwise_3x3_variant(const OpBinding& b,
                                                const rt::ConvGeometry& geometry,
                                                const rt::QuantizedActivation& act,
                                                const ChannelScales& scales, const rt::Dims4& in,
                                                const rt::Dims4& filter, const rt::Dims4& out) {
  if (filter.h != 3 || filter.w != 3 || geometry.dilation_h != 1 || geometry.dilation_w != 1 ||
      in.c != out.c || filter.c != out.c) {
    return std::nullopt;
  }
  const Tensor& weights = b.input(1);
  if (!weights.is_constant()) return std::nullopt;
  const auto weight_bytes = b.model.data(weights);
  const size_t count = 9 * static_cast<size_t>(out.c);
  if (weight_bytes.size() < count) return std::nullopt;
  const WeightLayout layout{
      .features = 9, .unit_stride = 1, .feature_stride = static_cast<size_t>(out.c)};
  auto stage = prepared_output_stage(b, scales, out.c, act, layout);
  if (!stage) return std::nullopt;
  std::vector<int8_t> packed(count);
  rt::pack_depthwise_3x3_weights(reinterpret_cast<const int8_t*>(weight_bytes.data()), out.c,
                                 packed.data());
  const Slot bias = b.has_input(2) ? b.input_slot(2) : Slot{};
  return with_source(
      call(
          b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv_3x3_s8_dsp), geometry, act, in,
          typed<int8_t>(b.input_slot(0)),
          Constants<int8_t>{.role = "packed_weights", .values = std::move(packed), .weights = true},
          typed<int32_t>(bias),
          Constants<int32_t>{.role = "output_stage", .values = std::move(*stage)}, out,
          typed<int8_t>(b.output_slot(0))),
      kDspSource);
}

KernelCall prepare_conv(const OpBinding& b, bool depthwise) {
  require_inputs(b, 2);
  const rt::Dims4 in = dims4(b, b.input(0));
  const rt::Dims4 filter = dims4(b, b.input(1));
  const rt::Dims4 out = dims4(b, b.output(0));
  rt::ConvGeometry geometry;
  model::Padding padding;
  Activation activation;
  int32_t depth_multiplier = 1;
  if (depthwise) {
    const auto& o = options<model::DepthwiseConv2DOptions>(b);
    geometry = {o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, 0, 0};
    padding = o.padding;
    activation = o.activation;
    require(in.c > 0 && out.c % in.c == 0 && filter.c == out.c, b,
            "output channels must be a multiple of the input channels");
    require(
        filter.n == 1, b,
        fmt::format("filter '{}' must have shape [1, height, width, channels]", b.input(1).name));
    depth_multiplier = out.c / in.c;
    // TFLite's kernels loop over the option's value; this runtime takes it from the shapes, so
    // a stated multiplier must agree with them (0, the format's default, states none).
    require(o.depth_multiplier == 0 || o.depth_multiplier == depth_multiplier, b,
            fmt::format("depth_multiplier {} disagrees with the {} input and {} output channels",
                        o.depth_multiplier, in.c, out.c));
  } else {
    const auto& o = options<model::Conv2DOptions>(b);
    geometry = {o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, 0, 0};
    padding = o.padding;
    activation = o.activation;
    require(filter.c > 0 && in.c > 0 && in.c % filter.c == 0 && filter.n == out.c &&
                out.c % (in.c / filter.c) == 0,
            b, "filter channels do not divide the input channels");
  }
  require(in.n == out.n, b,
          fmt::format("input '{}' has batch {} but output '{}' has batch {}", b.input(0).name, in.n,
                      b.output(0).name, out.n));
  require(geometry.stride_h > 0 && geometry.stride_w > 0 && geometry.dilation_h > 0 &&
              geometry.dilation_w > 0,
          b, "strides and dilations must be positive");
  geometry.pad_top = padding_before(b, "height", padding, in.h, filter.h, geometry.stride_h,
                                    geometry.dilation_h, out.h);
  geometry.pad_left = padding_before(b, "width", padding, in.w, filter.w, geometry.stride_w,
                                     geometry.dilation_w, out.w);
  const bool has_bias = b.has_input(2);
  // The output channel is dimension 0 of a CONV_2D filter, 3 of a depthwise one.
  const size_t channel_axis = depthwise ? 3 : 0;
  const Tensor* bias_tensor = has_bias ? &b.input(2) : nullptr;
  const Slot input = b.input_slot(0);
  const Slot weights = b.input_slot(1);
  const Slot bias = has_bias ? b.input_slot(2) : Slot{};
  const Slot output = b.output_slot(0);
  if (!depthwise && b.input(0).dtype == DType::Float32 && b.input(1).dtype == DType::Int8 &&
      b.output(0).dtype == DType::Float32 && (!has_bias || b.input(2).dtype == DType::Float32)) {
    // Hybrid: float activations with int8 weights, quantized per inference.
    require(geometry.dilation_h == 1 && geometry.dilation_w == 1, b,
            "a hybrid (float input, int8 weights) CONV_2D with dilation is not supported");
    require_quantized(b, b.input(1));
    require_bias(b, 2, out.c, false);
    require_channel_scales(b, b.input(1), out.c);
    const auto& filter_scales = b.input(1).quantization.scale;
    require(filter_scales.size() == 1 || static_cast<int32_t>(filter_scales.size()) == out.c, b,
            "the filter's per-channel scales do not match the output channels");
    // The input is quantized to int8 with a zero point in [-128, 127] before the int32 sums,
    // so each input term is at most 255 away from zero; the float bias is added afterwards.
    require_accumulator_fits(b, Accumulator::Int32, 255, b.input(1), 0, 0, nullptr);
    const Constants<float> scales{"weight_scales", filter_scales};
    const bool per_channel = filter_scales.size() > 1;
    const rt::FloatActivation range = float_range(b, activation);
    const Slot scratch = b.scratch_slot();
    // The scratch holds the input quantized to int8.
    return with_scratch(call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_hybrid), geometry, range, scales,
                             per_channel, in, typed<float>(input), filter, typed<int8_t>(weights),
                             typed<float>(bias), out, typed<float>(output), typed<int8_t>(scratch)),
                        b.input(0).elements());
  }
  const Flavor kind = flavor(b, 1, 2);
  require_bias(b, 2, out.c, kind != Flavor::Float);
  if (kind == Flavor::Float) {
    const rt::FloatActivation range = float_range(b, activation);
    if (depthwise) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv), geometry, depth_multiplier, range,
                  in, typed<float>(input), filter, typed<float>(weights), typed<float>(bias), out,
                  typed<float>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(conv), geometry, range, in, typed<float>(input),
                filter, typed<float>(weights), typed<float>(bias), out, typed<float>(output));
  }
  require_zero_points_zero_for_int16(b);
  require_channel_scales(b, b.input(1), out.c);
  const Accumulator accumulator =
      kind == Flavor::Int16Bias64 ? Accumulator::Int64 : Accumulator::Int32;
  if (kind != Flavor::Int16Bias32) {
    require_accumulator_fits(b, accumulator, input_magnitude(b.input(0)), b.input(1), channel_axis,
                             0, bias_tensor);
  }
  const ChannelScales scales =
      channel_scales(b, b.input(0), b.input(1), b.output(0), out.c, accumulator);
  const rt::QuantizedActivation act = quantized_activation(b, activation);
  switch (kind) {
    case Flavor::Int8:
      if (depthwise) {
        // One input channel per output channel: channels side by side in Helium vectors, or
        // four per pass with the DSP products.
        if (has_mve_kernels(b.core) && depth_multiplier == 1) {
          if (auto packed = depthwise_packed_variant(b, geometry, act, scales, in, filter, out)) {
            return std::move(*packed);
          }
          return with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv_s8_mve), geometry, act, scales, in,
                   typed<int8_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
                   typed<int8_t>(output)),
              kMveSource);
        }
        if (has_dsp_kernels(b.core) && depth_multiplier == 1) {
          if (auto variant = depthwise_3x3_variant(b, geometry, act, scales, in, filter, out)) {
            return std::move(*variant);
          }
          return with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv_s8_dsp), geometry, act, scales, in,
                   typed<int8_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
                   typed<int8_t>(output)),
              kDspSource);
        }
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv), geometry, depth_multiplier, act,
                    scales, in, typed<int8_t>(input), filter, typed<int8_t>(weights),
                    typed<int32_t>(bias), out, typed<int8_t>(output));
      }
      if (auto variant = conv_variant(b, geometry, act, scales, in, filter, out)) {
        return std::move(*variant);
      }
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(conv), geometry, act, scales, in,
                  typed<int8_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
                  typed<int8_t>(output));
    case Flavor::Int16Bias32:
      if (depthwise) {
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv), geometry, depth_multiplier, act,
                    scales, in, typed<int16_t>(input), filter, typed<int8_t>(weights),
                    typed<int32_t>(bias), out, typed<int16_t>(output));
      }
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(conv), geometry, act, scales, in,
                  typed<int16_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
                  typed<int16_t>(output));
    default:
      if (depthwise) {
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv), geometry, depth_multiplier, act,
                    scales, in, typed<int16_t>(input), filter, typed<int8_t>(weights),
                    typed<int64_t>(bias), out, typed<int16_t>(output));
      }
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(conv), geometry, act, scales, in,
                  typed<int16_t>(input), filter, typed<int8_t>(weights), typed<int64_t>(bias), out,
                  typed<int16_t>(output));
  }
}

// TRANSPOSE_CONV inputs: output shape, weights, input, optional bias.
KernelCall prepare_transpose_conv(const OpBinding& b) {
  require_inputs(b, 3);
  const auto& o = options<model::TransposeConvOptions>(b);
  require(o.stride_h > 0 && o.stride_w > 0, b, "strides must be positive");
  const Tensor& input_tensor = b.input(2);
  const rt::Dims4 in = dims4(b, input_tensor);
  const rt::Dims4 filter = dims4(b, b.input(1));
  const rt::Dims4 out = dims4(b, b.output(0));
  require(filter.n == out.c && filter.c == in.c, b, "filter shape does not match the tensors");
  // The kernel scatters every input batch into the same batch of the output.
  require(in.n == out.n, b,
          fmt::format("input '{}' has batch {} but output '{}' has batch {}", input_tensor.name,
                      in.n, b.output(0).name, out.n));
  // TFLite Micro ignores the output_shape operand and uses the output's stored shape; a
  // constant one must at least agree with it.
  if (b.input(0).is_constant()) {
    const std::vector<int64_t> shape = integers(b, 0);
    require(shape == std::vector<int64_t>(b.output(0).shape.begin(), b.output(0).shape.end()), b,
            fmt::format("output_shape operand '{}' holds [{}] but output '{}' has shape [{}]",
                        b.input(0).name, fmt::join(shape, ", "), b.output(0).name,
                        fmt::join(b.output(0).shape, ", ")));
  }
  // The padding that a forward convolution from the output back to the input would use.
  auto forward_size = [&](int64_t size, int64_t filter_size, int64_t stride) {
    return o.padding == model::Padding::Same ? (size + stride - 1) / stride
                                             : (size - filter_size + stride) / stride;
  };
  rt::ConvGeometry geometry{o.stride_h, o.stride_w, 1, 1, 0, 0};
  auto padding = [&](std::string_view axis, int32_t in_size, int32_t size, int32_t filter_size,
                     int32_t stride) {
    const int64_t forward = forward_size(size, filter_size, stride);
    const int64_t before = std::max<int64_t>((forward - 1) * stride + filter_size - size, 0) / 2;
    // Input pixel i scatters to output positions i * stride - before + (0 .. filter_size - 1).
    require_window_fits(b, axis, in_size, stride, filter_size, 1, before);
    return static_cast<int32_t>(before);
  };
  geometry.pad_top = padding("height", in.h, out.h, filter.h, o.stride_h);
  geometry.pad_left = padding("width", in.w, out.w, filter.w, o.stride_w);
  const bool has_bias = b.has_input(3);
  const Slot input = b.input_slot(2);
  const Slot weights = b.input_slot(1);
  const Slot bias = has_bias ? b.input_slot(3) : Slot{};
  const Slot output = b.output_slot(0);
  // Types come from the activation input (index 2), so check them here.
  const DType in_type = input_tensor.dtype;
  const DType w_type = b.input(1).dtype;
  const DType out_type = b.output(0).dtype;
  const DType bias_type = has_bias ? b.input(3).dtype : DType::Int64;
  const bool quantized = in_type != DType::Float32;
  require_bias(b, 3, out.c, quantized);
  if (in_type == DType::Float32 && w_type == DType::Float32 && out_type == DType::Float32 &&
      (!has_bias || bias_type == DType::Float32)) {
    const rt::FloatActivation range = float_range(b, o.activation);
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(transpose_conv), geometry, range, in,
                typed<float>(input), filter, typed<float>(weights), typed<float>(bias), out,
                typed<float>(output));
  }
  const bool int8 = in_type == DType::Int8 && w_type == DType::Int8 && out_type == DType::Int8 &&
                    (!has_bias || bias_type == DType::Int32);
  const bool int16 = in_type == DType::Int16 && w_type == DType::Int8 && out_type == DType::Int16 &&
                     (!has_bias || bias_type == DType::Int64);
  if (!int8 && !int16) unsupported_types(b);
  require_channel_scales(b, b.input(1), out.c);
  // Each output element receives at most one product per filter tap and input channel, so the
  // CONV_2D bound over a filter's weights holds for the scatter's accumulators too.
  const Accumulator accumulator = int8 ? Accumulator::Int32 : Accumulator::Int64;
  require_accumulator_fits(b, accumulator, input_magnitude(input_tensor), b.input(1), 0, 0,
                           has_bias ? &b.input(3) : nullptr);
  const ChannelScales scales =
      channel_scales(b, input_tensor, b.input(1), b.output(0), out.c, accumulator);
  const auto [low, high] = quantized_range(b, o.activation, b.output(0));
  const rt::QuantizedActivation act{-zero_point_of(input_tensor), zero_point_of(b.output(0)), low,
                                    high};
  // The scratch holds one accumulator per output element.
  const Slot scratch = b.scratch_slot();
  const int64_t outputs = b.output(0).elements();
  if (int8) {
    return with_scratch(
        call(b, TINYDEPLOY_RUNTIME_KERNEL(transpose_conv), geometry, act, scales, in,
             typed<int8_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
             typed<int8_t>(output), typed<int32_t>(scratch)),
        outputs * 4);
  }
  require(zero_point_of(input_tensor) == 0 && zero_point_of(b.output(0)) == 0, b,
          "int16 tensors must have zero point 0");
  return with_scratch(
      call(b, TINYDEPLOY_RUNTIME_KERNEL(transpose_conv), geometry, act, scales, in,
           typed<int16_t>(input), filter, typed<int8_t>(weights), typed<int64_t>(bias), out,
           typed<int16_t>(output), typed<int64_t>(scratch)),
      outputs * 8);
}

KernelCall prepare_fully_connected(const OpBinding& b) {
  require_inputs(b, 2);
  const auto& o = options<model::FullyConnectedOptions>(b);
  require(o.weights_format == 0, b, "only the default weights format is supported");
  const Tensor& weights_tensor = b.input(1);
  require(weights_tensor.shape.size() == 2, b, "weights must be [units, features]");
  const int32_t units = weights_tensor.shape[0];
  const int32_t features = weights_tensor.shape[1];
  require(features > 0 && b.input(0).elements() % features == 0, b,
          "input elements are not a multiple of the weights' features");
  const rt::FullyConnectedShape shape{narrow(b.input(0).elements() / features, b), features, units};
  require(b.output(0).elements() == int64_t{shape.rows} * units, b,
          "output elements do not match rows x units");
  const Slot input = b.input_slot(0);
  const Slot weights = b.input_slot(1);
  const Slot bias = b.has_input(2) ? b.input_slot(2) : Slot{};
  const Slot output = b.output_slot(0);
  const Flavor kind = flavor(b, 1, 2);
  require_bias(b, 2, units, kind != Flavor::Float);
  if (kind == Flavor::Float) {
    const rt::FloatActivation range = float_range(b, o.activation);
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected), range, shape, typed<float>(input),
                typed<float>(weights), typed<float>(bias), typed<float>(output));
  }
  require_zero_points_zero_for_int16(b);
  const bool per_channel = weights_tensor.quantization.is_per_channel();
  require_channel_scales(b, weights_tensor, units);
  const Accumulator accumulator =
      kind == Flavor::Int16Bias64 ? Accumulator::Int64 : Accumulator::Int32;
  const int32_t weights_offset = per_channel ? 0 : -zero_point_of(weights_tensor);
  if (kind != Flavor::Int16Bias32) {
    require_accumulator_fits(b, accumulator, input_magnitude(b.input(0)), weights_tensor, 0,
                             weights_offset, b.has_input(2) ? &b.input(2) : nullptr);
  }
  ChannelScales scales;
  if (per_channel) {
    scales = channel_scales(b, b.input(0), weights_tensor, b.output(0), units, accumulator);
  } else {
    require_quantized(b, b.input(0));
    require_quantized(b, weights_tensor);
    require_quantized(b, b.output(0));
    // Per-tensor: the scale product in double precision. TFLite's source reads as a single
    // precision product, but TFLite Micro (the definition for integer outputs) measurably uses
    // the double one: on tests/data/models/fully_connected_int8pt it matches on 100 of 100
    // seeded inputs, while TFLite (ai-edge-litert) differs by 1 LSB on 9 of them.
    const double product =
        static_cast<double>(scale_of(b.input(0))) * static_cast<double>(scale_of(weights_tensor));
    const rt::Requantization q =
        requantization(b, product / static_cast<double>(scale_of(b.output(0))), accumulator,
                       fmt::format("the rescaling of input '{}' x weights '{}' to output '{}'",
                                   b.input(0).name, weights_tensor.name, b.output(0).name));
    scales.multiplier = {q.multiplier};
    scales.shift = {q.shift};
  }
  const rt::QuantizedActivation act = quantized_activation(b, o.activation);
  switch (kind) {
    case Flavor::Int8:
      if (has_mve_kernels(b.core) && weights_offset == 0) {
        const auto folded = folded_bias(b, 1, 2, units, features, act.input_offset);
        auto packed = packed_weights(b, 1, units, features);
        if (folded && packed) {
          return with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected_packed_s8_mve), act, scales,
                   per_channel, shape, typed<int8_t>(input),
                   Constants<int8_t>{
                       .role = "packed_weights", .values = std::move(*packed), .weights = true},
                   Constants<int32_t>{.role = "folded_bias", .values = *folded, .weights = true},
                   typed<int8_t>(output)),
              kMveSource);
        }
      }
      if (has_mve_kernels(b.core)) {
        return with_source(
            call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected_s8_mve), act, scales, per_channel,
                 weights_offset, shape, typed<int8_t>(input), typed<int8_t>(weights),
                 typed<int32_t>(bias), typed<int8_t>(output)),
            kMveSource);
      }
      if (has_dsp_kernels(b.core) && weights_offset == 0) {
        if (auto folded = folded_bias(b, 1, 2, units, features, act.input_offset)) {
          const int32_t stages = per_channel ? units : 1;
          // Per tensor, one stage serves every unit: no bounds looked at (features -1).
          const WeightLayout layout{.features = per_channel ? features : -1,
                                    .unit_stride = static_cast<size_t>(features)};
          if (auto stage = prepared_output_stage(b, scales, stages, act, layout)) {
            // Constant weights: packed four units by word (rt::pack_fully_connected_ldm4_weights,
            // the model's bytes reordered with zeros up to a multiple of 4 features and units),
            // linked in place of the model's tensor.
            const auto weight_bytes = weights_tensor.is_constant() ? b.model.data(weights_tensor)
                                                                   : std::span<const uint8_t>{};
            // Padded units at most a quarter of the units (vww's 2-unit layer keeps the model's
            // weights rather than add 2 x 256 zero bytes).
            if (weight_bytes.size() >= static_cast<size_t>(units) * static_cast<size_t>(features) &&
                4 * rt::fully_connected_ldm4_units(units) <= 5 * units) {
              std::vector<int8_t> packed(rt::fully_connected_ldm4_weight_bytes(features, units));
              rt::pack_fully_connected_ldm4_weights(
                  reinterpret_cast<const int8_t*>(weight_bytes.data()), features, units,
                  packed.data());
              folded->resize(static_cast<size_t>(rt::fully_connected_ldm4_units(units)), 0);
              return with_scratch(
                  with_source(
                      call(
                          b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected_s8_dsp_ldm4), act,
                          Constants<int32_t>{.role = "output_stage", .values = std::move(*stage)},
                          per_channel, shape, typed<int8_t>(input),
                          Constants<int8_t>{.role = "packed_weights",
                                            .values = std::move(packed),
                                            .weights = true},
                          Constants<int32_t>{
                              .role = "folded_bias", .values = std::move(*folded), .weights = true},
                          typed<int8_t>(output), typed<int8_t>(b.scratch_slot())),
                      kDspSource),
                  rt::fully_connected_ldm4_scratch_bytes(features));
            }
            return with_source(
                call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected_s8_dsp_staged), act,
                     Constants<int32_t>{.role = "output_stage", .values = std::move(*stage)},
                     per_channel, shape, typed<int8_t>(input), typed<int8_t>(weights),
                     Constants<int32_t>{
                         .role = "folded_bias", .values = std::move(*folded), .weights = true},
                     typed<int8_t>(output)),
                kDspSource);
          }
          return with_source(
              call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected_s8_dsp), act, scales, per_channel,
                   shape, typed<int8_t>(input), typed<int8_t>(weights),
                   Constants<int32_t>{
                       .role = "folded_bias", .values = std::move(*folded), .weights = true},
                   typed<int8_t>(output)),
              kDspSource);
        }
      }
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected), act, scales, per_channel,
                  weights_offset, shape, typed<int8_t>(input), typed<int8_t>(weights),
                  typed<int32_t>(bias), typed<int8_t>(output));
    case Flavor::Int16Bias32:
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected), act, scales, per_channel,
                  weights_offset, shape, typed<int16_t>(input), typed<int8_t>(weights),
                  typed<int32_t>(bias), typed<int16_t>(output));
    default:
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(fully_connected), act, scales, per_channel,
                  weights_offset, shape, typed<int16_t>(input), typed<int8_t>(weights),
                  typed<int64_t>(bias), typed<int16_t>(output));
  }
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::CONV_2D, [](const OpBinding& b) { return prepare_conv(b, false); }},
    {BuiltinOp::DEPTHWISE_CONV_2D, [](const OpBinding& b) { return prepare_conv(b, true); }},
    {BuiltinOp::TRANSPOSE_CONV, prepare_transpose_conv},
    {BuiltinOp::FULLY_CONNECTED, prepare_fully_connected},
};

}  // namespace

Family conv_family() { return {"conv", "conv", kOperators}; }

}  // namespace tinydeploy::lowering
