#include "tinydeploy/lowering/lower_ops.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/contracts.h"
#include "tinydeploy/runtime/activation.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/elementwise.h"
#include "tinydeploy/runtime/layout.h"
#include "tinydeploy/runtime/lstm.h"
#include "tinydeploy/runtime/pooling.h"
#include "tinydeploy/runtime/quantize.h"
#include "tinydeploy/runtime/reduce.h"

namespace tinydeploy::lowering {

namespace rt = runtime;
using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

const Tensor& OpBinding::input(size_t i) const {
  return graph.tensors[static_cast<size_t>(op.inputs[i])];
}
const Tensor& OpBinding::output(size_t i) const {
  return graph.tensors[static_cast<size_t>(op.outputs[i])];
}
bool OpBinding::has_input(size_t i) const {
  return i < op.inputs.size() && op.inputs[i] != model::kNoTensor;
}
std::string OpBinding::where() const {
  return fmt::format("{}: operator {} ({})", model.path, index, op.name());
}

namespace {

[[noreturn]] void unsupported_types(const OpBinding& b) {
  std::string inputs;
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    if (!b.has_input(i)) continue;
    if (!inputs.empty()) inputs += ", ";
    inputs += model::dtype_name(b.input(i).dtype);
  }
  std::string outputs;
  for (size_t i = 0; i < b.op.outputs.size(); ++i) {
    if (!outputs.empty()) outputs += ", ";
    outputs += model::dtype_name(b.output(i).dtype);
  }
  throw Error("{}: the runtime has no kernel for inputs ({}) -> outputs ({})", b.where(), inputs,
              outputs);
}

template <typename Options>
const Options& options(const OpBinding& b) {
  const auto* found = std::get_if<Options>(&b.op.options);
  if (found == nullptr) throw Error("{}: its options table is missing", b.where());
  return *found;
}

int32_t narrow(int64_t value, const OpBinding& b) {
  require(value >= 0 && value <= std::numeric_limits<int32_t>::max(), b,
          "a size exceeds the 32-bit range of the runtime");
  return static_cast<int32_t>(value);
}

float scale_of(const Tensor& t) {
  return t.quantization.scale.empty() ? 1.0f : t.quantization.scale[0];
}
int32_t zero_point_of(const Tensor& t) {
  return t.quantization.zero_point.empty() ? 0 : static_cast<int32_t>(t.quantization.zero_point[0]);
}

// The operand checks (require_inputs) have validated every scale present; this one requires
// that there is one.
void require_quantized(const OpBinding& b, const Tensor& t) {
  require(t.quantization.is_quantized() && t.quantization.scale[0] > 0.0f &&
              std::isfinite(t.quantization.scale[0]),
          b, fmt::format("tensor '{}' has no valid quantization scale", t.name));
}

// A rescaling applied by the 32-bit multiply_by_quantized_multiplier, from `from` to `to`.
rt::Requantization rescaling(const OpBinding& b, double real, const Tensor& from,
                             const Tensor& to) {
  return requantization(b, real, Accumulator::Int32,
                        fmt::format("the rescaling from '{}' to '{}'", from.name, to.name));
}

// The fused activation as a clamp in the output's integer units.
std::pair<int32_t, int32_t> quantized_range(const OpBinding& b, Activation activation,
                                            const Tensor& output) {
  const float scale = scale_of(output);
  const int32_t zero_point = zero_point_of(output);
  // As TFLite: divided and rounded in single precision. A tiny scale sends the quotient beyond
  // int32 (or to infinity), where the clamp to the type's range decides anyway.
  auto quantize = [&](float value) {
    const double rounded =
        std::clamp(static_cast<double>(std::round(value / scale)), -0x1p40, 0x1p40);
    return static_cast<int32_t>(std::clamp(zero_point + rounded, -0x1p31, 0x1p31 - 1.0));
  };
  int32_t low = type_min(output.dtype);
  int32_t high = type_max(output.dtype);
  switch (activation) {
    case Activation::None:
      break;
    case Activation::Relu:
      low = std::max(low, quantize(0.0f));
      break;
    case Activation::Relu6:
      low = std::max(low, quantize(0.0f));
      high = std::min(high, quantize(6.0f));
      break;
    case Activation::ReluN1To1:
      low = std::max(low, quantize(-1.0f));
      high = std::min(high, quantize(1.0f));
      break;
    default:
      throw Error("{}: fused activation {} is not supported", b.where(),
                  model::activation_name(activation));
  }
  return {low, high};
}

rt::FloatActivation float_range(const OpBinding& b, Activation activation) {
  rt::FloatActivation range;
  switch (activation) {
    case Activation::None:
      break;
    case Activation::Relu:
      range.min = 0.0f;
      break;
    case Activation::Relu6:
      range = {0.0f, 6.0f};
      break;
    case Activation::ReluN1To1:
      range = {-1.0f, 1.0f};
      break;
    default:
      throw Error("{}: fused activation {} is not supported", b.where(),
                  model::activation_name(activation));
  }
  return range;
}

rt::Dims4 dims4(const OpBinding& b, const Tensor& t) {
  require(t.shape.size() == 4, b, fmt::format("tensor '{}' must have rank 4", t.name));
  return {t.shape[0], t.shape[1], t.shape[2], t.shape[3]};
}

// Padding before the input along one axis, as TFLite derives it: half the total padding
// needed for `out` windows (the extra odd row or column goes after). Refused when the windows'
// positions leave the kernels' int32 range.
int32_t padding_before(const OpBinding& b, std::string_view axis, model::Padding padding,
                       int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t out) {
  int64_t before = 0;
  if (padding != model::Padding::Valid) {
    const int64_t effective_filter = (int64_t{filter} - 1) * dilation + 1;
    const int64_t total = (int64_t{out} - 1) * stride + effective_filter - in;
    before = std::max<int64_t>(total, 0) / 2;
  }
  require_window_fits(b, axis, out, stride, filter, dilation, before);
  return static_cast<int32_t>(before);
}

// Per-channel (or per-tensor, broadcast to every channel) output multipliers of a
// convolution: input_scale * filter_scale[c] / output_scale, each within the range of the
// requantization that applies it to `accumulator`.
ChannelScales channel_scales(const OpBinding& b, const Tensor& input, const Tensor& filter,
                             const Tensor& output, int32_t channels, Accumulator accumulator) {
  require_quantized(b, input);
  require_quantized(b, filter);
  require_quantized(b, output);
  const auto& scales = filter.quantization.scale;
  require(scales.size() == 1 || static_cast<int32_t>(scales.size()) == channels, b,
          "the filter's per-channel scales do not match the output channels");
  for (int64_t zp : filter.quantization.zero_point) {
    require(zp == 0, b, "the filter must be symmetrically quantized (zero point 0)");
  }
  ChannelScales result;
  for (int32_t c = 0; c < channels; ++c) {
    const double filter_scale = scales[scales.size() == 1 ? 0 : static_cast<size_t>(c)];
    const rt::Requantization q = requantization(
        b,
        static_cast<double>(scale_of(input)) * filter_scale / static_cast<double>(scale_of(output)),
        accumulator,
        fmt::format(
            "the rescaling of input '{}' x filter '{}' to output '{}' for output channel {}",
            input.name, filter.name, output.name, c));
    result.multiplier.push_back(q.multiplier);
    result.shift.push_back(q.shift);
  }
  return result;
}

rt::QuantizedActivation quantized_activation(const OpBinding& b, Activation activation) {
  const auto [low, high] = quantized_range(b, activation, b.output(0));
  return {-zero_point_of(b.input(0)), zero_point_of(b.output(0)), low, high};
}

using detail::Constants;
using detail::Slot;
using detail::typed;

template <typename Kernel, typename... Args>
KernelCall call(const OpBinding& b, const char* name, Kernel kernel, const Args&... args) {
  return detail::make_call(b.index, name, kernel, args...);
}

// An operator with nothing to compute (an empty output).
KernelCall no_call(const OpBinding& b) {
  KernelCall nothing;
  nothing.op_index = b.index;
  nothing.bind = [](const KernelCall&, const HostStorage&) { return std::function<void()>([] {}); };
  return nothing;
}

std::vector<int64_t> integers(const OpBinding& b, size_t input);

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

void require_zero_points_zero_for_int16(const OpBinding& b) {
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    if (b.has_input(i) && b.input(i).dtype == DType::Int16) {
      require(zero_point_of(b.input(i)) == 0, b, "int16 tensors must have zero point 0");
    }
  }
  if (b.output(0).dtype == DType::Int16) {
    require(zero_point_of(b.output(0)) == 0, b, "int16 tensors must have zero point 0");
  }
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
    require(b.has_scratch, b, "no scratch memory was planned for the quantized input");
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
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(conv_hybrid), geometry, range, scales, per_channel, in,
                typed<float>(input), filter, typed<int8_t>(weights), typed<float>(bias), out,
                typed<float>(output), typed<int8_t>(scratch));
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
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(depthwise_conv), geometry, depth_multiplier, act,
                    scales, in, typed<int8_t>(input), filter, typed<int8_t>(weights),
                    typed<int32_t>(bias), out, typed<int8_t>(output));
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
  require(b.has_scratch, b, "no scratch memory was planned for the accumulators");
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
  const Slot scratch = b.scratch_slot();
  if (int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(transpose_conv), geometry, act, scales, in,
                typed<int8_t>(input), filter, typed<int8_t>(weights), typed<int32_t>(bias), out,
                typed<int8_t>(output), typed<int32_t>(scratch));
  }
  require(zero_point_of(input_tensor) == 0 && zero_point_of(b.output(0)) == 0, b,
          "int16 tensors must have zero point 0");
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(transpose_conv), geometry, act, scales, in,
              typed<int16_t>(input), filter, typed<int8_t>(weights), typed<int64_t>(bias), out,
              typed<int16_t>(output), typed<int64_t>(scratch));
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

