// Convolution kernels (CONV_2D, DEPTHWISE_CONV_2D) and FULLY_CONNECTED for int8 activations
// with int8 weights, per-channel requantization and int32 bias, as TFLite defines them.
//
// All parameters are prepared ahead of time (padding offsets, zero points as offsets,
// per-channel multipliers and shifts, activation range); the kernels only do integer
// arithmetic. An optimized variant for a given core replaces these definitions behind the same
// declarations (the portable ones are built unless a target provides its own).
#pragma once

#include <stdint.h>

namespace tinydeploy::runtime {

// NHWC activation shape / OHWI filter shape.
struct Dims4 {
  int32_t n = 1;
  int32_t h = 1;
  int32_t w = 1;
  int32_t c = 1;
};

struct QuantizedActivation {
  int32_t input_offset = 0;   // minus the input zero point
  int32_t output_offset = 0;  // the output zero point
  int32_t min = -128;         // clamp of the fused activation, in output units
  int32_t max = 127;
};

struct PerChannelScale {
  const int32_t* multiplier = nullptr;  // one per output channel
  const int32_t* shift = nullptr;
};

struct ConvGeometry {
  int32_t stride_h = 1;
  int32_t stride_w = 1;
  int32_t dilation_h = 1;
  int32_t dilation_w = 1;
  int32_t pad_top = 0;  // rows of implicit zero-point padding before the input
  int32_t pad_left = 0;
};

// Filter [out_c, kh, kw, in_c / groups]; bias may be null. Output dims are prepared.
void conv_s8(const ConvGeometry& geometry, const QuantizedActivation& activation,
             const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
             const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
             const Dims4& output_dims, int8_t* output);

// Filter [1, kh, kw, in_c * depth_multiplier]; output channel oc reads input channel
// oc / depth_multiplier.
void depthwise_conv_s8(const ConvGeometry& geometry, int32_t depth_multiplier,
                       const QuantizedActivation& activation, const PerChannelScale& scale,
                       const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                       const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                       int8_t* output);

// rows x features input times [units, features] weights. Per-tensor quantization passes
// a scale whose arrays hold one entry and `per_channel` false.
void fully_connected_s8(const QuantizedActivation& activation, const PerChannelScale& scale,
                        bool per_channel, int32_t rows, int32_t features, const int8_t* input,
                        int32_t units, const int8_t* weights, const int32_t* bias, int8_t* output);

}  // namespace tinydeploy::runtime
