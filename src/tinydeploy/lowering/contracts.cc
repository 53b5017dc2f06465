#include "tinydeploy/lowering/contracts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/runtime/quantize.h"

namespace tinydeploy::lowering {

using model::DType;
using model::Tensor;

namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
// The 64-bit multiply_by_quantized_multiplier takes |x| < 2^47 (TFLite's stated input range):
// beyond it x times the Q15 multiplier plus the rounding term leaves int64.
constexpr int64_t kWideAccumulatorLimit = int64_t{1} << 47;

// Non-negative int64 arithmetic that stops at INT64_MAX instead of overflowing: the bounds
// below only need to know whether a limit far below it is crossed.
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? kInt64Max : sum;
}
int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? kInt64Max : product;
}
int64_t magnitude(int64_t value) {
  return value == std::numeric_limits<int64_t>::min() ? kInt64Max : std::abs(value);
}

std::string shape_text(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool is_integer_activation(DType type) {
  return type == DType::Int8 || type == DType::Int16 || type == DType::Int32;
}

// Weights and biases of the convolution family are the only operands whose per-channel
// quantization a kernel applies; every other kernel uses one scale and zero point.
bool may_be_per_channel(const OpBinding& b, size_t input) {
  switch (b.op.op) {
    case model::BuiltinOp::CONV_2D:
    case model::BuiltinOp::DEPTHWISE_CONV_2D:
    case model::BuiltinOp::FULLY_CONNECTED:
      return input == 1 || input == 2;
    case model::BuiltinOp::TRANSPOSE_CONV:
      return input == 1 || input == 3;
    default:
      return false;
  }
}

void check_operand(const OpBinding& b, const Tensor& t, bool per_channel_allowed) {
  require(!t.is_sparse, b,
          fmt::format("tensor '{}' is sparse; the runtime reads dense tensors only", t.name));
  // Kernels index with int32 and multiply dimensions together, a zero dimension included, so
  // the product of the others must fit as well.
  int64_t extent = 1;
  for (const int32_t dim : t.shape) extent = saturating_mul(extent, std::max<int64_t>(dim, 1));
  require(extent <= kInt32Max, b,
          fmt::format("tensor '{}' of shape {} has more elements than the runtime's 32-bit "
                      "indexing addresses",
                      t.name, shape_text(t.shape)));
  if (!is_integer_activation(t.dtype) || !t.quantization.is_quantized()) return;
  const auto& q = t.quantization;
  require(per_channel_allowed || !q.is_per_channel(), b,
          fmt::format("tensor '{}' is quantized per channel ({} scales), but the kernel applies "
                      "one scale to it",
                      t.name, q.scale.size()));
  if (t.dtype != DType::Int32) {
    for (size_t c = 0; c < q.scale.size(); ++c) {
      require(std::isfinite(q.scale[c]) && q.scale[c] > 0.0f, b,
              fmt::format("tensor '{}' has scale {} (channel {}), expected a positive finite "
                          "number",
                          t.name, q.scale[c], c));
    }
  }
  const int64_t low = type_min(t.dtype);
  const int64_t high = type_max(t.dtype);
  for (const int64_t zero_point : q.zero_point) {
    require(zero_point >= low && zero_point <= high, b,
            fmt::format("tensor '{}' has zero point {}, outside {}'s range [{}, {}]", t.name,
                        zero_point, model::dtype_name(t.dtype), low, high));
  }
}

// The magnitude of element `i` of a constant int8, int32 or int64 tensor (0 for other types).
int64_t constant_magnitude(std::span<const uint8_t> bytes, DType type, size_t i) {
  switch (type) {
    case DType::Int8:
      return std::abs(static_cast<int64_t>(static_cast<int8_t>(bytes[i])));
    case DType::Int32: {
      int32_t v = 0;
      std::memcpy(&v, bytes.data() + i * 4, 4);
      return std::abs(static_cast<int64_t>(v));
    }
    case DType::Int64: {
      int64_t v = 0;
      std::memcpy(&v, bytes.data() + i * 8, 8);
      return magnitude(v);
    }
    default:
      return 0;
  }
}

// Worst case of |value| for a tensor whose values are not known before run time.
int64_t type_magnitude(DType type) {
  switch (type) {
    case DType::Int8:
      return 128;
    case DType::Int16:
      return 32768;
    case DType::Int32:
      return int64_t{1} << 31;
    default:
      return kInt64Max;
  }
}

}  // namespace

void refuse(const OpBinding& b, std::string_view reason) {
  throw Error("{}: {}", b.where(), reason);
}

int32_t type_min(DType type) {
  return type == DType::Int8
             ? -128
             : (type == DType::Int16 ? -32768 : std::numeric_limits<int32_t>::min());
}
int32_t type_max(DType type) {
  return type == DType::Int8 ? 127
                             : (type == DType::Int16 ? 32767 : std::numeric_limits<int32_t>::max());
}

void require_inputs(const OpBinding& b, size_t minimum) {
  require(b.op.inputs.size() >= minimum && !b.op.outputs.empty(), b,
          fmt::format("expects at least {} inputs and one output", minimum));
  for (size_t i = 0; i < minimum; ++i) require(b.has_input(i), b, "a required input is omitted");
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    if (b.has_input(i)) check_operand(b, b.input(i), may_be_per_channel(b, i));
  }
  for (size_t i = 0; i < b.op.outputs.size(); ++i) check_operand(b, b.output(i), false);
}

