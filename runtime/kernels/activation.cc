#include "tinydeploy/runtime/activation.h"

#include <math.h>

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

template <typename T>
constexpr int32_t lowest() {
  return sizeof(T) == 1 ? -128 : -32768;
}
template <typename T>
constexpr int32_t highest() {
  return sizeof(T) == 1 ? 127 : 32767;
}

template <typename In, typename Out>
void requantize_values(const RequantizeParams& params, int32_t count, const In* input,
                       Out* output) {
  for (int32_t i = 0; i < count; ++i) {
    // Widened so that an int32 input minus its zero point cannot overflow.
    const int64_t centred = static_cast<int64_t>(input[i]) - params.input_zero_point;
    const int32_t bounded = static_cast<int32_t>(
        centred > INT32_MAX ? INT32_MAX : (centred < INT32_MIN ? INT32_MIN : centred));
    const int64_t value =
        int64_t{params.output_zero_point} +
        multiply_by_quantized_multiplier(bounded, params.scale.multiplier, params.scale.shift);
    output[i] = static_cast<Out>(value < params.min   ? params.min
                                 : value > params.max ? params.max
                                                      : value);
  }
}

template <typename T>
void leaky_relu_values(const LeakyReluParams& params, int32_t count, const T* input, T* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t value = input[i] - params.input_zero_point;
    int64_t scaled;
    if (value >= 0) {
      scaled = multiply_by_quantized_multiplier(value, params.identity.multiplier,
                                                params.identity.shift);
    } else {
      scaled = multiply_by_quantized_multiplier(value, params.alpha.multiplier, params.alpha.shift);
      if (params.alpha_negative) scaled = -scaled;
    }
    const int64_t shifted = params.output_zero_point + scaled;
    output[i] = static_cast<T>(shifted < lowest<T>()    ? lowest<T>()
                               : shifted > highest<T>() ? highest<T>()
                                                        : shifted);
  }
}

// 16-bit helpers of HARD_SWISH.
int16_t saturate16(int64_t value) {
  return static_cast<int16_t>(value > 32767 ? 32767 : (value < -32768 ? -32768 : value));
}
int16_t saturating_left_shift16(int16_t value, int amount) {
  return saturate16(static_cast<int64_t>(value) * (int64_t{1} << amount));
}
int16_t rounding_doubling_high_mul16(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  const int32_t product = int32_t{a} * int32_t{b};
  const int32_t nudge = product >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((product + nudge) / (1 << 15));
}
// Truncating variant: its bias cancels the rounding variant's in the final product.
int16_t doubling_high_mul16(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  return static_cast<int16_t>((int32_t{a} * int32_t{b}) / (1 << 15));
}
int16_t rounding_divide16(int16_t x, int exponent) {
  return static_cast<int16_t>(rounding_divide_by_power_of_two(x, exponent));
}

template <typename Out>
void softmax_rows(const SoftmaxParams& params, int32_t rows, int32_t depth, const int8_t* input,
                  Out* output) {
  constexpr int kScaledDiffIntegerBits = 5;
  constexpr int kAccumulationIntegerBits = 12;
  constexpr int kOutputBits = static_cast<int>(sizeof(Out) * 8);
  for (int32_t row = 0; row < rows; ++row) {
    const int8_t* in = input + row * depth;
    Out* out = output + row * depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;

    // exp of each scaled difference (Q0.31), summed in Q12.19. The sum exceeds int32 only
    // when 4096 or more values tie at the maximum (TFLite's int32 sum then overflows); it is
    // saturated instead.
    int64_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff < params.diff_min) continue;
      const int32_t scaled = multiply_by_quantized_multiplier(diff, params.input_beta.multiplier,
                                                              params.input_beta.shift);
      const int32_t exp = fixed::exp_on_negative_values(scaled, kScaledDiffIntegerBits);
      sum += rounding_divide_by_power_of_two(exp, kAccumulationIntegerBits);
      sum = sum > INT32_MAX ? INT32_MAX : sum;
    }
    int bits_over_unit = 0;
    const int32_t reciprocal =
        fixed::reciprocal(static_cast<int32_t>(sum), kAccumulationIntegerBits, &bits_over_unit);
    // Up to 34 for int8 outputs when 512 or more values tie at the maximum: every probability
    // is then below 2^-9 and rounds to 0 (TFLite's shift by 32 or more is undefined there).
    const int exponent = bits_over_unit + 31 - kOutputBits;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff < params.diff_min) {
        out[c] = static_cast<Out>(lowest<Out>());
        continue;
      }
      const int32_t scaled = multiply_by_quantized_multiplier(diff, params.input_beta.multiplier,
                                                              params.input_beta.shift);
      const int32_t exp = fixed::exp_on_negative_values(scaled, kScaledDiffIntegerBits);
      const int32_t probability =
          exponent > 31 ? 0
                        : rounding_divide_by_power_of_two(
                              saturating_rounding_doubling_high_mul(reciprocal, exp), exponent);
      out[c] = static_cast<Out>(clamp(probability + lowest<Out>(), lowest<Out>(), highest<Out>()));
    }
  }
}

