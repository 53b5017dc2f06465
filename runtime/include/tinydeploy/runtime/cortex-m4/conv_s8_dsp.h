// int8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D for cores with the Armv7E-M DSP extension
// (Cortex-M4 first): the products are summed two at a time by dual 16-bit multiply-accumulates
// (SMLAD), two rows by two output channels per pass over the features so that each loaded word
// serves two sums; depthwise four channels per pass. The results are bit-exact with the portable
// kernels of conv.h, which stay the definition.
//
// The same source builds everywhere: without the DSP extension (the host) the two instructions
// it uses are emulated exactly, so host tests run the code the target runs.
//
// Lowering chooses these kernels ahead of time for the cores that have the extension and
// prepares their constants. Requires, beyond conv.h's common requirements:
// - symmetric weights (no weights offset), the weights constant;
// - `folded_bias[u]` == bias[u] + input_offset * (sum over k of weights[u][k]) for every output
//   channel u (0 for a missing bias), so the inner loop is a plain int8 x int8 dot product;
//   `activation.input_offset` is not read. The sums wrap modulo 2^32 as the hardware's do: the
//   accumulator bound of conv.h holds for the unfolded sum, so the final sum is exact.
#pragma once

#include <stddef.h>

#include "tinydeploy/runtime/common.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {

// As the int8 fully_connected of conv.h, with its weights offset 0 and the folded bias.
void fully_connected_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* folded_bias, int8_t* output);

// Bytes of scratch conv_1x1_s8_dsp needs: two pixels' channels widened to 16 bits, word-aligned.
inline int32_t conv_1x1_s8_dsp_scratch_bytes(const Dims4& filter_dims) {
  return 4 * filter_dims.c + 4;
}

// As the int8 conv of conv.h for a 1x1 filter with stride 1, no padding and one group: filter
// [out_c, 1, 1, in_c], one scale per output channel. On the DSP cores each pair of pixels is
// widened into `scratch` once for all output channels.
// Requires: filter.h == filter.w == 1, filter.c == input.c, filter.n == output.c, and output.n,
// h, w equal to the input's; `scratch` holds conv_1x1_s8_dsp_scratch_bytes(filter_dims).
void conv_1x1_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                     const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                     const int8_t* filter, const int32_t* folded_bias, const Dims4& output_dims,
                     int8_t* output, int8_t* scratch);

// Bytes of scratch conv_s8_dsp needs: two patches of the filter's size, then (on the DSP cores)
// the pair widened to 16 bits, word-aligned.
inline int32_t conv_s8_dsp_scratch_bytes(const Dims4& filter_dims) {
  return 6 * filter_dims.h * filter_dims.w * filter_dims.c + 4;
}

// As the int8 conv of conv.h for any filter, stride, dilation and padding with one group
// (filter.c == input.c): the input window of each output pixel is copied into `scratch`
// (im2col, two pixels at a time), where a padded position holds the input zero point, whose
// share the folded bias cancels; then the same matrix product as above.
// Requires: filter.c == input.c; `scratch` holds conv_s8_dsp_scratch_bytes(filter_dims);
// input_offset in [-127, 128] (the negated zero point of an int8 input).
void conv_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                 const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                 const Dims4& filter_dims, const int8_t* filter, const int32_t* folded_bias,
                 const Dims4& output_dims, int8_t* output, int8_t* scratch);

// As the int8 depthwise_conv of conv.h with depth multiplier 1, any filter size, stride,
// dilation and padding: four channels per pass, each tap's input word widened with the input
// offset added (SXTAB16) and multiplied per channel (SMLABB/SMLATT); taps outside the input
// are skipped, as the portable kernel does. Takes the model's bias (no prepared constants).
// Requires: filter [1, kh, kw, c] with c == input.c == output.c.
void depthwise_conv_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                           const PerChannelScale& scale, const Dims4& input_dims,
                           const int8_t* input, const Dims4& filter_dims, const int8_t* filter,
                           const int32_t* bias, const Dims4& output_dims, int8_t* output);