// Same quantization on the input and output, as pooling and the min/max family need.
void require_same_quantization(const OpBinding& b, const Tensor& a, const Tensor& c) {
  if (a.dtype == DType::Float32) return;
  require(scale_of(a) == scale_of(c) && zero_point_of(a) == zero_point_of(c), b,
          fmt::format("tensors '{}' and '{}' must share scale and zero point", a.name, c.name));
}

KernelCall prepare_pool(const OpBinding& b, bool average) {
  require_inputs(b, 1);
  const auto& o = options<model::Pool2DOptions>(b);
  require(o.stride_h > 0 && o.stride_w > 0 && o.filter_h > 0 && o.filter_w > 0, b,
          "strides and filter sizes must be positive");
  const rt::Dims4 in = dims4(b, b.input(0));
  const rt::Dims4 out = dims4(b, b.output(0));
  require(in.n == out.n && in.c == out.c, b,
          fmt::format("input '{}' and output '{}' differ in batch or channels", b.input(0).name,
                      b.output(0).name));
  rt::PoolGeometry geometry{o.stride_h, o.stride_w, o.filter_h, o.filter_w, 0, 0};
  geometry.pad_top = padding_before(b, "height", o.padding, in.h, o.filter_h, o.stride_h, 1, out.h);
  geometry.pad_left = padding_before(b, "width", o.padding, in.w, o.filter_w, o.stride_w, 1, out.w);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  const DType type = b.input(0).dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  if (type == DType::Float32) {
    const rt::FloatActivation range = float_range(b, o.activation);
    if (average) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(average_pool), geometry, range, in,
                  typed<float>(input), out, typed<float>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(max_pool), geometry, range, in, typed<float>(input),
                out, typed<float>(output));
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_same_quantization(b, b.input(0), b.output(0));
  if (average) {
    // The quantized average sums a window (clipped to the input) in int32, plus half the count
    // for rounding.
    const int64_t window = int64_t{std::min(o.filter_h, in.h)} * std::min(o.filter_w, in.w);
    const int64_t largest = type == DType::Int8 ? 128 : 32768;
    require(window * (largest + 1) <= std::numeric_limits<int32_t>::max(), b,
            fmt::format("a window of {} {} values can overflow the 32-bit sum", window,
                        model::dtype_name(type)));
  }
  const auto [low, high] = quantized_range(b, o.activation, b.output(0));
  const rt::PoolClamp clamp{low, high};
  if (type == DType::Int8) {
    if (average) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(average_pool), geometry, clamp, in,
                  typed<int8_t>(input), out, typed<int8_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(max_pool), geometry, clamp, in, typed<int8_t>(input),
                out, typed<int8_t>(output));
  }
  if (average) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(average_pool), geometry, clamp, in,
                typed<int16_t>(input), out, typed<int16_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(max_pool), geometry, clamp, in, typed<int16_t>(input),
              out, typed<int16_t>(output));
}

// Right-aligns a shape to kMaxRank dims.
std::array<int32_t, rt::kMaxRank> aligned_dims(const OpBinding& b,
                                               const std::vector<int32_t>& shape) {
  require(shape.size() <= static_cast<size_t>(rt::kMaxRank), b,
          fmt::format("tensors of rank {} exceed the runtime's limit of {}", shape.size(),
                      rt::kMaxRank));
  std::array<int32_t, rt::kMaxRank> dims;
  dims.fill(1);
  std::copy(shape.begin(), shape.end(), dims.end() - static_cast<std::ptrdiff_t>(shape.size()));
  return dims;
}

rt::BroadcastShape broadcast_shape(const OpBinding& b) {
  const auto a = aligned_dims(b, b.input(0).shape);
  const auto c = aligned_dims(b, b.input(1).shape);
  const auto out = aligned_dims(b, b.output(0).shape);
  rt::BroadcastShape shape;
  int32_t stride_a = 1;
  int32_t stride_c = 1;
  for (int d = rt::kMaxRank - 1; d >= 0; --d) {
    const size_t i = static_cast<size_t>(d);
    require((a[i] == out[i] || a[i] == 1) && (c[i] == out[i] || c[i] == 1) &&
                out[i] == std::max(a[i], c[i]),
            b, "input shapes do not broadcast to the output shape");
    shape.dims[d] = out[i];
    shape.stride1[d] = a[i] == 1 ? 0 : stride_a;
    shape.stride2[d] = c[i] == 1 ? 0 : stride_c;
    stride_a *= a[i];
    stride_c *= c[i];
  }
  return shape;
}

enum class Arithmetic { Add, Sub, Mul };

KernelCall prepare_arithmetic(const OpBinding& b, Arithmetic kind) {
  require_inputs(b, 2);
  const DType type = b.input(0).dtype;
  if (b.input(1).dtype != type || b.output(0).dtype != type) unsupported_types(b);
  const auto* o = std::get_if<model::ArithmeticOptions>(&b.op.options);
  const Activation activation = o != nullptr ? o->activation : Activation::None;
  const rt::BroadcastShape shape = broadcast_shape(b);
  const Slot a = b.input_slot(0);
  const Slot c = b.input_slot(1);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    const rt::FloatActivation range = float_range(b, activation);
    switch (kind) {
      case Arithmetic::Add:
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(add), range, shape, typed<float>(a),
                    typed<float>(c), typed<float>(output));
      case Arithmetic::Sub:
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(sub), range, shape, typed<float>(a),
                    typed<float>(c), typed<float>(output));
      default:
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(mul), range, shape, typed<float>(a),
                    typed<float>(c), typed<float>(output));
    }
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_quantized(b, b.input(0));
  require_quantized(b, b.input(1));
  require_quantized(b, b.output(0));
  require_zero_points_zero_for_int16(b);
  const auto [low, high] = quantized_range(b, activation, b.output(0));
  const double s1 = scale_of(b.input(0));
  const double s2 = scale_of(b.input(1));
  const double so = scale_of(b.output(0));
  if (kind == Arithmetic::Mul) {
    const rt::MulParams params{
        zero_point_of(b.input(0)) * -1,
        -zero_point_of(b.input(1)),
        zero_point_of(b.output(0)),
        requantization(b, s1 * s2 / so, Accumulator::Int32,
                       fmt::format("the rescaling of '{}' x '{}' to '{}'", b.input(0).name,
                                   b.input(1).name, b.output(0).name)),
        low,
        high};
    if (type == DType::Int8) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(mul), params, shape, typed<int8_t>(a),
                  typed<int8_t>(c), typed<int8_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(mul), params, shape, typed<int16_t>(a),
                typed<int16_t>(c), typed<int16_t>(output));
  }
  rt::AddParams params;
  params.input1_offset = -zero_point_of(b.input(0));
  params.input2_offset = -zero_point_of(b.input(1));
  params.output_offset = zero_point_of(b.output(0));
  params.left_shift = type == DType::Int16 ? 15 : 20;
  const double twice_max = 2.0 * std::max(s1, s2);
  // Both inputs are brought to twice the larger input scale (multipliers of at most 1/2), so
  // their sum keeps a bit of headroom; only the output rescaling can be large.
  params.input1 = rescaling(b, s1 / twice_max, b.input(0), b.output(0));
  params.input2 = rescaling(b, s2 / twice_max, b.input(1), b.output(0));
  params.output = rescaling(b, twice_max / (static_cast<double>(1 << params.left_shift) * so),
                            b.input(s1 >= s2 ? 0 : 1), b.output(0));
  params.min = low;
  params.max = high;
  const bool subtract = kind == Arithmetic::Sub;
  if (type == DType::Int8) {
    if (subtract)
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(sub), params, shape, typed<int8_t>(a),
                  typed<int8_t>(c), typed<int8_t>(output));
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(add), params, shape, typed<int8_t>(a),
                typed<int8_t>(c), typed<int8_t>(output));
  }
  if (subtract)
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(sub), params, shape, typed<int16_t>(a),
                typed<int16_t>(c), typed<int16_t>(output));
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(add), params, shape, typed<int16_t>(a),
              typed<int16_t>(c), typed<int16_t>(output));
}