template <typename Out>
void quantize_values(const AffineQuantization& quantization, int32_t count, const float* input,
                     Out* output) {
  for (int32_t i = 0; i < count; ++i) {
    const float scaled = input[i] / quantization.scale;
    // Out-of-range (and NaN) inputs saturate instead of overflowing the conversion.
    const float bounded = scaled > 4.0e9f ? 4.0e9f : (scaled < -4.0e9f ? -4.0e9f : scaled);
    const int64_t value =
        static_cast<int64_t>(roundf(bounded == bounded ? bounded : 0.0f)) + quantization.zero_point;
    output[i] = static_cast<Out>(
        value < lowest<Out>() ? lowest<Out>() : (value > highest<Out>() ? highest<Out>() : value));
  }
}

template <typename In>
void dequantize_values(const AffineQuantization& quantization, int32_t count, const In* input,
                       float* output) {
  const double scale = quantization.scale;
  for (int32_t i = 0; i < count; ++i) {
    output[i] = static_cast<float>(scale * (input[i] - quantization.zero_point));
  }
}

// Linear interpolation in kSigmoidTableQ16 at a non-negative point given with `fraction_bits`
// bits below the table's step; beyond the table the result is `saturated`.
uint32_t interpolate_sigmoid(uint32_t magnitude, int fraction_bits, uint32_t saturated) {
  const uint32_t index = magnitude >> fraction_bits;
  if (index >= 255) return saturated;
  const uint32_t below = kSigmoidTableQ16[index];
  const uint32_t above = kSigmoidTableQ16[index + 1];  // the table rises monotonically
  const uint32_t fraction = magnitude & ((1u << fraction_bits) - 1u);
  return (below << fraction_bits) + fraction * (above - below);
}

int32_t to_sigmoid_grid(const SigmoidInt16Params& params, int16_t x) {
  const int32_t rounding = params.input_shift > 0 ? (1 << (params.input_shift - 1)) : 0;
  return (int32_t{x} * params.input_multiplier + rounding) >> params.input_shift;
}

// A 513-entry table over the int16 range: 512 intervals of 128 steps, interpolated.
int16_t lookup_int16(int16_t value, const int16_t* table) {
  const int32_t index = 256 + (int32_t{value} >> 7);
  const int32_t offset = value & 0x7f;
  const int32_t slope = int32_t{table[index + 1]} - int32_t{table[index]};
  return static_cast<int16_t>(table[index] + ((slope * offset + 64) >> 7));
}

int16_t saturate_int16(int64_t value) {
  return static_cast<int16_t>(value < INT16_MIN ? INT16_MIN
                                                : (value > INT16_MAX ? INT16_MAX : value));
}

}  // namespace

void requantize(const RequantizeParams& params, int32_t count, const int8_t* input,
                int8_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int8_t* input,
                int16_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int8_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int16_t* output) {
  requantize_values(params, count, input, output);
}

void requantize(const RequantizeParams& params, int32_t count, const int8_t* input,
                int32_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int32_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int32_t* input,
                int8_t* output) {
  requantize_values(params, count, input, output);
}
void requantize(const RequantizeParams& params, int32_t count, const int32_t* input,
                int16_t* output) {
  requantize_values(params, count, input, output);
}

void clamp(const FloatActivation& range, int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) {
    const float low = input[i] < range.min ? range.min : input[i];
    output[i] = low > range.max ? range.max : low;
  }
}

template <typename T>
void clamp_values(int32_t low, int32_t high, int32_t count, const T* input, T* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t value = input[i];
    output[i] = static_cast<T>(value < low ? low : (value > high ? high : value));
  }
}

void clamp(int32_t low, int32_t high, int32_t count, const int8_t* input, int8_t* output) {
  clamp_values(low, high, count, input, output);
}
void clamp(int32_t low, int32_t high, int32_t count, const int16_t* input, int16_t* output) {
  clamp_values(low, high, count, input, output);
}

void leaky_relu(const LeakyReluParams& params, int32_t count, const int8_t* input, int8_t* output) {
  leaky_relu_values(params, count, input, output);
}
void leaky_relu(const LeakyReluParams& params, int32_t count, const int16_t* input,
                int16_t* output) {
  leaky_relu_values(params, count, input, output);
}
void leaky_relu(float alpha, int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) output[i] = input[i] > 0.0f ? input[i] : input[i] * alpha;
}

