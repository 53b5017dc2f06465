#include "tinydeploy/runtime/cortex-m4/pooling_s8_dsp.h"

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TINYDEPLOY_HAS_DSP 1
#else
#define TINYDEPLOY_HAS_DSP 0
#endif

namespace tinydeploy::runtime {
namespace {

inline uint32_t load_word(const int8_t* p) {
  uint32_t word;
  memcpy(&word, p, sizeof word);
  return word;
}

// Each 16-bit half of `pair` plus the sign-extended byte 0 and 2 (even) or 1 and 3 (odd) of
// `word`, modulo 2^16 (SXTAB16, with its rotation for the odd bytes).
inline uint32_t add_even_bytes(uint32_t pair, uint32_t word) {
#if TINYDEPLOY_HAS_DSP
  return static_cast<uint32_t>(__sxtab16(static_cast<int32_t>(pair), static_cast<int32_t>(word)));
#else
  const uint32_t low = (pair + static_cast<uint32_t>(static_cast<int8_t>(word & 0xFFu))) & 0xFFFFu;
  const uint32_t high =
      ((pair >> 16) + static_cast<uint32_t>(static_cast<int8_t>((word >> 16) & 0xFFu))) & 0xFFFFu;
  return low | (high << 16);
#endif
}

inline uint32_t add_odd_bytes(uint32_t pair, uint32_t word) {
#if TINYDEPLOY_HAS_DSP
  uint32_t result;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(result) : "r"(pair), "r"(word));
  return result;
#else
  return add_even_bytes(pair, word >> 8);
#endif
}

inline int32_t low_half(uint32_t pair) { return static_cast<int16_t>(pair & 0xFFFFu); }
inline int32_t high_half(uint32_t pair) { return static_cast<int16_t>(pair >> 16); }

// The portable kernel's rounded average of `sum` over `count` values, clamped.
inline int8_t average_of(int32_t sum, int32_t count, const PoolClamp& clamp) {
  int32_t average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
  average = average < clamp.min ? clamp.min : average;
  average = average > clamp.max ? clamp.max : average;
  return static_cast<int8_t>(average);
}

}  // namespace

void average_pool_s8_dsp(const PoolGeometry& geometry, const PoolClamp& clamp,
                         const Dims4& input_dims, const int8_t* input, const Dims4& output_dims,
                         int8_t* output) {
  const PoolGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 out_shape = output_dims;
  const PoolClamp range = clamp;
  const size_t channels = static_cast<size_t>(in.c);
  const size_t row_stride = static_cast<size_t>(in.w) * channels;
  int8_t* out = output;
  for (int32_t batch = 0; batch < out_shape.n; ++batch) {
    const int8_t* image =
        input + static_cast<size_t>(batch) * static_cast<size_t>(in.h) * row_stride;
    for (int32_t out_y = 0; out_y < out_shape.h; ++out_y) {
      const int32_t origin_y = out_y * g.stride_h - g.pad_top;
      const int32_t y_begin = origin_y < 0 ? 0 : origin_y;
      const int32_t y_end = origin_y + g.filter_h < in.h ? origin_y + g.filter_h : in.h;
      for (int32_t out_x = 0; out_x < out_shape.w; ++out_x, out += channels) {
        const int32_t origin_x = out_x * g.stride_w - g.pad_left;
        const int32_t x_begin = origin_x < 0 ? 0 : origin_x;
        const int32_t x_end = origin_x + g.filter_w < in.w ? origin_x + g.filter_w : in.w;
        const int32_t count = (y_end - y_begin) * (x_end - x_begin);
        if (count <= 0) {
          // An empty window: the portable kernel's average of nothing is 0, clamped.
          for (size_t c = 0; c < channels; ++c) out[c] = average_of(0, 1, range);
          continue;
        }
        const int8_t* first = image + static_cast<size_t>(y_begin) * row_stride +
                              static_cast<size_t>(x_begin) * channels;
        const int32_t rows = y_end - y_begin;
        const size_t run = static_cast<size_t>(x_end - x_begin) * channels;  // bytes per row
        size_t c = 0;
        // Four channels per pass: per pixel one word, two SXTAB16 (at most 255 x 128 in each
        // 16-bit half, so the halves never carry into each other).
        for (; c + 4 <= channels; c += 4) {
          uint32_t even = 0;
          uint32_t odd = 0;
          const int8_t* row = first + c;
          for (int32_t y = 0; y < rows; ++y, row += row_stride) {
            for (size_t x = 0; x < run; x += channels) {
              const uint32_t word = load_word(row + x);
              even = add_even_bytes(even, word);
              odd = add_odd_bytes(odd, word);
            }
          }
          const int8_t a0 = average_of(low_half(even), count, range);
          const int8_t a1 = average_of(low_half(odd), count, range);
          const int8_t a2 = average_of(high_half(even), count, range);
          const int8_t a3 = average_of(high_half(odd), count, range);
          out[c] = a0;
          out[c + 1] = a1;
          out[c + 2] = a2;
          out[c + 3] = a3;
        }
        for (; c < channels; ++c) {
          int32_t sum = 0;
          const int8_t* row = first + c;
          for (int32_t y = 0; y < rows; ++y, row += row_stride) {
            for (size_t x = 0; x < run; x += channels) sum += row[x];
          }
          out[c] = average_of(sum, count, range);
        }
      }
    }
  }
}

}  // namespace tinydeploy::runtime
