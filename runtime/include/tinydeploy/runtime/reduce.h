// MEAN and SUM over any set of axes (int8, int16, float32), REDUCE_MAX and REDUCE_MIN (int8,
// float32), ARG_MAX and ARG_MIN.
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// Input dims right-aligned to kMaxRank and, per dim, the stride of the output element each
// input element adds to (0 along reduced axes).
// Requires: input and output (output_elements) each fewer than 2^31 elements, output_stride the
// output's contiguous strides (0 along reduced dims), reduced_elements = input / output.
struct ReduceShape {
  int32_t input_dims[kMaxRank] = {1, 1, 1, 1, 1, 1};
  int32_t output_stride[kMaxRank] = {};
  int32_t output_elements = 1;
  int32_t reduced_elements = 1;  // input elements per output element
};

// Quantized MEAN and SUM: sum(x - in_zp) * scale + out_zp, where scale is in_scale / out_scale
// for SUM and, for MEAN, also divided by the count (folded into the prepared multiplier).
// `scratch` holds one int32 per output.
// Requires: zero points within the type's range, (128 or 32768 + |input zero point|) x
// reduced_elements at most INT32_MAX (the int32 sums cannot overflow), shift in [-31, 30].
struct MeanParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  Requantization scale;
};
void mean(const MeanParams& params, const ReduceShape& shape, const int8_t* input, int8_t* output,
          int32_t* scratch);
void mean(const MeanParams& params, const ReduceShape& shape, const int16_t* input, int16_t* output,
          int32_t* scratch);
void mean(const ReduceShape& shape, const float* input, float* output);
void sum(const ReduceShape& shape, const float* input, float* output);

// REDUCE_MAX (`largest`) or REDUCE_MIN with TFLite's start values: the type's lowest (highest)
// finite value, which an empty reduction leaves in place.
// Requires: as ReduceShape; int8 input and output share one quantization.
void reduce_max_min(const ReduceShape& shape, bool largest, const int8_t* input, int8_t* output);
void reduce_max_min(const ReduceShape& shape, bool largest, const float* input, float* output);

// ARG_MAX (`largest`) or ARG_MIN over the middle axis of an [outer, axis_size, inner] view: the
// first index of the largest (smallest) value, by plain > (<) as TFLite's comparison, so a NaN
// never takes the place of a value.
// Requires: axis_size >= 1, outer x axis_size x inner fewer than 2^31 elements, the output
// holding outer x inner indices.
void arg_min_max(int32_t outer, int32_t axis_size, int32_t inner, bool largest, const int8_t* input,
                 int32_t* output);
void arg_min_max(int32_t outer, int32_t axis_size, int32_t inner, bool largest, const float* input,
                 int32_t* output);

}  // namespace tinydeploy::runtime
