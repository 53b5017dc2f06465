// Lowering of AVERAGE_POOL_2D and MAX_POOL_2D (runtime/kernels/pooling.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/cortex-m4/pooling_s8_dsp.h"
#include "tinydeploy/runtime/cortex-m55/pooling_s8_mve.h"
#include "tinydeploy/runtime/pooling.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

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
    if (average && b.core == board::Core::CortexM55) {
      // Sixteen channels at a time in Helium vectors.
      KernelCall variant = call(b, TINYDEPLOY_RUNTIME_KERNEL(average_pool_s8_mve), geometry, clamp,
                                in, typed<int8_t>(input), out, typed<int8_t>(output));
      variant.source = "cortex-m55/pooling_s8_mve";
      return variant;
    }
    if (average) {
      // On the Cortex-M4, four channels per word with the DSP extension's byte additions where
      // every window's sums fit their 16-bit halves.
      const int64_t window = int64_t{std::min(o.filter_h, in.h)} * std::min(o.filter_w, in.w);
      if (b.core == board::Core::CortexM4 && window <= rt::kAveragePoolDspMaxWindow) {
        KernelCall variant = call(b, TINYDEPLOY_RUNTIME_KERNEL(average_pool_s8_dsp), geometry,
                                  clamp, in, typed<int8_t>(input), out, typed<int8_t>(output));
        variant.source = "cortex-m4/pooling_s8_dsp";
        return variant;
      }
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

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::AVERAGE_POOL_2D, [](const OpBinding& b) { return prepare_pool(b, true); }},
    {BuiltinOp::MAX_POOL_2D, [](const OpBinding& b) { return prepare_pool(b, false); }},
};

}  // namespace

Family pooling_family() { return {"pooling", "pooling", kOperators}; }

}  // namespace tinydeploy::lowering
