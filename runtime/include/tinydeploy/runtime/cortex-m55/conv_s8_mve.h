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

// --- Weights packed ahead of time (lowering) for the Helium products ---
//
// Each unit's (output channel's) weights rounded up to whole 16-byte vectors with zeros, so the
// products need no predicated weight loads and a window padded in scratch needs no tail at all;
// units in blocks of four whose vectors are interleaved step by step (unit 0's bytes 0-15, unit
// 1's, 2's, 3's, then unit 0's bytes 16-31, ..), so that one pointer walks a block's weights in
// the order the product loads them; the units after the last whole block one after another.

inline int32_t packed_features(int32_t features) { return (features + 15) / 16 * 16; }

inline int32_t packed_weights_bytes(int32_t units, int32_t features) {
  return units * packed_features(features);
}

// Where weight `k` of unit `u` lies in the packed weights of `units` units.
inline int32_t packed_weight_index(int32_t units, int32_t features, int32_t u, int32_t k) {
  const int32_t padded = packed_features(features);
  if (u >= units / 4 * 4) return u * padded + k;
  return (u / 4) * 4 * padded + (k / 16) * 64 + (u % 4) * 16 + k % 16;
}

// `weights` ([units, features], row-major) in the packed layout above; `packed` holds
// packed_weights_bytes(units, features) bytes.
inline void pack_weights_s8_mve(int32_t units, int32_t features, const int8_t* weights,
                                int8_t* packed) {
  for (int32_t i = 0; i < packed_weights_bytes(units, features); ++i) packed[i] = 0;
  for (int32_t u = 0; u < units; ++u) {
    for (int32_t k = 0; k < features; ++k) {
      packed[packed_weight_index(units, features, u, k)] = weights[u * features + k];
    }
  }
}

// int8 FULLY_CONNECTED with symmetric weights (weights_offset 0) as `fully_connected` defines
// it, on prepared constants: the weights packed as above, and `folded_bias[u]` == bias[u] +
// input_offset * (sum of unit u's weights) (0 for a missing bias), taken modulo 2^32, so the
// loops are plain int8 dot products (the accumulator bound of conv.h holds for the unfolded sum,
// so the final sum is exact). Two rows share each block of four units' weight loads (in inline
// assembly; up to 16 features in a single predicated step); four sums are requantized at once.
// Requires: as `fully_connected` with weights_offset 0.
void fully_connected_packed_s8_mve(const QuantizedActivation& activation,
                                   const PerChannelScale& scale, bool per_channel,
                                   const FullyConnectedShape& shape, const int8_t* input,
                                   const int8_t* packed_weights, const int32_t* folded_bias,
                                   int8_t* output);

// As conv_1x1_s8_mve, on the prepared constants of fully_connected_packed_s8_mve (the filter
// packed as [out_c, in_c] weights, the input offset folded into the bias).
// Requires: as conv_1x1_s8_mve.
void conv_1x1_packed_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                            const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                            const int8_t* packed_filter, const int32_t* folded_bias,
                            const Dims4& output_dims, int8_t* output);

// As the int8 conv of conv.h for a 1x1 filter over all input channels (one group), no padding
// and any strides, on the prepared constants of fully_connected_packed_s8_mve (the filter
// packed as [out_c, in_c] weights, the input offset folded into the bias): along each output
// row the input pixels stride_w apart are the rows of the packed matrix product; nothing is
// copied.
// Requires: filter.h == filter.w == 1, filter.c == input.c, output.c a multiple of 4,
// (output.h - 1) * stride_h < input.h and (output.w - 1) * stride_w < input.w.
void conv_1x1_strided_packed_s8_mve(const ConvGeometry& geometry,
                                    const QuantizedActivation& activation,
                                    const PerChannelScale& scale, const Dims4& input_dims,
                                    const int8_t* input, const int8_t* packed_filter,
                                    const int32_t* folded_bias, const Dims4& output_dims,
                                    int8_t* output);

