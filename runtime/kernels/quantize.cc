#include "tinydeploy/runtime/quantize.h"

#include <math.h>
#include <stdint.h>

namespace tinydeploy::runtime {

QuantizedMultiplier quantize_multiplier(double real) {
  QuantizedMultiplier result;
  if (real <= 0.0) return result;
  int exponent = 0;
  const double significand = frexp(real, &exponent);  // real = significand * 2^exponent
  int64_t fixed =
      static_cast<int64_t>(llround(significand * static_cast<double>(int64_t{1} << 31)));
  if (fixed == (int64_t{1} << 31)) {  // rounding carried into the next power of two
    fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) return result;
  if (exponent > 30) {  // beyond what an int32 shift can apply: saturate
    result.multiplier = INT32_MAX;
    result.shift = 30;
    return result;
  }
  result.multiplier = static_cast<int32_t>(fixed);
  result.shift = exponent;
  return result;
}

}  // namespace tinydeploy::runtime