KernelCall prepare_min_max(const OpBinding& b, bool maximum) {
  require_inputs(b, 2);
  const DType type = b.input(0).dtype;
  if (b.input(1).dtype != type || b.output(0).dtype != type) unsupported_types(b);
  require_same_quantization(b, b.input(0), b.output(0));
  require_same_quantization(b, b.input(1), b.output(0));
  const rt::BroadcastShape shape = broadcast_shape(b);
  const Slot a = b.input_slot(0);
  const Slot c = b.input_slot(1);
  const Slot output = b.output_slot(0);
  switch (type) {
    case DType::Int8:
      if (maximum)
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(maximum), shape, typed<int8_t>(a),
                    typed<int8_t>(c), typed<int8_t>(output));
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(minimum), shape, typed<int8_t>(a), typed<int8_t>(c),
                  typed<int8_t>(output));
    case DType::Int16:
      if (maximum)
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(maximum), shape, typed<int16_t>(a),
                    typed<int16_t>(c), typed<int16_t>(output));
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(minimum), shape, typed<int16_t>(a),
                  typed<int16_t>(c), typed<int16_t>(output));
    case DType::Float32:
      if (maximum)
        return call(b, TINYDEPLOY_RUNTIME_KERNEL(maximum), shape, typed<float>(a), typed<float>(c),
                    typed<float>(output));
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(minimum), shape, typed<float>(a), typed<float>(c),
                  typed<float>(output));
    default:
      unsupported_types(b);
  }
}

int32_t element_count(const OpBinding& b, const Tensor& t) { return narrow(t.elements(), b); }

void require_same_elements(const OpBinding& b) {
  require(b.input(0).elements() == b.output(0).elements(), b,
          "input and output element counts differ");
}

// RELU, RELU6, RELU_N1_TO_1.
KernelCall prepare_relu(const OpBinding& b, Activation activation) {
  require_inputs(b, 1);
  require_same_elements(b);
  const DType type = b.input(0).dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    const rt::FloatActivation range = float_range(b, activation);
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(clamp), range, count, typed<float>(input),
                typed<float>(output));
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  require_zero_points_zero_for_int16(b);
  const auto [low, high] = quantized_range(b, activation, b.output(0));
  const rt::RequantizeParams params{
      zero_point_of(b.input(0)), zero_point_of(b.output(0)),
      rescaling(b, static_cast<double>(scale_of(b.input(0)) / scale_of(b.output(0))), b.input(0),
                b.output(0)),
      low, high};
  if (type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int16_t>(input),
              typed<int16_t>(output));
}

KernelCall prepare_leaky_relu(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const float alpha = options<model::LeakyReluOptions>(b).alpha;
  require(std::isfinite(alpha), b, fmt::format("alpha {} is not a finite number", alpha));
  const DType type = b.input(0).dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(leaky_relu), alpha, count, typed<float>(input),
                typed<float>(output));
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  const float in_scale = scale_of(b.input(0));
  const float out_scale = scale_of(b.output(0));
  rt::LeakyReluParams params;
  params.input_zero_point = zero_point_of(b.input(0));
  params.output_zero_point = zero_point_of(b.output(0));
  params.identity =
      rescaling(b, static_cast<double>(in_scale / out_scale), b.input(0), b.output(0));
  const double alpha_multiplier = static_cast<double>(in_scale * alpha / out_scale);
  params.alpha_negative = alpha_multiplier < 0.0;
  params.alpha = requantization(
      b, std::fabs(alpha_multiplier), Accumulator::Int32,
      fmt::format("the rescaling of alpha x '{}' to '{}'", b.input(0).name, b.output(0).name));
  if (type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(leaky_relu), params, count, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(leaky_relu), params, count, typed<int16_t>(input),
              typed<int16_t>(output));
}

int16_t to_q15(int32_t multiplier) {
  // Rounds a Q31 multiplier to Q15, saturating.
  const int64_t rounded = (int64_t{multiplier} + (1 << 15)) >> 16;
  return static_cast<int16_t>(std::min<int64_t>(rounded, 32767));
}

KernelCall prepare_hard_swish(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const DType type = b.input(0).dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(hard_swish), count, typed<float>(input),
                typed<float>(output));
  }
  if (type != DType::Int8) unsupported_types(b);
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  // The scales are combined in single precision, as the definition does.
  const float hires_input_scale = (1.0f / 128.0f) * scale_of(b.input(0));
  const float reluish_scale = 3.0f / 32768.0f;
  const rt::Requantization output_q = rescaling(
      b, static_cast<double>(hires_input_scale / scale_of(b.output(0))), b.input(0), b.output(0));
  const rt::Requantization reluish_q =
      requantization(b, static_cast<double>(hires_input_scale / reluish_scale), Accumulator::Int32,
                     fmt::format("the rescaling of '{}' to relu6's fixed point", b.input(0).name));
  require(output_q.shift <= 0, b, "the output scale is too small for HARD_SWISH's fixed point");
  rt::HardSwishParams params;
  params.input_zero_point = zero_point_of(b.input(0));
  params.output_zero_point = zero_point_of(b.output(0));
  params.output_multiplier = to_q15(output_q.multiplier);
  params.output_exponent = output_q.shift;
  params.reluish_multiplier = to_q15(reluish_q.multiplier);
  params.reluish_exponent = reluish_q.shift;
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(hard_swish), params, count, typed<int8_t>(input),
              typed<int8_t>(output));
}

// int16 LOGISTIC and TANH: the input rescaled onto the sigmoid table's grid, where one table
// step (1/24) is 128 units for LOGISTIC and 256 for TANH (whose argument is doubled): a
// multiplier of at most 15 bits and a rounding right shift, or 3 << shift when the input scale
// is the power of two that makes the grid exact.
KernelCall prepare_sigmoid_int16(const OpBinding& b, bool logistic, int32_t count,
                                 const Slot& input, const Slot& output) {
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  require(zero_point_of(b.input(0)) == 0 && zero_point_of(b.output(0)) == 0, b,
          "int16 tensors must have zero point 0");
  const auto log2_of = [](float scale, int* rounded) {
    const float exact = std::log(scale) * (1.0f / std::log(2.0f));
    const float nearest = std::round(exact);
    *rounded = static_cast<int>(nearest);
    return std::abs(exact - nearest) < 1e-3f;
  };
  int output_log2 = 0;
  require(log2_of(scale_of(b.output(0)), &output_log2) && output_log2 == -15, b,
          "an int16 LOGISTIC or TANH output must have scale 2^-15");
  constexpr int kInputIntegerBits = 3;
  int input_log2 = 0;
  const bool power_of_two = log2_of(scale_of(b.input(0)), &input_log2);
  rt::SigmoidInt16Params params;
  const int pot_shift = (15 - kInputIntegerBits) + input_log2;
  if (power_of_two && (pot_shift == 0 || (!logistic && pot_shift == 1))) {
    params.input_multiplier = 3 << pot_shift;
    params.input_shift = 0;
  } else {
    double multiplier = static_cast<double>(scale_of(b.input(0))) * 4096.0 * 3.0;
    int shift = 0;
    while (multiplier <= 32767.0 / 2.0 && shift <= 30) {
      ++shift;
      multiplier *= 2.0;
    }
    require(multiplier <= 32767.0, b, "the input scale is too large for an int16 LOGISTIC/TANH");
    params.input_multiplier = static_cast<int32_t>(multiplier);
    params.input_shift = shift;
  }
  if (logistic) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(logistic), params, count, typed<int16_t>(input),
                typed<int16_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(tanh), params, count, typed<int16_t>(input),
              typed<int16_t>(output));
}

