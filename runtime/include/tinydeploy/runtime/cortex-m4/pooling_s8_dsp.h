// int8 AVERAGE_POOL_2D for cores with the Armv7E-M DSP extension (Cortex-M4 first): four
// channels summed per word with SXTAB16 (two 16-bit sums of even channels, two of odd ones),
// then divided per channel. Bit-exact with the portable average_pool of pooling.h, which stays
// the definition; the same source builds on the host with the instruction emulated.
#pragma once

#include "tinydeploy/runtime/common.h"
#include "tinydeploy/runtime/pooling.h"

namespace tinydeploy::runtime {

// The largest window (clipped to the input) whose int8 sums fit the 16-bit halves: 255 x 128.
constexpr int32_t kAveragePoolDspMaxWindow = 255;

// As the int8 average_pool of pooling.h. Requires, beyond its requirements, at most
// kAveragePoolDspMaxWindow input pixels in any window (filter_h * filter_w, or the input's
// extent where the filter is larger).
void average_pool_s8_dsp(const PoolGeometry& geometry, const PoolClamp& clamp,
                         const Dims4& input_dims, const int8_t* input, const Dims4& output_dims,
                         int8_t* output);

}  // namespace tinydeploy::runtime
