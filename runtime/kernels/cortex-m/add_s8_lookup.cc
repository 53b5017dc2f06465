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
  // the sums are requantized together; the last step is predicated.
  const QuadStore store(&multiplier, &shift, false, 0, output_offset, low, high);
  for (; i < count; i += 4) {
    const mve_pred16_t active = vctp32q(static_cast<uint32_t>(count - i));
    const uint32x4_t index1 =
        vreinterpretq_u32_s32(vaddq_n_s32(vldrbq_z_s32(input1 + i, active), 128));
    const uint32x4_t index2 =
        vreinterpretq_u32_s32(vaddq_n_s32(vldrbq_z_s32(input2 + i, active), 128));
    const int32x4_t sum =
        vaddq_s32(vldrwq_gather_shifted_offset_z_s32(input1_scaled, index1, active),
                  vldrwq_gather_shifted_offset_z_s32(input2_scaled, index2, active));
    vstrbq_p_s32(output + i, store.requantize(sum), active);
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