// LOGISTIC and TANH.
KernelCall prepare_sigmoid(const OpBinding& b, bool logistic) {
  require_inputs(b, 1);
  require_same_elements(b);
  const DType type = b.input(0).dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    if (logistic)
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(logistic), count, typed<float>(input),
                  typed<float>(output));
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(tanh), count, typed<float>(input),
                typed<float>(output));
  }
  if (type == DType::Int16) return prepare_sigmoid_int16(b, logistic, count, input, output);
  if (type != DType::Int8) unsupported_types(b);
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  if (logistic) {
    require(zero_point_of(b.output(0)) == -128 && scale_of(b.output(0)) == 1.0f / 256.0f, b,
            "an int8 LOGISTIC output must have scale 1/256 and zero point -128");
  } else {
    require(zero_point_of(b.output(0)) == 0 && scale_of(b.output(0)) == 1.0f / 128.0f, b,
            "an int8 TANH output must have scale 1/128 and zero point 0");
  }
  // The input rescaled to Q4.27: frexp without renormalisation, as the definition does it.
  constexpr int kInputIntegerBits = 4;
  const double real = static_cast<double>(scale_of(b.input(0))) *
                      static_cast<double>(1 << (31 - kInputIntegerBits));
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);
  rt::SigmoidParams params;
  params.input_zero_point = zero_point_of(b.input(0));
  params.input_scale = {static_cast<int32_t>(std::round(fraction * 2147483648.0)), exponent};
  require(exponent >= 0 && exponent <= 30, b, "the input scale is outside the supported range");
  const double radius =
      std::floor(((1 << kInputIntegerBits) - 1) * std::ldexp(1.0, 31 - kInputIntegerBits) /
                 std::ldexp(1.0, exponent));
  params.input_radius = static_cast<int32_t>(radius);
  if (logistic) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(logistic), params, count, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(tanh), params, count, typed<int8_t>(input),
              typed<int8_t>(output));
}

// A 513-entry int16 table of `f` over the int16 range of a tensor with the given input and output
// quantization: samples at 512 even steps plus the end point, each nudged by half the error its
// linear interpolation makes at the interval's midpoint. TFLite builds these tables in single
// precision at prepare time; the same float operations in the same order give the same table.
template <typename F>
std::vector<int16_t> int16_table(float input_scale, int32_t input_zero_point, float output_scale,
                                 int32_t output_zero_point, F f) {
  const float input_min = input_scale * static_cast<float>(INT16_MIN - input_zero_point);
  const float input_max = input_scale * static_cast<float>(INT16_MAX - input_zero_point);
  const float output_min = output_scale * static_cast<float>(INT16_MIN - output_zero_point);
  const float output_max = output_scale * static_cast<float>(INT16_MAX - output_zero_point);
  constexpr int kSteps = rt::kInt16LutSize - 1;
  const float step = (input_max - input_min) / static_cast<float>(kSteps);
  const float half_step = step / 2.0f;
  const float to_output = 65536.0f / (output_max - output_min);
  const auto clamp16 = [](float v) {
    return static_cast<int16_t>(std::min(std::max(v, -32768.0f), 32767.0f));
  };
  std::vector<int16_t> table(rt::kInt16LutSize);
  for (int i = 0; i < kSteps; ++i) {
    const float at = input_min + static_cast<float>(i) * step;
    const float value = f(at);
    const float midpoint = f(at + half_step);
    const float next = f(input_min + static_cast<float>(i + 1) * step);
    const float sample = std::round(value * to_output);
    const float interpolated = std::round((next * to_output + sample) / 2.0f);
    const float midpoint_error = interpolated - std::round(midpoint * to_output);
    table[static_cast<size_t>(i)] = clamp16(sample - std::round(midpoint_error / 2.0f));
  }
  table[kSteps] = clamp16(std::round(f(input_max) * to_output));
  return table;
}

// int16 SOFTMAX: differences from the row maximum scaled so that [-10, 0] covers the exp table.
KernelCall prepare_softmax_int16(const OpBinding& b, float beta, int32_t rows, int32_t depth,
                                 const Slot& input, const Slot& output) {
  require_quantized(b, b.input(0));
  require_quantized(b, b.output(0));
  require(zero_point_of(b.input(0)) == 0 && zero_point_of(b.output(0)) == 0, b,
          "int16 tensors must have zero point 0");
  const float out_scale = scale_of(b.output(0));
  require(std::abs(out_scale - 1.0f / 32768.0f) <= 0.001f / 32768.0f, b,
          "an int16 SOFTMAX output must have scale 2^-15");
  const rt::Requantization input_beta = requantization(
      b, static_cast<double>(scale_of(b.input(0))) * static_cast<double>(beta) / (10.0 / 65535.0),
      Accumulator::Int32, fmt::format("beta x the scale of '{}'", b.input(0).name));
  constexpr float kRange = 65535.0f;
  SoftmaxInt16Tables tables;
  tables.input_beta = input_beta;
  tables.exp_table =
      int16_table(10.0f / kRange, INT16_MAX, 2.0f / kRange, 0, [](float x) { return std::exp(x); });
  tables.reciprocal_table = int16_table(1.0f / kRange, INT16_MIN, 2.0f / kRange, 0,
                                        [](float x) { return 1.0f / (1.0f + x); });
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(softmax), tables, rows, depth, typed<int16_t>(input),
              typed<int16_t>(output));
}

KernelCall prepare_softmax(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const float beta = options<model::SoftmaxOptions>(b).beta;
  require(std::isfinite(beta), b, fmt::format("beta {} is not a finite number", beta));
  const Tensor& in = b.input(0);
  require(!in.shape.empty() && in.shape.back() > 0, b, "SOFTMAX needs a non-empty last dimension");
  const int32_t depth = in.shape.back();
  const int32_t rows = narrow(in.elements() / depth, b);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  const DType out_type = b.output(0).dtype;
  if (in.dtype == DType::Float32 && out_type == DType::Float32) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(softmax), beta, rows, depth, typed<float>(input),
                typed<float>(output));
  }
  // TFLite's quantized SOFTMAX scales differences from the row maximum (all <= 0) by beta
  // with a non-negative multiplier; TFLite Micro stops on beta <= 0.
  require(beta > 0.0f || in.dtype == DType::Float32, b,
          fmt::format("beta {} must be positive for a quantized SOFTMAX", beta));
  if (in.dtype == DType::Int16 && out_type == DType::Int16) {
    return prepare_softmax_int16(b, beta, rows, depth, input, output);
  }
  if (in.dtype != DType::Int8 || (out_type != DType::Int8 && out_type != DType::Int16)) {
    unsupported_types(b);
  }
  require_quantized(b, in);
  const bool int8_output = out_type == DType::Int8;
  require(zero_point_of(b.output(0)) == (int8_output ? -128 : -32768) &&
              scale_of(b.output(0)) == (int8_output ? 1.0f / 256.0f : 1.0f / 65536.0f),
          b,
          int8_output ? "an int8 SOFTMAX output must have scale 1/256 and zero point -128"
                      : "an int16 SOFTMAX output must have scale 1/65536 and zero point -32768");
  constexpr int kScaledDiffIntegerBits = 5;
  const double real = std::min(static_cast<double>(beta) * static_cast<double>(scale_of(in)) *
                                   static_cast<double>(1 << (31 - kScaledDiffIntegerBits)),
                               2147483647.0);
  // TFLite Micro requires the (capped) multiplier to exceed 1; a larger one than 2^30 keeps
  // only the maximum's own term (diff_min is 0) with TFLite's shift of 31 and our saturated
  // shift of 30 alike.
  require(real > 1.0, b, "beta * input scale is too small for SOFTMAX");
  rt::SoftmaxParams params;
  const rt::QuantizedMultiplier beta_multiplier = rt::quantize_multiplier(real);
  params.input_beta = {beta_multiplier.multiplier, beta_multiplier.shift};
  params.diff_min = -static_cast<int32_t>(std::floor(((1 << kScaledDiffIntegerBits) - 1) *
                                                     std::ldexp(1.0, 31 - kScaledDiffIntegerBits) /
                                                     std::ldexp(1.0, params.input_beta.shift)));
  if (out_type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(softmax), params, rows, depth, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(softmax), params, rows, depth, typed<int8_t>(input),
              typed<int16_t>(output));
}

