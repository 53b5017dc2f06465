#include "tinydeploy/runtime/cortex-m55/conv_s8_mve.h"

#include <stddef.h>
#include <stdint.h>

#include "tinydeploy/runtime/fixed_point.h"
#include "tinydeploy/runtime/im2col.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

namespace tinydeploy::runtime {
namespace {

// Output pixels in order (batch, row, column), for the im2col kernels.
struct PixelCursor {
  int32_t height;
  int32_t width;
  int32_t n = 0;
  int32_t y = 0;
  int32_t x = 0;

  explicit PixelCursor(const Dims4& shape) : height(shape.h), width(shape.w) {}

  void advance() {
    if (++x < width) return;
    x = 0;
    if (++y < height) return;
    y = 0;
    ++n;
  }
};

// The window of the cursor's pixel into `patch`, its padding to whole vectors left as it is.
inline void gather_at(const ConvGeometry& g, const Dims4& in, const Dims4& window,
                      const PixelCursor& at, const int8_t* input, int8_t pad, int8_t* patch) {
  gather_window(g, in, window, at.n, at.y, at.x, input, pad, patch);
}

}  // namespace

void conv_1x1_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                     const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                     const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                     int8_t* output) {
  FullyConnectedShape shape;
  shape.rows = input_dims.n * input_dims.h * input_dims.w;
  shape.features = filter_dims.c;
  shape.units = output_dims.c;
  fully_connected_s8_mve(activation, scale, true, 0, shape, input, filter, bias, output);
}

void conv_1x1_packed_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                            const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                            const int8_t* packed_filter, const int32_t* folded_bias,
                            const Dims4& output_dims, int8_t* output) {
  FullyConnectedShape shape;
  shape.rows = input_dims.n * input_dims.h * input_dims.w;
  shape.features = filter_dims.c;
  shape.units = output_dims.c;
  fully_connected_packed_s8_mve(activation, scale, true, shape, input, packed_filter, folded_bias,
                                output);
}

namespace {

// Where the taps of one output pixel's depthwise window read: tap t of channel c at
// at[t] + base + c. Interior windows (every tap inside the input) take offsets prepared once per
// call from their first tap (`base`), so they need no per-pixel set-up; the others take the
// address of each tap's input pixel, or of `pad` (one pixel of the input zero point) where the
// tap lies outside the input, with base 0.
struct TapAddresses {
  const intptr_t* at;
  intptr_t base;

  const int8_t* tap(int32_t t, int32_t c) const {
    return reinterpret_cast<const int8_t*>(at[t] + base + c);
  }
};

struct DepthwiseTaps {
  ConvGeometry g;
  Dims4 in;
  Dims4 window;
  const int8_t* pad;
  intptr_t offset[kDepthwisePackedMaxTaps];  // from the window's first tap, in bytes
  // Each tap's row and column from the window's first (ky * dilation_h, kx * dilation_w), for
  // the vector test of which taps of an edge window lie inside the input.
  int16_t tap_y[kDepthwisePackedMaxTaps];
  int16_t tap_x[kDepthwisePackedMaxTaps];

  DepthwiseTaps(const ConvGeometry& geometry, const Dims4& input, const Dims4& filter,
                const int8_t* pad_pixel)
      : g(geometry), in(input), window(filter), pad(pad_pixel), offset{}, tap_y{}, tap_x{} {
    int32_t t = 0;
    for (int32_t ky = 0; ky < window.h; ++ky) {
      for (int32_t kx = 0; kx < window.w; ++kx) {
        tap_y[t] = static_cast<int16_t>(ky * g.dilation_h);
        tap_x[t] = static_cast<int16_t>(kx * g.dilation_w);
        offset[t++] = (ky * g.dilation_h * in.w + kx * g.dilation_w) * in.c;
      }
    }
  }

  // The taps of the window whose first tap is at (y0, x0) of `image`; `edge` holds the
  // addresses of a window that is not interior.
  TapAddresses point(const int8_t* image, int32_t y0, int32_t x0, intptr_t* edge) const {
    const bool inside = y0 >= 0 && x0 >= 0 && y0 + (window.h - 1) * g.dilation_h < in.h &&
                        x0 + (window.w - 1) * g.dilation_w < in.w;
    if (inside) {
      return {offset, reinterpret_cast<intptr_t>(image + (y0 * in.w + x0) * in.c)};
    }
#if defined(__ARM_FEATURE_MVE)
    // Four taps at a time: the address from the window's first tap where the tap's row and
    // column lie inside the input (one unsigned comparison each), else the pad pixel's.
    // (As an integer: the window's first tap may lie before the image.)
    const intptr_t first = reinterpret_cast<intptr_t>(image) + (y0 * in.w + x0) * in.c;
    const uint32x4_t height = vdupq_n_u32(static_cast<uint32_t>(in.h));
    const uint32x4_t width = vdupq_n_u32(static_cast<uint32_t>(in.w));
    const int32x4_t outside = vdupq_n_s32(static_cast<int32_t>(reinterpret_cast<intptr_t>(pad)));
    const int32_t taps = window.h * window.w;
    for (int32_t t = 0; t < taps; t += 4) {
      const uint32x4_t y = vreinterpretq_u32_s32(vaddq_n_s32(vldrhq_s32(tap_y + t), y0));
      const uint32x4_t x = vreinterpretq_u32_s32(vaddq_n_s32(vldrhq_s32(tap_x + t), x0));
      const mve_pred16_t inside_lanes = vcmphiq_u32(height, y) & vcmphiq_u32(width, x);
      const int32x4_t at = vaddq_n_s32(vldrwq_s32(reinterpret_cast<const int32_t*>(offset + t)),
                                       static_cast<int32_t>(first));
      vstrwq_p_s32(reinterpret_cast<int32_t*>(edge + t), vpselq_s32(at, outside, inside_lanes),
                   vctp32q(static_cast<uint32_t>(taps - t)));
    }
    return {edge, 0};
#endif
    intptr_t* to = edge;
    for (int32_t ky = 0; ky < window.h; ++ky) {
      const int32_t y = y0 + ky * g.dilation_h;
      const bool row_inside = y >= 0 && y < in.h;
      for (int32_t kx = 0; kx < window.w; ++kx) {
        const int32_t x = x0 + kx * g.dilation_w;
        const int8_t* at = row_inside && x >= 0 && x < in.w ? image + (y * in.w + x) * in.c : pad;
        *to++ = reinterpret_cast<intptr_t>(at);
      }
    }
    return {edge, 0};
  }
};

// Runs `group(taps, n)` for every output pixel n of a depthwise layer.
template <typename Group>
void for_each_depthwise_pixel(const ConvGeometry& g, const Dims4& in, const Dims4& window,
                              const Dims4& out_shape, const int8_t* input, const int8_t* pad,
                              Group group) {
  const DepthwiseTaps where(g, in, window, pad);
  intptr_t edge[kDepthwisePackedMaxTaps];
  int32_t pixel = 0;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + n * in.h * in.w * in.c;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t y0 = oy * g.stride_h - g.pad_top;
      for (int32_t ox = 0; ox < out_shape.w; ++ox) {
        group(where.point(image, y0, ox * g.stride_w - g.pad_left, edge), pixel++);
      }
    }
  }
}

}  // namespace

}  // namespace tinydeploy::runtime

#if !defined(__ARM_FEATURE_MVE)

namespace tinydeploy::runtime {
void fully_connected_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, int32_t weights_offset,
                            const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* bias, int8_t* output) {
  fully_connected(activation, scale, per_channel, weights_offset, shape, input, weights, bias,
                  output);
}

void fully_connected_packed_s8_mve(const QuantizedActivation& activation,
                                   const PerChannelScale& scale, bool per_channel,
                                   const FullyConnectedShape& shape, const int8_t* input,
                                   const int8_t* packed_weights, const int32_t* folded_bias,
                                   int8_t* output) {
  for (int32_t row = 0; row < shape.rows; ++row) {
    const int8_t* x = input + row * shape.features;
    for (int32_t u = 0; u < shape.units; ++u) {
      uint32_t sum = static_cast<uint32_t>(folded_bias[u]);
      for (int32_t k = 0; k < shape.features; ++k) {
        const int8_t w = packed_weights[packed_weight_index(shape.units, shape.features, u, k)];
        sum += static_cast<uint32_t>(x[k] * w);
      }
      const int32_t c = per_channel ? u : 0;
      const int32_t scaled = multiply_by_quantized_multiplier(static_cast<int32_t>(sum),
                                                              scale.multiplier[c], scale.shift[c]);
      output[row * shape.units + u] = static_cast<int8_t>(
          clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
    }
  }
}

void conv_1x1_strided_packed_s8_mve(const ConvGeometry& geometry,
                                    const QuantizedActivation& activation,
                                    const PerChannelScale& scale, const Dims4& input_dims,
                                    const int8_t* input, const int8_t* packed_filter,
                                    const int32_t* folded_bias, const Dims4& output_dims,
                                    int8_t* output) {
  const int32_t channels = input_dims.c;
  const int32_t units = output_dims.c;
  int8_t* out = output;
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t oy = 0; oy < output_dims.h; ++oy) {
      for (int32_t ox = 0; ox < output_dims.w; ++ox) {
        const int8_t* x = input + ((n * input_dims.h + oy * geometry.stride_h) * input_dims.w +
                                   ox * geometry.stride_w) *
                                      channels;
        for (int32_t u = 0; u < units; ++u) {
          uint32_t sum = static_cast<uint32_t>(folded_bias[u]);
          for (int32_t k = 0; k < channels; ++k) {
            const int8_t w = packed_filter[packed_weight_index(units, channels, u, k)];
            sum += static_cast<uint32_t>(x[k] * w);
          }
          const int32_t scaled = multiply_by_quantized_multiplier(
              static_cast<int32_t>(sum), scale.multiplier[u], scale.shift[u]);
          *out++ = static_cast<int8_t>(
              clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
        }
      }
    }
  }
}

void conv_packed_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                        const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                        const Dims4& filter_dims, const int8_t* packed_filter,
                        const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                        int8_t* scratch) {
  const int32_t features = filter_dims.h * filter_dims.w * filter_dims.c;
  const int32_t units = output_dims.c;
  const auto pad = static_cast<int8_t>(-activation.input_offset);
  const int32_t pixels = output_dims.n * output_dims.h * output_dims.w;
  PixelCursor at{output_dims};
  for (int32_t p = 0; p < pixels; ++p, at.advance()) {
    gather_at(geometry, input_dims, filter_dims, at, input, pad, scratch);
    for (int32_t u = 0; u < units; ++u) {
      uint32_t sum = static_cast<uint32_t>(folded_bias[u]);
      for (int32_t k = 0; k < features; ++k) {
        const int8_t w = packed_filter[packed_weight_index(units, features, u, k)];
        sum += static_cast<uint32_t>(scratch[k] * w);
      }
      const int32_t scaled = multiply_by_quantized_multiplier(static_cast<int32_t>(sum),
                                                              scale.multiplier[u], scale.shift[u]);
      output[p * units + u] = static_cast<int8_t>(
          clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
    }
  }
}

void depthwise_conv_packed_s8_mve(const ConvGeometry& geometry,
                                  const QuantizedActivation& activation,
                                  const PerChannelScale& scale, const Dims4& input_dims,
                                  const int8_t* input, const Dims4& filter_dims,
                                  const int8_t* packed_filter, const int32_t* folded_bias,
                                  const Dims4& output_dims, int8_t* output, int8_t* scratch) {
  const int32_t channels = input_dims.c;
  const int32_t taps_count = filter_dims.h * filter_dims.w;
  for (int32_t c = 0; c < channels; ++c) scratch[c] = static_cast<int8_t>(-activation.input_offset);
  for_each_depthwise_pixel(
      geometry, input_dims, filter_dims, output_dims, input, scratch,
      [&](const TapAddresses& taps, int32_t pixel) {
        for (int32_t c = 0; c < channels; ++c) {
          const int8_t* w = packed_filter + (c / 16) * 16 * taps_count + c % 16;
          uint32_t sum = static_cast<uint32_t>(folded_bias[c]);
          for (int32_t t = 0; t < taps_count; ++t) {
            sum += static_cast<uint32_t>(*taps.tap(t, c) * w[16 * t]);
          }
          const int32_t scaled = multiply_by_quantized_multiplier(
              static_cast<int32_t>(sum), scale.multiplier[c], scale.shift[c]);
          output[pixel * channels + c] = static_cast<int8_t>(
              clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
        }
      });
}

void depthwise_conv_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                           const PerChannelScale& scale, const Dims4& input_dims,
                           const int8_t* input, const Dims4& filter_dims, const int8_t* filter,
                           const int32_t* bias, const Dims4& output_dims, int8_t* output) {
  depthwise_conv(geometry, 1, activation, scale, input_dims, input, filter_dims, filter, bias,
                 output_dims, output);
}

}  // namespace tinydeploy::runtime

