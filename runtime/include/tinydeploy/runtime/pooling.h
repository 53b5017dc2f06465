// AVERAGE_POOL_2D and MAX_POOL_2D over NHWC tensors (int8, int16, float32). Windows are clipped
// to the input: padding is never averaged in.
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

struct PoolGeometry {
  int32_t stride_h = 1;
  int32_t stride_w = 1;
  int32_t filter_h = 1;
  int32_t filter_w = 1;
  int32_t pad_top = 0;
  int32_t pad_left = 0;
};

// Quantized pools keep the input's scale and zero point; `min`/`max` clamp the result.
struct PoolClamp {
  int32_t min = -128;
  int32_t max = 127;
};

void average_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
                  const int8_t* input, const Dims4& output_dims, int8_t* output);
void average_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
                  const int16_t* input, const Dims4& output_dims, int16_t* output);
void average_pool(const PoolGeometry& geometry, const FloatActivation& activation,
                  const Dims4& input_dims, const float* input, const Dims4& output_dims,
                  float* output);

void max_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
              const int8_t* input, const Dims4& output_dims, int8_t* output);
void max_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
              const int16_t* input, const Dims4& output_dims, int16_t* output);
void max_pool(const PoolGeometry& geometry, const FloatActivation& activation,
              const Dims4& input_dims, const float* input, const Dims4& output_dims, float* output);

}  // namespace tinydeploy::runtime
