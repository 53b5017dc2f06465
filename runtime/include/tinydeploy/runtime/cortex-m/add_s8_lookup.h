// int8 ADD and SUB of two tensors of the same shape (no broadcasting) for the Cortex-M cores:
// each input's rescaled value (offset, left shift, input multiplier) depends on its int8 value
// alone, so lowering prepares it for all 256 values and the kernel looks it up; only the
// output's rescaling is computed per element (four at a time with Helium on the Cortex-M55).
// Bit-exact with the portable add/sub of elementwise.h, which stay the definition.
#pragma once

#include "tinydeploy/runtime/elementwise.h"

namespace tinydeploy::runtime {

// output[i] = the portable add (sub) of input1[i] and input2[i], for i < count.
// Requires: `input1_scaled[v + 128]` is the rescaled value of input 1 when it holds v, as the
// portable kernel computes it from `params`; `input2_scaled[v + 128]` the same for input 2,
// negated for SUB; their sums fit int32 (as AddParams requires).
void add_s8_lookup(const AddParams& params, int32_t count, const int32_t* input1_scaled,
                   const int32_t* input2_scaled, const int8_t* input1, const int8_t* input2,
                   int8_t* output);

}  // namespace tinydeploy::runtime