void hard_swish(const HardSwishParams& params, int32_t count, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < count; ++i) {
    // The input with 7 bits of headroom, then the same value on the output scale (not yet
    // shifted) and the relu6(x + 3) / 6 factor in [0, 1].
    const int16_t hires = static_cast<int16_t>((input[i] - params.input_zero_point) * 128);
    const int16_t on_output_scale = rounding_doubling_high_mul16(hires, params.output_multiplier);
    int16_t reluish = hires;
    if (params.reluish_exponent > 0) {
      reluish = saturating_left_shift16(reluish, params.reluish_exponent - 1);
    }
    reluish = rounding_doubling_high_mul16(reluish, params.reluish_multiplier);
    if (params.reluish_exponent > 0) reluish = saturating_left_shift16(reluish, 1);
    if (params.reluish_exponent < 0) reluish = rounding_divide16(reluish, -params.reluish_exponent);
    reluish = static_cast<int16_t>((reluish + (1 << 15)) >> 1);  // [-1, 1] -> [0, 1]
    const int16_t product = doubling_high_mul16(reluish, on_output_scale);
    int32_t value = rounding_divide16(product, -params.output_exponent);
    value += params.output_zero_point;
    output[i] = static_cast<int8_t>(clamp(value, -128, 127));
  }
}
void hard_swish(int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) {
    const float x = input[i];
    const float relu6 = x + 3.0f < 0.0f ? 0.0f : (x + 3.0f > 6.0f ? 6.0f : x + 3.0f);
    output[i] = x * relu6 / 6.0f;
  }
}

void logistic(const SigmoidParams& params, int32_t count, const int8_t* input, int8_t* output) {
  constexpr int kInputIntegerBits = 4;
  for (int32_t i = 0; i < count; ++i) {
    const int32_t value = input[i] - params.input_zero_point;
    if (value <= -params.input_radius) {
      output[i] = -128;
    } else if (value >= params.input_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 = multiply_by_quantized_multiplier(value, params.input_scale.multiplier,
                                                          params.input_scale.shift);
      const int32_t q0 = fixed::logistic(q4, kInputIntegerBits);
      output[i] =
          static_cast<int8_t>(clamp(rounding_divide_by_power_of_two(q0, 23) - 128, -128, 127));
    }
  }
}
void logistic(int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) output[i] = 1.0f / (1.0f + expf(-input[i]));
}

void tanh(const SigmoidParams& params, int32_t count, const int8_t* input, int8_t* output) {
  constexpr int kInputIntegerBits = 4;
  for (int32_t i = 0; i < count; ++i) {
    const int32_t value = input[i] - params.input_zero_point;
    if (value <= -params.input_radius) {
      output[i] = -128;
    } else if (value >= params.input_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 = multiply_by_quantized_multiplier(value, params.input_scale.multiplier,
                                                          params.input_scale.shift);
      const int32_t q0 = fixed::tanh(q4, kInputIntegerBits);
      output[i] = static_cast<int8_t>(clamp(rounding_divide_by_power_of_two(q0, 24), -128, 127));
    }
  }
}
void tanh(int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) output[i] = tanhf(input[i]);
}

void softmax(const SoftmaxParams& params, int32_t rows, int32_t depth, const int8_t* input,
             int8_t* output) {
  softmax_rows(params, rows, depth, input, output);
}
void softmax(const SoftmaxParams& params, int32_t rows, int32_t depth, const int8_t* input,
             int16_t* output) {
  softmax_rows(params, rows, depth, input, output);
}
void softmax(float beta, int32_t rows, int32_t depth, const float* input, float* output) {
  for (int32_t row = 0; row < rows; ++row) {
    const float* in = input + row * depth;
    float* out = output + row * depth;
    float largest = in[0];
    for (int32_t c = 1; c < depth; ++c) largest = in[c] > largest ? in[c] : largest;
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; ++c) {
      out[c] = expf((in[c] - largest) * beta);
      sum += out[c];
    }
    for (int32_t c = 0; c < depth; ++c) out[c] /= sum;
  }
}

void logistic(const SigmoidInt16Params& params, int32_t count, const int16_t* input,
              int16_t* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t x = to_sigmoid_grid(params, input[i]);
    const uint32_t magnitude = static_cast<uint32_t>(x < 0 ? -x : x);
    const uint32_t y = interpolate_sigmoid(magnitude, 9, 0x7fffu << 10);  // Q0.26
    // sigmoid(-x) = 1 - sigmoid(x); then back to Q0.15 with rounding.
    const uint32_t q = x >= 0 ? y + (1u << 9) : (1u << 25) - y + (1u << 9) - 1u;
    output[i] = static_cast<int16_t>(q >> 10);
  }
}

