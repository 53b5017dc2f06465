#include "tinydeploy/lowering/op_lowering.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tinydeploy/common/error.h"

namespace tinydeploy::lowering {

using model::Activation;
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
detail::Slot OpBinding::state_slot(size_t i) const {
  require(has_input(i) && input(i).is_variable, *this,
          fmt::format("input {} must be a variable tensor (the operator's state)", i));
  return {op.inputs[i], true, false};
}
std::string OpBinding::where() const {
  return fmt::format("{}: operator {} ({})", model.path, index, op.name());
}

[[noreturn]] void unsupported_types(const OpBinding& b) {
  std::string inputs;
  bool int4 = false;
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    if (!b.has_input(i)) continue;
    if (!inputs.empty()) inputs += ", ";
    inputs += model::dtype_name(b.input(i).dtype);
    int4 = int4 || b.input(i).dtype == model::DType::Int4;
  }
  std::string outputs;
  for (size_t i = 0; i < b.op.outputs.size(); ++i) {
    if (!outputs.empty()) outputs += ", ";
    outputs += model::dtype_name(b.output(i).dtype);
  }
  // Constant int4 weights that TensorFlow Lite Micro takes were unpacked by the reader
  // (model::unpack_int4_weights); what is left, it refuses too.
  const char* why_int4 =
      int4 ? " (TensorFlow Lite Micro takes int4 only as constant weights of CONV_2D and "
             "DEPTHWISE_CONV_2D with int8 activations, and per-tensor weights of FULLY_CONNECTED "
             "with int8 activations)"
           : "";
  throw Error("{}: the runtime has no kernel for inputs ({}) -> outputs ({}){}", b.where(), inputs,
              outputs, why_int4);
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

KernelCall with_scratch(KernelCall kernel_call, int64_t bytes) {
  kernel_call.scratch_bytes = bytes;
  return kernel_call;
}

KernelCall no_call(const OpBinding& b) {
  KernelCall nothing;
  nothing.op_index = b.index;
  nothing.bind = [](const KernelCall&, const HostStorage&) { return std::function<void()>([] {}); };
  return nothing;
}

// Same quantization on the input and output, as pooling and the min/max family need.
void require_same_quantization(const OpBinding& b, const Tensor& a, const Tensor& c) {
  if (a.dtype == DType::Float32) return;
  require(scale_of(a) == scale_of(c) && zero_point_of(a) == zero_point_of(c), b,
          fmt::format("tensors '{}' and '{}' must share scale and zero point", a.name, c.name));
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

int32_t element_count(const OpBinding& b, const Tensor& t) { return narrow(t.elements(), b); }

void require_same_elements(const OpBinding& b) {
  require(b.input(0).elements() == b.output(0).elements(), b,
          "input and output element counts differ");
}

int32_t element_size(const OpBinding& b, const Tensor& t) {
  const int bits = model::dtype_bits(t.dtype);
  if (bits != 8 && bits != 16 && bits != 32 && bits != 64) unsupported_types(b);
  return bits / 8;
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

}  // namespace tinydeploy::lowering
