// Helium (MVE) variants of the conv family for the Cortex-M55. Each one has the semantics of the
// portable kernel it replaces (conv.h), bit for bit; its argument list is the portable one
// unless its comment names prepared constants or scratch. Where the compiler does not target
// MVE (the host tool, which records and binds the calls lowering makes for a Cortex-M55) they
// are the portable kernels, or plain loops over the same prepared data.
#pragma once

#include "tinydeploy/runtime/conv.h"

namespace tinydeploy::runtime {

// int8 FULLY_CONNECTED as `fully_connected` (int8 input, int32 bias) defines it.
//
// The input offset is folded out of the inner loop: sum((x + io) * (w + wo)) = sum(x * w) +
// io * sum(w) + wo * (sum(x) + features * io), all taken modulo 2^32 like the portable int32
// accumulator, so the loop is a plain int8 dot product. Nothing is prepared ahead of time yet
// (the argument list is the portable one): with one row, io * sum(w) enters the same
// accumulator as dot(w, splat(io)) (io split into two int8 constants when it is 128); with
// several rows, the weight sums of each block of units are computed once before its rows.
// sum(x) only when wo != 0. Four units share each 16-byte input load; the feature tail is one
// predicated step (vctp8q). Requantization is the scalar multiply_by_quantized_multiplier.
//
// A 1x1 CONV_2D with stride 1, no padding and one group is the same computation: rows =
// n * h * w, features = input channels, units = output channels, weights_offset = 0.
//
// Requires: as `fully_connected`.
void fully_connected_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, int32_t weights_offset,
                            const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* bias, int8_t* output);

// As the int8 conv of conv.h for a 1x1 filter with stride 1, no padding and one group (filter
// [out_c, 1, 1, in_c], one scale per output channel): the fully connected product above with
// rows = n * h * w, features = in_c, units = out_c and symmetric weights.
// Requires: filter.h == filter.w == 1, filter.c == input.c, filter.n == output.c, and output.n,
// h, w equal to the input's.
void conv_1x1_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                     const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                     const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                     int8_t* output);

// Bytes of scratch conv_s8_mve needs: one window of the filter's size.
inline int32_t conv_s8_mve_scratch_bytes(const Dims4& filter_dims) {
  return filter_dims.h * filter_dims.w * filter_dims.c;
}

// As the int8 conv of conv.h for any filter, stride, dilation and padding with one group
// (filter.c == input.c): each output pixel's window is copied into `scratch` (im2col), padded
// positions holding the input zero point, then multiplied with four output channels per pass.
// The input offset is folded into prepared constants: `folded_bias[u]` == bias[u] +
// input_offset * (sum of filter[u]) (0 for a missing bias), taken modulo 2^32; the accumulator
// bound of conv.h holds for the unfolded sum, so the final sum is exact.
// Requires: filter.c == input.c; `scratch` holds conv_s8_mve_scratch_bytes(filter_dims);
// input_offset in [-127, 128] (the negated zero point of an int8 input).
void conv_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                 const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                 const Dims4& filter_dims, const int8_t* filter, const int32_t* folded_bias,
                 const Dims4& output_dims, int8_t* output, int8_t* scratch);

// As the int8 depthwise_conv of conv.h with depth multiplier 1, any filter size, stride,
// dilation and padding: up to sixteen channels per pass in four int32 vectors, each tap's input
// widened with the input offset added and multiplied per lane; taps outside the input are
// skipped as in the portable kernel; the requantization four channels at a time. The model's
// bias, nothing prepared.
// Requires: filter [1, kh, kw, c] with c == input.c == output.c.
void depthwise_conv_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                           const PerChannelScale& scale, const Dims4& input_dims,
                           const int8_t* input, const Dims4& filter_dims, const int8_t* filter,
                           const int32_t* bias, const Dims4& output_dims, int8_t* output);

}  // namespace tinydeploy::runtime
