#include "tinydeploy/runtime/cortex-m55/pooling_s8_mve.h"

#if !defined(__ARM_FEATURE_MVE)

namespace tinydeploy::runtime {

void average_pool_s8_mve(const PoolGeometry& geometry, const PoolClamp& clamp,
                         const Dims4& input_dims, const int8_t* input, const Dims4& output_dims,
                         int8_t* output) {
  average_pool(geometry, clamp, input_dims, input, output_dims, output);
}

}  // namespace tinydeploy::runtime

#else

#include <arm_mve.h>

namespace tinydeploy::runtime {
namespace {

// The window positions summed in 16-bit lanes before they are widened: 256 int8 values
// lie in [-32768, 32512].
constexpr int32_t kNarrowPositions = 256;

// The rounded average of `sum` over `count` values, clamped: the portable kernel's arithmetic.
inline int8_t average_of(int32_t sum, int32_t count, const PoolClamp& clamp) {
  int32_t average = count == 0 ? 0
                    : sum > 0  ? (sum + count / 2) / count
                               : (sum - count / 2) / count;
  average = average < clamp.min ? clamp.min : average;
  average = average > clamp.max ? clamp.max : average;
  return static_cast<int8_t>(average);
}

// The averages of `channels` (at most 16) channels from `first` over one window: rows
// [y_begin, y_end) and columns [x_begin, x_end) of `image`.
void window_channels(const int8_t* image, int32_t width, int32_t channel_count, int32_t y_begin,
                     int32_t y_end, int32_t x_begin, int32_t x_end, int32_t first, int32_t channels,
                     const PoolClamp& clamp, int8_t* out) {
  // Lanes past `channels` load as zeros and are not stored.
  const mve_pred16_t low = vctp16q(static_cast<uint32_t>(channels));
  const mve_pred16_t high = vctp16q(static_cast<uint32_t>(channels > 8 ? channels - 8 : 0));
  int32_t sums[16] = {};
  int16x8_t narrow_low = vdupq_n_s16(0);
  int16x8_t narrow_high = vdupq_n_s16(0);
  int32_t positions = 0;
  const auto widen = [&]() {
    int16_t lanes[16];
    vst1q_s16(lanes, narrow_low);
    vst1q_s16(lanes + 8, narrow_high);
    for (int i = 0; i < 16; ++i) sums[i] += lanes[i];
    narrow_low = vdupq_n_s16(0);
    narrow_high = vdupq_n_s16(0);
    positions = 0;
  };
  for (int32_t y = y_begin; y < y_end; ++y) {
    const int8_t* at = image + (y * width + x_begin) * channel_count + first;
    for (int32_t x = x_begin; x < x_end; ++x) {
      narrow_low = vaddq_s16(narrow_low, vldrbq_z_s16(at, low));
      narrow_high = vaddq_s16(narrow_high, vldrbq_z_s16(at + 8, high));
      at += channel_count;
      if (++positions == kNarrowPositions) widen();
    }
  }
  widen();
  const int32_t count = (y_end - y_begin) * (x_end - x_begin);
  for (int32_t c = 0; c < channels; ++c) out[first + c] = average_of(sums[c], count, clamp);
}

}  // namespace

void average_pool_s8_mve(const PoolGeometry& geometry, const PoolClamp& clamp,
                         const Dims4& input_dims, const int8_t* input, const Dims4& output_dims,
                         int8_t* output) {
  // Local copies: int8 stores may alias any object.
  const PoolGeometry g = geometry;
  const PoolClamp range = clamp;
  const Dims4 in = input_dims;
  const Dims4 out_shape = output_dims;
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + n * in.h * in.w * in.c;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t origin_y = oy * g.stride_h - g.pad_top;
      const int32_t y_begin = origin_y < 0 ? 0 : origin_y;
      const int32_t y_end = origin_y + g.filter_h < in.h ? origin_y + g.filter_h : in.h;
      for (int32_t ox = 0; ox < out_shape.w; ++ox) {
        const int32_t origin_x = ox * g.stride_w - g.pad_left;
        const int32_t x_begin = origin_x < 0 ? 0 : origin_x;
        const int32_t x_end = origin_x + g.filter_w < in.w ? origin_x + g.filter_w : in.w;
        for (int32_t c = 0; c < in.c; c += 16) {
          window_channels(image, in.w, in.c, y_begin, y_end, x_begin, x_end, c,
                          in.c - c < 16 ? in.c - c : 16, range, out);
        }
        out += out_shape.c;
      }
    }
  }
}

}  // namespace tinydeploy::runtime

#endif  // __ARM_FEATURE_MVE