// Bytes of scratch conv_packed_s8_mve needs: two windows, each rounded up to whole vectors.
inline int32_t conv_packed_s8_mve_scratch_bytes(const Dims4& filter_dims) {
  return 2 * packed_features(filter_dims.h * filter_dims.w * filter_dims.c);
}

// As the int8 conv of conv.h for any filter, stride, dilation and padding with one group
// (filter.c == input.c), on the prepared constants of fully_connected_packed_s8_mve: the filter
// packed as [out_c, kh * kw * in_c] weights, and `folded_bias[u]` == bias[u] + input_offset *
// (sum of filter[u]) (0 for a missing bias), taken modulo 2^32 (the accumulator bound of conv.h
// holds for the unfolded sum, so the final sum is exact). Two output pixels at a time: where
// both windows lie inside the input and their rows are whole vectors, read in place; else
// copied side by side into `scratch` (im2col, padded positions holding the input zero point,
// each window's bytes rounded up to 16 with zeros, which meet zero weights). Then both are
// multiplied with four output channels per pass.
// Requires: filter.c == input.c; `scratch` holds conv_packed_s8_mve_scratch_bytes(filter_dims);
// input_offset in [-127, 128].
void conv_packed_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                        const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                        const Dims4& filter_dims, const int8_t* packed_filter,
                        const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                        int8_t* scratch);

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

// --- Depthwise weights packed ahead of time (lowering) ---
//
// Channels in groups of sixteen (the last one padded with zero weights); per group, every tap's
// sixteen weights in tap order (ky, then kx), so that one pointer walks a group's window.

inline int32_t depthwise_packed_bytes(const Dims4& filter_dims) {
  return (filter_dims.c + 15) / 16 * 16 * filter_dims.h * filter_dims.w;
}

inline void pack_depthwise_weights_s8_mve(const Dims4& filter_dims, const int8_t* filter,
                                          int8_t* packed) {
  const int32_t channels = filter_dims.c;
  const int32_t taps = filter_dims.h * filter_dims.w;
  int8_t* to = packed;
  for (int32_t group = 0; group < channels; group += 16) {
    for (int32_t t = 0; t < taps; ++t) {
      for (int32_t j = 0; j < 16; ++j) {
        *to++ = group + j < channels ? filter[t * channels + group + j] : int8_t{0};
      }
    }
  }
}

// The most taps (filter height x width) depthwise_conv_packed_s8_mve takes.
constexpr int32_t kDepthwisePackedMaxTaps = 64;

// Bytes of scratch depthwise_conv_packed_s8_mve needs: one pixel of the input zero point.
inline int32_t depthwise_conv_packed_s8_mve_scratch_bytes(const Dims4& input_dims) {
  return (input_dims.c + 15) / 16 * 16;
}

// As the int8 depthwise_conv of conv.h with depth multiplier 1, on prepared constants: the
// filter packed as above, and `folded_bias[c]` == bias[c] + input_offset * (sum of channel c's
// weights over every tap) (0 for a missing bias), taken modulo 2^32. A tap outside the input
// reads the input zero point (from `scratch`), whose product with the weight cancels its share
// of the folded bias, so every output pixel runs the same loop: up to sixteen channels per pass,
// int8 x int8 products widened to int32. A layer of exactly eight channels takes two
// neighbouring interior pixels per pass, sharing each tap's weight load.
// Requires: filter [1, kh, kw, c] with c == input.c == output.c, kh * kw <=
// kDepthwisePackedMaxTaps; `scratch` holds depthwise_conv_packed_s8_mve_scratch_bytes(input);
// input_offset in [-127, 128].
void depthwise_conv_packed_s8_mve(const ConvGeometry& geometry,
                                  const QuantizedActivation& activation,
                                  const PerChannelScale& scale, const Dims4& input_dims,
                                  const int8_t* input, const Dims4& filter_dims,
                                  const int8_t* packed_filter, const int32_t* folded_bias,
                                  const Dims4& output_dims, int8_t* output, int8_t* scratch);

}  // namespace tinydeploy::runtime
