// ADD, SUB, MUL, MAXIMUM, MINIMUM and PRELU with NumPy-style broadcasting (int8, int16,
// float32).
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// The output's dims (right-aligned to kMaxRank, leading dims 1) and, per dim, the element
// stride of each input, 0 where that input is broadcast along it.
// Requires: the strides are the inputs' own contiguous strides (or 0), every tensor has fewer
// than 2^31 elements (zero dims counted as 1), and the dims are the output's.
struct BroadcastShape {
  int32_t dims[kMaxRank] = {1, 1, 1, 1, 1, 1};
  int32_t stride1[kMaxRank] = {};
  int32_t stride2[kMaxRank] = {};
};

// Quantized ADD and SUB: both inputs are brought to a common scale with `left_shift` bits of
// headroom (20 for int8, 15 for int16), summed, then rescaled to the output.
// Requires: offsets are minus zero points within the type's range (0 for int16), input
// multipliers at most 1/2 (so the sum of the rescaled inputs fits int32), every shift in
// [-31, 30], min <= max within the type.
struct AddParams {
  int32_t input1_offset = 0;  // minus the zero points
  int32_t input2_offset = 0;
  int32_t output_offset = 0;
  int32_t left_shift = 20;
  Requantization input1;
  Requantization input2;
  Requantization output;
  int32_t min = -128;  // fused activation clamp
  int32_t max = 127;
};

// Requires: offsets as AddParams (the product of two offset inputs then fits int32), shift in
// [-31, 30], min <= max within the type.
struct MulParams {
  int32_t input1_offset = 0;
  int32_t input2_offset = 0;
  int32_t output_offset = 0;
  Requantization output;
  int32_t min = -128;
  int32_t max = 127;
};

void add(const AddParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output);
void add(const AddParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output);
void add(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output);

void sub(const AddParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output);
void sub(const AddParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output);
void sub(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output);

void mul(const MulParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output);
void mul(const MulParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output);
void mul(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output);

// Inputs and output share one quantization, so the raw values compare directly.
// Requires: the same type and quantization on both inputs and the output.
void maximum(const BroadcastShape& shape, const int8_t* input1, const int8_t* input2,
             int8_t* output);
void maximum(const BroadcastShape& shape, const int16_t* input1, const int16_t* input2,
             int16_t* output);
void maximum(const BroadcastShape& shape, const float* input1, const float* input2, float* output);
void minimum(const BroadcastShape& shape, const int8_t* input1, const int8_t* input2,
             int8_t* output);
void minimum(const BroadcastShape& shape, const int16_t* input1, const int16_t* input2,
             int16_t* output);
void minimum(const BroadcastShape& shape, const float* input1, const float* input2, float* output);

// PRELU: x where x >= 0, else alpha x. Quantized as TFLite: a centred input (input1_offset)
// that is not negative is rescaled by (positive_multiplier, positive_shift), a negative one is
// multiplied by the centred alpha (input2_offset) and rescaled by params.output; then the
// output offset and the clamp [min, max]. int16 inputs take int8 alphas.
// Requires: as MulParams (offsets minus zero points within the types' ranges), both shifts in
// [-31, 30].
void prelu(const MulParams& params, int32_t positive_multiplier, int32_t positive_shift,
           const BroadcastShape& shape, const int8_t* input, const int8_t* alpha, int8_t* output);
void prelu(const MulParams& params, int32_t positive_multiplier, int32_t positive_shift,
           const BroadcastShape& shape, const int16_t* input, const int8_t* alpha, int16_t* output);
void prelu(const BroadcastShape& shape, const float* input, const float* alpha, float* output);

}  // namespace tinydeploy::runtime
