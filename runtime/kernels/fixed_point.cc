#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime::fixed {
namespace {

// Raw values wrap on overflow as the reference arithmetic does; going through uint32 keeps that
// well defined.
int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
int32_t wrapping_sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
int32_t mul(int32_t a, int32_t b) { return saturating_rounding_doubling_high_mul(a, b); }

// Q0.31 constants: exp(-1/8), 1/3, and exp(-2^k) for k = -2..4.
constexpr int32_t kExpMinusOneEighth = 1895147668;
constexpr int32_t kOneThird = 715827883;
constexpr int32_t kExpMinusPowersOfTwo[] = {1672461947, 1302514674, 790015084, 290630308,
                                            39332535,   720401,     242};
// Q2.29 constants of the Newton-Raphson start: 48/17 and -32/17.
constexpr int32_t kFortyEightSeventeenths = 1515870810;
constexpr int32_t kMinusThirtyTwoSeventeenths = -1010580540;
constexpr int32_t kOneQ2 = 1 << 29;

// exp(a) for a in [-1/4, 0): a Taylor expansion around -1/8.
int32_t exp_on_interval_minus_quarter_to_zero(int32_t a) {
  const int32_t x = wrapping_add(a, 1 << 28);
  const int32_t x2 = mul(x, x);
  const int32_t x3 = mul(x2, x);
  const int32_t x4 = mul(x2, x2);
  const int32_t x4_over_4 = rounding_divide_by_power_of_two(x4, 2);
  const int32_t higher_terms = rounding_divide_by_power_of_two(
      wrapping_add(mul(wrapping_add(x4_over_4, x3), kOneThird), x2), 1);
  return wrapping_add(kExpMinusOneEighth, mul(kExpMinusOneEighth, wrapping_add(x, higher_terms)));
}

// Three Newton-Raphson steps towards 1 / half_denominator, in Q2.29.
int32_t reciprocal_of_half_denominator(int32_t half_denominator) {
  int32_t x =
      wrapping_add(kFortyEightSeventeenths, mul(half_denominator, kMinusThirtyTwoSeventeenths));
  for (int step = 0; step < 3; ++step) {
    const int32_t error = wrapping_sub(kOneQ2, mul(half_denominator, x));
    x = wrapping_add(x, saturating_left_shift(mul(x, error), 2));
  }
  return x;
}

int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = int64_t{a} + int64_t{b};
  return static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

}  // namespace

int32_t exp_on_negative_values(int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = int32_t{1} << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_quarter = wrapping_sub(a & (one_quarter - 1), one_quarter);
  int32_t result = exp_on_interval_minus_quarter_to_zero(
      saturating_rounding_multiply_by_power_of_two(a_mod_quarter_minus_quarter, integer_bits));
  // The multiples of 1/4 removed above: multiply by exp(-2^k) for each bit set.
  const int32_t remainder = wrapping_sub(a_mod_quarter_minus_quarter, a);
  for (int k = -2; k <= 4; ++k) {
    if (integer_bits <= k) break;
    const int32_t bit = int32_t{1} << (fractional_bits + k);
    if ((remainder & bit) != 0) result = mul(result, kExpMinusPowersOfTwo[k + 2]);
  }
  if (integer_bits > 5) {
    const int32_t minus_32 = -(int32_t{1} << (36 - integer_bits));
    if (a < minus_32) result = 0;
  }
  return a == 0 ? INT32_MAX : result;
}

int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t x = reciprocal_of_half_denominator(rounding_half_sum(a, INT32_MAX));
  return saturating_left_shift(x, 1);  // Q2.29 halved, as Q0.31
}

int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t x = reciprocal_of_half_denominator(rounding_half_sum(a, INT32_MAX));
  return saturating_left_shift(wrapping_sub(x, kOneQ2), 2);
}

int32_t logistic(int32_t a, int integer_bits) {
  if (a == 0) return int32_t{1} << 30;
  const int32_t magnitude = a > 0 ? a : wrapping_sub(0, a);
  const int32_t positive = one_over_one_plus_x_for_x_in_0_1(
      exp_on_negative_values(wrapping_sub(0, magnitude), integer_bits));
  return a > 0 ? positive : wrapping_sub(INT32_MAX, positive);
}

int32_t tanh(int32_t a, int integer_bits) {
  if (a == 0) return 0;
  const int32_t non_positive = a < 0 ? a : wrapping_sub(0, a);
  // exp(2n): the same raw value read with one more integer bit.
  const int32_t magnitude = one_minus_x_over_one_plus_x_for_x_in_0_1(
      exp_on_negative_values(non_positive, integer_bits + 1));
  return a < 0 ? wrapping_sub(0, magnitude) : magnitude;
}

int32_t reciprocal(int32_t x, int integer_bits, int* bits_over_unit) {
  const uint32_t value = static_cast<uint32_t>(x);
  const int headroom_plus_one = count_leading_zeros(value);
  *bits_over_unit = integer_bits - headroom_plus_one;
  const uint32_t normalized = headroom_plus_one >= 32 ? 0 : value << headroom_plus_one;
  return one_over_one_plus_x_for_x_in_0_1(static_cast<int32_t>(normalized - (uint32_t{1} << 31)));
}

}  // namespace tinydeploy::runtime::fixed