#else

#include <arm_mve.h>

#include "tinydeploy/runtime/cortex-m55/quad_store.h"

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// The inline assembly of the hot loops needs an optimizing build: without one, GCC keeps r7
// as the frame pointer and cannot give the assembly its registers; intrinsics stand in.
#if defined(__OPTIMIZE__)
constexpr bool kAssembly = true;
#else
constexpr bool kAssembly = false;
#endif

// The portable kernel's int32 sums wrap; the folded terms are taken modulo 2^32 the same way.
uint32_t bits(int32_t value) { return static_cast<uint32_t>(value); }

template <int kUnits>
using Sums = int32_t[static_cast<unsigned>(kUnits)];

// The weights of `kUnits` consecutive units, one pointer each. Each pointer is derived from the
// previous one: pointers computed side by side get vectorized by GCC, and then live in memory
// instead of registers through the loops.
template <int kUnits>
void weight_rows(const int8_t* weights, int32_t features,
                 const int8_t* (&row)[static_cast<unsigned>(kUnits)]) {
  row[0] = weights;
  for (int u = 1; u < kUnits; ++u) row[u] = row[u - 1] + features;
}

// The input offset as `kParts` int8 constants whose sum it is: dot(w, splat(part)) adds
// part * sum(w) to the same accumulator as the input's products, so a single row needs no
// separate weight sums (and no registers for them).
struct OffsetParts {
  int8x16_t first;
  int8x16_t second;
};

// Adds one 16-feature step of every unit to `dot`: x . w, plus the offset's parts . w.
template <int kUnits, int kParts>
inline void step(int8x16_t x, const int8x16_t (&w)[static_cast<unsigned>(kUnits)],
                 const OffsetParts& offset, Sums<kUnits>& dot) {
#pragma GCC unroll 4
  for (int u = 0; u < kUnits; ++u) {
    dot[u] = vmladavaq_s8(dot[u], x, w[u]);
    if constexpr (kParts >= 1) dot[u] = vmladavaq_s8(dot[u], offset.first, w[u]);
    if constexpr (kParts >= 2) dot[u] = vmladavaq_s8(dot[u], offset.second, w[u]);
  }
}

// One input row against `kUnits` weight rows: one input load serves every unit. Full steps are
// unpredicated; the last partial step loads its missing lanes as zero, which add nothing. The
// sums live in locals until the end: int8 loads may alias any object, so sums kept in the
// caller's array would be stored back on every step.
template <int kUnits, int kParts>
void dot_products(const int8_t* input, const int8_t* weights, int32_t features,
                  const OffsetParts& offset, Sums<kUnits>& result) {
  const int8_t* rows[static_cast<unsigned>(kUnits)];
  weight_rows<kUnits>(weights, features, rows);
  Sums<kUnits> dot;
  for (int u = 0; u < kUnits; ++u) dot[u] = 0;
  int8x16_t w[static_cast<unsigned>(kUnits)];
  for (int32_t steps = features >> 4; steps > 0; --steps) {
    const int8x16_t x = vldrbq_s8(input);
    input += 16;
#pragma GCC unroll 4
    for (int u = 0; u < kUnits; ++u) {
      w[u] = vldrbq_s8(rows[u]);
      rows[u] += 16;
    }
    step<kUnits, kParts>(x, w, offset, dot);
  }
  const int32_t tail = features & 15;
  if (tail != 0) {
    const mve_pred16_t active = vctp8q(static_cast<uint32_t>(tail));
    const int8x16_t x = vldrbq_z_s8(input, active);
#pragma GCC unroll 4
    for (int u = 0; u < kUnits; ++u) w[u] = vldrbq_z_s8(rows[u], active);
    step<kUnits, kParts>(x, w, offset, dot);
  }
  for (int u = 0; u < kUnits; ++u) result[u] = dot[u];
}

// sum(w) of each of `kUnits` weight rows.
template <int kUnits>
void weight_sums(const int8_t* weights, int32_t features, Sums<kUnits>& result) {
  const int8_t* rows[static_cast<unsigned>(kUnits)];
  weight_rows<kUnits>(weights, features, rows);
  Sums<kUnits> sums;
  for (int u = 0; u < kUnits; ++u) sums[u] = 0;
  for (int32_t f = 0; f < features; f += 16) {
    const mve_pred16_t active = vctp8q(static_cast<uint32_t>(features - f));
#pragma GCC unroll 4
    for (int u = 0; u < kUnits; ++u) {
      sums[u] = vaddvaq_s8(sums[u], vldrbq_z_s8(rows[u], active));
      rows[u] += 16;
    }
  }
  for (int u = 0; u < kUnits; ++u) result[u] = sums[u];
}

int32_t input_sum(const int8_t* input, int32_t features) {
  int32_t sum = 0;
  for (int32_t f = 0; f < features; f += 16) {
    const mve_pred16_t active = vctp8q(static_cast<uint32_t>(features - f));
    sum = vaddvaq_s8(sum, vldrbq_z_s8(input + f, active));
  }
  return sum;
}

int32x4_t quad(const int32_t (&sums)[4]) { return vldrwq_s32(sums); }

// Units [first, first + kUnits) for every row.
template <int kUnits>
void unit_block(const QuantizedActivation& activation, const PerChannelScale& scale,
                bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                const int8_t* input, const int8_t* weights, const int32_t* bias, int8_t* output,
                int32_t first) {
  const int32_t input_offset = activation.input_offset;
  const int8_t* unit_weights = weights + first * shape.features;
  // How the input offset's term io * sum(w) enters: folded into the dot products through one
  // or two int8 constants when a single row uses the weights (io within [-256, 254], which
  // every valid zero point gives), else through the weight sums computed once for all rows.
  int parts = 0;
  OffsetParts offset{vdupq_n_s8(0), vdupq_n_s8(0)};
  if (shape.rows == 1 && input_offset >= -128 && input_offset <= 127) {
    parts = 1;
    offset.first = vdupq_n_s8(static_cast<int8_t>(input_offset));
  } else if (shape.rows == 1 && input_offset >= -256 && input_offset <= 254) {
    parts = 2;
    const int32_t half = input_offset / 2;
    offset.first = vdupq_n_s8(static_cast<int8_t>(half));
    offset.second = vdupq_n_s8(static_cast<int8_t>(input_offset - half));
  }
  Sums<kUnits> constant;  // io * sum(w) (unless folded) + bias, per unit
  if (parts == 0) {
    weight_sums<kUnits>(unit_weights, shape.features, constant);
    for (int u = 0; u < kUnits; ++u)
      constant[u] = static_cast<int32_t>(bits(constant[u]) * bits(input_offset));
  } else {
    for (int u = 0; u < kUnits; ++u) constant[u] = 0;
  }
  if (bias != nullptr) {
    for (int u = 0; u < kUnits; ++u)
      constant[u] = static_cast<int32_t>(bits(constant[u]) + bits(bias[first + u]));
  }
  const uint32_t features_times_offset = bits(shape.features) * bits(input_offset);
  // Made once for all rows (the output stores would otherwise make the compiler reload the
  // scales for every row); only a block of four units uses it.
  const QuadStore store(scale.multiplier, scale.shift, kUnits == 4 && per_channel,
                        kUnits == 4 ? first : 0, activation.output_offset, activation.min,
                        activation.max);
  for (int32_t row = 0; row < shape.rows; ++row) {
    const int8_t* in = input + row * shape.features;
    Sums<kUnits> dot;
    if (parts == 1) {
      dot_products<kUnits, 1>(in, unit_weights, shape.features, offset, dot);
    } else if (parts == 2) {
      dot_products<kUnits, 2>(in, unit_weights, shape.features, offset, dot);
    } else {
      dot_products<kUnits, 0>(in, unit_weights, shape.features, offset, dot);
    }
    // wo * sum(x + io): only with asymmetric weights, which int8 models rarely have.
    const uint32_t input_term =
        weights_offset != 0
            ? bits(weights_offset) * (bits(input_sum(in, shape.features)) + features_times_offset)
            : 0u;
    int8_t* out = output + row * shape.units + first;
    Sums<kUnits> accumulator;
    for (int u = 0; u < kUnits; ++u) {
      accumulator[u] = static_cast<int32_t>(bits(dot[u]) + bits(constant[u]) + input_term);
    }
    if constexpr (kUnits == 4) {
      store(quad(accumulator), out);
    } else {
      for (int u = 0; u < kUnits; ++u) {
        const int32_t c = per_channel ? first + u : 0;
        const int32_t scaled =
            multiply_by_quantized_multiplier(accumulator[u], scale.multiplier[c], scale.shift[c]);
        out[u] = static_cast<int8_t>(
            clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
      }
    }
  }
}

}  // namespace

void fully_connected_s8_mve(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, int32_t weights_offset,
                            const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* bias, int8_t* output) {
  int32_t unit = 0;
  for (; unit + 4 <= shape.units; unit += 4) {
    unit_block<4>(activation, scale, per_channel, weights_offset, shape, input, weights, bias,
                  output, unit);
  }
  for (; unit < shape.units; ++unit) {
    unit_block<1>(activation, scale, per_channel, weights_offset, shape, input, weights, bias,
                  output, unit);
  }
}