void tanh(const SigmoidInt16Params& params, int32_t count, const int16_t* input, int16_t* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t x = to_sigmoid_grid(params, input[i]);
    const uint32_t magnitude = static_cast<uint32_t>(x < 0 ? -x : x);
    // tanh(x) = 2 sigmoid(2x) - 1: the table read at twice the rate, centred on zero.
    const int32_t y = static_cast<int32_t>(interpolate_sigmoid(magnitude, 8, 0xffffu << 8));
    const int32_t q = x >= 0 ? y - (1 << 23) + (1 << 7) : (1 << 23) - y + (1 << 7) - 1;
    output[i] = static_cast<int16_t>(q >> 8);
  }
}

void softmax(const SoftmaxInt16Params& params, int32_t rows, int32_t depth, const int16_t* input,
             int16_t* output) {
  for (int32_t row = 0; row < rows; ++row) {
    const int16_t* in = input + row * depth;
    int16_t* out = output + row * depth;
    int16_t max_in_row = INT16_MIN;
    for (int32_t c = 0; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;

    // exp of each difference (Q0.15), kept in the output until the sum is known. Beyond 65537
    // values the int32 sum of TFLite can overflow; it is saturated instead.
    int64_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t scaled = multiply_by_quantized_multiplier(
          int32_t{in[c]} - max_in_row, params.input_beta.multiplier, params.input_beta.shift);
      out[c] = lookup_int16(saturate_int16(int64_t{scaled} + 32767), params.exp_table);
      sum += out[c];
      sum = sum > INT32_MAX ? INT32_MAX : sum;
    }
    const int32_t sum_of_exps = static_cast<int32_t>(sum);
    // 1 / sum from the 1/(1+x) table: the sum normalised to [1, 2), recentred on the int16 range.
    const int headroom_plus_one = count_leading_zeros(static_cast<uint32_t>(sum_of_exps));
    const int64_t normalised =
        ((int64_t{sum_of_exps} << (headroom_plus_one - 1)) + (1 << 13)) >> 14;
    const int16_t reciprocal =
        lookup_int16(saturate_int16(normalised - (1 << 15) - (1 << 16)), params.reciprocal_table);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t rounding = int64_t{1} << (right_shift - 1);
    for (int32_t c = 0; c < depth; ++c) {
      const int64_t p = (int64_t{out[c]} * reciprocal + rounding) >> right_shift;
      out[c] = static_cast<int16_t>(p < 0 ? 0 : (p > INT16_MAX ? INT16_MAX : p));
    }
  }
}

void quantize(const AffineQuantization& quantization, int32_t count, const float* input,
              int8_t* output) {
  quantize_values(quantization, count, input, output);
}
void quantize(const AffineQuantization& quantization, int32_t count, const float* input,
              int16_t* output) {
  quantize_values(quantization, count, input, output);
}
void dequantize(const AffineQuantization& quantization, int32_t count, const int8_t* input,
                float* output) {
  dequantize_values(quantization, count, input, output);
}
void dequantize(const AffineQuantization& quantization, int32_t count, const int16_t* input,
                float* output) {
  dequantize_values(quantization, count, input, output);
}

namespace {

template <typename T>
void absolute_quantized(int32_t input_zero_point, int32_t output_zero_point, bool rescale,
                        int32_t multiplier, int32_t shift, int32_t count, const T* input,
                        T* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t centred = input[i] - input_zero_point;
    const int32_t magnitude = centred < 0 ? -centred : centred;
    const int32_t scaled =
        rescale ? multiply_by_quantized_multiplier(magnitude, multiplier, shift) : magnitude;
    output[i] =
        static_cast<T>(clamp_with_offset(scaled, output_zero_point, lowest<T>(), highest<T>()));
  }
}

}  // namespace

void absolute(int32_t input_zero_point, int32_t output_zero_point, bool rescale, int32_t multiplier,
              int32_t shift, int32_t count, const int8_t* input, int8_t* output) {
  absolute_quantized(input_zero_point, output_zero_point, rescale, multiplier, shift, count, input,
                     output);
}

void absolute(int32_t input_zero_point, int32_t output_zero_point, bool rescale, int32_t multiplier,
              int32_t shift, int32_t count, const int16_t* input, int16_t* output) {
  absolute_quantized(input_zero_point, output_zero_point, rescale, multiplier, shift, count, input,
                     output);
}

void absolute(int32_t count, const int16_t* input, int16_t* output) {
  for (int32_t i = 0; i < count; ++i) {
    const int32_t value = input[i];
    output[i] = static_cast<int16_t>(value < 0 ? -value : value);
  }
}

void absolute(int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) output[i] = fabsf(input[i]);
}

void negate(int32_t count, const float* input, float* output) {
  for (int32_t i = 0; i < count; ++i) output[i] = -input[i];
}

}  // namespace tinydeploy::runtime
