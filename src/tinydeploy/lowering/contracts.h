// Operand contracts: what every lowered operator is checked against before any kernel runs, so
// that a well-formed file whose contents lie (a bias shorter than the channels, a batch that
// disagrees, a zero point far outside its type, options near 2^31) is refused with a reason
// instead of reaching the kernels. The runtime's declarations (runtime/include/) list, under
// "Requires:", what these checks guarantee. Internal to the lowering module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tinydeploy/lowering/op_binding.h"
#include "tinydeploy/runtime/common.h"

namespace tinydeploy::lowering {

// Throws tinydeploy::Error "<model>: operator <i> (<OP>): <reason>".
[[noreturn]] void refuse(const OpBinding& b, std::string_view reason);
inline void require(bool condition, const OpBinding& b, std::string_view reason) {
  if (!condition) refuse(b, reason);
}

// At least `minimum` inputs (none of them omitted) and one output; then, for every operand:
// dense storage, an element count the runtime's int32 indexing can address (zero dimensions
// counted as 1, since kernels multiply the others), and for int8/int16/int32 tensors with
// quantization, finite positive scales, zero points within the type's range, and one scale
// except on the weights and biases of the convolution family.
void require_inputs(const OpBinding& b, size_t minimum);

// The lowest and highest value of an integer tensor type (int8, int16, int32).
int32_t type_min(model::DType type);
int32_t type_max(model::DType type);

// The optional bias at input `index`: one element per output channel, and for quantized
// operators (`quantized`) zero point 0, as TFLite's prepare step requires.
void require_bias(const OpBinding& b, size_t index, int32_t channels, bool quantized);

// Per-channel weights: one scale per output channel, along a dimension of that many entries
// (TFLite's check; kernels index the scales by output channel).
void require_channel_scales(const OpBinding& b, const model::Tensor& weights, int32_t channels);

// The integer accumulator a kernel sums products in.
enum class Accumulator { Int32, Int64 };

// A real multiplier as the runtime applies it (Q31 significand and shift), refused when it is
// not finite, negative, or beyond the range of the helper that applies it (see
// runtime/include/tinydeploy/runtime/fixed_point.h): below 2^30 for the 32-bit
// multiply_by_quantized_multiplier (larger ones would saturate), below 2^14 for the 64-bit one
// (whose rounding shift 15 - shift must stay positive). `what` names the rescaling.
rt::Requantization requantization(const OpBinding& b, double real, Accumulator accumulator,
                                  std::string_view what);

// The worst case of a convolution-like accumulator for every output channel: the largest input
// magnitude (|x - zero point| over the input type) times the sum of |weight + weights_offset|
// over the weights feeding that channel, plus |bias|. The weights' output channel is dimension
// `channel_axis` (0, or the last one for DEPTHWISE_CONV_2D). Refused when it can exceed the
// accumulator: INT32_MAX for int32, 2^47 for int64 (the input range of the 64-bit
// requantization). Non-constant weights or bias count at their type's limits.
//
// Why refuse rather than wrap: for int8 activations (and the hybrid CONV_2D) the bound is
// 255 x sum |w| + |bias|, which only a bias near 2^31 or some 65,000 taps of extreme weights
// reach; no real model comes close (the shared models peak at half the range), and an accepted
// model is then computed exactly instead of as wrapped garbage. The same holds for 2^47 with
// int64 accumulators. 16-bit activations with an int32 bias are not bounded (see Flavor in
// families/conv.cc): TFLite chose that narrow accumulator, and the runtime wraps it as TFLite does.
void require_accumulator_fits(const OpBinding& b, Accumulator accumulator, int64_t input_magnitude,
                              const model::Tensor& weights, size_t channel_axis,
                              int32_t weights_offset, const model::Tensor* bias);

// The largest |x - zero_point| over the values of an int8 or int16 tensor.
int64_t input_magnitude(const model::Tensor& t);

// A sliding window along one axis: `out` positions `stride` apart, each reading `filter` taps
// `dilation` apart, after `pad` positions of padding. Refused when a position the kernels
// compute in int32 (out * stride, + tap * dilation, - pad) can leave the int32 range.
void require_window_fits(const OpBinding& b, std::string_view axis, int64_t out, int64_t stride,
                         int64_t filter, int64_t dilation, int64_t pad);

}  // namespace tinydeploy::lowering