namespace {

// Where the right-shift-only requantization (QuadStore::requantize_right) of four channels
// finds its constants: their folded bias, multipliers and shifts (all negative), four each.
struct RightShiftScales {
  const int32_t* bias;
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t output_offset;
  int32_t min;
  int32_t max;
};

#if defined(__OPTIMIZE__)

// Two input rows (`features` bytes each, `row_stride` apart) against one packed block of four
// units, as two vectors of four sums (row 0's, row 1's), in assembly: GCC keeps eight
// accumulators of an array in memory, and VMLADAVA writes only even registers, so the sums are
// pinned to the eight even ones (lr among them: the loop counts with SUBS/BGE). Per 16-byte
// step, two input loads and four weight loads (one post-incremented pointer walks the block)
// feed eight multiply-accumulates of 16 products each. The block's weights are zero beyond
// `features`, so only the inputs' last partial step is predicated (VCTP: its missing lanes load
// as zeros); it runs after the whole steps, from where they left the pointers. The operands
// are early-clobbered: GCC would otherwise let an input that holds the same value (say a zero
// tail and a zero sum) share their register.
inline void two_rows_block(const int8_t* input, int32_t row_stride, const int8_t* weights,
                           int32_t features, int32x4_t& row0, int32x4_t& row1) {
  register int32_t a0 asm("r0") = 0;
  register int32_t a1 asm("r2") = 0;
  register int32_t a2 asm("r4") = 0;
  register int32_t a3 asm("r6") = 0;
  register int32_t b0 asm("r8") = 0;
  register int32_t b1 asm("r10") = 0;
  register int32_t b2 asm("r12") = 0;
  register int32_t b3 asm("lr") = 0;
  const int8_t* x0 = input;
  const int8_t* x1 = input + row_stride;
  const int8_t* w = weights;
  // Counts down from features - 16 by 16 while whole steps remain; then + 16 is the tail.
  int32_t n = features;
  int32x4_t v0;
  int32x4_t v1;
  asm volatile(
      "subs %[n], %[n], #16\n\t"
      "blt 2f\n\t"
      "1:\n\t"
      "vldrb.8 q0, [%[x0]], #16\n\t"
      "vldrb.8 q1, [%[x1]], #16\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vmladava.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vmladava.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vmladava.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "vmladava.s8 %[b3], q1, q3\n\t"
      "subs %[n], %[n], #16\n\t"
      "bge 1b\n\t"
      "2:\n\t"
      "adds %[n], %[n], #16\n\t"
      "beq 3f\n\t"
      "vctp.8 %[n]\n\t"
      "vpstt\n\t"
      "vldrbt.8 q0, [%[x0]]\n\t"
      "vldrbt.8 q1, [%[x1]]\n\t"
      "vldrb.8 q2, [%[w]]\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vmladava.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #16]\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vmladava.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w], #32]\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vmladava.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #48]\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "vmladava.s8 %[b3], q1, q3\n\t"
      "3:\n\t"
      // Lanes 0-3 of each result: VMOV moves two registers into lanes 2 and 0, or 3 and 1.
      "vmov %q[v0][2], %q[v0][0], %[a0], %[a2]\n\t"
      "vmov %q[v0][3], %q[v0][1], %[a1], %[a3]\n\t"
      "vmov %q[v1][2], %q[v1][0], %[b0], %[b2]\n\t"
      "vmov %q[v1][3], %q[v1][1], %[b1], %[b3]\n\t"
      : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [b0] "+&r"(b0),
        [b1] "+&r"(b1), [b2] "+&r"(b2), [b3] "+&r"(b3), [x0] "+&r"(x0), [x1] "+&r"(x1),
        [w] "+&r"(w), [n] "+&r"(n), [v0] "=&w"(v0), [v1] "=&w"(v1)
      :
      : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "memory", "cc");
  row0 = v0;
  row1 = v1;
}

// two_rows_block for more than 16 features: the first whole step written by VMLADAV without
// accumulating, so the eight sums need no zeroing (eight instructions per block), then the
// others and the tail as there.
inline void two_rows_block_long(const int8_t* input, int32_t row_stride, const int8_t* weights,
                                int32_t features, int32x4_t& row0, int32x4_t& row1) {
  register int32_t a0 asm("r0");
  register int32_t a1 asm("r2");
  register int32_t a2 asm("r4");
  register int32_t a3 asm("r6");
  register int32_t b0 asm("r8");
  register int32_t b1 asm("r10");
  register int32_t b2 asm("r12");
  register int32_t b3 asm("lr");
  const int8_t* x0 = input;
  const int8_t* x1 = input + row_stride;
  const int8_t* w = weights;
  // Counts down from features - 32 by 16 while whole steps remain; then + 16 is the tail.
  int32_t n = features - 16;
  int32x4_t v0;
  int32x4_t v1;
  asm volatile(
      "vldrb.8 q0, [%[x0]], #16\n\t"
      "vldrb.8 q1, [%[x1]], #16\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladav.s8 %[a0], q0, q2\n\t"
      "vmladav.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladav.s8 %[a1], q0, q3\n\t"
      "vmladav.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladav.s8 %[a2], q0, q2\n\t"
      "vmladav.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladav.s8 %[a3], q0, q3\n\t"
      "vmladav.s8 %[b3], q1, q3\n\t"
      "subs %[n], %[n], #16\n\t"
      "blt 2f\n\t"
      "1:\n\t"
      "vldrb.8 q0, [%[x0]], #16\n\t"
      "vldrb.8 q1, [%[x1]], #16\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vmladava.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vmladava.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vmladava.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "vmladava.s8 %[b3], q1, q3\n\t"
      "subs %[n], %[n], #16\n\t"
      "bge 1b\n\t"
      "2:\n\t"
      "adds %[n], %[n], #16\n\t"
      "beq 3f\n\t"
      "vctp.8 %[n]\n\t"
      "vpstt\n\t"
      "vldrbt.8 q0, [%[x0]]\n\t"
      "vldrbt.8 q1, [%[x1]]\n\t"
      "vldrb.8 q2, [%[w]]\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vmladava.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #16]\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vmladava.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w], #32]\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vmladava.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #48]\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "vmladava.s8 %[b3], q1, q3\n\t"
      "3:\n\t"
      "vmov %q[v0][2], %q[v0][0], %[a0], %[a2]\n\t"
      "vmov %q[v0][3], %q[v0][1], %[a1], %[a3]\n\t"
      "vmov %q[v1][2], %q[v1][0], %[b0], %[b2]\n\t"
      "vmov %q[v1][3], %q[v1][1], %[b1], %[b3]\n\t"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0),
        [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [x0] "+&r"(x0), [x1] "+&r"(x1),
        [w] "+&r"(w), [n] "+&r"(n), [v0] "=&w"(v0), [v1] "=&w"(v1)
      :
      : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "memory", "cc");
  row0 = v0;
  row1 = v1;
}

// two_rows_block for 1 to 16 features: one step, its input loads predicated (VCTP), the eight
// sums written by VMLADAV without accumulating (so not zeroed first).
inline void two_rows_one_step(const int8_t* input, int32_t row_stride, const int8_t* weights,
                              int32_t features, int32x4_t& row0, int32x4_t& row1) {
  register int32_t a0 asm("r0");
  register int32_t a1 asm("r2");
  register int32_t a2 asm("r4");
  register int32_t a3 asm("r6");
  register int32_t b0 asm("r8");
  register int32_t b1 asm("r10");
  register int32_t b2 asm("r12");
  register int32_t b3 asm("lr");
  int32x4_t v0;
  int32x4_t v1;
  asm volatile(
      "vctp.8 %[n]\n\t"
      "vpstt\n\t"
      "vldrbt.8 q0, [%[x0]]\n\t"
      "vldrbt.8 q1, [%[x1]]\n\t"
      "vldrb.8 q2, [%[w]]\n\t"
      "vmladav.s8 %[a0], q0, q2\n\t"
      "vmladav.s8 %[b0], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #16]\n\t"
      "vmladav.s8 %[a1], q0, q3\n\t"
      "vmladav.s8 %[b1], q1, q3\n\t"
      "vldrb.8 q2, [%[w], #32]\n\t"
      "vmladav.s8 %[a2], q0, q2\n\t"
      "vmladav.s8 %[b2], q1, q2\n\t"
      "vldrb.8 q3, [%[w], #48]\n\t"
      "vmladav.s8 %[a3], q0, q3\n\t"
      "vmladav.s8 %[b3], q1, q3\n\t"
      "vmov %q[v0][2], %q[v0][0], %[a0], %[a2]\n\t"
      "vmov %q[v0][3], %q[v0][1], %[a1], %[a3]\n\t"
      "vmov %q[v1][2], %q[v1][0], %[b0], %[b2]\n\t"
      "vmov %q[v1][3], %q[v1][1], %[b1], %[b3]\n\t"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0),
        [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [v0] "=&w"(v0), [v1] "=&w"(v1)
      : [x0] "r"(input), [x1] "r"(input + row_stride), [w] "r"(weights), [n] "r"(features)
      : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "memory");
  row0 = v0;
  row1 = v1;
}

// The same for one input row, with four accumulators and the loop counted in lr (WLS/LE).
inline int32x4_t one_row_block(const int8_t* input, const int8_t* weights, int32_t features) {
  register int32_t a0 asm("r0") = 0;
  register int32_t a1 asm("r2") = 0;
  register int32_t a2 asm("r4") = 0;
  register int32_t a3 asm("r6") = 0;
  const int8_t* x = input;
  const int8_t* w = weights;
  const int32_t tail = features & 15;
  int32x4_t v;
  asm volatile(
      "wls lr, %[n], 2f\n\t"
      "1:\n\t"
      "vldrb.8 q0, [%[x]], #16\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vldrb.8 q2, [%[w]], #16\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vldrb.8 q3, [%[w]], #16\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "le lr, 1b\n\t"
      "2:\n\t"
      "cmp %[tail], #0\n\t"
      "beq 3f\n\t"
      "vctp.8 %[tail]\n\t"
      "vpst\n\t"
      "vldrbt.8 q0, [%[x]]\n\t"
      "vldrb.8 q2, [%[w]]\n\t"
      "vmladava.s8 %[a0], q0, q2\n\t"
      "vldrb.8 q3, [%[w], #16]\n\t"
      "vmladava.s8 %[a1], q0, q3\n\t"
      "vldrb.8 q2, [%[w], #32]\n\t"
      "vmladava.s8 %[a2], q0, q2\n\t"
      "vldrb.8 q3, [%[w], #48]\n\t"
      "vmladava.s8 %[a3], q0, q3\n\t"
      "3:\n\t"
      "vmov %q[v][2], %q[v][0], %[a0], %[a2]\n\t"
      "vmov %q[v][3], %q[v][1], %[a1], %[a3]\n\t"
      : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [x] "+&r"(x), [w] "+&r"(w),
        [v] "=&w"(v)
      : [n] "r"(features >> 4), [tail] "r"(tail)
      : "d0", "d1", "d4", "d5", "d6", "d7", "lr", "memory", "cc");
  return v;
}

// The sums of the same four channels for two rows, biased, requantized as
// QuadStore::requantize_right and stored at out0 and out1, in assembly: the constants are
// loaded here each time, as GCC would otherwise keep them in vector registers across the rows
// loop and spill the loop's own values instead. (Narrowing stores take a low register.)
inline void store_two_right(int32x4_t sums0, int32x4_t sums1, const RightShiftScales& q,
                            int8_t* out0, int8_t* out1) {
  int32x4_t t;
  asm volatile(
      "vldrw.32 %q[t], [%[bias]]\n\t"
      "vadd.i32 %q[s0], %q[s0], %q[t]\n\t"
      "vadd.i32 %q[s1], %q[s1], %q[t]\n\t"
      "vldrw.32 %q[t], [%[mult]]\n\t"
      "vqrdmulh.s32 %q[s0], %q[s0], %q[t]\n\t"
      "vqrdmulh.s32 %q[s1], %q[s1], %q[t]\n\t"
      // -1 on negative values (saturating), so that VRSHL's ties up become ties away from zero.
      "vshr.s32 %q[t], %q[s0], #31\n\t"
      "vqadd.s32 %q[s0], %q[s0], %q[t]\n\t"
      "vshr.s32 %q[t], %q[s1], #31\n\t"
      "vqadd.s32 %q[s1], %q[s1], %q[t]\n\t"
      "vldrw.32 %q[t], [%[shift]]\n\t"
      "vrshl.s32 %q[s0], %q[s0], %q[t]\n\t"
      "vrshl.s32 %q[s1], %q[s1], %q[t]\n\t"
      "vqadd.s32 %q[s0], %q[s0], %[offset]\n\t"
      "vqadd.s32 %q[s1], %q[s1], %[offset]\n\t"
      "vdup.32 %q[t], %[max]\n\t"
      "vmin.s32 %q[s0], %q[s0], %q[t]\n\t"
      "vmin.s32 %q[s1], %q[s1], %q[t]\n\t"
      "vdup.32 %q[t], %[min]\n\t"
      "vmax.s32 %q[s0], %q[s0], %q[t]\n\t"
      "vmax.s32 %q[s1], %q[s1], %q[t]\n\t"
      "vstrb.32 %q[s0], [%[out0]]\n\t"
      "vstrb.32 %q[s1], [%[out1]]\n\t"
      : [s0] "+&w"(sums0), [s1] "+&w"(sums1), [t] "=&w"(t)
      : [bias] "r"(q.bias), [mult] "r"(q.multiplier), [shift] "r"(q.shift),
        [offset] "r"(q.output_offset), [min] "r"(q.min), [max] "r"(q.max), [out0] "l"(out0),
        [out1] "l"(out1)
      : "memory");
}

// The same for one row.
inline void store_one_right(int32x4_t sums, const RightShiftScales& q, int8_t* out) {
  int32x4_t t;
  asm volatile(
      "vldrw.32 %q[t], [%[bias]]\n\t"
      "vadd.i32 %q[s], %q[s], %q[t]\n\t"
      "vldrw.32 %q[t], [%[mult]]\n\t"
      "vqrdmulh.s32 %q[s], %q[s], %q[t]\n\t"
      "vshr.s32 %q[t], %q[s], #31\n\t"
      "vqadd.s32 %q[s], %q[s], %q[t]\n\t"
      "vldrw.32 %q[t], [%[shift]]\n\t"
      "vrshl.s32 %q[s], %q[s], %q[t]\n\t"
      "vqadd.s32 %q[s], %q[s], %[offset]\n\t"
      "vdup.32 %q[t], %[max]\n\t"
      "vmin.s32 %q[s], %q[s], %q[t]\n\t"
      "vdup.32 %q[t], %[min]\n\t"
      "vmax.s32 %q[s], %q[s], %q[t]\n\t"
      "vstrb.32 %q[s], [%[out]]\n\t"
      : [s] "+&w"(sums), [t] "=&w"(t)
      : [bias] "r"(q.bias), [mult] "r"(q.multiplier), [shift] "r"(q.shift),
        [offset] "r"(q.output_offset), [min] "r"(q.min), [max] "r"(q.max), [out] "l"(out)
      : "memory");
}

#else  // !__OPTIMIZE__

// Without optimization GCC cannot give the assembly above its registers (r7 is the frame
// pointer): the same sums and stores with intrinsics.

inline int32x4_t block_row_sums(const int8_t* input, const int8_t* weights, int32_t features) {
  int32_t sum[4] = {0, 0, 0, 0};
  for (int32_t f = 0; f < features; f += 16) {
    const mve_pred16_t active = vctp8q(static_cast<uint32_t>(features - f));
    const int8x16_t x = vldrbq_z_s8(input + f, active);
    for (int u = 0; u < 4; ++u) {
      sum[u] = vmladavaq_s8(sum[u], x, vldrbq_s8(weights + 4 * f + 16 * u));
    }
  }
  return vldrwq_s32(sum);
}

inline void two_rows_block(const int8_t* input, int32_t row_stride, const int8_t* weights,
                           int32_t features, int32x4_t& row0, int32x4_t& row1) {
  row0 = block_row_sums(input, weights, features);
  row1 = block_row_sums(input + row_stride, weights, features);
}

inline int32x4_t one_row_block(const int8_t* input, const int8_t* weights, int32_t features) {
  return block_row_sums(input, weights, features);
}

inline void two_rows_block_long(const int8_t* input, int32_t row_stride, const int8_t* weights,
                                int32_t features, int32x4_t& row0, int32x4_t& row1) {
  two_rows_block(input, row_stride, weights, features, row0, row1);
}

inline void two_rows_one_step(const int8_t* input, int32_t row_stride, const int8_t* weights,
                              int32_t features, int32x4_t& row0, int32x4_t& row1) {
  two_rows_block(input, row_stride, weights, features, row0, row1);
}

inline void store_one_right(int32x4_t sums, const RightShiftScales& q, int8_t* out) {
  const QuadStore quad(vldrwq_s32(q.multiplier), vldrwq_s32(q.shift), q.output_offset, q.min,
                       q.max);
  vstrbq_s32(out, quad.requantize_right(vaddq_s32(sums, vldrwq_s32(q.bias))));
}

inline void store_two_right(int32x4_t sums0, int32x4_t sums1, const RightShiftScales& q,
                            int8_t* out0, int8_t* out1) {
  store_one_right(sums0, q, out0);
  store_one_right(sums1, q, out1);
}

#endif  // __OPTIMIZE__

// One unit's packed weights (`features` rounded up to 16 with zeros) against one input row.
inline int32_t unit_product(const int8_t* input, const int8_t* weights, int32_t features) {
  int32_t sum = 0;
  for (int32_t steps = features >> 4; steps > 0; --steps) {
    sum = vmladavaq_s8(sum, vldrbq_s8(input), vldrbq_s8(weights));
    input += 16;
    weights += 16;
  }
  const int32_t tail = features & 15;
  if (tail != 0) {
    const mve_pred16_t active = vctp8q(static_cast<uint32_t>(tail));
    sum = vmladavaq_s8(sum, vldrbq_z_s8(input, active), vldrbq_s8(weights));
  }
  return sum;
}

// True when every scale of `count` channels shifts right (QuadStore::requantize_right).
bool right_shifts_only(const PerChannelScale& scale, int32_t count) {
  for (int32_t c = 0; c < count; ++c) {
    if (scale.shift[c] >= 0) return false;
  }
  return true;
}

// The blocks of four units of fully_connected_packed_s8_mve, two rows at a time.
// kStrided: the rows are `row_stride` bytes apart (a strided 1x1 CONV_2D along an output row),
// else `features` (a separate instantiation, so the plain product's code is unchanged).
template <bool kRightShifts, bool kStrided = false>
void packed_unit_blocks(const QuantizedActivation& act, const PerChannelScale& sc, bool per_channel,
                        int32_t rows, int32_t features, int32_t units, const int8_t* input,
                        const int8_t* packed_weights, const int32_t* folded_bias, int8_t* output,
                        int32_t row_stride = 0) {
  const int32_t stride = kStrided ? row_stride : features;
  const int32_t padded = packed_features(features);
  // A per-tensor scale as four lanes of the same, for the right-shift stores.
  const int32_t tensor_multiplier[4] = {sc.multiplier[0], sc.multiplier[0], sc.multiplier[0],
                                        sc.multiplier[0]};
  const int32_t tensor_shift[4] = {sc.shift[0], sc.shift[0], sc.shift[0], sc.shift[0]};
  for (int32_t unit = 0; unit + 4 <= units; unit += 4) {
    const int8_t* block = packed_weights + unit * padded;
    if constexpr (kRightShifts) {
      const RightShiftScales q{folded_bias + unit,
                               per_channel ? sc.multiplier + unit : tensor_multiplier,
                               per_channel ? sc.shift + unit : tensor_shift,
                               act.output_offset,
                               act.min,
                               act.max};
      const int8_t* in = input;
      int8_t* out = output + unit;
      if (features <= 16) {
        // One predicated step (vww's 1x1 layers of 8 and 16 input channels): no loop, and the
        // sums start from the products instead of zero.
        for (int32_t pairs = rows >> 1; pairs > 0; --pairs) {
          int32x4_t sums0;
          int32x4_t sums1;
          two_rows_one_step(in, stride, block, features, sums0, sums1);
          store_two_right(sums0, sums1, q, out, out + units);
          in += 2 * stride;
          out += 2 * units;
        }
      }
      for (int32_t pairs = features <= 16 ? 0 : rows >> 1; pairs > 0; --pairs) {
        int32x4_t sums0;
        int32x4_t sums1;
        two_rows_block_long(in, stride, block, features, sums0, sums1);
        store_two_right(sums0, sums1, q, out, out + units);
        in += 2 * stride;
        out += 2 * units;
      }
      if ((rows & 1) != 0) store_one_right(one_row_block(in, block, features), q, out);
      continue;
    }
    const QuadStore store(sc.multiplier, sc.shift, per_channel, unit, act.output_offset, act.min,
                          act.max);
    const int32x4_t bias = vldrwq_s32(folded_bias + unit);
    const int8_t* in = input;
    int8_t* out = output + unit;
    for (int32_t pairs = rows >> 1; pairs > 0; --pairs) {
      int32x4_t sums0;
      int32x4_t sums1;
      two_rows_block(in, stride, block, features, sums0, sums1);
      store.store<kRightShifts>(vaddq_s32(sums0, bias), out);
      store.store<kRightShifts>(vaddq_s32(sums1, bias), out + units);
      in += 2 * stride;
      out += 2 * units;
    }
    if ((rows & 1) != 0) {
      store.store<kRightShifts>(vaddq_s32(one_row_block(in, block, features), bias), out);
    }
  }
}

}  // namespace