KernelCall prepare_quantize(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const DType in_type = b.input(0).dtype;
  const DType out_type = b.output(0).dtype;
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (out_type != DType::Int8 && out_type != DType::Int16 && out_type != DType::Int32) {
    unsupported_types(b);
  }
  require_quantized(b, b.output(0));
  if (out_type == DType::Int32) {
    // Widening requantization from int8 / int16.
    if (in_type != DType::Int8 && in_type != DType::Int16) unsupported_types(b);
    require_quantized(b, b.input(0));
    const rt::RequantizeParams wide{zero_point_of(b.input(0)), zero_point_of(b.output(0)),
                                    rescaling(b,
                                              static_cast<double>(scale_of(b.input(0))) /
                                                  static_cast<double>(scale_of(b.output(0))),
                                              b.input(0), b.output(0)),
                                    INT32_MIN, INT32_MAX};
    if (in_type == DType::Int8) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), wide, count, typed<int8_t>(input),
                  typed<int32_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), wide, count, typed<int16_t>(input),
                typed<int32_t>(output));
  }
  if (in_type == DType::Float32) {
    const rt::AffineQuantization q{scale_of(b.output(0)), zero_point_of(b.output(0))};
    if (out_type == DType::Int8) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(quantize), q, count, typed<float>(input),
                  typed<int8_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(quantize), q, count, typed<float>(input),
                typed<int16_t>(output));
  }
  if (in_type != DType::Int8 && in_type != DType::Int16 && in_type != DType::Int32) {
    unsupported_types(b);
  }
  require_quantized(b, b.input(0));
  const rt::RequantizeParams params{
      zero_point_of(b.input(0)), zero_point_of(b.output(0)),
      rescaling(
          b, static_cast<double>(scale_of(b.input(0))) / static_cast<double>(scale_of(b.output(0))),
          b.input(0), b.output(0)),
      type_min(out_type), type_max(out_type)};
  if (in_type == DType::Int32) {
    if (out_type == DType::Int8) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int32_t>(input),
                  typed<int8_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int32_t>(input),
                typed<int16_t>(output));
  }
  if (in_type == DType::Int8 && out_type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  if (in_type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int8_t>(input),
                typed<int16_t>(output));
  }
  if (out_type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int16_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(requantize), params, count, typed<int16_t>(input),
              typed<int16_t>(output));
}

KernelCall prepare_dequantize(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const DType in_type = b.input(0).dtype;
  if (b.output(0).dtype != DType::Float32) unsupported_types(b);
  require_quantized(b, b.input(0));
  const int32_t count = element_count(b, b.input(0));
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  const rt::AffineQuantization q{scale_of(b.input(0)), zero_point_of(b.input(0))};
  if (in_type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(dequantize), q, count, typed<int8_t>(input),
                typed<float>(output));
  }
  if (in_type == DType::Int16) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(dequantize), q, count, typed<int16_t>(input),
                typed<float>(output));
  }
  unsupported_types(b);
}

int32_t element_size(const OpBinding& b, const Tensor& t) {
  const int bits = model::dtype_bits(t.dtype);
  if (bits != 8 && bits != 16 && bits != 32 && bits != 64) unsupported_types(b);
  return bits / 8;
}

// RESHAPE, SQUEEZE, EXPAND_DIMS: the bytes do not change.
KernelCall prepare_copy(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  require(b.input(0).dtype == b.output(0).dtype, b, "input and output types differ");
  const int32_t bytes = narrow(b.input(0).elements() * element_size(b, b.input(0)), b);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(copy_bytes), bytes, typed<void>(input),
              typed<void>(output));
}

// Reads an integer operand tensor (int32 or int64), e.g. paddings, axes, begin/end.
std::vector<int64_t> integers(const OpBinding& b, size_t input) {
  const Tensor& t = b.input(input);
  const auto bytes = b.model.data(t);
  require(t.data.has_value(), b, fmt::format("operand '{}' must be a constant", t.name));
  std::vector<int64_t> values;
  if (t.dtype == DType::Int32) {
    require(bytes.size() >= static_cast<size_t>(t.elements()) * 4, b, "operand data is truncated");
    for (int64_t i = 0; i < t.elements(); ++i) {
      int32_t v;
      std::memcpy(&v, bytes.data() + i * 4, 4);
      values.push_back(v);
    }
  } else if (t.dtype == DType::Int64) {
    require(bytes.size() >= static_cast<size_t>(t.elements()) * 8, b, "operand data is truncated");
    for (int64_t i = 0; i < t.elements(); ++i) {
      int64_t v;
      std::memcpy(&v, bytes.data() + i * 8, 8);
      values.push_back(v);
    }
  } else {
    throw Error("{}: operand '{}' must be int32 or int64", b.where(), t.name);
  }
  return values;
}

KernelCall prepare_pad(const OpBinding& b, bool v2) {
  require_inputs(b, v2 ? 3 : 2);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const int32_t size = element_size(b, in);
  const std::vector<int64_t> paddings = integers(b, 1);
  const size_t rank = in.shape.size();
  require(paddings.size() == rank * 2, b, "paddings must be [rank, 2]");
  const auto dims = aligned_dims(b, in.shape);
  rt::PadShape shape;
  const size_t lead = static_cast<size_t>(rt::kMaxRank) - rank;
  for (size_t d = 0; d < static_cast<size_t>(rt::kMaxRank); ++d) {
    shape.input_dims[d] = dims[d];
    if (d < lead) continue;
    const int64_t before = paddings[(d - lead) * 2];
    const int64_t after = paddings[(d - lead) * 2 + 1];
    require(before >= 0 && after >= 0 && before < (1 << 24) && after < (1 << 24), b,
            "paddings must be non-negative and reasonable");
    shape.before[d] = static_cast<int32_t>(before);
    shape.after[d] = static_cast<int32_t>(after);
    require(b.output(0).shape[d - lead] == dims[d] + before + after, b,
            "the output shape does not match the input plus paddings");
  }
  Constants<uint8_t> fill{"pad_value", std::vector<uint8_t>(static_cast<size_t>(size), 0)};
  if (v2) {
    const Tensor& value = b.input(2);
    require(value.dtype == in.dtype && value.elements() == 1 && value.data.has_value(), b,
            "the pad value must be a constant scalar of the input's type");
    const auto bytes = b.model.data(value);
    require(bytes.size() >= static_cast<size_t>(size), b, "pad value data is truncated");
    std::memcpy(fill.values.data(), bytes.data(), static_cast<size_t>(size));
  } else if (in.dtype == DType::Int8 || in.dtype == DType::Int16 || in.dtype == DType::UInt8) {
    // Quantized zero is the output's zero point.
    const int64_t zp = zero_point_of(b.output(0));
    if (in.dtype == DType::Int16) {
      const int16_t v = static_cast<int16_t>(zp);
      std::memcpy(fill.values.data(), &v, 2);
    } else {
      const uint8_t v = static_cast<uint8_t>(zp);
      std::memcpy(fill.values.data(), &v, 1);
    }
  }
  if (in.dtype == DType::Int8 || in.dtype == DType::Int16) {
    require_same_quantization(b, in, b.output(0));
  }
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(pad), shape, size, typed<void>(input), fill,
              typed<void>(output));
}

KernelCall prepare_concatenation(const OpBinding& b) {
  require_inputs(b, 1);
  const auto& o = options<model::ConcatenationOptions>(b);
  const Tensor& out = b.output(0);
  const int32_t rank = static_cast<int32_t>(out.shape.size());
  const int32_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  require(axis >= 0 && axis < rank, b, "axis is out of range");
  require(o.activation == Activation::None || out.dtype == DType::Float32, b,
          "a fused activation on a quantized CONCATENATION is not supported");
  require(o.activation == Activation::None, b,
          "a fused activation on CONCATENATION is not supported");
  const int32_t size = element_size(b, out);
  int64_t outer = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= out.shape[static_cast<size_t>(d)];
  TensorPointerList inputs;
  Constants<int32_t> chunks{"chunk_bytes", {}};
  int64_t axis_total = 0;
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    require(b.has_input(i), b, "an input is omitted");
    const Tensor& in = b.input(i);
    require(in.dtype == out.dtype && static_cast<int32_t>(in.shape.size()) == rank, b,
            "inputs must match the output's type and rank");
    if (out.dtype == DType::Int8 || out.dtype == DType::Int16) {
      require_same_quantization(b, in, out);
    }
    for (int32_t d = 0; d < rank; ++d) {
      require(
          d == axis || in.shape[static_cast<size_t>(d)] == out.shape[static_cast<size_t>(d)], b,
          fmt::format("input '{}' differs from output '{}' outside the axis", in.name, out.name));
    }
    // The kernel addresses each input's bytes with int32 offsets.
    narrow(in.elements() * size, b);
    int64_t chunk = size;
    for (int32_t d = axis; d < rank; ++d) chunk *= in.shape[static_cast<size_t>(d)];
    axis_total += in.shape[static_cast<size_t>(axis)];
    inputs.tensors.push_back(b.op.inputs[i]);
    chunks.values.push_back(narrow(chunk, b));
  }
  require(axis_total == out.shape[static_cast<size_t>(axis)], b,
          "the inputs do not add up to the output along the axis");
  const int32_t outer32 = narrow(outer, b);
  const auto input_count = static_cast<int32_t>(inputs.tensors.size());
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(concatenate), outer32, input_count, inputs, chunks,
              typed<void>(output));
}

