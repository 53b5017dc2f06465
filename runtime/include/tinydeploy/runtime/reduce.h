// MEAN over any set of axes (int8, int16, float32).
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

// Quantized MEAN: sum(x - in_zp) * (in_scale / out_scale / count) + out_zp, the division by
// the count folded into the prepared multiplier. `scratch` holds one int32 per output.
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

}  // namespace tinydeploy::runtime