// The per-channel output stage of the kernels below, prepared ahead of time: three words per
// channel, the multiplier, prepared_output_high(shift, output_offset) and -shift - 1 (see
// scale_prepared in fixed_point.h). Returns false, leaving `table` partly written, where a
// channel's shift or the offset is outside can_prepare_output_scale: the layer then keeps a
// kernel without it. `table` holds 3 * channels words.
inline bool prepare_output_stage(const PerChannelScale& scale, int32_t channels,
                                 int32_t output_offset, int32_t* table) {
  for (int32_t c = 0; c < channels; ++c) {
    const int32_t shift = scale.shift[c];
    if (!can_prepare_output_scale(shift, output_offset)) return false;
    table[3 * c] = scale.multiplier[c];
    table[3 * c + 1] = prepared_output_high(shift, output_offset);
    table[3 * c + 2] = -shift - 1;
  }
  return true;
}

// The kernels with `_staged` take, in place of the scales, the output stage prepared by
// prepare_output_stage (with activation.output_offset; one entry, `per_channel` false, for a
// per-tensor scale): one SMLAL, a shift and SSAT per output, a clamp tighter than int8 applied
// to the stored bytes afterwards. Two widened rows with features a multiple of 8 run as 2x2
// blocks in one assembly loop (the convolutions' common case). Otherwise as the kernels above.
void fully_connected_s8_dsp_staged(const QuantizedActivation& activation,
                                   const int32_t* output_stage, bool per_channel,
                                   const FullyConnectedShape& shape, const int8_t* input,
                                   const int8_t* weights, const int32_t* folded_bias,
                                   int8_t* output);
// fully_connected_s8_dsp_ldm4: the staged product with its weights packed ahead of time, four
// units at a time. Features are padded with zeros to a multiple of 4 and units to a multiple of
// 4; for each group of four units, for each word of four features, that word of each of the four
// units (16 bytes, read by one LDM). The input row is widened once into scratch as 16-bit pairs
// (features 0 and 2, then 1 and 3 of each word: the order of SXTB16 and SXTB16 ROR #8), zeros in
// the padded lanes; per 4 features x 4 units: one LDM, one LDRD, 8 SXTB16 and 8 SMLAD. The folded
// bias too has units padded to a multiple of 4 (any values: those sums are not stored).
inline int32_t fully_connected_ldm4_features(int32_t features) { return (features + 3) & ~3; }
inline int32_t fully_connected_ldm4_units(int32_t units) { return (units + 3) & ~3; }
inline size_t fully_connected_ldm4_weight_bytes(int32_t features, int32_t units) {
  return static_cast<size_t>(fully_connected_ldm4_features(features)) *
         static_cast<size_t>(fully_connected_ldm4_units(units));
}
inline int32_t fully_connected_ldm4_scratch_bytes(int32_t features) {
  return 2 * fully_connected_ldm4_features(features) + 4;
}
// Packs [units, features] weights as above (weight_bytes(features, units) bytes).
inline void pack_fully_connected_ldm4_weights(const int8_t* weights, int32_t features,
                                              int32_t units, int8_t* packed) {
  const int32_t words = fully_connected_ldm4_features(features) / 4;
  for (int32_t group = 0; group < fully_connected_ldm4_units(units); group += 4) {
    for (int32_t word = 0; word < words; ++word) {
      for (int32_t unit = group; unit < group + 4; ++unit) {
        for (int32_t k = 4 * word; k < 4 * word + 4; ++k) {
          *packed++ = unit < units && k < features
                          ? weights[static_cast<size_t>(unit) * static_cast<size_t>(features) +
                                    static_cast<size_t>(k)]
                          : int8_t{0};
        }
      }
    }
  }
}
void fully_connected_s8_dsp_ldm4(const QuantizedActivation& activation, const int32_t* output_stage,
                                 bool per_channel, const FullyConnectedShape& shape,
                                 const int8_t* input, const int8_t* packed_weights,
                                 const int32_t* folded_bias, int8_t* output, int8_t* scratch);