std::vector<int32_t> contiguous_strides(const std::vector<int32_t>& shape) {
  std::vector<int32_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

// Packs (count, stride) pairs into a view, dropping unit counts so that up to kMaxRank real
// dimensions fit. Every element the view reads must lie inside `input`: the first and last
// index along each axis are summed up and checked against its element count.
rt::StridedView make_view(const OpBinding& b, const std::vector<std::pair<int32_t, int64_t>>& axes,
                          int64_t offset, const Tensor& input) {
  std::vector<std::pair<int32_t, int64_t>> kept;
  int64_t lowest = offset;
  int64_t highest = offset;
  bool empty = false;
  for (const auto& axis : axes) {
    empty = empty || axis.first == 0;
    if (axis.first == 1) continue;
    kept.push_back(axis);
    // |stride| < 2^32 and count < 2^31 here, so the product fits in int64.
    const int64_t reach = axis.second * (int64_t{axis.first} - 1);
    (reach < 0 ? lowest : highest) += axis.first > 0 ? reach : 0;
  }
  require(kept.size() <= static_cast<size_t>(rt::kMaxRank), b,
          "too many dimensions for the runtime's strided copy");
  require(empty || (lowest >= 0 && highest < input.elements()), b,
          fmt::format("the strided view reads elements {}..{} of '{}', which has {}", lowest,
                      highest, input.name, input.elements()));
  rt::StridedView view;
  const size_t lead = static_cast<size_t>(rt::kMaxRank) - kept.size();
  for (size_t i = 0; i < kept.size(); ++i) {
    view.count[lead + i] = kept[i].first;
    view.stride[lead + i] = static_cast<int32_t>(kept[i].second);
  }
  view.offset = empty ? 0 : static_cast<int32_t>(offset);
  return view;
}

KernelCall prepare_transpose(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const std::vector<int64_t> perm = integers(b, 1);
  const size_t rank = in.shape.size();
  require(perm.size() == rank, b, "the permutation's length must equal the input rank");
  const auto strides = contiguous_strides(in.shape);
  std::vector<bool> seen(rank, false);
  std::vector<std::pair<int32_t, int64_t>> axes;
  for (size_t i = 0; i < rank; ++i) {
    const int64_t p = perm[i] < 0 ? perm[i] + static_cast<int64_t>(rank) : perm[i];
    require(p >= 0 && p < static_cast<int64_t>(rank) && !seen[static_cast<size_t>(p)], b,
            "the permutation is invalid");
    seen[static_cast<size_t>(p)] = true;
    const size_t axis = static_cast<size_t>(p);
    require(b.output(0).shape[i] == in.shape[axis], b,
            "the output shape does not match the permutation");
    axes.emplace_back(in.shape[axis], strides[axis]);
  }
  const rt::StridedView view = make_view(b, axes, 0, in);
  const int32_t size = element_size(b, in);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, size, typed<void>(input),
              typed<void>(output));
}

KernelCall prepare_strided_slice(const OpBinding& b) {
  require_inputs(b, 4);
  const auto& o = options<model::StridedSliceOptions>(b);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const std::vector<int64_t> begin = integers(b, 1);
  const std::vector<int64_t> end = integers(b, 2);
  const std::vector<int64_t> strides = integers(b, 3);
  const size_t spec = begin.size();
  require(end.size() == spec && strides.size() == spec && spec <= 32, b,
          "begin, end and strides must have the same length");
  const size_t rank = in.shape.size();
  const auto in_strides = contiguous_strides(in.shape);
  // Input axes consumed by the spec entries after the ellipsis (new axes consume none).
  auto bit = [](int32_t mask, size_t i) { return (mask >> i) & 1; };
  size_t ellipsis = spec;
  for (size_t i = 0; i < spec; ++i) {
    if (bit(o.ellipsis_mask, i)) {
      ellipsis = i;
      break;
    }
  }
  size_t consuming = 0;
  for (size_t i = 0; i < spec; ++i) {
    if (i != ellipsis && !bit(o.new_axis_mask, i)) ++consuming;
  }
  require(consuming <= rank, b, "the slice has more entries than the input has dimensions");
  std::vector<std::pair<int32_t, int64_t>> axes;  // output dims in order (count, stride)
  std::vector<int32_t> output_shape;
  int64_t offset = 0;
  size_t axis = 0;
  auto full_axis = [&](size_t d) {
    axes.emplace_back(in.shape[d], in_strides[d]);
    output_shape.push_back(in.shape[d]);
  };
  for (size_t i = 0; i < spec; ++i) {
    if (i == ellipsis) {
      const size_t covered = rank - consuming;
      for (size_t k = 0; k < covered; ++k) full_axis(axis++);
      continue;
    }
    if (bit(o.new_axis_mask, i)) {
      axes.emplace_back(1, 0);
      output_shape.push_back(1);
      continue;
    }
    const int64_t dim = in.shape[axis];
    const int64_t stride = strides[i];
    require(stride != 0, b, "a stride of 0 is invalid");
    int64_t start;
    if (bit(o.begin_mask, i)) {
      start = stride > 0 ? 0 : dim - 1;
    } else {
      start = begin[i] < 0 ? begin[i] + dim : begin[i];
    }
    if (bit(o.shrink_axis_mask, i)) {
      require(start >= 0 && start < dim, b, "a shrunk index is out of range");
      offset += start * in_strides[axis];
      ++axis;
      continue;
    }
    const int64_t low = stride > 0 ? 0 : -1;
    const int64_t high = stride > 0 ? dim : dim - 1;
    if (!bit(o.begin_mask, i)) start = std::clamp(start, low, high);
    int64_t stop;
    if (bit(o.end_mask, i)) {
      stop = stride > 0 ? dim : -1;
    } else {
      int64_t raw_end = end[i];
      if (o.offset && __builtin_add_overflow(begin[i], end[i], &raw_end)) {
        raw_end = begin[i] > 0 ? std::numeric_limits<int64_t>::max()
                               : std::numeric_limits<int64_t>::min();
      }
      stop = std::clamp(raw_end < 0 ? raw_end + dim : raw_end, low, high);
    }
    const int64_t span = stride > 0 ? stop - start : start - stop;
    // A step beyond the span takes one element, so capping it there changes nothing and keeps
    // the arithmetic (and -INT64_MIN) in range.
    const int64_t step = std::min(stride > 0 ? stride : -std::max(stride, -dim - 1), dim + 1);
    const int64_t count = span <= 0 ? 0 : (span + step - 1) / step;
    if (count > 0) offset += start * in_strides[axis];
    // With two or more steps |stride| < dim, so the stride in elements stays within the
    // input; a single step never moves.
    axes.emplace_back(static_cast<int32_t>(count), count > 1 ? stride * in_strides[axis] : 0);
    output_shape.push_back(static_cast<int32_t>(count));
    ++axis;
  }
  while (axis < rank) full_axis(axis++);
  require(output_shape == b.output(0).shape, b,
          fmt::format("the slice produces shape [{}] but the model's output is [{}]",
                      fmt::join(output_shape, ","), fmt::join(b.output(0).shape, ",")));
  const rt::StridedView view = make_view(b, axes, offset, in);
  const int32_t size = element_size(b, in);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (b.output(0).elements() == 0) return no_call(b);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, size, typed<void>(input),
              typed<void>(output));
}

