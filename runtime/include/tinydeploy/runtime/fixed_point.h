// Integer arithmetic of TFLite's quantized kernels: a real multiplier M in [0.5, 1) * 2^shift is
// applied to an int32 accumulator as a Q31 multiply with rounding, then a rounding shift.
// Target code: C++17, no floating point, no exceptions.
#pragma once

#include <stdint.h>

namespace tinydeploy::runtime {

// Each helper states the argument range in which it is free of undefined behaviour; lowering
// (src/tinydeploy/lowering/contracts.h) only prepares multipliers and shifts within them.

// (a * b * 2) >> 32 with round-to-nearest (ties away from zero after the doubling), saturating
// the one overflowing case (INT32_MIN * INT32_MIN). Defined for every a and b.
// TFLite defines it as (a * b + nudge) / 2^31 truncated towards zero, the nudge 2^30 for a
// non-negative product and 1 - 2^30 for a negative one. For a negative product p that quotient
// is ceil((p + 1 - 2^30) / 2^31) = floor((p + 2^30) / 2^31), so one flooring (arithmetic) shift
// of p + 2^30 gives both cases: no sign test and no 64-bit division in the hot loops.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  return static_cast<int32_t>((product + (int64_t{1} << 30)) >> 31);
}

// x / 2^exponent rounded to nearest, ties away from zero. Requires exponent in [0, 31].
inline int32_t rounding_divide_by_power_of_two(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x * 2^exponent, saturating at the int32 limits. Requires exponent in [0, 31].
inline int32_t saturating_left_shift(int32_t x, int exponent) {
  const int32_t threshold = static_cast<int32_t>((int64_t{1} << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return static_cast<int32_t>(static_cast<uint32_t>(x) << exponent);
}

// x * 2^exponent with saturation when scaling up and rounding when scaling down. Requires
// exponent in [-31, 31].
inline int32_t saturating_rounding_multiply_by_power_of_two(int32_t x, int exponent) {
  if (exponent > 0) return saturating_left_shift(x, exponent);
  if (exponent < 0) return rounding_divide_by_power_of_two(x, -exponent);
  return x;
}

// x * multiplier * 2^shift, where `multiplier` is a Q31 value in [2^30, 2^31) (or 0): the
// left part of the shift is applied before the high multiply, the right part after it, each
// with TFLite's rounding. Requires shift in [-31, 31] (lowering prepares [-31, 30]); any x and
// multiplier. Where x * 2^shift leaves int32 the left shift wraps, as the two's complement
// multiply in TFLite's reference does on every target.
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  if (shift <= 0) {
    return rounding_divide_by_power_of_two(saturating_rounding_doubling_high_mul(x, multiplier),
                                           -shift);
  }
  // Only an extreme multiplier (a far larger input than output scale) shifts x out of the int32
  // range: the product then saturates, as the real value does, instead of wrapping around.
  const int64_t wide = static_cast<int64_t>(x) * (int64_t{1} << shift);
  const int32_t scaled =
      static_cast<int32_t>(wide > INT32_MAX ? INT32_MAX : (wide < INT32_MIN ? INT32_MIN : wide));
  return saturating_rounding_doubling_high_mul(scaled, multiplier);
}

// multiply_by_quantized_multiplier(x, multiplier, shift) for a right shift, with its two
// roundings folded into shifts, for the optimized kernels' output stores: about half the
// instructions on a Cortex-M4 (one SMLAL, no sign tests). Requires shift in [-31, -1] and
// multiplier 0 or in [2^30, 2^31) (what lowering prepares). Defined for every x.
//
// Why it is exact. Let q = saturating_rounding_doubling_high_mul(x, multiplier) =
// floor((p + 2^30) / 2^31) with p = x * multiplier (never saturating: multiplier >= 0) and
// r = -shift >= 1. The rounding shift is floor((q + 2^(r-1) - [q < 0]) / 2^r), which equals
// floor((floor((q - [q < 0]) / 2^(r-1)) + 1) / 2): floors of floors by integers combine. [q < 0]
// may be replaced by [x < 0]: with multiplier >= 2^30 they differ only where q is 0 (x = -1,
// multiplier = 2^30), and with multiplier 0 q is 0 too; for q = 0 both give 0 because
// 2^(r-1) - 1 < 2^r. Nothing overflows: q is at most 2^31 - 2, so q - [x < 0] + 1 fits.
inline int32_t multiply_by_quantized_multiplier_right(int32_t x, int32_t multiplier, int shift) {
  const int64_t rounded = static_cast<int64_t>(x) * multiplier + (int64_t{1} << 30);
  const auto low = static_cast<uint32_t>(rounded);
  const auto high = static_cast<uint32_t>(static_cast<uint64_t>(rounded) >> 32);
  // (high:low) >> 31 kept in 32 bits: q.
  const auto q = static_cast<int32_t>((high << 1) | (low >> 31));
  const int32_t q_toward_zero = q + (x >> 31);  // q - [x < 0]
  return ((q_toward_zero >> ~shift) + 1) >> 1;  // ~shift == r - 1
}

// The right shifts and output zero points for which the prepared form below applies. Lowering
// prepares it only for these; other layers keep the forms above.
constexpr bool can_prepare_output_scale(int shift, int32_t output_offset) {
  return shift >= -23 && shift <= -2 && output_offset >= -128 && output_offset <= 127;
}

// The constant `high` of scale_prepared for a channel's shift and the layer's output offset:
// 2^(r-2) + output_offset * 2^(r-1) with r = -shift. Requires can_prepare_output_scale.
constexpr int32_t prepared_output_high(int shift, int32_t output_offset) {
  return (int32_t{1} << (-shift - 2)) + output_offset * (int32_t{1} << (-shift - 1));
}

// multiply_by_quantized_multiplier_right(x, multiplier, shift) + output_offset, in one 64-bit
// multiply-accumulate and one shift (about 5 instructions on a Cortex-M4 where the form above
// takes 9 and the offset one more), for stores whose channel constants were prepared ahead of
// time: `high` = prepared_output_high(shift, output_offset), `shift_minus_one` = -shift - 1.
// Requires can_prepare_output_scale(shift, output_offset) and multiplier 0 or in
// [2^30, 2^31). Defined for every x.
//
// Why it is exact. With p = x * multiplier and r = -shift, the form above is
// floor((q' + 2^(r-1)) / 2^r) with q' = floor((p + 2^30 - [x < 0] * 2^31) / 2^31) (its two
// shifts and +1 combine: floors of floors by integers combine). Combining once more,
// floor((q' + 2^(r-1)) / 2^r) + output_offset = floor(V / 2^(31 + r)) with
// V = p + 2^30 - [x < 0] * 2^31 + (2^(r-2) + output_offset * 2^(r-1)) * 2^32, an exact int64
// (|p| < 2^62), and floor(V / 2^(31 + r)) = floor(floor(V / 2^32) / 2^(r-1)): the high word of V
// shifted by r - 1. V is built as high word high + (x >> 31) (the -2^32 of a negative x) and
// low word 2^30 + [x < 0] * 2^31, then p added (SMLAL). The high word of V lies within
// 2^30 + 2^21 + 2^29 of 0 for r <= 23 and |output_offset| <= 128, so it fits in int32.
inline int32_t scale_prepared(int32_t x, int32_t multiplier, int32_t high,
                              int32_t shift_minus_one) {
  const uint32_t low = (static_cast<uint32_t>(x) & 0x80000000u) | 0x40000000u;
  const uint32_t start_high = static_cast<uint32_t>(high) + static_cast<uint32_t>(x >> 31);
  const uint64_t start = (static_cast<uint64_t>(start_high) << 32) | low;
  const uint64_t value =
      start + static_cast<uint64_t>(static_cast<int64_t>(x) * static_cast<int64_t>(multiplier));
  return static_cast<int32_t>(static_cast<uint32_t>(value >> 32)) >> shift_minus_one;
}

// The 64-bit accumulator form used by 16-bit activations: the multiplier is first reduced to
// Q15 (rounded), then one rounding shift by 15 - shift. Requires |x| < 2^47 (so x times the
// Q15 multiplier plus the rounding term stays within int64), multiplier >= 0 and shift in
// [-48, 14] (a rounding shift in [1, 63]); TFLite documents [-31, 7]. A result beyond int32 is
// truncated to its low 32 bits, as TFLite's conversion does.
inline int32_t multiply_by_quantized_multiplier(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;
  if (total_shift < 1) {
    // Beyond the documented shift range: only an extreme multiplier gets here, and the result
    // saturates as the real value does.
    const int64_t product = x * reduced;
    const int64_t limit = int64_t{INT32_MAX} >> -total_shift;
    if (product > limit) return INT32_MAX;
    if (product < -limit) return INT32_MIN;
    return static_cast<int32_t>(product * (int64_t{1} << -total_shift));
  }
  const int64_t rounded = x * reduced + (int64_t{1} << (total_shift - 1));
  return static_cast<int32_t>(rounded >> total_shift);
}

// value + offset, saturated to the int32 range: a rescaled value that saturated (an extreme
// multiplier) plus a zero point must not overflow before the output clamp.
inline int32_t add_saturating(int32_t value, int32_t offset) {
  const int64_t sum = static_cast<int64_t>(value) + offset;
  return static_cast<int32_t>(sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : sum));
}

inline int32_t clamp(int32_t value, int32_t low, int32_t high) {
  return value < low ? low : (value > high ? high : value);
}

// clamp(value + offset), as if the sum were taken without limits: a rescaled value near the int32
// limits plus a zero point saturates instead of overflowing. Defined for every argument.
inline int32_t clamp_with_offset(int32_t value, int32_t offset, int32_t low, int32_t high) {
  // In 32 bits with an overflow test, cheaper than a 64-bit sum on a 32-bit core: a sum past
  // the int32 range lies past the clamp bound on the offset's side.
  int32_t sum;
  if (__builtin_add_overflow(value, offset, &sum)) return offset > 0 ? high : low;
  return sum < low ? low : (sum > high ? high : sum);
}

// Leading zero bits of `value` (32 for zero): the headroom when normalising a positive sum.
inline int count_leading_zeros(uint32_t value) { return value == 0 ? 32 : __builtin_clz(value); }

// Fixed-point transcendental functions on raw int32 values with a given number of integer bits
// (Q(integer_bits).(31 - integer_bits)); results are Q0.31. They follow the polynomial and
// Newton-Raphson constructions TFLite's quantized SOFTMAX, LOGISTIC and TANH are defined with.
namespace fixed {

// exp(a) for a <= 0, `a` with `integer_bits` in [0, 29] (the kernels use 4 and 5).
int32_t exp_on_negative_values(int32_t a, int integer_bits);
// 1 / (1 + x) for x in [0, 1), Q0.31 in and out.
int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a);
// (1 - x) / (1 + x) for x in [0, 1), Q0.31 in and out.
int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a);
// 1 / (1 + exp(-a)) and tanh(a), `a` with `integer_bits` in [0, 28].
int32_t logistic(int32_t a, int integer_bits);
int32_t tanh(int32_t a, int integer_bits);
// Reciprocal of a positive Q(integer_bits) value: returns a Q0.31 significand and sets
// `bits_over_unit` (integer_bits - 1 at most) so that 1/x = significand * 2^-bits_over_unit.
// Requires x > 0.
int32_t reciprocal(int32_t x, int integer_bits, int* bits_over_unit);

}  // namespace fixed
}  // namespace tinydeploy::runtime