void fully_connected_packed_s8_mve(const QuantizedActivation& activation,
                                   const PerChannelScale& scale, bool per_channel,
                                   const FullyConnectedShape& shape, const int8_t* input,
                                   const int8_t* packed_weights, const int32_t* folded_bias,
                                   int8_t* output) {
  // Local copies: int8 stores may alias any object.
  const int32_t rows = shape.rows;
  const int32_t features = shape.features;
  const int32_t units = shape.units;
  const int32_t padded = packed_features(features);
  const QuantizedActivation act = activation;
  const PerChannelScale sc = scale;
  if (right_shifts_only(sc, per_channel ? units : 1)) {
    packed_unit_blocks<true>(act, sc, per_channel, rows, features, units, input, packed_weights,
                             folded_bias, output);
  } else {
    packed_unit_blocks<false>(act, sc, per_channel, rows, features, units, input, packed_weights,
                              folded_bias, output);
  }
  for (int32_t unit = units / 4 * 4; unit < units; ++unit) {
    const int8_t* weights = packed_weights + unit * padded;
    const int32_t c = per_channel ? unit : 0;
    const int32_t multiplier = sc.multiplier[c];
    const int32_t shift = sc.shift[c];
    const uint32_t bias = bits(folded_bias[unit]);
    for (int32_t row = 0; row < rows; ++row) {
      const uint32_t sum = bits(unit_product(input + row * features, weights, features)) + bias;
      const int32_t scaled =
          multiply_by_quantized_multiplier(static_cast<int32_t>(sum), multiplier, shift);
      output[row * units + unit] =
          static_cast<int8_t>(clamp_with_offset(scaled, act.output_offset, act.min, act.max));
    }
  }
}

void conv_1x1_strided_packed_s8_mve(const ConvGeometry& geometry,
                                    const QuantizedActivation& activation,
                                    const PerChannelScale& scale, const Dims4& input_dims,
                                    const int8_t* input, const int8_t* packed_filter,
                                    const int32_t* folded_bias, const Dims4& output_dims,
                                    int8_t* output) {
  // Local copies: int8 stores may alias any object.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 out_shape = output_dims;
  const QuantizedActivation act = activation;
  const PerChannelScale sc = scale;
  const bool right = right_shifts_only(sc, out_shape.c);
  const int32_t row_bytes = in.w * in.c;
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      // Along an output row the inputs are pixels stride_w apart: rows of a matrix product.
      const int8_t* first = input + (n * in.h + oy * g.stride_h) * row_bytes;
      if (right) {
        packed_unit_blocks<true, true>(act, sc, true, out_shape.w, in.c, out_shape.c, first,
                                       packed_filter, folded_bias, out, g.stride_w * in.c);
      } else {
        packed_unit_blocks<false, true>(act, sc, true, out_shape.w, in.c, out_shape.c, first,
                                        packed_filter, folded_bias, out, g.stride_w * in.c);
      }
      out += out_shape.w * out_shape.c;
    }
  }
}