void require_bias(const OpBinding& b, size_t index, int32_t channels, bool quantized) {
  if (!b.has_input(index)) return;
  const Tensor& bias = b.input(index);
  require(bias.elements() == channels, b,
          fmt::format("bias '{}' has {} elements, expected one per output channel ({})", bias.name,
                      bias.elements(), channels));
  if (!quantized) return;
  for (const int64_t zero_point : bias.quantization.zero_point) {
    require(zero_point == 0, b,
            fmt::format("bias '{}' has zero point {}, expected 0", bias.name, zero_point));
  }
}

void require_channel_scales(const OpBinding& b, const Tensor& weights, int32_t channels) {
  const auto& q = weights.quantization;
  if (!q.is_per_channel()) return;
  const auto axis = static_cast<size_t>(q.quantized_dimension);
  require(static_cast<int64_t>(q.scale.size()) == channels && axis < weights.shape.size() &&
              weights.shape[axis] == channels,
          b,
          fmt::format("{} '{}' has {} per-channel scales (along dimension {}) for {} output "
                      "channels",
                      weights.shape.size() == 2 ? "weights" : "filter", weights.name,
                      q.scale.size(), q.quantized_dimension, channels));
}

rt::Requantization requantization(const OpBinding& b, double real, Accumulator accumulator,
                                  std::string_view what) {
  // quantize_multiplier saturates at shift 30 (as TFLite's QuantizeMultiplier does), which
  // would silently change the model's meaning; the 64-bit form runs out of rounding shift at 15
  // (a significand rounding up to 1 just below 2^14 carries into shift 15, hence the check on
  // the shift itself).
  const int max_shift = accumulator == Accumulator::Int32 ? 30 : 14;
  const bool representable = std::isfinite(real) && real >= 0.0 && real < std::ldexp(1.0, 30);
  const rt::QuantizedMultiplier q =
      representable ? rt::quantize_multiplier(real) : rt::QuantizedMultiplier{};
  require(representable && q.shift <= max_shift, b,
          fmt::format("{} (scale {}) is beyond what the runtime's {}-bit requantization applies "
                      "(a non-negative scale below 2^{})",
                      what, real, accumulator == Accumulator::Int32 ? 32 : 64, max_shift));
  return {q.multiplier, q.shift};
}

int64_t input_magnitude(const Tensor& t) {
  const int64_t zero_point = t.quantization.zero_point.empty() ? 0 : t.quantization.zero_point[0];
  return std::max(magnitude(type_min(t.dtype) - zero_point),
                  magnitude(type_max(t.dtype) - zero_point));
}

void require_accumulator_fits(const OpBinding& b, Accumulator accumulator, int64_t input_magnitude,
                              const Tensor& weights, size_t channel_axis, int32_t weights_offset,
                              const Tensor* bias) {
  if (weights.shape.empty() || weights.elements() == 0) return;
  const auto channels = static_cast<size_t>(weights.shape[channel_axis]);
  const auto elements = static_cast<size_t>(weights.elements());
  const bool last_axis = channel_axis + 1 == weights.shape.size() && channel_axis != 0;
  const size_t per_channel = elements / channels;
  std::vector<int64_t> sums(channels, 0);
  const auto values = b.model.data(weights);
  const bool known =
      weights.is_constant() && weights.dtype == DType::Int8 && values.size() >= elements;
  for (size_t i = 0; i < elements; ++i) {
    const size_t c = last_axis ? i % channels : i / per_channel;
    const int64_t w = known ? static_cast<int8_t>(values[i]) : 0;
    const int64_t term = known ? magnitude(w + weights_offset)
                               : type_magnitude(DType::Int8) + magnitude(weights_offset);
    sums[c] = saturating_add(sums[c], term);
  }
  const int64_t limit = accumulator == Accumulator::Int32 ? kInt32Max : kWideAccumulatorLimit - 1;
  std::span<const uint8_t> bias_values;
  bool bias_known = false;
  if (bias != nullptr) {
    bias_values = b.model.data(*bias);
    const int bits = model::dtype_bits(bias->dtype);
    bias_known = bias->is_constant() && bits > 0 &&
                 bias_values.size() >= channels * static_cast<size_t>(bits / 8);
  }
  for (size_t c = 0; c < channels; ++c) {
    int64_t bound = saturating_mul(input_magnitude, sums[c]);
    if (bias != nullptr) {
      bound = saturating_add(bound, bias_known ? constant_magnitude(bias_values, bias->dtype, c)
                                               : type_magnitude(bias->dtype));
    }
    if (bound <= limit) continue;
    const std::string bias_part =
        bias == nullptr ? std::string{} : fmt::format(", plus bias '{}'", bias->name);
    refuse(b, fmt::format("the accumulator of output channel {} can reach {} (inputs up to {} "
                          "from their zero point times the weights of '{}'{}), more than the "
                          "{}-bit accumulator allows ({})",
                          c, bound, input_magnitude, weights.name, bias_part,
                          accumulator == Accumulator::Int32 ? 32 : 64, limit));
  }
}

void require_window_fits(const OpBinding& b, std::string_view axis, int64_t out, int64_t stride,
                         int64_t filter, int64_t dilation, int64_t pad) {
  if (out <= 0 || filter <= 0) return;
  const int64_t extent = saturating_add(
      saturating_add(saturating_mul(out - 1, stride), saturating_mul(filter - 1, dilation)), 1);
  require(extent <= kInt32Max && pad <= kInt32Max, b,
          fmt::format("the window positions exceed the runtime's 32-bit index range ({}: {} "
                      "positions at stride {}, {} taps at dilation {}, padding {})",
                      axis, out, stride, filter, dilation, pad));
}

}  // namespace tinydeploy::lowering
