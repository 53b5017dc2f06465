// Lowering of Activations, SOFTMAX, QUANTIZE and DEQUANTIZE: one value in, one value out, along the
// tensor (runtime/kernels/activation.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/activation.h"
#include "tinydeploy/runtime/quantize.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

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
  if (activation == Activation::Relu6) {
    // TensorFlow Lite Micro's quantized RELU6 clamps the input to its own zero point and its own
    // quantized 6 and stores the result as it is: the output's scale and zero point are not
    // applied (TFLite requantizes; a model whose two quantizations differ gets other bytes).
    const auto [zero, six] = quantized_range(b, activation, b.input(0));
    if (type == DType::Int8) {
      return call(b, TINYDEPLOY_RUNTIME_KERNEL(clamp), zero, six, count, typed<int8_t>(input),
                  typed<int8_t>(output));
    }
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(clamp), zero, six, count, typed<int16_t>(input),
                typed<int16_t>(output));
  }
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

// TFLite Micro's ABS: float32, int8, int16 (elementwise.cc). Quantized: |x - zp| rescaled by
// in_scale / out_scale (the quotient taken in single precision, as TFLite Micro takes it) when
// the scales differ; int16 with zero points 0, or without quantization as plain integers.
KernelCall prepare_abs(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const Tensor& in = b.input(0);
  const Tensor& out = b.output(0);
  if ((in.dtype != DType::Float32 && in.dtype != DType::Int8 && in.dtype != DType::Int16) ||
      out.dtype != in.dtype) {
    refuse(b, fmt::format("TFLite Micro's ABS takes float32, int8 or int16 of one type in and "
                          "out, not {} to {}",
                          model::dtype_name(in.dtype), model::dtype_name(out.dtype)));
  }
  const int32_t count = element_count(b, in);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (in.dtype == DType::Float32) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(absolute), count, typed<float>(input),
                typed<float>(output));
  }
  if (in.dtype == DType::Int16 && in.quantization.scale.empty()) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(absolute), count, typed<int16_t>(input),
                typed<int16_t>(output));
  }
  require_quantized(b, in);
  require_quantized(b, out);
  if (in.dtype == DType::Int16) require_zero_points_zero_for_int16(b);
  const bool rescale = scale_of(in) != scale_of(out);
  rt::Requantization scale;
  if (rescale) {
    scale = rescaling(b, static_cast<double>(scale_of(in) / scale_of(out)), in, out);
  }
  if (in.dtype == DType::Int8) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(absolute), zero_point_of(in), zero_point_of(out),
                rescale, scale.multiplier, scale.shift, count, typed<int8_t>(input),
                typed<int8_t>(output));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(absolute), zero_point_of(in), zero_point_of(out),
              rescale, scale.multiplier, scale.shift, count, typed<int16_t>(input),
              typed<int16_t>(output));
}

// TFLite Micro's NEG: float32 only (neg.cc).
KernelCall prepare_neg(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  const Tensor& in = b.input(0);
  if (in.dtype != DType::Float32 || b.output(0).dtype != DType::Float32) {
    refuse(b, fmt::format("TFLite Micro's NEG takes float32 only, not {} to {}",
                          model::dtype_name(in.dtype), model::dtype_name(b.output(0).dtype)));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(negate), element_count(b, in),
              typed<float>(b.input_slot(0)), typed<float>(b.output_slot(0)));
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::RELU, [](const OpBinding& b) { return prepare_relu(b, Activation::Relu); }},
    {BuiltinOp::RELU6, [](const OpBinding& b) { return prepare_relu(b, Activation::Relu6); }},
    {BuiltinOp::RELU_N1_TO_1,
     [](const OpBinding& b) { return prepare_relu(b, Activation::ReluN1To1); }},
    {BuiltinOp::LEAKY_RELU, prepare_leaky_relu},
    {BuiltinOp::HARD_SWISH, prepare_hard_swish},
    {BuiltinOp::LOGISTIC, [](const OpBinding& b) { return prepare_sigmoid(b, true); }},
    {BuiltinOp::TANH, [](const OpBinding& b) { return prepare_sigmoid(b, false); }},
    {BuiltinOp::SOFTMAX, prepare_softmax},
    {BuiltinOp::QUANTIZE, prepare_quantize},
    {BuiltinOp::DEQUANTIZE, prepare_dequantize},
    {BuiltinOp::ABS, prepare_abs},
    {BuiltinOp::NEG, prepare_neg},
};

}  // namespace

Family activation_family() { return {"activation", "activation", kOperators}; }

}  // namespace tinydeploy::lowering
