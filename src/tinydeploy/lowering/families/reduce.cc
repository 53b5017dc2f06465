// Lowering of MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX and ARG_MIN (runtime/kernels/reduce.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/reduce.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

// The reduction's shape: input dims right-aligned, with the output stride of every kept axis
// (TFLite's Prepare: constant int32 axes, each in range, repeats allowed).
rt::ReduceShape reduce_shape(const OpBinding& b) {
  const Tensor& in = b.input(0);
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
  return shape;
}

// MEAN, and SUM (`sum`), which TFLite Micro computes the same way without the division.
KernelCall prepare_mean_or_sum(const OpBinding& b, bool sum) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  const DType type = in.dtype;
  if (b.output(0).dtype != type) unsupported_types(b);
  if (sum) {
    require(b.input(1).dtype == DType::Int32, b, "TFLite Micro's SUM takes int32 axes only");
  }
  const rt::ReduceShape shape = reduce_shape(b);
  const int64_t reduced_elements = shape.reduced_elements;
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (type == DType::Float32) {
    if (sum) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(sum), shape, typed<float>(input),
                  typed<float>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), shape, typed<float>(input),
                typed<float>(output));
  }
  if (type != DType::Int8 && type != DType::Int16) unsupported_types(b);
  require_quantized(b, in);
  require_quantized(b, b.output(0));
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
  if (sum) {
    params.scale = base;
  } else if (reduced_elements > 0) {
    int shift = 63 - __builtin_clzll(static_cast<uint64_t>(reduced_elements));
    shift = std::min(shift, 32);
    shift = std::min(shift, 31 + base.shift);
    params.scale.multiplier =
        static_cast<int32_t>((static_cast<int64_t>(base.multiplier) << shift) / reduced_elements);
    params.scale.shift = base.shift - shift;
  }
  require(params.scale.shift >= -31, b,
          fmt::format("the {} rescaling is outside the supported range", sum ? "SUM" : "MEAN"));
  // The scratch holds one int32 sum per output element.
  const Slot scratch = b.scratch_slot();
  const int64_t sums_bytes = b.output(0).elements() * 4;
  if (type == DType::Int8) {
    return with_scratch(call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), params, shape,
                             typed<int8_t>(input), typed<int8_t>(output), typed<int32_t>(scratch)),
                        sums_bytes);
  }
  return with_scratch(call(b, TINYDEPLOY_RUNTIME_KERNEL(mean), params, shape, typed<int16_t>(input),
                           typed<int16_t>(output), typed<int32_t>(scratch)),
                      sums_bytes);
}

// TFLite Micro's REDUCE_MAX and REDUCE_MIN: float32, or int8 with the output's quantization the
// input's (it compares raw values).
KernelCall prepare_reduce_max_min(const OpBinding& b) {
  require_inputs(b, 2);
  const bool largest = b.op.op == BuiltinOp::REDUCE_MAX;
  const std::string_view name = largest ? "REDUCE_MAX" : "REDUCE_MIN";
  const Tensor& in = b.input(0);
  const Tensor& out = b.output(0);
  if ((in.dtype != DType::Float32 && in.dtype != DType::Int8) || out.dtype != in.dtype) {
    refuse(b, fmt::format("TFLite Micro's {} takes float32 or int8 of one type in and out, not {} "
                          "to {}",
                          name, model::dtype_name(in.dtype), model::dtype_name(out.dtype)));
  }
  require(b.input(1).dtype == DType::Int32, b,
          fmt::format("TFLite Micro's {} takes int32 axes only", name));
  const rt::ReduceShape shape = reduce_shape(b);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (in.dtype == DType::Int8) {
    require(scale_of(in) == scale_of(out) && zero_point_of(in) == zero_point_of(out), b,
            fmt::format("TFLite Micro's int8 {} needs the output's scale and zero point equal to "
                        "the input's",
                        name));
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(reduce_max_min), shape, largest, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(reduce_max_min), shape, largest, typed<float>(input),
              typed<float>(output));
}

// TFLite Micro's ARG_MAX and ARG_MIN: float32 or int8 input, an int32 axis, int32 indices. It
// reads the axis at run time; the output shape depends on it, so tinydeploy takes it constant.
KernelCall prepare_arg_min_max(const OpBinding& b) {
  require_inputs(b, 2);
  const bool largest = b.op.op == BuiltinOp::ARG_MAX;
  const std::string_view name = largest ? "ARG_MAX" : "ARG_MIN";
  const Tensor& in = b.input(0);
  const Tensor& axis_tensor = b.input(1);
  const Tensor& out = b.output(0);
  if (in.dtype != DType::Int8 && in.dtype != DType::Float32) {
    refuse(b, fmt::format("TFLite Micro's {} takes float32 or int8 input, not {}", name,
                          model::dtype_name(in.dtype)));
  }
  require(axis_tensor.dtype == DType::Int32, b,
          fmt::format("TFLite Micro's {} takes an int32 axis, not {}", name,
                      model::dtype_name(axis_tensor.dtype)));
  require(out.dtype == DType::Int32, b,
          fmt::format("TFLite Micro's {} writes int32 indices only, not {}", name,
                      model::dtype_name(out.dtype)));
  require(axis_tensor.is_constant(), b,
          "the axis must be a constant (the output shape depends on it)");
  const auto axes = integers(b, 1);
  require(axes.size() == 1, b, "the axis tensor must hold one value");
  const auto rank = static_cast<int64_t>(in.shape.size());
  require(rank >= 1, b, "the input must have at least one dimension");
  const int64_t axis = axes[0] < 0 ? axes[0] + rank : axes[0];
  require(axis >= 0 && axis < rank, b, "the axis is out of range");
  std::vector<int32_t> expected = in.shape;
  expected.erase(expected.begin() + axis);
  require(out.shape == expected, b, "the output shape is the input's without the axis");
  const int32_t axis_size = in.shape[static_cast<size_t>(axis)];
  if (out.elements() == 0) return no_call(b);
  require(axis_size >= 1, b, "the axis has no elements to choose from");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.shape[static_cast<size_t>(d)];
  const int32_t inner = narrow(out.elements() / outer, b);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (in.dtype == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(arg_min_max), narrow(outer, b), axis_size, inner,
                largest, typed<int8_t>(input), typed<int32_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(arg_min_max), narrow(outer, b), axis_size, inner,
              largest, typed<float>(input), typed<int32_t>(output));
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::MEAN, [](const OpBinding& b) { return prepare_mean_or_sum(b, false); }},
    {BuiltinOp::SUM, [](const OpBinding& b) { return prepare_mean_or_sum(b, true); }},
    {BuiltinOp::REDUCE_MAX, prepare_reduce_max_min},
    {BuiltinOp::REDUCE_MIN, prepare_reduce_max_min},
    {BuiltinOp::ARG_MAX, prepare_arg_min_max},
    {BuiltinOp::ARG_MIN, prepare_arg_min_max},
};

}  // namespace

Family reduce_family() { return {"reduce", "reduce", kOperators}; }

}  // namespace tinydeploy::lowering
