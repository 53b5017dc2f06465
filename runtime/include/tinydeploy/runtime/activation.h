// Element-wise activations (RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH),
// SOFTMAX over the last dimension, and the conversions QUANTIZE / DEQUANTIZE / requantize.
//
// Common requirement (checked by lowering): `count` (or rows x depth) elements in each buffer,
// fewer than 2^31; zero points within their type's range (int32 for int32 tensors); scales
// positive and finite; every prepared shift within its helper's range (fixed_point.h).
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// out = clamp(out_zp + (x - in_zp) * in_scale / out_scale, min, max): the quantized RELU
// family and requantization between int8 and int16 (QUANTIZE with an integer input).
// Requires: shift in [-31, 30], min <= max within the output type.
struct RequantizeParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  Requantization scale;
  int32_t min = -128;
  int32_t max = 127;
};
void requantize(const RequantizeParams& params, int32_t count, const int8_t* input, int8_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int8_t* input,
                int16_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int8_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int16_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int8_t* input,
                int32_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int16_t* input,
                int32_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int32_t* input,
                int8_t* output);
void requantize(const RequantizeParams& params, int32_t count, const int32_t* input,
                int16_t* output);

// Float RELU family: a plain clamp.
void clamp(const FloatActivation& range, int32_t count, const float* input, float* output);

// The quantized RELU6 as TensorFlow Lite Micro computes it: each input value clamped to
// [low, high] (the input's zero point and its quantized 6), stored as it is, whatever the output's
// quantization. Requires: low <= high, both within the type's range.
void clamp(int32_t low, int32_t high, int32_t count, const int8_t* input, int8_t* output);
void clamp(int32_t low, int32_t high, int32_t count, const int16_t* input, int16_t* output);

// Requires: both shifts in [-31, 30] (alpha finite).
struct LeakyReluParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  Requantization identity;  // in_scale / out_scale, for x >= 0
  Requantization alpha;     // |alpha| * in_scale / out_scale, for x < 0
  bool alpha_negative = false;
};
void leaky_relu(const LeakyReluParams& params, int32_t count, const int8_t* input, int8_t* output);
void leaky_relu(const LeakyReluParams& params, int32_t count, const int16_t* input,
                int16_t* output);
void leaky_relu(float alpha, int32_t count, const float* input, float* output);

// x * relu6(x + 3) / 6 in 16-bit fixed point (Q15 multipliers).
// Requires: output_exponent in [-31, 0], reluish_exponent in [-31, 30].
struct HardSwishParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  int16_t reluish_multiplier = 0;
  int32_t reluish_exponent = 0;
  int16_t output_multiplier = 0;
  int32_t output_exponent = 0;
};
void hard_swish(const HardSwishParams& params, int32_t count, const int8_t* input, int8_t* output);
void hard_swish(int32_t count, const float* input, float* output);

// int8 LOGISTIC (output scale 1/256, zero point -128) and TANH (scale 1/128, zero point 0):
// the input is rescaled to Q4.27 and saturates beyond +-input_radius.
// Requires: the output quantization above, input_scale.shift in [0, 30].
struct SigmoidParams {
  int32_t input_zero_point = 0;
  int32_t input_radius = 0;
  Requantization input_scale;
};
void logistic(const SigmoidParams& params, int32_t count, const int8_t* input, int8_t* output);
void logistic(int32_t count, const float* input, float* output);
void tanh(const SigmoidParams& params, int32_t count, const int8_t* input, int8_t* output);
void tanh(int32_t count, const float* input, float* output);

// int16 LOGISTIC and TANH (zero points 0, output scale 2^-15): the input is rescaled to the grid
// of kSigmoidTableQ16 (x * input_multiplier, rounded right shift by input_shift) and the table is
// interpolated linearly.
// Requires: zero points 0, output scale 2^-15, input_multiplier in [0, 32767] and input_shift in
// [0, 31] (x * multiplier plus the rounding term fits int32).
struct SigmoidInt16Params {
  int32_t input_multiplier = 0;
  int32_t input_shift = 0;
};
extern const uint16_t kSigmoidTableQ16[256];  // sigmoid(i / 24) in Q0.16
void logistic(const SigmoidInt16Params& params, int32_t count, const int16_t* input,
              int16_t* output);
void tanh(const SigmoidInt16Params& params, int32_t count, const int16_t* input, int16_t* output);

// int8 SOFTMAX to int8 (scale 1/256, zero point -128) or int16 (scale 1/65536, zero point
// -32768): differences from the row maximum, scaled by beta * input_scale into Q5.26.
// Requires: depth >= 1, input_beta.shift in [0, 30] (beta > 0 and finite) and diff_min the
// input radius for that shift, so that scaled differences stay within int32. The sum of exps
// saturates where TFLite's would overflow (4096 or more values at the maximum).
struct SoftmaxParams {
  Requantization input_beta;
  int32_t diff_min = 0;  // differences below this contribute nothing
};
void softmax(const SoftmaxParams& params, int32_t rows, int32_t depth, const int8_t* input,
             int8_t* output);
void softmax(const SoftmaxParams& params, int32_t rows, int32_t depth, const int8_t* input,
             int16_t* output);
// Requires: depth >= 1, beta finite.
void softmax(float beta, int32_t rows, int32_t depth, const float* input, float* output);

// int16 SOFTMAX (input zero point 0, output scale 2^-15): differences from the row maximum are
// scaled so that [-10, 0] spans the exp table, and the sum's reciprocal comes from the 1/(1+x)
// table. Both tables have kInt16LutSize entries, interpolated linearly, prepared on the host.
// Requires: depth >= 1, zero points 0, input_beta.shift in [-31, 30] (beta > 0 and finite).
constexpr int32_t kInt16LutSize = 513;
struct SoftmaxInt16Params {
  Requantization input_beta;
  const int16_t* exp_table = nullptr;
  const int16_t* reciprocal_table = nullptr;
};
void softmax(const SoftmaxInt16Params& params, int32_t rows, int32_t depth, const int16_t* input,
             int16_t* output);

// QUANTIZE from float and DEQUANTIZE to float: the model's real-valued scale is the definition.
// Requires: scale positive and finite, zero point within the integer type's range.
struct AffineQuantization {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
void quantize(const AffineQuantization& quantization, int32_t count, const float* input,
              int8_t* output);
void quantize(const AffineQuantization& quantization, int32_t count, const float* input,
              int16_t* output);
void dequantize(const AffineQuantization& quantization, int32_t count, const int8_t* input,
                float* output);
void dequantize(const AffineQuantization& quantization, int32_t count, const int16_t* input,
                float* output);

// ABS on quantized values, as TFLite Micro: |x - input_zero_point|, times (multiplier, shift)
// when `rescale` (the two scales differ), plus output_zero_point, saturated to the type.
// Requires: zero points within the type's range (0 for int16), shift in [-31, 30] when rescale.
void absolute(int32_t input_zero_point, int32_t output_zero_point, bool rescale, int32_t multiplier,
              int32_t shift, int32_t count, const int8_t* input, int8_t* output);
void absolute(int32_t input_zero_point, int32_t output_zero_point, bool rescale, int32_t multiplier,
              int32_t shift, int32_t count, const int16_t* input, int16_t* output);
// ABS of int16 without quantization: |x| wrapped to int16 (-32768 stays -32768), as TFLite
// Micro's plain integer path gives it.
void absolute(int32_t count, const int16_t* input, int16_t* output);
void absolute(int32_t count, const float* input, float* output);
// NEG (float32 only in TFLite Micro).
void negate(int32_t count, const float* input, float* output);

}  // namespace tinydeploy::runtime
