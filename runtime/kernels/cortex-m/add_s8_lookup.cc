#include "tinydeploy/runtime/cortex-m/add_s8_lookup.h"

#include "tinydeploy/runtime/fixed_point.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "tinydeploy/runtime/cortex-m55/quad_store.h"
#endif

namespace tinydeploy::runtime {

void add_s8_lookup(const AddParams& params, int32_t count, const int32_t* input1_scaled,
                   const int32_t* input2_scaled, const int8_t* input1, const int8_t* input2,
                   int8_t* output) {
  // Local copies: int8 stores may alias any object.
  const int32_t multiplier = params.output.multiplier;
  const int32_t shift = params.output.shift;
  const int32_t output_offset = params.output_offset;
  const int32_t low = params.min;
  const int32_t high = params.max;
  int32_t i = 0;
#if defined(__ARM_FEATURE_MVE)
  // Four elements per step: the inputs widened to word lanes index the tables (gather loads),
  // the sums are requantized together.
  const QuadStore store(&multiplier, &shift, false, 0, output_offset, low, high);
  // The tables are indexed from their middle (value 0): the int8 values sign-extended to 32
  // bits index them directly (the gather's address arithmetic is modulo 2^32, so a negative
  // value's offset reaches below the middle), which saves adding 128 to every index.
  const int32_t* middle1 = input1_scaled + 128;
  const int32_t* middle2 = input2_scaled + 128;
  // Whole steps of four unpredicated, then the last partial one predicated.
  const auto steps = [&](auto requantize) {
    for (; i + 4 <= count; i += 4) {
      const uint32x4_t index1 = vreinterpretq_u32_s32(vldrbq_s32(input1 + i));
      const uint32x4_t index2 = vreinterpretq_u32_s32(vldrbq_s32(input2 + i));
      const int32x4_t sum = vaddq_s32(vldrwq_gather_shifted_offset_s32(middle1, index1),
                                      vldrwq_gather_shifted_offset_s32(middle2, index2));
      vstrbq_s32(output + i, requantize(sum));
    }
    if (i < count) {
      const mve_pred16_t active = vctp32q(static_cast<uint32_t>(count - i));
      const uint32x4_t index1 = vreinterpretq_u32_s32(vldrbq_z_s32(input1 + i, active));
      const uint32x4_t index2 = vreinterpretq_u32_s32(vldrbq_z_s32(input2 + i, active));
      const int32x4_t sum = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(middle1, index1, active),
                                      vldrwq_gather_shifted_offset_z_s32(middle2, index2, active));
      vstrbq_p_s32(output + i, requantize(sum), active);
    }
  };
  if (shift < 0) {
    // The usual case: right shifts only (QuadStore::requantize_right).
    steps([&store](int32x4_t sum) { return store.requantize_right(sum); });
  } else {
    steps([&store](int32x4_t sum) { return store.requantize(sum); });
  }
#else
  if (shift < 0) {
    // The usual case (an output scale larger than the sums' one): the folded right-shift form,
    // whose result is at most 2^30 in magnitude, so the offset needs no saturation.
    for (; i < count; ++i) {
      const int32_t sum = input1_scaled[input1[i] + 128] + input2_scaled[input2[i] + 128];
      const int32_t value =
          multiply_by_quantized_multiplier_right(sum, multiplier, shift) + output_offset;
      output[i] = static_cast<int8_t>(value < low ? low : (value > high ? high : value));
    }
    return;
  }
  for (; i < count; ++i) {
    const int32_t sum = input1_scaled[input1[i] + 128] + input2_scaled[input2[i] + 128];
    const int32_t scaled = multiply_by_quantized_multiplier(sum, multiplier, shift);
    output[i] = static_cast<int8_t>(clamp_with_offset(scaled, output_offset, low, high));
  }
#endif
}

}  // namespace tinydeploy::runtime