namespace {

// `bytes` bytes from `from` to `to` in vectors of sixteen, the last one predicated so that
// nothing after `to + bytes` is written (the C library's copy is a byte loop in newlib-nano):
// a tail-predicated loop (WLSTP/LETP), which predicates the last iteration by itself.
inline void copy_bytes(int8_t* to, const int8_t* from, int32_t bytes) {
  if constexpr (kAssembly) {
    asm volatile(
        "wlstp.8 lr, %[n], 2f\n\t"
        "1:\n\t"
        "vldrb.8 q0, [%[from]], #16\n\t"
        "vstrb.8 q0, [%[to]], #16\n\t"
        "letp lr, 1b\n\t"
        "2:\n\t"
        : [to] "+&r"(to), [from] "+&r"(from)
        : [n] "r"(bytes)
        : "d0", "d1", "lr", "memory");
  } else {
    for (int32_t i = 0; i < bytes; i += 16) {
      const mve_pred16_t active = vctp8q(static_cast<uint32_t>(bytes - i));
      vstrbq_p_s8(to + i, vldrbq_z_s8(from + i, active), active);
    }
  }
}

inline void fill_bytes(int8_t* to, int8x16_t value, int32_t bytes) {
  for (int32_t i = 0; i < bytes; i += 16) {
    vstrbq_p_s8(to + i, value, vctp8q(static_cast<uint32_t>(bytes - i)));
  }
}

// A window row without dilation that sticks out of the input at one end or both: filled with
// `pad`, then the part inside (one run of bytes) copied over it. Not inlined: the common
// contiguous rows keep the registers.
__attribute__((noinline)) void gather_row_sticking_out(const int8_t* line, int32_t x0, int32_t taps,
                                                       int32_t width, int32_t channels,
                                                       int8x16_t pad, int8_t* patch) {
  fill_bytes(patch, pad, taps * channels);
  const int32_t kx_begin = x0 < 0 ? -x0 : 0;
  const int32_t kx_end = x0 + taps > width ? width - x0 : taps;
  if (kx_end > kx_begin) {
    copy_bytes(patch + kx_begin * channels, line + (x0 + kx_begin) * channels,
               (kx_end - kx_begin) * channels);
  }
}

// gather_window (im2col.h) with vector copies: the window of output pixel `at` into `patch`,
// positions outside the input holding `pad`.
inline void gather_window_mve(const ConvGeometry& g, const Dims4& in, const Dims4& window,
                              const PixelCursor& at, const int8_t* input, int8x16_t pad,
                              int8_t* patch) {
  const int32_t x0 = at.x * g.stride_w - g.pad_left;
  const int32_t channels = in.c;
  const int32_t row_bytes = window.w * channels;
  // Without dilation, a window row inside the input is one contiguous run of bytes.
  const bool contiguous = g.dilation_w == 1 && x0 >= 0 && x0 + window.w <= in.w;
  const int8_t* image = input + at.n * in.h * in.w * channels;
  if (g.dilation_w == 1 && row_bytes <= 16) {
    // Rows of at most one vector (kws's first layer: 4 bytes, resnet's: 9): each row one
    // predicated load and store, the bytes outside the input (the same for every row of the
    // window) not loaded but taken from `pad` by VPSEL; rows outside the input all `pad`.
    const int32_t begin = x0 < 0 ? -x0 * channels : 0;
    const int32_t end = x0 + window.w > in.w ? (in.w - x0) * channels : row_bytes;
    const mve_pred16_t inside = static_cast<mve_pred16_t>(
        vctp8q(static_cast<uint32_t>(end > 0 ? end : 0)) & ~vctp8q(static_cast<uint32_t>(begin)));
    const mve_pred16_t row = vctp8q(static_cast<uint32_t>(row_bytes));
    for (int32_t ky = 0; ky < window.h; ++ky) {
      const int32_t y = at.y * g.stride_h - g.pad_top + ky * g.dilation_h;
      int8x16_t bytes = pad;
      if (y >= 0 && y < in.h) {
        // (As an integer: the row's first byte may lie before the input row.)
        const intptr_t first = reinterpret_cast<intptr_t>(image) + (y * in.w + x0) * channels;
        bytes = vpselq_s8(vldrbq_z_s8(reinterpret_cast<const int8_t*>(first), inside), pad, inside);
      }
      vstrbq_p_s8(patch, bytes, row);
      patch += row_bytes;
    }
    return;
  }
  for (int32_t ky = 0; ky < window.h; ++ky) {
    const int32_t y = at.y * g.stride_h - g.pad_top + ky * g.dilation_h;
    if (y < 0 || y >= in.h) {
      fill_bytes(patch, pad, row_bytes);
    } else {
      const int8_t* line = image + y * in.w * channels;
      if (contiguous) {
        copy_bytes(patch, line + x0 * channels, row_bytes);
      } else if (g.dilation_w == 1) {
        gather_row_sticking_out(line, x0, window.w, in.w, channels, pad, patch);
      } else {
        for (int32_t kx = 0; kx < window.w; ++kx) {
          const int32_t x = x0 + kx * g.dilation_w;
          int8_t* to = patch + kx * channels;
          if (x < 0 || x >= in.w) {
            fill_bytes(to, pad, channels);
          } else {
            copy_bytes(to, line + x * channels, channels);
          }
        }
      }
    }
    patch += row_bytes;
  }
}

// The first byte of the window of output pixel `at` when the whole window lies inside the
// input, else null.
inline const int8_t* interior_window(const ConvGeometry& g, const Dims4& in, const Dims4& window,
                                     const PixelCursor& at, const int8_t* input) {
  const int32_t y0 = at.y * g.stride_h - g.pad_top;
  const int32_t x0 = at.x * g.stride_w - g.pad_left;
  if (y0 < 0 || x0 < 0 || y0 + (window.h - 1) * g.dilation_h >= in.h ||
      x0 + (window.w - 1) * g.dilation_w >= in.w) {
    return nullptr;
  }
  return input + ((at.n * in.h + y0) * in.w + x0) * in.c;
}

// two_rows_block for two windows read where they lie in the input: `rows` runs of `row_steps`
// whole vectors each, `row_stride` bytes apart, from base0 and base1. One assembly loop per run
// accumulates into the same eight even registers as two_rows_block's.
inline void two_windows_in_place(const int8_t* base0, const int8_t* base1, int32_t row_stride,
                                 int32_t rows, int32_t row_steps, const int8_t* weights,
                                 int32x4_t& row0, int32x4_t& row1) {
  if constexpr (!kAssembly) {
    // Without the assembly: the same sums, the runs as successive blocks of features.
    int32_t sum[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    const int8_t* w = weights;
    for (int32_t r = 0; r < rows; ++r) {
      const int8_t* x[2] = {base0 + r * row_stride, base1 + r * row_stride};
      for (int32_t step = 0; step < row_steps; ++step) {
        for (int u = 0; u < 4; ++u) {
          const int8x16_t wu = vldrbq_s8(w + 16 * u);
          for (int p = 0; p < 2; ++p) sum[p][u] = vmladavaq_s8(sum[p][u], vldrbq_s8(x[p]), wu);
        }
        x[0] += 16;
        x[1] += 16;
        w += 64;
      }
    }
    row0 = vldrwq_s32(sum[0]);
    row1 = vldrwq_s32(sum[1]);
  } else {
    register int32_t a0 asm("r0");
    register int32_t a1 asm("r2");
    register int32_t a2 asm("r4");
    register int32_t a3 asm("r6");
    register int32_t b0 asm("r8");
    register int32_t b1 asm("r10");
    register int32_t b2 asm("r12");
    register int32_t b3 asm("lr");
    const int8_t* w = weights;
    const int8_t* x0 = base0;
    const int8_t* x1 = base1;
    // All runs in one piece of assembly: compiled as a C++ loop around one assembly loop per
    // run, GCC reloaded the run's pointers and counts from the stack every run. The registers
    // are short (the sums take eight), so the runs left and the steps per run share one:
    // (rows - 1) << 16 | row_steps, the steps reloaded with UXTH, the runs counted down by
    // 0x10000. From the end of a run the next starts `skip` bytes on (read from memory: no
    // register is left for it). The first step writes
    // the sums by VMLADAV, so they are not zeroed first.
    const int32_t skip = row_stride - 16 * row_steps;
    int32_t counts = ((rows - 1) << 16) | row_steps;
    int32_t n;
    asm volatile(
        "vldrb.8 q0, [%[x0]], #16\n\t"
        "vldrb.8 q1, [%[x1]], #16\n\t"
        "vldrb.8 q2, [%[w]], #16\n\t"
        "vmladav.s8 %[a0], q0, q2\n\t"
        "vmladav.s8 %[b0], q1, q2\n\t"
        "vldrb.8 q3, [%[w]], #16\n\t"
        "vmladav.s8 %[a1], q0, q3\n\t"
        "vmladav.s8 %[b1], q1, q3\n\t"
        "vldrb.8 q2, [%[w]], #16\n\t"
        "vmladav.s8 %[a2], q0, q2\n\t"
        "vmladav.s8 %[b2], q1, q2\n\t"
        "vldrb.8 q3, [%[w]], #16\n\t"
        "vmladav.s8 %[a3], q0, q3\n\t"
        "vmladav.s8 %[b3], q1, q3\n\t"
        "uxth %[n], %[counts]\n\t"
        "subs %[n], %[n], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        "vldrb.8 q0, [%[x0]], #16\n\t"
        "vldrb.8 q1, [%[x1]], #16\n\t"
        "vldrb.8 q2, [%[w]], #16\n\t"
        "vmladava.s8 %[a0], q0, q2\n\t"
        "vmladava.s8 %[b0], q1, q2\n\t"
        "vldrb.8 q3, [%[w]], #16\n\t"
        "vmladava.s8 %[a1], q0, q3\n\t"
        "vmladava.s8 %[b1], q1, q3\n\t"
        "vldrb.8 q2, [%[w]], #16\n\t"
        "vmladava.s8 %[a2], q0, q2\n\t"
        "vmladava.s8 %[b2], q1, q2\n\t"
        "vldrb.8 q3, [%[w]], #16\n\t"
        "vmladava.s8 %[a3], q0, q3\n\t"
        "vmladava.s8 %[b3], q1, q3\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        "subs %[counts], %[counts], #0x10000\n\t"
        "bmi 4f\n\t"
        "ldr %[n], %[skip]\n\t"
        "add %[x0], %[x0], %[n]\n\t"
        "add %[x1], %[x1], %[n]\n\t"
        "uxth %[n], %[counts]\n\t"
        "b 1b\n\t"
        "4:\n\t"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0),
          [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [x0] "+&r"(x0), [x1] "+&r"(x1),
          [w] "+&r"(w), [n] "=&r"(n), [counts] "+&r"(counts)
        : [skip] "m"(skip)
        : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "memory", "cc");
    int32x4_t v0;
    int32x4_t v1;
    asm("vmov %q[v0][2], %q[v0][0], %[a0], %[a2]\n\t"
        "vmov %q[v0][3], %q[v0][1], %[a1], %[a3]\n\t"
        "vmov %q[v1][2], %q[v1][0], %[b0], %[b2]\n\t"
        "vmov %q[v1][3], %q[v1][1], %[b1], %[b3]\n\t"
        : [v0] "=&w"(v0), [v1] "=&w"(v1)
        : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [b0] "r"(b0), [b1] "r"(b1),
          [b2] "r"(b2), [b3] "r"(b3));
    row0 = v0;
    row1 = v1;
  }
}

// The product of conv_packed_s8_mve: two windows of pixels `p` and `p + 1` (kPair), or the
// window in `first` alone, against every unit. `pair_sums(block, sums0, sums1)` gives a pair's
// sums for one block of four units; the units after the last block read the windows gathered
// in `first` and `first + padded`.
template <bool kRightShifts, bool kPair, typename PairSums>
inline void window_pair_product(const QuantizedActivation& act, const PerChannelScale& sc,
                                const int8_t* first, int32_t padded, int32_t units,
                                const int8_t* packed_filter, const int32_t* folded_bias,
                                int8_t* out, PairSums pair_sums) {
  int32_t unit = 0;
  for (; unit + 4 <= units; unit += 4) {
    const int8_t* block = packed_filter + unit * padded;
    if constexpr (kRightShifts) {
      const RightShiftScales q{folded_bias + unit,
                               sc.multiplier + unit,
                               sc.shift + unit,
                               act.output_offset,
                               act.min,
                               act.max};
      if constexpr (kPair) {
        int32x4_t sums0;
        int32x4_t sums1;
        pair_sums(block, sums0, sums1);
        store_two_right(sums0, sums1, q, out + unit, out + units + unit);
      } else {
        store_one_right(one_row_block(first, block, padded), q, out + unit);
      }
      continue;
    }
    const QuadStore store(sc.multiplier, sc.shift, true, unit, act.output_offset, act.min, act.max);
    const int32x4_t bias = vldrwq_s32(folded_bias + unit);
    if constexpr (kPair) {
      int32x4_t sums0;
      int32x4_t sums1;
      pair_sums(block, sums0, sums1);
      store.store<kRightShifts>(vaddq_s32(sums0, bias), out + unit);
      store.store<kRightShifts>(vaddq_s32(sums1, bias), out + units + unit);
    } else {
      store.store<kRightShifts>(vaddq_s32(one_row_block(first, block, padded), bias), out + unit);
    }
  }
  for (; unit < units; ++unit) {
    const int8_t* weights = packed_filter + unit * padded;
    for (int r = 0; r < (kPair ? 2 : 1); ++r) {
      const uint32_t sum =
          bits(unit_product(first + r * padded, weights, padded)) + bits(folded_bias[unit]);
      const int32_t scaled = multiply_by_quantized_multiplier(static_cast<int32_t>(sum),
                                                              sc.multiplier[unit], sc.shift[unit]);
      out[r * units + unit] =
          static_cast<int8_t>(clamp_with_offset(scaled, act.output_offset, act.min, act.max));
    }
  }
}

template <bool kRightShifts>
void conv_packed_pixels(const ConvGeometry& g, const QuantizedActivation& act,
                        const PerChannelScale& sc, const Dims4& in, const int8_t* input,
                        const Dims4& window, const int8_t* packed_filter,
                        const int32_t* folded_bias, const Dims4& out_shape, int8_t* output,
                        int8_t* scratch) {
  const int32_t padded = packed_features(window.h * window.w * window.c);
  const int32_t units = out_shape.c;
  const int8x16_t pad = vdupq_n_s8(static_cast<int8_t>(-act.input_offset));
  const int32_t pixels = out_shape.n * out_shape.h * out_shape.w;
  int8_t* first = scratch;
  int8_t* second = scratch + padded;
  // (Windows of more than 16 bytes, kws's first layer among them: without zeroing the sums.)
  const auto gathered = [first, padded](const int8_t* block, int32x4_t& sums0, int32x4_t& sums1) {
    if (padded > 16) {
      two_rows_block_long(first, padded, block, padded, sums0, sums1);
    } else {
      two_rows_block(first, padded, block, padded, sums0, sums1);
    }
  };
  // Windows read in place where each of their rows is one run of whole vectors in the input.
  const int32_t row_bytes = window.w * in.c;
  const bool in_place = g.dilation_w == 1 && row_bytes % 16 == 0 && units % 4 == 0;
  const int32_t row_stride = g.dilation_h * in.w * in.c;
  const int32_t window_rows = window.h;
  PixelCursor at{out_shape};
  int8_t* out = output;
  for (int32_t pairs = pixels >> 1; pairs > 0; --pairs) {
    PixelCursor next = at;
    next.advance();
    const int8_t* base0 = in_place ? interior_window(g, in, window, at, input) : nullptr;
    const int8_t* base1 = base0 != nullptr ? interior_window(g, in, window, next, input) : nullptr;
    if (base1 != nullptr) {
      window_pair_product<kRightShifts, true>(
          act, sc, first, padded, units, packed_filter, folded_bias, out,
          [base0, base1, row_stride, window_rows, row_bytes](const int8_t* block, int32x4_t& sums0,
                                                             int32x4_t& sums1) {
            two_windows_in_place(base0, base1, row_stride, window_rows, row_bytes >> 4, block,
                                 sums0, sums1);
          });
    } else {
      gather_window_mve(g, in, window, at, input, pad, first);
      gather_window_mve(g, in, window, next, input, pad, second);
      window_pair_product<kRightShifts, true>(act, sc, first, padded, units, packed_filter,
                                              folded_bias, out, gathered);
    }
    next.advance();
    at = next;
    out += 2 * units;
  }
  if ((pixels & 1) != 0) {
    gather_window_mve(g, in, window, at, input, pad, first);
    window_pair_product<kRightShifts, false>(act, sc, first, padded, units, packed_filter,
                                             folded_bias, out, gathered);
  }
}

}  // namespace

void conv_packed_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                        const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                        const Dims4& filter_dims, const int8_t* packed_filter,
                        const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                        int8_t* scratch) {
  // Local copies: int8 stores may alias any object.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 window = filter_dims;
  const Dims4 out_shape = output_dims;
  const QuantizedActivation act = activation;
  const PerChannelScale sc = scale;
  // The windows' padding to whole vectors meets zero weights; zeroed once so that no
  // uninitialized byte is read.
  const int32_t bytes = conv_packed_s8_mve_scratch_bytes(window);
  for (int32_t i = 0; i < bytes; i += 16) vstrbq_s8(scratch + i, vdupq_n_s8(0));
  if (right_shifts_only(sc, out_shape.c)) {
    conv_packed_pixels<true>(g, act, sc, in, input, window, packed_filter, folded_bias, out_shape,
                             output, scratch);
  } else {
    conv_packed_pixels<false>(g, act, sc, in, input, window, packed_filter, folded_bias, out_shape,
                              output, scratch);
  }
}

