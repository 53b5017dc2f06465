// CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED as TFLite defines them:
// int8 activations with int8 weights and int32 bias; int16 activations with int8 weights and
// int32 or int64 bias (the accumulator has the bias's width); float32.
//
// All parameters are prepared ahead of time (padding offsets, zero points as offsets,
// per-channel multipliers and shifts, activation range); the integer kernels only do integer
// arithmetic. An optimized variant for a given core replaces these definitions behind the same
// declarations (the portable ones are built unless a target provides its own).
//
// Every kernel here relies on what lowering (src/tinydeploy/lowering/) checks before it
// prepares a call, listed under "Requires:". Common to all of them:
// - the dims are the tensors' own, every tensor has fewer than 2^31 elements, and the pointers
//   hold that many (bias: one element per output channel, or null);
// - quantized: zero points within the activation type's range (0 for int16 activations and
//   the weights), `scale` holds one multiplier per output channel (or one with per-tensor
//   weights) with shifts in [-31, 30] for an int32 accumulator and [-31, 14] for an int64 one,
//   and min <= max within the output type;
// - quantized: |accumulator| <= INT32_MAX (int8 activations) or < 2^47 (int64 accumulators) for
//   every input, checked from the constant weights and bias (input magnitude x sum of
//   |weights| + |bias| per channel). int32 sums wrap on overflow (reachable with 16-bit
//   activations and an int32 bias, where TFLite's sums wrap too).
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// Requires: strides and dilations >= 1, pads >= 0, and every window position
// (out - 1) * stride + (taps - 1) * dilation, and each pad, at most INT32_MAX.
struct ConvGeometry {
  int32_t stride_h = 1;
  int32_t stride_w = 1;
  int32_t dilation_h = 1;
  int32_t dilation_w = 1;
  int32_t pad_top = 0;  // rows of implicit zero-point padding before the input
  int32_t pad_left = 0;
};

// Filter [out_c, kh, kw, in_c / groups]; bias may be null. Output dims are prepared.
// Requires: input.n == output.n, filter.n == output.c, filter.c divides input.c and the group
// count input.c / filter.c divides output.c.
void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
          const Dims4& output_dims, int8_t* output);
void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
          const Dims4& output_dims, int16_t* output);
void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int64_t* bias,
          const Dims4& output_dims, int16_t* output);
void conv(const ConvGeometry& geometry, const FloatActivation& activation, const Dims4& input_dims,
          const float* input, const Dims4& filter_dims, const float* filter, const float* bias,
          const Dims4& output_dims, float* output);

// Hybrid CONV_2D (float activations, int8 weights, float bias): each batch of the input is
// quantized to int8 on the fly (into `quantized_input`, one byte per input element), the
// products are summed in int32 and scaled back to float. With per-channel weight scales the
// input is quantized asymmetrically, otherwise symmetrically; `weight_scales` holds one scale
// per output channel, or one for all.
// Requires: as conv, dilations 1, `quantized_input` holds input.n * h * w * c bytes, and 255 x
// the sum of |weights| of each output channel <= INT32_MAX.
void conv_hybrid(const ConvGeometry& geometry, const FloatActivation& activation,
                 const float* weight_scales, bool per_channel, const Dims4& input_dims,
                 const float* input, const Dims4& filter_dims, const int8_t* filter,
                 const float* bias, const Dims4& output_dims, float* output,
                 int8_t* quantized_input);

// Filter [1, kh, kw, in_c * depth_multiplier]; output channel oc reads input channel
// oc / depth_multiplier.
// Requires: input.n == output.n, filter.n == 1, filter.c == output.c ==
// input.c * depth_multiplier.
void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                    int8_t* output);
void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int16_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                    int16_t* output);
void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int16_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int64_t* bias, const Dims4& output_dims,
                    int16_t* output);
void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const FloatActivation& activation, const Dims4& input_dims, const float* input,
                    const Dims4& filter_dims, const float* filter, const float* bias,
                    const Dims4& output_dims, float* output);

// The gradient of CONV_2D: every input pixel scatters filter * value into the output. Filter
// [out_c, kh, kw, in_c]; `geometry` padding is the amount cropped from the full scatter. The
// quantized forms accumulate in `scratch` (one accumulator per output element).
// Requires: input.n == output.n (each input batch scatters into the same output batch),
// filter.n == output.c, filter.c == input.c, dilations 1, and (input - 1) * stride + taps and
// the pads at most INT32_MAX; `scratch` holds one accumulator per output element.
void transpose_conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
                    const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                    const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
                    const Dims4& output_dims, int8_t* output, int32_t* scratch);
void transpose_conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
                    const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
                    const Dims4& filter_dims, const int8_t* filter, const int64_t* bias,
                    const Dims4& output_dims, int16_t* output, int64_t* scratch);
void transpose_conv(const ConvGeometry& geometry, const FloatActivation& activation,
                    const Dims4& input_dims, const float* input, const Dims4& filter_dims,
                    const float* filter, const float* bias, const Dims4& output_dims,
                    float* output);

// rows x features input times [units, features] weights. `per_channel` selects one scale per
// unit; otherwise the scale arrays hold one entry. `weights_offset` is minus the weights' zero
// point (0 for symmetric weights).
// Requires: input holds rows * features elements, weights units * features, output rows *
// units, each fewer than 2^31; the accumulator bound counts |weight + weights_offset|.
struct FullyConnectedShape {
  int32_t rows = 1;
  int32_t features = 1;
  int32_t units = 1;
};
void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int8_t* input, const int8_t* weights, const int32_t* bias,
                     int8_t* output);
void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int16_t* input, const int8_t* weights, const int32_t* bias,
                     int16_t* output);
void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int16_t* input, const int8_t* weights, const int64_t* bias,
                     int16_t* output);
void fully_connected(const FloatActivation& activation, const FullyConnectedShape& shape,
                     const float* input, const float* weights, const float* bias, float* output);

}  // namespace tinydeploy::runtime