KernelCall prepare_mean(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  const DType type = in.dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  const auto dims = aligned_dims(b, in.shape);
  const size_t rank = in.shape.size();
  const size_t lead = static_cast<size_t>(rt::kMaxRank) - rank;
  std::array<bool, rt::kMaxRank> reduced{};
  for (int64_t a : integers(b, 1)) {
    const int64_t axis = a < 0 ? a + static_cast<int64_t>(rank) : a;
    require(axis >= 0 && axis < static_cast<int64_t>(rank), b, "an axis is out of range");
    reduced[lead + static_cast<size_t>(axis)] = true;
  }
  rt::ReduceShape shape;
  int32_t stride = 1;
  int64_t reduced_elements = 1;
  for (int d = rt::kMaxRank - 1; d >= 0; --d) {
    const size_t i = static_cast<size_t>(d);
    shape.input_dims[d] = dims[i];
    shape.output_stride[d] = reduced[i] ? 0 : stride;
    if (reduced[i]) {
      reduced_elements *= dims[i];
    } else {
      stride *= dims[i];
    }
  }
  shape.output_elements = stride;
  shape.reduced_elements = narrow(reduced_elements, b);
  require(b.output(0).elements() == stride, b, "the output shape does not match the reduction");
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), shape, typed<float>(input),
                typed<float>(output));
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_quantized(b, in);
  require_quantized(b, b.output(0));
  require(b.has_scratch, b, "no scratch memory was planned for the sums");
  // The kernel sums raw values in int32 and subtracts zero point x count.
  const int64_t largest =
      (type == DType::Int8 ? 128 : 32768) + std::abs(int64_t{zero_point_of(in)});
  require(largest * reduced_elements <= std::numeric_limits<int32_t>::max(), b,
          fmt::format("{} {} values per output can overflow the 32-bit sum", reduced_elements,
                      model::dtype_name(type)));
  // in_scale / out_scale, then divided by the element count with as much precision as the
  // multiplier's headroom allows.
  const rt::Requantization base =
      rescaling(b, static_cast<double>(scale_of(in)) / static_cast<double>(scale_of(b.output(0))),
                in, b.output(0));
  rt::MeanParams params;
  params.input_zero_point = zero_point_of(in);
  params.output_zero_point = zero_point_of(b.output(0));
  if (reduced_elements > 0) {
    int shift = 63 - __builtin_clzll(static_cast<uint64_t>(reduced_elements));
    shift = std::min(shift, 32);
    shift = std::min(shift, 31 + base.shift);
    params.scale.multiplier =
        static_cast<int32_t>((static_cast<int64_t>(base.multiplier) << shift) / reduced_elements);
    params.scale.shift = base.shift - shift;
  }
  require(params.scale.shift >= -31, b, "the MEAN rescaling is outside the supported range");
  const Slot scratch = b.scratch_slot();
  if (type == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), params, shape, typed<int8_t>(input),
                typed<int8_t>(output), typed<int32_t>(scratch));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), params, shape, typed<int16_t>(input),
              typed<int16_t>(output), typed<int32_t>(scratch));
}

// UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro prepares it (unidirectional_sequence_lstm.cc,
// lstm_eval_common.cc): the standard LSTM only, every gate present, a tanh cell activation and
// variable state tensors; gate pre-activations rescaled to a fixed 2^-12.
namespace lstm {

enum Input : size_t {
  kInput = 0,
  kInputToInput = 1,      // 1-4: input weights of the input, forget, cell and output gates
  kRecurrentToInput = 5,  // 5-8: recurrent weights
  kCellToInput = 9,       // 9-11: peephole
  kInputBias = 12,        // 12-15: gate biases
  kProjectionWeights = 16,
  kProjectionBias = 17,
  kHiddenState = 18,
  kCellState = 19,
  kInputLayerNorm = 20,  // 20-23
};

// TFLite's CheckedLog2 (its result is not checked by TFLite Micro): log2 of the scale rounded
// to an integer, in single precision.
int cell_scale_power(float scale) {
  const float log2_scale = std::log(scale) * (1.0f / std::log(2.0f));
  return static_cast<int>(std::round(log2_scale));
}

void require_shape(const OpBinding& b, size_t index, std::initializer_list<int32_t> shape,
                   std::string_view what) {
  const Tensor& t = b.input(index);
  require(t.shape == std::vector<int32_t>(shape), b,
          fmt::format("{} '{}' must have shape [{}]", what, t.name, fmt::join(shape, ", ")));
}

}  // namespace lstm