namespace {

// The taps of a depthwise window that lie inside the input, as [begin, end) along one axis.
struct TapRange {
  int32_t begin;
  int32_t end;
};

TapRange taps_inside(int32_t start, int32_t taps, int32_t dilation, int32_t extent) {
  TapRange r{0, taps};
  while (r.begin < taps && start + r.begin * dilation < 0) ++r.begin;
  while (r.end > r.begin && start + (r.end - 1) * dilation >= extent) --r.end;
  return r;
}

// Where one output pixel's window lies: its batch image, first row and column (possibly before
// the input), the taps inside the input, and the strides.
struct DepthwiseWindow {
  const int8_t* image;
  int32_t y0;
  int32_t x0;
  TapRange ky;
  TapRange kx;
  size_t row_stride;
  size_t tap_stride;
  int32_t dilation_h;
  int32_t dilation_w;
  int32_t filter_w;
};

// `count` channels from `c` of one output pixel: 4 * kVectors of them, or fewer when kPartial
// (then only the last vector is partial, its missing lanes loaded as zeros and not stored).
template <int kVectors, bool kPartial>
inline void depthwise_channels(const DepthwiseWindow& d, const int8_t* weights, const int32_t* bias,
                               int32_t c, int32_t count, const QuantizedActivation& activation,
                               const PerChannelScale& scale, int8_t* out) {
  const int32_t last_lanes = count - 4 * (kVectors - 1);
  const mve_pred16_t last = vctp32q(static_cast<uint32_t>(last_lanes));
  // Full vectors load without a predicate; only a partial last one needs it.
  const auto load = [last](const int8_t* p, int v) {
    return kPartial && v == kVectors - 1 ? vldrbq_z_s32(p, last) : vldrbq_s32(p);
  };
  int32x4_t sum[static_cast<unsigned>(kVectors)];
  for (int v = 0; v < kVectors; ++v) {
    if (bias == nullptr) {
      sum[v] = vdupq_n_s32(0);
    } else {
      sum[v] = kPartial && v == kVectors - 1 ? vldrwq_z_s32(bias + c + 4 * v, last)
                                             : vldrwq_s32(bias + c + 4 * v);
    }
  }
  const int32_t input_offset = activation.input_offset;
  for (int32_t y = d.ky.begin; y < d.ky.end; ++y) {
    const int8_t* in_row =
        d.image + static_cast<size_t>(d.y0 + y * d.dilation_h) * d.row_stride + c;
    const int8_t* w_row = weights + static_cast<size_t>(y * d.filter_w) * d.tap_stride + c;
    for (int32_t x = d.kx.begin; x < d.kx.end; ++x) {
      const int8_t* in = in_row + static_cast<size_t>(d.x0 + x * d.dilation_w) * d.tap_stride;
      const int8_t* w = w_row + static_cast<size_t>(x) * d.tap_stride;
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v) {
        const int32x4_t shifted = vaddq_n_s32(load(in + 4 * v, v), input_offset);
        sum[v] = vaddq_s32(sum[v], vmulq_s32(shifted, load(w + 4 * v, v)));
      }
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    const int32_t first = c + 4 * v;
    if (kPartial && v == kVectors - 1) {
      // The partial vector: the scalar store for its channels.
      int32_t lanes[4];
      vstrwq_s32(lanes, sum[v]);
      for (int32_t k = 0; k < last_lanes; ++k) {
        const int32_t scaled = multiply_by_quantized_multiplier(
            lanes[k], scale.multiplier[first + k], scale.shift[first + k]);
        out[first + k] = static_cast<int8_t>(
            clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
      }
    } else {
      const QuadStore store(scale.multiplier, scale.shift, true, first, activation.output_offset,
                            activation.min, activation.max);
      store(sum[v], out + first);
    }
  }
}

// 8 * kEights channels (8 or 16) from `c` of one output pixel in 16-bit lanes: each tap's
// input and weights load as vectors of eight, the offset is added in 16 bits (x + offset lies
// in [-255, 255]), and VMULLB/VMULLT widen the products of the even and of the odd lanes into
// int32 sums: channels c, c+2, .., c+6 | c+1, .., c+7 (| c+8, .., c+14 | c+9, .., c+15). Bias,
// scales and outputs are gathered and scattered in that order.
template <int kEights>
inline void depthwise_eights(const DepthwiseWindow& d, const int8_t* weights, const int32_t* bias,
                             int32_t c, const QuantizedActivation& activation,
                             const PerChannelScale& scale, int8_t* out) {
  constexpr int kSums = 2 * kEights;
  const uint32x4_t even = vmulq_n_u32(vidupq_n_u32(0, 1), 2);  // 0, 2, 4, 6
  const uint32x4_t odd = vaddq_n_u32(even, 1);
  int32x4_t sum[static_cast<unsigned>(kSums)];
  for (int k = 0; k < kSums; ++k) {
    const int32_t base = c + 8 * (k / 2);
    sum[k] = bias != nullptr
                 ? vldrwq_gather_shifted_offset_s32(bias + base, k % 2 == 0 ? even : odd)
                 : vdupq_n_s32(0);
  }
  const auto offset = static_cast<int16_t>(activation.input_offset);
  for (int32_t y = d.ky.begin; y < d.ky.end; ++y) {
    const int8_t* in_row =
        d.image + static_cast<size_t>(d.y0 + y * d.dilation_h) * d.row_stride + c;
    const int8_t* w_row = weights + static_cast<size_t>(y * d.filter_w) * d.tap_stride + c;
    for (int32_t x = d.kx.begin; x < d.kx.end; ++x) {
      const int8_t* in = in_row + static_cast<size_t>(d.x0 + x * d.dilation_w) * d.tap_stride;
      const int8_t* w = w_row + static_cast<size_t>(x) * d.tap_stride;
#pragma GCC unroll 2
      for (int e = 0; e < kEights; ++e) {
        const int16x8_t xs = vaddq_n_s16(vldrbq_s16(in + 8 * e), offset);
        const int16x8_t ws = vldrbq_s16(w + 8 * e);
        sum[2 * e] = vaddq_s32(sum[2 * e], vmullbq_int_s16(xs, ws));
        sum[2 * e + 1] = vaddq_s32(sum[2 * e + 1], vmulltq_int_s16(xs, ws));
      }
    }
  }
  for (int k = 0; k < kSums; ++k) {
    const int32_t base = c + 8 * (k / 2);
    const uint32x4_t lanes = k % 2 == 0 ? even : odd;
    const QuadStore store(vldrwq_gather_shifted_offset_s32(scale.multiplier + base, lanes),
                          vldrwq_gather_shifted_offset_s32(scale.shift + base, lanes),
                          activation.output_offset, activation.min, activation.max);
    vstrbq_scatter_offset_s32(out + base, lanes, store.requantize(sum[k]));
  }
}

// The channels left after the blocks of sixteen and eight (fewer than eight) in one pass.
inline void depthwise_rest(const DepthwiseWindow& d, const int8_t* weights, const int32_t* bias,
                           int32_t c, int32_t count, const QuantizedActivation& activation,
                           const PerChannelScale& scale, int8_t* out) {
  const bool partial = count % 4 != 0;
  switch ((count + 3) / 4) {
    case 1:
      return partial
                 ? depthwise_channels<1, true>(d, weights, bias, c, count, activation, scale, out)
                 : depthwise_channels<1, false>(d, weights, bias, c, count, activation, scale, out);
    case 2:
      return partial
                 ? depthwise_channels<2, true>(d, weights, bias, c, count, activation, scale, out)
                 : depthwise_channels<2, false>(d, weights, bias, c, count, activation, scale, out);
    case 3:
      return partial
                 ? depthwise_channels<3, true>(d, weights, bias, c, count, activation, scale, out)
                 : depthwise_channels<3, false>(d, weights, bias, c, count, activation, scale, out);
    case 4:
      return depthwise_channels<4, true>(d, weights, bias, c, count, activation, scale, out);
    default:
      return;
  }
}

}  // namespace

void depthwise_conv_s8_mve(const ConvGeometry& geometry, const QuantizedActivation& activation,
                           const PerChannelScale& scale, const Dims4& input_dims,
                           const int8_t* input, const Dims4& filter_dims, const int8_t* filter,
                           const int32_t* bias, const Dims4& output_dims, int8_t* output) {
  // Local copies: int8 stores may alias any object.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 window = filter_dims;
  const Dims4 out_shape = output_dims;
  const QuantizedActivation act = activation;
  const PerChannelScale sc = scale;
  const int32_t channels = in.c;
  DepthwiseWindow d{};
  d.tap_stride = static_cast<size_t>(channels);
  d.row_stride = static_cast<size_t>(in.w) * d.tap_stride;
  d.dilation_h = g.dilation_h;
  d.dilation_w = g.dilation_w;
  d.filter_w = window.w;
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    d.image = input + static_cast<size_t>(n) * static_cast<size_t>(in.h) * d.row_stride;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      d.y0 = oy * g.stride_h - g.pad_top;
      d.ky = taps_inside(d.y0, window.h, g.dilation_h, in.h);
      for (int32_t ox = 0; ox < out_shape.w; ++ox) {
        d.x0 = ox * g.stride_w - g.pad_left;
        d.kx = taps_inside(d.x0, window.w, g.dilation_w, in.w);
        int32_t c = 0;
        for (; c + 16 <= channels; c += 16) {
          depthwise_eights<2>(d, filter, bias, c, act, sc, out);
        }
        if (c + 8 <= channels) {
          depthwise_eights<1>(d, filter, bias, c, act, sc, out);
          c += 8;
        }
        if (c < channels) depthwise_rest(d, filter, bias, c, channels - c, act, sc, out);
        out += channels;
      }
    }
  }
}

