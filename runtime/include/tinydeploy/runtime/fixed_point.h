// Integer arithmetic of TFLite's quantized kernels: a real multiplier M in [0.5, 1) * 2^shift is
// applied to an int32 accumulator as a Q31 multiply with rounding, then a rounding shift.
// Target code: C++17, no floating point, no exceptions.
#pragma once

#include <stdint.h>

namespace tinydeploy::runtime {

// (a * b * 2) >> 32 with round-to-nearest (ties away from zero after the doubling), saturating
// the one overflowing case (INT32_MIN * INT32_MIN).
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = product >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((product + nudge) / (int64_t{1} << 31));
}

// x / 2^exponent rounded to nearest, ties away from zero (exponent in [0, 31]).
inline int32_t rounding_divide_by_power_of_two(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x * multiplier * 2^shift, where `multiplier` is a Q31 value in [2^30, 2^31) (or 0) and
// `shift` in [-31, 30]: the left part of the shift is applied before the high multiply, the
// right part after it, each with TFLite's rounding.
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t scaled = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return rounding_divide_by_power_of_two(saturating_rounding_doubling_high_mul(scaled, multiplier),
                                         right);
}

inline int32_t clamp(int32_t value, int32_t low, int32_t high) {
  return value < low ? low : (value > high ? high : value);
}

}  // namespace tinydeploy::runtime
