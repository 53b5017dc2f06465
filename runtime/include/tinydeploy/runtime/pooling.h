// AVERAGE_POOL_2D and MAX_POOL_2D over NHWC tensors (int8, int16, float32). Windows are clipped
// to the input: padding is never averaged in.
//
// Requires (checked by lowering): input and output share batch, channels, type and (quantized)
// scale and zero point; strides and filter sizes >= 1, pads >= 0, and (out - 1) * stride +
// filter at most INT32_MAX along each axis; fewer than 2^31 elements per tensor. The quantized
// average sums a window in int32: (filter_h x filter_w, clipped to the input) x 129 (int8) or
// 32769 (int16) at most INT32_MAX. min <= max within the type.
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