namespace {

// What depthwise_groups_right reads from memory (its registers are short), by these offsets.
struct DepthwiseGroupsArgs {
  int32_t output_offset;    // 0
  int32_t min;              // 4
  int32_t max;              // 8
  int32_t taps;             // 12
  intptr_t multiplier_off;  // 16: the multipliers' address minus the folded bias's, in bytes
  intptr_t shift_off;       // 20: the same for the shifts
  int32_t groups;           // 24: whole groups of sixteen channels
  int32_t thirds;           // 28: taps / 3 (read where the taps are a multiple of three)
};
static_assert(offsetof(DepthwiseGroupsArgs, min) == 4 && offsetof(DepthwiseGroupsArgs, max) == 8 &&
                  offsetof(DepthwiseGroupsArgs, taps) == 12 &&
                  offsetof(DepthwiseGroupsArgs, multiplier_off) == 16 &&
                  offsetof(DepthwiseGroupsArgs, shift_off) == 20 &&
                  offsetof(DepthwiseGroupsArgs, groups) == 24 &&
                  offsetof(DepthwiseGroupsArgs, thirds) == 28,
              "depthwise_groups_right reads its arguments by offset");

#if defined(__OPTIMIZE__)
// depthwise_packed_group for every whole group of sixteen channels of one output pixel whose
// shifts are all negative, bias, taps, requantization and the loop over the groups in one piece
// of assembly: compiled from intrinsics, GCC spilled the four sums and the gathered constants
// around the tap loop, and set each group up again from the stack; the requantization and the
// set-up of a group took as many instructions as its nine taps. The sums' lanes hold channels
// {0,2,4,6} | {8,..,14} | {1,..,7} | {9,..,15} of the group; VIDUP makes each of these index
// vectors in one instruction (and steps its counter by 8 to the next), and the same vector
// indexes the word gathers (bias, multipliers, shifts: uxtw #2) and the byte scatter of the
// outputs. Eight vector registers: four sums, the index, and three temporaries (the tap's input
// and weights, then the maximum, the minimum and the gathered constants); once the first sum is
// stored its register is the temporary. The requantization is QuadStore::requantize_right's.
// The weights of the groups follow each other, so their pointer walks on from group to group.
// The counter is pinned to an even register (VIDUP takes one); widening loads take low ones.
// kThirds: the taps are a multiple of three (3x3 windows), run three per loop iteration (one LE
// for three taps).
template <bool kThirds>
inline void depthwise_groups_right(const TapAddresses& taps, const DepthwiseGroupsArgs& args,
                                   const int8_t* weights, const int32_t* folded_bias, int8_t* out) {
  const intptr_t* tap;
  intptr_t from = taps.base;
  const int8_t* w = weights;
  const int32_t* bias = folded_bias;
  int32_t n;
  int32_t groups;
  register uint32_t index asm("r12");
  intptr_t x;
  int32x4_t s0;
  int32x4_t s1;
  int32x4_t s2;
  int32x4_t s3;
  int16x8_t x_half;
  int16x8_t w_half;
  uint32x4_t lanes;
  asm volatile(
      "ldr %[g], [%[k], #24]\n\t"
      "0:\n\t"
      // The folded bias into the sums, in their lanes' order.
      "mov %[i], #0\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s0], [%[bias], %q[ix], uxtw #2]\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s2], [%[bias], %q[ix], uxtw #2]\n\t"
      "mov %[i], #1\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s1], [%[bias], %q[ix], uxtw #2]\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s3], [%[bias], %q[ix], uxtw #2]\n\t"
      // The taps: as depthwise_packed_group's loop, the index register holding the products.
      "mov %[tap], %[at]\n\t"
      ".if %c[thirds]\n\t"
      "ldr %[n], [%[k], #28]\n\t"
      ".else\n\t"
      "ldr %[n], [%[k], #12]\n\t"
      ".endif\n\t"
      "wls lr, %[n], 2f\n\t"
      "1:\n\t"
      "ldr %[x], [%[tap]], #4\n\t"
      "add %[x], %[x], %[from]\n\t"
      "vldrb.s16 %q[xh], [%[x]]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s0], %q[s0], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s1], %q[s1], %q[ix]\n\t"
      "vldrb.s16 %q[xh], [%[x], #8]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s2], %q[s2], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s3], %q[s3], %q[ix]\n\t"
      ".if %c[thirds]\n\t"
      "ldr %[x], [%[tap]], #4\n\t"
      "add %[x], %[x], %[from]\n\t"
      "vldrb.s16 %q[xh], [%[x]]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s0], %q[s0], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s1], %q[s1], %q[ix]\n\t"
      "vldrb.s16 %q[xh], [%[x], #8]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s2], %q[s2], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s3], %q[s3], %q[ix]\n\t"
      "ldr %[x], [%[tap]], #4\n\t"
      "add %[x], %[x], %[from]\n\t"
      "vldrb.s16 %q[xh], [%[x]]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s0], %q[s0], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s1], %q[s1], %q[ix]\n\t"
      "vldrb.s16 %q[xh], [%[x], #8]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #8\n\t"
      "vmullb.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s2], %q[s2], %q[ix]\n\t"
      "vmullt.s16 %q[ix], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s3], %q[s3], %q[ix]\n\t"
      ".endif\n\t"
      "le lr, 1b\n\t"
      "2:\n\t"
      // From here x and n hold the addresses of the group's multipliers and shifts, tap the
      // output offset (once the minimum is in wh); xh holds the maximum.
      "ldr %[n], [%[k], #8]\n\t"
      "vdup.32 %q[xh], %[n]\n\t"
      "ldr %[x], [%[k], #16]\n\t"
      "add %[x], %[x], %[bias]\n\t"
      "ldr %[n], [%[k], #20]\n\t"
      "add %[n], %[n], %[bias]\n\t"
      // The first sum, with wh as the temporary.
      "mov %[i], #0\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[wh], [%[x], %q[ix], uxtw #2]\n\t"
      "vqrdmulh.s32 %q[s0], %q[s0], %q[wh]\n\t"
      "vshr.s32 %q[wh], %q[s0], #31\n\t"
      "vqadd.s32 %q[s0], %q[s0], %q[wh]\n\t"
      "vldrw.u32 %q[wh], [%[n], %q[ix], uxtw #2]\n\t"
      "vrshl.s32 %q[s0], %q[s0], %q[wh]\n\t"
      "ldr %[tap], [%[k], #4]\n\t"
      "vdup.32 %q[wh], %[tap]\n\t"
      "ldr %[tap], [%[k]]\n\t"
      "vqadd.s32 %q[s0], %q[s0], %[tap]\n\t"
      "vmin.s32 %q[s0], %q[s0], %q[xh]\n\t"
      "vmax.s32 %q[s0], %q[s0], %q[wh]\n\t"
      "vstrb.32 %q[s0], [%[out], %q[ix]]\n\t"
      // The others with s0 as the temporary and wh holding the minimum.
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s0], [%[x], %q[ix], uxtw #2]\n\t"
      "vqrdmulh.s32 %q[s2], %q[s2], %q[s0]\n\t"
      "vshr.s32 %q[s0], %q[s2], #31\n\t"
      "vqadd.s32 %q[s2], %q[s2], %q[s0]\n\t"
      "vldrw.u32 %q[s0], [%[n], %q[ix], uxtw #2]\n\t"
      "vrshl.s32 %q[s2], %q[s2], %q[s0]\n\t"
      "vqadd.s32 %q[s2], %q[s2], %[tap]\n\t"
      "vmin.s32 %q[s2], %q[s2], %q[xh]\n\t"
      "vmax.s32 %q[s2], %q[s2], %q[wh]\n\t"
      "vstrb.32 %q[s2], [%[out], %q[ix]]\n\t"
      "mov %[i], #1\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s0], [%[x], %q[ix], uxtw #2]\n\t"
      "vqrdmulh.s32 %q[s1], %q[s1], %q[s0]\n\t"
      "vshr.s32 %q[s0], %q[s1], #31\n\t"
      "vqadd.s32 %q[s1], %q[s1], %q[s0]\n\t"
      "vldrw.u32 %q[s0], [%[n], %q[ix], uxtw #2]\n\t"
      "vrshl.s32 %q[s1], %q[s1], %q[s0]\n\t"
      "vqadd.s32 %q[s1], %q[s1], %[tap]\n\t"
      "vmin.s32 %q[s1], %q[s1], %q[xh]\n\t"
      "vmax.s32 %q[s1], %q[s1], %q[wh]\n\t"
      "vstrb.32 %q[s1], [%[out], %q[ix]]\n\t"
      "vidup.u32 %q[ix], %[i], #2\n\t"
      "vldrw.u32 %q[s0], [%[x], %q[ix], uxtw #2]\n\t"
      "vqrdmulh.s32 %q[s3], %q[s3], %q[s0]\n\t"
      "vshr.s32 %q[s0], %q[s3], #31\n\t"
      "vqadd.s32 %q[s3], %q[s3], %q[s0]\n\t"
      "vldrw.u32 %q[s0], [%[n], %q[ix], uxtw #2]\n\t"
      "vrshl.s32 %q[s3], %q[s3], %q[s0]\n\t"
      "vqadd.s32 %q[s3], %q[s3], %[tap]\n\t"
      "vmin.s32 %q[s3], %q[s3], %q[xh]\n\t"
      "vmax.s32 %q[s3], %q[s3], %q[wh]\n\t"
      "vstrb.32 %q[s3], [%[out], %q[ix]]\n\t"
      // The next group: sixteen channels on.
      "add %[bias], %[bias], #64\n\t"
      "add %[out], %[out], #16\n\t"
      "add %[from], %[from], #16\n\t"
      "subs %[g], %[g], #1\n\t"
      "bne 0b\n\t"
      : [s0] "=&w"(s0), [s1] "=&w"(s1), [s2] "=&w"(s2), [s3] "=&w"(s3), [ix] "=&w"(lanes),
        [xh] "=&w"(x_half), [wh] "=&w"(w_half), [tap] "=&r"(tap), [w] "+&l"(w), [x] "=&l"(x),
        [i] "=&r"(index), [n] "=&r"(n), [from] "+&r"(from), [bias] "+&r"(bias), [out] "+&r"(out),
        [g] "=&r"(groups)
      : [at] "r"(taps.at), [k] "r"(&args), [thirds] "i"(kThirds ? 1 : 0)
      : "lr", "memory", "cc");
}
#else
template <bool kThirds>
inline void depthwise_groups_right(const TapAddresses&, const DepthwiseGroupsArgs&, const int8_t*,
                                   const int32_t*, int8_t*) {}
#endif

// Sixteen channels from `c` of one output pixel (fewer when kPartial: `count` of them, the
// missing input lanes loaded as zeros, the missing outputs not stored), in 16-bit lanes: each
// tap's inputs and packed weights load as vectors of eight, and VMULLB/VMULLT widen the
// products of the even and of the odd lanes into int32 sums: channels c, c+2, .., c+6 |
// c+1, .., c+7 | c+8, .., c+14 | c+9, .., c+15. The folded bias and the scales are gathered,
// the outputs scattered, in that order.
template <bool kRightShifts, bool kPartial>
inline void depthwise_packed_group(const TapAddresses& taps, int32_t taps_count,
                                   const int8_t* weights, const int32_t* folded_bias, int32_t c,
                                   int32_t count, const QuantizedActivation& act,
                                   const PerChannelScale& sc, int8_t* out) {
  // The channels of each sum's lanes, from c.
  const uint32x4_t even = vmulq_n_u32(vidupq_n_u32(0, 1), 2);  // 0, 2, 4, 6
  const auto lanes = [even](int k) {
    return vaddq_n_u32(even, static_cast<uint32_t>(k % 2 + 8 * (k / 2)));
  };
  // Only with kPartial: the lanes of sum k that hold channels (all in a whole group).
  const auto kept = [count, &lanes](int k) {
    return vcmphiq_u32(vdupq_n_u32(static_cast<uint32_t>(count)), lanes(k));
  };
  const auto gather = [&](const int32_t* base, int k) {
    return kPartial ? vldrwq_gather_shifted_offset_z_s32(base + c, lanes(k), kept(k))
                    : vldrwq_gather_shifted_offset_s32(base + c, lanes(k));
  };
  // Named sums rather than an array: GCC keeps an array of vectors in memory.
  int32x4_t sum0 = gather(folded_bias, 0);
  int32x4_t sum1 = gather(folded_bias, 1);
  int32x4_t sum2 = gather(folded_bias, 2);
  int32x4_t sum3 = gather(folded_bias, 3);
  const mve_pred16_t low = kPartial ? vctp16q(static_cast<uint32_t>(count)) : 0xffff;
  const mve_pred16_t high =
      kPartial ? vctp16q(static_cast<uint32_t>(count > 8 ? count - 8 : 0)) : 0xffff;
  if constexpr (kPartial || !kAssembly) {
    const int8_t* w = weights;
    for (int32_t t = 0; t < taps_count; ++t) {
      const int8_t* x = taps.tap(t, c);
      const int16x8_t x_low = vldrbq_z_s16(x, low);
      const int16x8_t w_low = vldrbq_s16(w);
      sum0 = vaddq_s32(sum0, vmullbq_int_s16(x_low, w_low));
      sum1 = vaddq_s32(sum1, vmulltq_int_s16(x_low, w_low));
      const int16x8_t x_high = vldrbq_z_s16(x + 8, high);
      const int16x8_t w_high = vldrbq_s16(w + 8);
      sum2 = vaddq_s32(sum2, vmullbq_int_s16(x_high, w_high));
      sum3 = vaddq_s32(sum3, vmulltq_int_s16(x_high, w_high));
      w += 16;
    }
  } else {
    // The taps of a whole group in assembly: GCC keeps loop-invariant vectors of the pixel loop
    // in registers and the sums in memory. (Widening loads take a low base register.) Per tap: the
    // tap's address, then each half of the sixteen channels (c .. c+7, c+8 .. c+15) as one input
    // and one weight load widened to 16 bits, VMULLB/VMULLT into a temporary, and two adds.
    const intptr_t* tap = taps.at;
    const intptr_t from = taps.base + c;
    const int8_t* w = weights;
    intptr_t x;
    int16x8_t x_half;
    int16x8_t w_half;
    int32x4_t product;
    asm volatile(
        "wls lr, %[n], 2f\n\t"
        "1:\n\t"
        "ldr %[x], [%[tap]], #4\n\t"
        "add %[x], %[x], %[c]\n\t"
        "vldrb.s16 %q[xh], [%[x]]\n\t"
        "vldrb.s16 %q[wh], [%[w]], #8\n\t"
        "vmullb.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s0], %q[s0], %q[p]\n\t"
        "vmullt.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s1], %q[s1], %q[p]\n\t"
        "vldrb.s16 %q[xh], [%[x], #8]\n\t"
        "vldrb.s16 %q[wh], [%[w]], #8\n\t"
        "vmullb.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s2], %q[s2], %q[p]\n\t"
        "vmullt.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s3], %q[s3], %q[p]\n\t"
        "le lr, 1b\n\t"
        "2:\n\t"
        : [s0] "+&w"(sum0), [s1] "+&w"(sum1), [s2] "+&w"(sum2), [s3] "+&w"(sum3), [tap] "+&r"(tap),
          [w] "+&l"(w), [x] "=&l"(x), [xh] "=&w"(x_half), [wh] "=&w"(w_half), [p] "=&w"(product)
        : [n] "r"(taps_count), [c] "r"(from)
        : "lr", "memory");
  }
  const auto store = [&](int32x4_t sum, int k) {
    const QuadStore quad(gather(sc.multiplier, k), gather(sc.shift, k), act.output_offset, act.min,
                         act.max);
    const int32x4_t value = kRightShifts ? quad.requantize_right(sum) : quad.requantize(sum);
    if constexpr (kPartial) {
      vstrbq_scatter_offset_p_s32(out + c, lanes(k), value, kept(k));
    } else {
      vstrbq_scatter_offset_s32(out + c, lanes(k), value);
    }
  };
  store(sum0, 0);
  store(sum1, 1);
  store(sum2, 2);
  store(sum3, 3);
}

// The last eight channels of a pixel whose channel count is 8 modulo 16 (vww's first depthwise
// layer has eight): the first half of depthwise_packed_group's sums, loads unpredicated. Each
// tap's weights still take sixteen bytes (the upper eight zero).
template <bool kRightShifts>
inline void depthwise_packed_eight(const TapAddresses& taps, int32_t taps_count,
                                   const int8_t* weights, const int32_t* folded_bias, int32_t c,
                                   const QuantizedActivation& act, const PerChannelScale& sc,
                                   int8_t* out) {
  const uint32x4_t even = vmulq_n_u32(vidupq_n_u32(0, 1), 2);  // 0, 2, 4, 6
  const uint32x4_t odd = vaddq_n_u32(even, 1);
  int32x4_t sum0 = vldrwq_gather_shifted_offset_s32(folded_bias + c, even);
  int32x4_t sum1 = vldrwq_gather_shifted_offset_s32(folded_bias + c, odd);
  if constexpr (!kAssembly) {
    const int8_t* w = weights;
    for (int32_t t = 0; t < taps_count; ++t) {
      const int16x8_t x_half = vldrbq_s16(taps.tap(t, c));
      const int16x8_t w_half = vldrbq_s16(w);
      sum0 = vaddq_s32(sum0, vmullbq_int_s16(x_half, w_half));
      sum1 = vaddq_s32(sum1, vmulltq_int_s16(x_half, w_half));
      w += 16;
    }
  } else {
    const intptr_t* tap = taps.at;
    const intptr_t from = taps.base + c;
    const int8_t* w = weights;
    intptr_t x;
    int16x8_t x_half;
    int16x8_t w_half;
    int32x4_t product;
    asm volatile(
        "wls lr, %[n], 2f\n\t"
        "1:\n\t"
        "ldr %[x], [%[tap]], #4\n\t"
        "add %[x], %[x], %[c]\n\t"
        "vldrb.s16 %q[xh], [%[x]]\n\t"
        "vldrb.s16 %q[wh], [%[w]], #16\n\t"
        "vmullb.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s0], %q[s0], %q[p]\n\t"
        "vmullt.s16 %q[p], %q[xh], %q[wh]\n\t"
        "vadd.i32 %q[s1], %q[s1], %q[p]\n\t"
        "le lr, 1b\n\t"
        "2:\n\t"
        : [s0] "+&w"(sum0), [s1] "+&w"(sum1), [tap] "+&r"(tap), [w] "+&l"(w), [x] "=&l"(x),
          [xh] "=&w"(x_half), [wh] "=&w"(w_half), [p] "=&w"(product)
        : [n] "r"(taps_count), [c] "r"(from)
        : "lr", "memory");
  }
  const auto store = [&](int32x4_t sum, uint32x4_t lanes) {
    const QuadStore quad(vldrwq_gather_shifted_offset_s32(sc.multiplier + c, lanes),
                         vldrwq_gather_shifted_offset_s32(sc.shift + c, lanes), act.output_offset,
                         act.min, act.max);
    const int32x4_t value = kRightShifts ? quad.requantize_right(sum) : quad.requantize(sum);
    vstrbq_scatter_offset_s32(out + c, lanes, value);
  };
  store(sum0, even);
  store(sum1, odd);
}

// Two horizontally adjacent interior output pixels of a layer of exactly eight channels
// (vww's first depthwise layer): depthwise_packed_eight for both at once, each tap's weights
// loaded once for the two. The second pixel's taps are the first's `step` bytes further on.
template <bool kRightShifts>
inline void depthwise_eight_pair(const TapAddresses& taps, intptr_t step, int32_t taps_count,
                                 const int8_t* weights, const int32_t* folded_bias,
                                 const QuantizedActivation& act, const PerChannelScale& sc,
                                 int8_t* out) {
  const uint32x4_t even = vmulq_n_u32(vidupq_n_u32(0, 1), 2);  // 0, 2, 4, 6
  const uint32x4_t odd = vaddq_n_u32(even, 1);
  int32x4_t first_even = vldrwq_gather_shifted_offset_s32(folded_bias, even);
  int32x4_t first_odd = vldrwq_gather_shifted_offset_s32(folded_bias, odd);
  int32x4_t second_even = first_even;
  int32x4_t second_odd = first_odd;
  const intptr_t* tap = taps.at;
  const int8_t* w = weights;
  intptr_t x;
  intptr_t y;
  int16x8_t x_half;
  int16x8_t w_half;
  int32x4_t product;
  asm volatile(
      "wls lr, %[n], 2f\n\t"
      "1:\n\t"
      "ldr %[x], [%[tap]], #4\n\t"
      "add %[x], %[x], %[base]\n\t"
      "add %[y], %[x], %[step]\n\t"
      "vldrb.s16 %q[wh], [%[w]], #16\n\t"
      "vldrb.s16 %q[xh], [%[x]]\n\t"
      "vmullb.s16 %q[p], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s0], %q[s0], %q[p]\n\t"
      "vmullt.s16 %q[p], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s1], %q[s1], %q[p]\n\t"
      "vldrb.s16 %q[xh], [%[y]]\n\t"
      "vmullb.s16 %q[p], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s2], %q[s2], %q[p]\n\t"
      "vmullt.s16 %q[p], %q[xh], %q[wh]\n\t"
      "vadd.i32 %q[s3], %q[s3], %q[p]\n\t"
      "le lr, 1b\n\t"
      "2:\n\t"
      : [s0] "+&w"(first_even), [s1] "+&w"(first_odd), [s2] "+&w"(second_even),
        [s3] "+&w"(second_odd), [tap] "+&r"(tap), [w] "+&l"(w), [x] "=&l"(x), [y] "=&l"(y),
        [xh] "=&w"(x_half), [wh] "=&w"(w_half), [p] "=&w"(product)
      : [n] "r"(taps_count), [base] "r"(taps.base), [step] "r"(step)
      : "lr", "memory");
  const auto store = [&](int32x4_t sum, uint32x4_t lanes, int8_t* to) {
    const QuadStore quad(vldrwq_gather_shifted_offset_s32(sc.multiplier, lanes),
                         vldrwq_gather_shifted_offset_s32(sc.shift, lanes), act.output_offset,
                         act.min, act.max);
    const int32x4_t value = kRightShifts ? quad.requantize_right(sum) : quad.requantize(sum);
    vstrbq_scatter_offset_s32(to, lanes, value);
  };
  store(first_even, even, out);
  store(first_odd, odd, out);
  store(second_even, even, out + 8);
  store(second_odd, odd, out + 8);
}

// depthwise_packed_pixels for exactly eight channels: interior pixels two at a time along a row
// (depthwise_eight_pair), the others one at a time.
template <bool kRightShifts>
void depthwise_eight_pixels(const ConvGeometry& g, const QuantizedActivation& act,
                            const PerChannelScale& sc, const Dims4& in, const int8_t* input,
                            const Dims4& window, const int8_t* packed_filter,
                            const int32_t* folded_bias, const Dims4& out_shape, int8_t* output,
                            const int8_t* pad) {
  const DepthwiseTaps where(g, in, window, pad);
  intptr_t edge[kDepthwisePackedMaxTaps];
  const int32_t taps_count = window.h * window.w;
  const intptr_t step = g.stride_w * in.c;
  const int32_t last_x = (window.w - 1) * g.dilation_w;  // of a window, from its first column
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + n * in.h * in.w * in.c;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t y0 = oy * g.stride_h - g.pad_top;
      int32_t ox = 0;
      while (ox < out_shape.w) {
        const int32_t x0 = ox * g.stride_w - g.pad_left;
        const TapAddresses taps = where.point(image, y0, x0, edge);
        // Interior windows point at the prepared offsets; the next one must be interior too.
        const bool pair =
            taps.at != edge && ox + 1 < out_shape.w && x0 + g.stride_w + last_x < in.w;
        if (pair) {
          depthwise_eight_pair<kRightShifts>(taps, step, taps_count, packed_filter, folded_bias,
                                             act, sc, out);
          out += 16;
          ox += 2;
        } else {
          depthwise_packed_eight<kRightShifts>(taps, taps_count, packed_filter, folded_bias, 0, act,
                                               sc, out);
          out += 8;
          ox += 1;
        }
      }
    }
  }
}