KernelCall prepare_sequence_lstm(const OpBinding& b) {
  using namespace lstm;
  require(b.op.inputs.size() == 24 && b.op.outputs.size() == 1, b,
          "takes 24 inputs and one output");
  // The variants of the standard LSTM that TFLite Micro refuses, each by name.
  for (size_t i : {kInputToInput, kRecurrentToInput, kInputBias}) {
    require(b.has_input(i), b,
            "an LSTM without the input gate (CIFG) is not supported by TFLite Micro");
  }
  for (size_t i = kCellToInput; i < kCellToInput + 3; ++i) {
    require(!b.has_input(i), b,
            "peephole (cell-to-gate) weights are not supported by TFLite Micro");
  }
  require(!b.has_input(kProjectionWeights) && !b.has_input(kProjectionBias), b,
          "projection weights and bias are not supported by TFLite Micro");
  for (size_t i = kInputLayerNorm; i < kInputLayerNorm + 4; ++i) {
    require(!b.has_input(i), b, "layer norm coefficients are not supported by TFLite Micro");
  }
  for (size_t i = 0; i < kCellToInput; ++i) {
    require(b.has_input(i), b, "the input, its weights and every gate's weights are required");
  }
  for (size_t i = kInputBias; i < kInputBias + 4; ++i) {
    require(b.has_input(i), b, "every gate's bias is required");
  }
  require(b.has_input(kHiddenState) && b.has_input(kCellState), b,
          "the hidden and cell state inputs are required");
  require_inputs(b, 9);
  const auto& o = options<model::LSTMOptions>(b);
  // TFLite Micro computes the cell gate with tanh only (other activations fail its assertion,
  // and a release build then skips the activation altogether).
  require(o.activation == Activation::Tanh, b,
          fmt::format("cell activation {} is not supported: TFLite Micro computes TANH only",
                      model::activation_name(o.activation)));
  const Tensor& input = b.input(kInput);
  const Tensor& hidden = b.input(kHiddenState);
  const Tensor& cell = b.input(kCellState);
  const Tensor& output = b.output(0);
  require(hidden.is_variable && cell.is_variable, b,
          "the hidden and cell state must be variable tensors");

  // Sizes, as TFLite Micro derives and checks them.
  require(input.shape.size() == 3, b, "the input must have rank 3");
  require(hidden.shape.size() >= 2, b, "the hidden state must have rank 2");
  rt::LstmShape shape;
  shape.time_major = o.time_major;
  shape.batches = o.time_major ? input.shape[1] : input.shape[0];
  shape.time_steps = o.time_major ? input.shape[0] : input.shape[1];
  shape.input_size = input.shape[2];
  shape.state_size = hidden.shape[1];
  require(shape.batches > 0 && shape.time_steps > 0 && shape.input_size > 0 && shape.state_size > 0,
          b, "every dimension of the input and state must be at least 1");
  const int32_t units = shape.state_size;
  for (size_t g = 0; g < 4; ++g) {
    require_shape(b, kInputToInput + g, {units, shape.input_size}, "input weights");
    require_shape(b, kRecurrentToInput + g, {units, units}, "recurrent weights");
    require_shape(b, kInputBias + g, {units}, "bias");
  }
  const int64_t state_elements = int64_t{shape.batches} * units;
  require(hidden.elements() == state_elements && cell.elements() == state_elements, b,
          "the hidden and cell state must hold batch x units elements");
  require(output.shape.size() == 3 && output.shape[0] == input.shape[0] &&
              output.shape[1] == input.shape[1] && output.shape[2] == units,
          b, "the output must have the input's first two dimensions and one entry per unit");
  narrow(int64_t{shape.batches} * shape.time_steps *
             std::max(int64_t{shape.input_size}, int64_t{units}) * 4,
         b);

  const DType act = input.dtype;
  const DType weights = b.input(kInputToInput).dtype;
  const DType bias = b.input(kInputBias).dtype;
  for (size_t i = kInputToInput; i < kCellToInput; ++i) {
    require(b.input(i).dtype == weights, b, "every gate's weights must have the same type");
  }
  for (size_t i = kInputBias; i < kInputBias + 4; ++i) {
    require(b.input(i).dtype == bias, b, "every gate's bias must have the same type");
  }
  require(hidden.dtype == act && output.dtype == act, b,
          "the hidden state and output must have the input's type");

  const Slot hidden_slot{b.op.inputs[kHiddenState], true, false};
  const Slot cell_slot{b.op.inputs[kCellState], true, false};
  const Slot scratch = b.scratch_slot();
  auto in = [&](size_t i) { return b.input_slot(i); };

  if (act == DType::Float32) {
    require(weights == DType::Float32 && bias == DType::Float32 && cell.dtype == DType::Float32, b,
            "a float LSTM needs float weights, biases and cell state");
    rt::LstmFloatParams params;
    params.shape = shape;
    require(!std::isnan(o.cell_clip), b, "the cell clip must be a number");
    params.cell_clip = o.cell_clip > 0.0f ? o.cell_clip : 0.0f;
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
                typed<float>(in(0)), typed<float>(in(1)), typed<float>(in(2)), typed<float>(in(3)),
                typed<float>(in(4)), typed<float>(in(5)), typed<float>(in(6)), typed<float>(in(7)),
                typed<float>(in(8)), typed<float>(in(12)), typed<float>(in(13)),
                typed<float>(in(14)), typed<float>(in(15)), typed<float>(hidden_slot),
                typed<float>(cell_slot), typed<float>(b.output_slot(0)), typed<float>(scratch));
  }

  const bool int8 = act == DType::Int8;
  require((int8 || act == DType::Int16) && weights == DType::Int8 &&
              bias == (int8 ? DType::Int32 : DType::Int64) && cell.dtype == DType::Int16,
          b,
          "a quantized LSTM needs int8 activations with int8 weights, int32 biases and an int16 "
          "cell state, or int16 activations with int8 weights, int64 biases and an int16 cell "
          "state");
  for (const Tensor* t : {&input, &hidden, &cell}) require_quantized(b, *t);
  for (size_t i = kInputToInput; i < kCellToInput; ++i) {
    const Tensor& w = b.input(i);
    require_quantized(b, w);
    // TFLite Micro leaves a per-channel LSTM's rescaling unset.
    require(w.quantization.scale.size() == 1, b,
            fmt::format("weights '{}' must be quantized per tensor", w.name));
    require(zero_point_of(w) == 0, b, fmt::format("weights '{}' must have zero point 0", w.name));
  }
  require(zero_point_of(cell) == 0, b, "the cell state must have zero point 0");

  const Accumulator accumulator = int8 ? Accumulator::Int32 : Accumulator::Int64;
  constexpr float kGateInputScale = 0x1p-12f;   // pre-activations in Q3.12
  constexpr float kGateOutputScale = 0x1p-15f;  // gate outputs in Q0.15
  // TFLite's convolution multiplier: the scale product in single precision, then the quotient
  // in double.
  auto gate_rescaling = [&](const Tensor& x, const Tensor& w) {
    const double product = static_cast<double>(scale_of(x)) * static_cast<double>(scale_of(w));
    return requantization(b, product / static_cast<double>(kGateInputScale), accumulator,
                          fmt::format("the rescaling of '{}' x weights '{}' to the gate scale "
                                      "2^-12",
                                      x.name, w.name));
  };
  rt::LstmQuantizedParams params;
  params.shape = shape;
  params.input_zero_point = zero_point_of(input);
  params.state_zero_point = zero_point_of(hidden);
  rt::LstmGateScales* gates[4] = {&params.input_gate, &params.forget_gate, &params.cell_gate,
                                  &params.output_gate};
  for (size_t g = 0; g < 4; ++g) {
    const Tensor& w = b.input(kInputToInput + g);
    const Tensor& r = b.input(kRecurrentToInput + g);
    require_accumulator_fits(b, accumulator, input_magnitude(input), w, 0, 0,
                             &b.input(kInputBias + g));
    require_accumulator_fits(b, accumulator, input_magnitude(hidden), r, 0, 0, nullptr);
    gates[g]->input = gate_rescaling(input, w);
    gates[g]->recurrent = gate_rescaling(hidden, r);
  }
  // The element-wise products: the scales' product over the output scale, in double.
  auto product_rescaling = [&](float a, float c, float out, std::string_view what) {
    const double real = static_cast<double>(a) * static_cast<double>(c) / static_cast<double>(out);
    return requantization(b, real, Accumulator::Int32, what);
  };
  const float cell_scale = scale_of(cell);
  params.forget_times_cell = product_rescaling(kGateOutputScale, cell_scale, cell_scale,
                                               "the rescaling of forget gate x cell state");
  params.input_times_cell = product_rescaling(kGateOutputScale, kGateOutputScale, cell_scale,
                                              "the rescaling of input gate x cell gate");
  params.output_times_tanh =
      product_rescaling(kGateOutputScale, kGateOutputScale, scale_of(hidden),
                        "the rescaling of output gate x tanh(cell) to the hidden state");
  // tanh of the cell state: its power-of-two scale moved onto the Q3.12 grid by a shift.
  const int shift = cell_scale_power(cell_scale) + 12;
  require(shift >= -31 && shift <= 13, b,
          fmt::format("the cell state scale {} is outside [2^-43, 2^1]", cell_scale));
  params.cell_tanh =
      shift >= 0 ? rt::SigmoidInt16Params{3 << shift, 0} : rt::SigmoidInt16Params{3, -shift};
  if (o.cell_clip > 0.0f) {
    const double clip = static_cast<double>(o.cell_clip) / static_cast<double>(cell_scale);
    params.cell_clip = static_cast<int16_t>(std::clamp(clip, -32768.0, 32767.0));
  }
  params.state_min = type_min(hidden.dtype);
  params.state_max = type_max(hidden.dtype);
  if (int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
                typed<int8_t>(in(0)), typed<int8_t>(in(1)), typed<int8_t>(in(2)),
                typed<int8_t>(in(3)), typed<int8_t>(in(4)), typed<int8_t>(in(5)),
                typed<int8_t>(in(6)), typed<int8_t>(in(7)), typed<int8_t>(in(8)),
                typed<int32_t>(in(12)), typed<int32_t>(in(13)), typed<int32_t>(in(14)),
                typed<int32_t>(in(15)), typed<int8_t>(hidden_slot), typed<int16_t>(cell_slot),
                typed<int8_t>(b.output_slot(0)), typed<int16_t>(scratch));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
              typed<int16_t>(in(0)), typed<int8_t>(in(1)), typed<int8_t>(in(2)),
              typed<int8_t>(in(3)), typed<int8_t>(in(4)), typed<int8_t>(in(5)),
              typed<int8_t>(in(6)), typed<int8_t>(in(7)), typed<int8_t>(in(8)),
              typed<int64_t>(in(12)), typed<int64_t>(in(13)), typed<int64_t>(in(14)),
              typed<int64_t>(in(15)), typed<int16_t>(hidden_slot), typed<int16_t>(cell_slot),
              typed<int16_t>(b.output_slot(0)), typed<int16_t>(scratch));
}

}  // namespace

KernelCall lower_op(const OpBinding& b) {
  switch (b.op.op) {
    case BuiltinOp::CONV_2D:
      return prepare_conv(b, false);
    case BuiltinOp::DEPTHWISE_CONV_2D:
      return prepare_conv(b, true);
    case BuiltinOp::TRANSPOSE_CONV:
      return prepare_transpose_conv(b);
    case BuiltinOp::FULLY_CONNECTED:
      return prepare_fully_connected(b);
    case BuiltinOp::AVERAGE_POOL_2D:
      return prepare_pool(b, true);
    case BuiltinOp::MAX_POOL_2D:
      return prepare_pool(b, false);
    case BuiltinOp::ADD:
      return prepare_arithmetic(b, Arithmetic::Add);
    case BuiltinOp::SUB:
      return prepare_arithmetic(b, Arithmetic::Sub);
    case BuiltinOp::MUL:
      return prepare_arithmetic(b, Arithmetic::Mul);
    case BuiltinOp::MAXIMUM:
      return prepare_min_max(b, true);
    case BuiltinOp::MINIMUM:
      return prepare_min_max(b, false);
    case BuiltinOp::RELU:
      return prepare_relu(b, Activation::Relu);
    case BuiltinOp::RELU6:
      return prepare_relu(b, Activation::Relu6);
    case BuiltinOp::RELU_N1_TO_1:
      return prepare_relu(b, Activation::ReluN1To1);
    case BuiltinOp::LEAKY_RELU:
      return prepare_leaky_relu(b);
    case BuiltinOp::HARD_SWISH:
      return prepare_hard_swish(b);
    case BuiltinOp::LOGISTIC:
      return prepare_sigmoid(b, true);
    case BuiltinOp::TANH:
      return prepare_sigmoid(b, false);
    case BuiltinOp::SOFTMAX:
      return prepare_softmax(b);
    case BuiltinOp::QUANTIZE:
      return prepare_quantize(b);
    case BuiltinOp::DEQUANTIZE:
      return prepare_dequantize(b);
    case BuiltinOp::RESHAPE:
    case BuiltinOp::SQUEEZE:
    case BuiltinOp::EXPAND_DIMS:
      return prepare_copy(b);
    case BuiltinOp::PAD:
      return prepare_pad(b, false);
    case BuiltinOp::PADV2:
      return prepare_pad(b, true);
    case BuiltinOp::CONCATENATION:
      return prepare_concatenation(b);
    case BuiltinOp::STRIDED_SLICE:
      return prepare_strided_slice(b);
    case BuiltinOp::TRANSPOSE:
      return prepare_transpose(b);
    case BuiltinOp::MEAN:
      return prepare_mean(b);
    case BuiltinOp::UNIDIRECTIONAL_SEQUENCE_LSTM:
      return prepare_sequence_lstm(b);
    default:
      throw Error("{}: operator {} is not supported by the runtime", b.where(), b.op.name());
  }
}

}  // namespace tinydeploy::lowering
