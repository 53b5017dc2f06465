// Lowering of MEAN (runtime/kernels/reduce.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

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

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::MEAN, prepare_mean},
};

}  // namespace

Family reduce_family() { return {"reduce", "reduce", kOperators}; }

}  // namespace tinydeploy::lowering
