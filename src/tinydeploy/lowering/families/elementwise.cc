// Lowering of ADD, SUB, MUL, MAXIMUM and MINIMUM with broadcasting
// (runtime/kernels/elementwise.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/cortex-m/add_s8_lookup.h"
#include "tinydeploy/runtime/elementwise.h"
#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

// The rescaled value of an int8 input holding each of -128 .. 127, as the portable add
// computes it (negated for the second input of a SUB): the tables add_s8_lookup reads.
std::vector<int32_t> scaled_values(int32_t offset, int32_t left_shift, const rt::Requantization& q,
                                   bool negate) {
  std::vector<int32_t> table;
  for (int32_t v = -128; v <= 127; ++v) {
    const int32_t scaled = rt::multiply_by_quantized_multiplier(
        (v + offset) * (int32_t{1} << left_shift), q.multiplier, q.shift);
    table.push_back(negate ? -scaled : scaled);
  }
  return table;
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
  // On a Cortex-M, inputs of the output's shape (no broadcasting) take the lookup variant.
  const bool same_shapes =
      b.input(0).shape == b.output(0).shape && b.input(1).shape == b.output(0).shape;
  if (type == DType::Int8 && b.core != board::Core::Host && same_shapes) {
    KernelCall lookup = call(
        b, TINYDEPLOY_RUNTIME_KERNEL(add_s8_lookup), params,
        static_cast<int32_t>(b.output(0).elements()),
        Constants<int32_t>{"input1_scaled", scaled_values(params.input1_offset, params.left_shift,
                                                          params.input1, false)},
        Constants<int32_t>{"input2_scaled", scaled_values(params.input2_offset, params.left_shift,
                                                          params.input2, subtract)},
        typed<int8_t>(a), typed<int8_t>(c), typed<int8_t>(output));
    lookup.source = "cortex-m/add_s8_lookup";
    return lookup;
  }
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

// TFLite Micro's PRELU (prelu.cc): float32, int8 with int8 alpha, int16 with int8 alpha;
// broadcasting up to rank 4. Two multipliers from Prepare: in / out for the non-negative side,
// in * alpha / out (in double precision) for the negative side.
KernelCall prepare_prelu(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  const Tensor& alpha = b.input(1);
  const Tensor& out = b.output(0);
  const bool float_types = in.dtype == DType::Float32 && alpha.dtype == DType::Float32;
  const bool quantized_types =
      (in.dtype == DType::Int8 || in.dtype == DType::Int16) && alpha.dtype == DType::Int8;
  if ((!float_types && !quantized_types) || out.dtype != in.dtype) {
    refuse(b, fmt::format("TFLite Micro's PRELU takes float32, or int8 or int16 input with int8 "
                          "alpha, not {} and {} to {}",
                          model::dtype_name(in.dtype), model::dtype_name(alpha.dtype),
                          model::dtype_name(out.dtype)));
  }
  require(in.shape.size() <= 4 && alpha.shape.size() <= 4 && out.shape.size() <= 4, b,
          "TFLite Micro's PRELU broadcasts up to 4 dimensions");
  const rt::BroadcastShape shape = broadcast_shape(b);
  const Slot input = b.input_slot(0);
  const Slot alphas = b.input_slot(1);
  const Slot output = b.output_slot(0);
  if (float_types) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(prelu), shape, typed<float>(input),
                typed<float>(alphas), typed<float>(output));
  }
  require_quantized(b, in);
  require_quantized(b, alpha);
  require_quantized(b, out);
  const double in_scale = scale_of(in);
  const double out_scale = scale_of(out);
  const rt::Requantization positive = rescaling(b, in_scale / out_scale, in, out);
  rt::MulParams params;
  params.input1_offset = -zero_point_of(in);
  params.input2_offset = -zero_point_of(alpha);
  params.output_offset = zero_point_of(out);
  params.output =
      rescaling(b, in_scale * static_cast<double>(scale_of(alpha)) / out_scale, in, out);
  params.min = type_min(in.dtype);
  params.max = type_max(in.dtype);
  if (in.dtype == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(prelu), params, positive.multiplier, positive.shift,
                shape, typed<int8_t>(input), typed<int8_t>(alphas), typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(prelu), params, positive.multiplier, positive.shift,
              shape, typed<int16_t>(input), typed<int8_t>(alphas), typed<int16_t>(output));
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::ADD, [](const OpBinding& b) { return prepare_arithmetic(b, Arithmetic::Add); }},
    {BuiltinOp::SUB, [](const OpBinding& b) { return prepare_arithmetic(b, Arithmetic::Sub); }},
    {BuiltinOp::MUL, [](const OpBinding& b) { return prepare_arithmetic(b, Arithmetic::Mul); }},
    {BuiltinOp::MAXIMUM, [](const OpBinding& b) { return prepare_min_max(b, true); }},
    {BuiltinOp::MINIMUM, [](const OpBinding& b) { return prepare_min_max(b, false); }},
    {BuiltinOp::PRELU, prepare_prelu},
};

}  // namespace

Family elementwise_family() { return {"elementwise", "elementwise", kOperators}; }

}  // namespace tinydeploy::lowering
