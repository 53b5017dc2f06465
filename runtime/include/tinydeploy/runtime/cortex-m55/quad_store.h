// Requantization of four int32 sums to int8 at once with Helium, for the Cortex-M55 kernels.
// Only where the compiler targets MVE.
#pragma once

#if defined(__ARM_FEATURE_MVE)

#include <arm_mve.h>
#include <stdint.h>

namespace tinydeploy::runtime {

// Four sums to int8 at once, bit for bit as multiply_by_quantized_multiplier and
// clamp_with_offset do them one at a time:
// - a shift > 0 is a saturating left shift first (VQSHL by the lane's amount, 0 elsewhere);
// - VQRDMULH is TFLite's doubling high multiply exactly: it takes (2ab + 2^31) >> 32, which is
//   floor((ab + 2^30) / 2^31), and TFLite's sign-dependent nudge with a truncating division
//   gives that same value (see fixed_point.h); both saturate INT32_MIN * INT32_MIN alone;
// - a shift < 0 is a rounding right shift with ties away from zero, where VRSHL by a negative
//   amount rounds ties up: subtracting 1 from a negative value first (saturating, so INT32_MIN
//   stays, and exact there as it has no remainder) turns one into the other;
// - the output offset is added with saturation, then clamped, as clamp_with_offset does.
struct QuadStore {
  int32x4_t multiplier;
  int32x4_t left;         // max(shift, 0)
  int32x4_t right;        // min(shift, 0): VRSHL by it shifts right with rounding
  int32x4_t right_lanes;  // all ones where shift < 0
  int32_t output_offset;
  int32_t min;
  int32_t max;

  QuadStore(const int32_t* multipliers, const int32_t* shifts, bool per_channel, int32_t first,
            int32_t output_offset_, int32_t min_, int32_t max_)
      : QuadStore(per_channel ? vldrwq_s32(multipliers + first) : vdupq_n_s32(multipliers[0]),
                  per_channel ? vldrwq_s32(shifts + first) : vdupq_n_s32(shifts[0]), output_offset_,
                  min_, max_) {}

  // The lanes' multipliers and shifts given as vectors (gathered by the caller).
  QuadStore(int32x4_t multiplier_, int32x4_t shift, int32_t output_offset_, int32_t min_,
            int32_t max_)
      : multiplier(multiplier_),
        left(vmaxq_s32(shift, vdupq_n_s32(0))),
        right(vminq_s32(shift, vdupq_n_s32(0))),
        right_lanes(vshrq_n_s32(shift, 31)),
        output_offset(output_offset_),
        min(min_),
        max(max_) {}

  // The four outputs, clamped, in int32 lanes.
  int32x4_t requantize(int32x4_t sums) const {
    const int32x4_t scaled = vqrdmulhq_s32(vqshlq_s32(sums, left), multiplier);
    const int32x4_t toward_zero = vandq_s32(vshrq_n_s32(scaled, 31), right_lanes);
    const int32x4_t shifted = vrshlq_s32(vqaddq_s32(scaled, toward_zero), right);
    const int32x4_t offset = vqaddq_n_s32(shifted, output_offset);
    return vmaxq_s32(vminq_s32(offset, vdupq_n_s32(max)), vdupq_n_s32(min));
  }

  void operator()(int32x4_t sums, int8_t* out) const { vstrbq_s32(out, requantize(sums)); }

  // As requantize where every lane's shift is < 0 (right shifts only, which is what the layers
  // of real models have): no left shift, and every lane takes the -1 of a negative value, so
  // two instructions and two vectors fewer.
  int32x4_t requantize_right(int32x4_t sums) const {
    const int32x4_t scaled = vqrdmulhq_s32(sums, multiplier);
    const int32x4_t shifted = vrshlq_s32(vqaddq_s32(scaled, vshrq_n_s32(scaled, 31)), right);
    const int32x4_t offset = vqaddq_n_s32(shifted, output_offset);
    return vmaxq_s32(vminq_s32(offset, vdupq_n_s32(max)), vdupq_n_s32(min));
  }

  // requantize_right when kRightShifts, else requantize, then the int8 stores.
  template <bool kRightShifts>
  void store(int32x4_t sums, int8_t* out) const {
    vstrbq_s32(out, kRightShifts ? requantize_right(sums) : requantize(sums));
  }
};

}  // namespace tinydeploy::runtime

#endif  // __ARM_FEATURE_MVE
