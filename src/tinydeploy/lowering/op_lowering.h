// What every operator family's lowering shares: the operator's view (OpBinding), the operand
// contracts, the helpers that derive parameters as TFLite's prepare steps do (requantization,
// activation clamps, padding, per-channel scales), and the registration of an operator's
// lowering function. Internal to the lowering module; ADDING_AN_OPERATOR.md says how to use it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tinydeploy/lowering/call_builder.h"
#include "tinydeploy/lowering/contracts.h"
#include "tinydeploy/lowering/op_binding.h"
#include "tinydeploy/model/builtin_op.h"

namespace tinydeploy::lowering {

// One operator's lowering: returns its kernel call, or throws tinydeploy::Error (through
// `refuse`/`require`) with the reason the operator cannot run.
using LowerFunction = KernelCall (*)(const OpBinding&);

struct OperatorLowering {
  model::BuiltinOp op;
  LowerFunction lower;
};

// The operators whose kernels live in one runtime kernel file (runtime/kernels/SOURCE.cc).
struct Family {
  std::string_view name;
  std::string_view runtime_source;
  std::span<const OperatorLowering> operators;
};

using detail::Constants;
using detail::OutputList;
using detail::Slot;
using detail::typed;

// Refuses the operator's combination of input and output types, naming them.
[[noreturn]] void unsupported_types(const OpBinding& b);

// The operator's options table of type `Options`; refused when it is missing.
template <typename Options>
const Options& options(const OpBinding& b) {
  const auto* found = std::get_if<Options>(&b.op.options);
  if (found == nullptr) refuse(b, "its options table is missing");
  return *found;
}

// `value` as the runtime's int32 sizes; refused when it does not fit.
int32_t narrow(int64_t value, const OpBinding& b);
int32_t element_count(const OpBinding& b, const model::Tensor& t);
// Bytes per element for the byte-moving kernels (1, 2, 4 or 8).
int32_t element_size(const OpBinding& b, const model::Tensor& t);

// The first scale and zero point (1 and 0 when the tensor has no quantization).
float scale_of(const model::Tensor& t);
int32_t zero_point_of(const model::Tensor& t);

// Requires a finite positive scale on `t` (the contracts validate every scale present).
void require_quantized(const OpBinding& b, const model::Tensor& t);
// Same scale and zero point on `a` and `c` (float tensors pass).
void require_same_quantization(const OpBinding& b, const model::Tensor& a, const model::Tensor& c);
void require_same_elements(const OpBinding& b);
// Zero points 0 on every int16 input and output 0, as TFLite's 16-bit kernels require.
void require_zero_points_zero_for_int16(const OpBinding& b);

// A rescaling by `real` from `from`'s units to `to`'s, for the 32-bit requantization.
rt::Requantization rescaling(const OpBinding& b, double real, const model::Tensor& from,
                             const model::Tensor& to);

// The fused activation as a clamp in `output`'s integer units, or as a float range.
std::pair<int32_t, int32_t> quantized_range(const OpBinding& b, model::Activation activation,
                                            const model::Tensor& output);
rt::FloatActivation float_range(const OpBinding& b, model::Activation activation);
// Input 0's and output 0's offsets with the fused activation's clamp.
rt::QuantizedActivation quantized_activation(const OpBinding& b, model::Activation activation);

// The shape of a rank-4 tensor; refused for another rank.
rt::Dims4 dims4(const OpBinding& b, const model::Tensor& t);
// A shape right-aligned to the runtime's kMaxRank dimensions (leading 1s).
std::array<int32_t, rt::kMaxRank> aligned_dims(const OpBinding& b,
                                               const std::vector<int32_t>& shape);

// Padding before the input along one axis, as TFLite derives it.
int32_t padding_before(const OpBinding& b, std::string_view axis, model::Padding padding,
                       int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t out);

// Per-channel (or per-tensor, broadcast) output multipliers of a convolution-like operator.
ChannelScales channel_scales(const OpBinding& b, const model::Tensor& input,
                             const model::Tensor& filter, const model::Tensor& output,
                             int32_t channels, Accumulator accumulator);

// The values of a constant int32 or int64 operand (paddings, axes, begin/end).
std::vector<int64_t> integers(const OpBinding& b, size_t input);

// The call `kernel(args...)` for this operator (see TINYDEPLOY_RUNTIME_KERNEL).
template <typename Kernel, typename... Args>
KernelCall call(const OpBinding& b, const char* name, Kernel kernel, const Args&... args) {
  return detail::make_call(b.index, name, kernel, args...);
}

// `kernel_call` with a scratch buffer of `bytes` (passed as scratch_slot()), which the memory
// plan places for the duration of the operator.
KernelCall with_scratch(KernelCall kernel_call, int64_t bytes);

// An operator with nothing to compute (an empty output).
KernelCall no_call(const OpBinding& b);

}  // namespace tinydeploy::lowering