// kThirds: the window's taps are a multiple of three (with right shifts only).
template <bool kRightShifts, bool kThirds = false>
void depthwise_packed_pixels(const ConvGeometry& g, const QuantizedActivation& act,
                             const PerChannelScale& sc, const Dims4& in, const int8_t* input,
                             const Dims4& window, const int8_t* packed_filter,
                             const int32_t* folded_bias, const Dims4& out_shape, int8_t* output,
                             const int8_t* pad) {
  const int32_t channels = in.c;
  const int32_t taps_count = window.h * window.w;
  const int32_t group_bytes = 16 * taps_count;
  // With right shifts the whole groups run in depthwise_groups_right.
  constexpr bool kGroupsInAssembly = kRightShifts && kAssembly;
  const DepthwiseGroupsArgs args{
      act.output_offset,
      act.min,
      act.max,
      taps_count,
      reinterpret_cast<intptr_t>(sc.multiplier) - reinterpret_cast<intptr_t>(folded_bias),
      reinterpret_cast<intptr_t>(sc.shift) - reinterpret_cast<intptr_t>(folded_bias),
      channels / 16,
      taps_count / 3};
  for_each_depthwise_pixel(
      g, in, window, out_shape, input, pad, [&](const TapAddresses& taps, int32_t pixel) {
        int8_t* out = output + pixel * channels;
        const int8_t* weights = packed_filter;
        int32_t c = 0;
        if (kGroupsInAssembly && args.groups > 0) {
          depthwise_groups_right<kThirds>(taps, args, weights, folded_bias, out);
          c = 16 * args.groups;
          weights += args.groups * group_bytes;
        }
        for (; !kGroupsInAssembly && c + 16 <= channels; c += 16) {
          depthwise_packed_group<kRightShifts, false>(taps, taps_count, weights, folded_bias, c, 16,
                                                      act, sc, out);
          weights += group_bytes;
        }
        if (channels - c == 8) {
          depthwise_packed_eight<kRightShifts>(taps, taps_count, weights, folded_bias, c, act, sc,
                                               out);
        } else if (c < channels) {
          depthwise_packed_group<kRightShifts, true>(taps, taps_count, weights, folded_bias, c,
                                                     channels - c, act, sc, out);
        }
      });
}

}  // namespace

void depthwise_conv_packed_s8_mve(const ConvGeometry& geometry,
                                  const QuantizedActivation& activation,
                                  const PerChannelScale& scale, const Dims4& input_dims,
                                  const int8_t* input, const Dims4& filter_dims,
                                  const int8_t* packed_filter, const int32_t* folded_bias,
                                  const Dims4& output_dims, int8_t* output, int8_t* scratch) {
  // Local copies: int8 stores may alias any object.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 window = filter_dims;
  const Dims4 out_shape = output_dims;
  const QuantizedActivation act = activation;
  const PerChannelScale sc = scale;
  const int8x16_t zero_point = vdupq_n_s8(static_cast<int8_t>(-act.input_offset));
  for (int32_t c = 0; c < in.c; c += 16) vstrbq_s8(scratch + c, zero_point);
  if (in.c == 8 && kAssembly) {
    if (right_shifts_only(sc, in.c)) {
      depthwise_eight_pixels<true>(g, act, sc, in, input, window, packed_filter, folded_bias,
                                   out_shape, output, scratch);
    } else {
      depthwise_eight_pixels<false>(g, act, sc, in, input, window, packed_filter, folded_bias,
                                    out_shape, output, scratch);
    }
    return;
  }
  if (right_shifts_only(sc, in.c) && (window.h * window.w) % 3 == 0) {
    depthwise_packed_pixels<true, true>(g, act, sc, in, input, window, packed_filter, folded_bias,
                                        out_shape, output, scratch);
  } else if (right_shifts_only(sc, in.c)) {
    depthwise_packed_pixels<true>(g, act, sc, in, input, window, packed_filter, folded_bias,
                                  out_shape, output, scratch);
  } else {
    depthwise_packed_pixels<false>(g, act, sc, in, input, window, packed_filter, folded_bias,
                                   out_shape, output, scratch);
  }
}

}  // namespace tinydeploy::runtime

#endif  // __ARM_FEATURE_MVE
