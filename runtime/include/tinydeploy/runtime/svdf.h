// SVDF (a rank-decomposed time filter over a sliding memory of past feature activations) as
// TFLite Micro defines it: float32; int8 input and output with an int16 activation state and
// int16 time weights; int8 input and output with an int8 state and int8 time weights.
//
// Each invoke: the state, [batches][filters][memory] values, moves one position to the left as a
// whole; each (batch, filter) row's last position receives the feature dot product
// input[batch] . weights_feature[filter] (rescaled to the state's units on the integer paths);
// each filter's memory row is then dotted with its weights_time row; the `rank` consecutive
// filters of a unit are summed with the unit's bias into the output (rescaled to the output's
// units on the integer paths).
//
// Requires (lowering checks it before it prepares a call):
// - every SvdfShape field >= 1, filters = units * rank, batches * filters * memory and every
//   operand's element count below 2^31; input holds batches * input_size elements,
//   weights_feature filters * input_size, weights_time filters * memory, state batches *
//   filters * memory, bias units (or null), output batches * units;
// - `scratch` holds batches * filters elements (one time-filter result per batch and filter);
// - none of the buffers overlap.
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

struct SvdfShape {
  int32_t batches = 1;
  int32_t input_size = 1;
  int32_t filters = 1;  // units * rank
  int32_t rank = 1;
  int32_t memory = 1;  // past activations kept per filter
};

// The fused activation of float SVDF, numbered as the model schema numbers it. The integer
// paths take none: TFLite Micro saturates their output to int8 whatever the model's activation.
constexpr int32_t kSvdfActivationNone = 0;
constexpr int32_t kSvdfActivationRelu = 1;
constexpr int32_t kSvdfActivationReluN1To1 = 2;
constexpr int32_t kSvdfActivationRelu6 = 3;
constexpr int32_t kSvdfActivationTanh = 4;
constexpr int32_t kSvdfActivationSignBit = 5;

// Zero points and the two rescalings of the integer paths: `feature` takes input x
// weights_feature products to state units, `time` takes state x weights_time products to output
// units. The weights are symmetric.
// Requires: input_offset = minus an int8 zero point, state_zero_point within the state type (0
// with an int16 state), output_zero_point within int8, both shifts in [-31, 30].
struct SvdfQuantization {
  int32_t input_offset = 0;
  int32_t state_zero_point = 0;
  int32_t output_zero_point = 0;
  Requantization feature;
  Requantization time;
};

// Integer sums are taken in int32 and wrap on overflow as TFLite Micro's do (its time sums of
// int16 products can exceed int32 with a large memory); the rescaled feature value is saturated
// to the state type and then offset by the state zero point in the state type's width.
void svdf(const SvdfQuantization& quantization, const SvdfShape& shape, const int8_t* input,
          const int8_t* weights_feature, const int16_t* weights_time, const int32_t* bias,
          int16_t* state, int8_t* output, int32_t* scratch);
void svdf(const SvdfQuantization& quantization, const SvdfShape& shape, const int8_t* input,
          const int8_t* weights_feature, const int8_t* weights_time, const int32_t* bias,
          int8_t* state, int8_t* output, int32_t* scratch);
// Requires: `activation` one of the kSvdfActivation values.
void svdf(int32_t activation, const SvdfShape& shape, const float* input,
          const float* weights_feature, const float* weights_time, const float* bias, float* state,
          float* output, float* scratch);

}  // namespace tinydeploy::runtime