void conv_1x1_s8_dsp_staged(const QuantizedActivation& activation, const int32_t* output_stage,
                            const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                            const int8_t* filter, const int32_t* folded_bias,
                            const Dims4& output_dims, int8_t* output, int8_t* scratch);

// conv_s8_dsp_staged's weights: each output channel's window (filter.h * filter.w * filter.c
// bytes) followed by zeros up to a multiple of 8, the row length below, so that every layer
// takes the loops over 8 features (the model's weights as they are where the window is a
// multiple of 8 already). Its scratch: two such rows, then the pair widened, word-aligned.
inline int32_t conv_s8_dsp_staged_row(const Dims4& filter_dims) {
  return (filter_dims.h * filter_dims.w * filter_dims.c + 7) & ~7;
}
inline int32_t conv_s8_dsp_staged_scratch_bytes(const Dims4& filter_dims) {
  return 6 * conv_s8_dsp_staged_row(filter_dims) + 4;
}
// Copies [filter.n, window] weights into rows of conv_s8_dsp_staged_row bytes, zero-padded.
inline void pad_conv_weights(const int8_t* weights, const Dims4& filter_dims, int8_t* padded) {
  const int32_t window = filter_dims.h * filter_dims.w * filter_dims.c;
  const int32_t row = conv_s8_dsp_staged_row(filter_dims);
  for (int32_t unit = 0; unit < filter_dims.n; ++unit) {
    for (int32_t k = 0; k < row; ++k) *padded++ = k < window ? weights[unit * window + k] : 0;
  }
}
void conv_s8_dsp_staged(const ConvGeometry& geometry, const QuantizedActivation& activation,
                        const int32_t* output_stage, const Dims4& input_dims, const int8_t* input,
                        const Dims4& filter_dims, const int8_t* padded_filter,
                        const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                        int8_t* scratch);

// Depthwise 3x3 weights [1, 3, 3, channels] packed for depthwise_conv_3x3_s8_dsp: for each
// group of four channels, its nine taps' four bytes (tap by tap, row by row: one word per tap,
// read in order); then, for the last channels % 4 channels, each tap's bytes of those channels.
// The same 9 * channels bytes, reordered.
inline void pack_depthwise_3x3_weights(const int8_t* weights, int32_t channels, int8_t* packed) {
  const int32_t groups = channels / 4;
  const int32_t tail = channels % 4;
  for (int32_t group = 0; group < groups; ++group) {
    for (int32_t tap = 0; tap < 9; ++tap) {
      for (int32_t j = 0; j < 4; ++j) *packed++ = weights[tap * channels + 4 * group + j];
    }
  }
  for (int32_t tap = 0; tap < 9; ++tap) {
    for (int32_t j = 0; j < tail; ++j) *packed++ = weights[tap * channels + 4 * groups + j];
  }
}

// As the int8 depthwise_conv of conv.h with depth multiplier 1, a 3x3 filter without dilation,
// any stride and padding, the weights packed by pack_depthwise_3x3_weights and the output stage
// prepared by prepare_output_stage (with activation.output_offset; the kernel reads the input
// offset and the clamp from `activation`). Four channels per pass: each tap's input word
// widened with the input offset added (SXTAB16), each channel multiplied on its own
// (SMLABB/SMLATT); whole windows in one assembly block, windows at the input's edges row by row
// over the taps inside, as the portable kernel skips the others. Outputs 8 or more columns wide
// run group by group, the group's weights widened once on the stack (72 bytes; one LDRD per
// tap), two whole windows side by side sharing the output constants; narrower ones pixel by
// pixel from the packed bytes (a load and two SXTB16 per tap).
// Requires: input.c == output.c; `bias` may be null.
void depthwise_conv_3x3_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                               const Dims4& input_dims, const int8_t* input,
                               const int8_t* packed_weights, const int32_t* bias,
                               const int32_t* output_scale, const Dims4& output_dims,
                               int8_t* output);

}  // namespace tinydeploy::runtime
