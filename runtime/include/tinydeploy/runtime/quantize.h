// Prepare-time helpers: derive the integer parameters kernels use from real-valued scales.
// They use floating point and run where parameters are prepared (the host tool, code
// generation), never inside an integer kernel.
#pragma once

#include <stdint.h>

namespace tinydeploy::runtime {

struct QuantizedMultiplier {
  int32_t multiplier = 0;  // Q31 significand in [2^30, 2^31), or 0
  int32_t shift = 0;       // power of two applied with it
};

// Splits `real` (>= 0) into a Q31 significand and a power-of-two exponent, rounding the
// significand to nearest; tiny values (below 2^-32) become 0.
QuantizedMultiplier quantize_multiplier(double real);

}  // namespace tinydeploy::runtime
