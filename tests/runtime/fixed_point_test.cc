#include "tinydeploy/runtime/fixed_point.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tinydeploy/runtime/quantize.h"

namespace tinydeploy::runtime {
namespace {

TEST(QuantizeMultiplierTest, SplitsIntoQ31AndShift) {
  EXPECT_EQ(quantize_multiplier(0.5).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(0.5).shift, 0);
  EXPECT_EQ(quantize_multiplier(1.0).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(1.0).shift, 1);
  EXPECT_EQ(quantize_multiplier(0.25).shift, -1);
  EXPECT_EQ(quantize_multiplier(0.75).multiplier, 3 << 29);
  // 2^-20 * (1 + 2^-40) rounds its significand back to exactly 0.5.
  EXPECT_EQ(quantize_multiplier(0x1.0000000001p-20).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(0x1.0000000001p-20).shift, -19);
  // A significand that rounds up to 1.0 carries into the exponent.
  EXPECT_EQ(quantize_multiplier(0x1.ffffffffffp-2).multiplier, 1 << 30);
  EXPECT_EQ(quantize_multiplier(0x1.ffffffffffp-2).shift, 0);
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(1e-12).multiplier, 0);  // below 2^-32
  EXPECT_EQ(quantize_multiplier(1e-12).shift, 0);
}

TEST(FixedPointTest, SaturatingRoundingDoublingHighMul) {
  // (2^30 * 2^30 * 2) / 2^32 = 2^29.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  // 101 * 0.5 = 50.5: positive halves round up.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(101, 1 << 30), 51);
  // -101 * 0.5 = -50.5: (ab + 1 - 2^30) / 2^31 truncates towards zero, giving -50.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-101, 1 << 30), -50);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-103, 1 << 30), -51);
}

// TFLite's definition as written: the nudge by sign, then a division truncating towards zero.
int32_t doubling_high_mul_as_defined(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t product = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = product >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((product + nudge) / (int64_t{1} << 31));
}

TEST(FixedPointTest, DoublingHighMulEqualsItsDefinitionEverywhere) {
  // Products at and around the rounding ties of both signs, the int32 ends, and random pairs.
  const int32_t edges[] = {0,
                           1,
                           -1,
                           2,
                           -2,
                           3,
                           -3,
                           101,
                           -101,
                           1 << 30,
                           -(1 << 30),
                           (1 << 30) + 1,
                           INT32_MAX,
                           INT32_MIN,
                           INT32_MIN + 1,
                           INT32_MAX - 1,
                           0x40000001,
                           -0x40000001,
                           0x55555555,
                           -0x55555555};
  for (int32_t a : edges) {
    for (int32_t b : edges) {
      EXPECT_EQ(saturating_rounding_doubling_high_mul(a, b), doubling_high_mul_as_defined(a, b))
          << a << " * " << b;
    }
  }
  uint64_t state = 0x9E3779B97F4A7C15u;
  const auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<int32_t>(static_cast<uint32_t>(state));
  };
  int differing = 0;
  for (int i = 0; i < 2000000; ++i) {
    const int32_t a = next() >> (i % 24);  // small accumulators as often as large ones
    const int32_t b =
        i % 2 == 0 ? next() : static_cast<int32_t>((1u << 30) | (next() & 0x3FFFFFFF));
    differing += saturating_rounding_doubling_high_mul(a, b) != doubling_high_mul_as_defined(a, b);
  }
  EXPECT_EQ(differing, 0);
  // Exact ties (product an odd multiple of 2^30) of both signs.
  for (int32_t k = -1000; k <= 1000; ++k) {
    const int32_t a = 2 * k + 1;
    EXPECT_EQ(saturating_rounding_doubling_high_mul(a, 1 << 30),
              doubling_high_mul_as_defined(a, 1 << 30));
  }
}

TEST(FixedPointTest, RoundingDivideByPowerOfTwo) {
  EXPECT_EQ(rounding_divide_by_power_of_two(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(rounding_divide_by_power_of_two(-5, 1), -3);  // -2.5 -> -3 (away from zero)
  EXPECT_EQ(rounding_divide_by_power_of_two(4, 1), 2);
  EXPECT_EQ(rounding_divide_by_power_of_two(7, 2), 2);    // 1.75
  EXPECT_EQ(rounding_divide_by_power_of_two(-6, 2), -2);  // -1.5
  EXPECT_EQ(rounding_divide_by_power_of_two(-5, 2), -1);  // -1.25
  EXPECT_EQ(rounding_divide_by_power_of_two(123, 0), 123);
}

TEST(FixedPointTest, MultiplyByQuantizedMultiplier) {
  // 1000 * 0.75 * 2^-3 = 93.75 -> 94.
  EXPECT_EQ(multiply_by_quantized_multiplier(1000, 3 << 29, -3), 94);
  // 10 * 0.5 * 2^2 = 20: the left shift happens before the multiply.
  EXPECT_EQ(multiply_by_quantized_multiplier(10, 1 << 30, 2), 20);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1000, 3 << 29, -3), -94);
  EXPECT_EQ(multiply_by_quantized_multiplier(12345, 0, 0), 0);
}

TEST(FixedPointTest, MultiplyByQuantizedMultiplierAtTheEndsOfItsShiftRange) {
  // The 32-bit form: shifts -31 and 31; beyond int32 the left shift saturates (2^31 becomes
  // INT32_MAX, and half of it rounds to 2^30), as the real value does.
  EXPECT_EQ(multiply_by_quantized_multiplier(INT32_MAX, INT32_MAX, -31), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(1, 1 << 30, 31), 1 << 30);
  EXPECT_EQ(multiply_by_quantized_multiplier(1 << 29, 1 << 30, 1), 1 << 29);
  EXPECT_EQ(multiply_by_quantized_multiplier(1 << 30, 1 << 30, 1), 1 << 30);
  EXPECT_EQ(multiply_by_quantized_multiplier(-(1 << 30), 1 << 30, 2), -(1 << 30));
  // The 64-bit form: shift 14 leaves a rounding shift of 1; shift -48 one of 63.
  const int64_t near_limit = (int64_t{1} << 47) - 1;
  EXPECT_EQ(multiply_by_quantized_multiplier(int64_t{3}, 1 << 30, 14), 3 << 13);
  EXPECT_EQ(multiply_by_quantized_multiplier(near_limit, INT32_MAX, -48), 0);
  // Q15 multiplier 32767, (2^47 - 1) * 32767 / 2^46 = 65534.
  EXPECT_EQ(multiply_by_quantized_multiplier(-near_limit, INT32_MAX, -31), -65534);
}

TEST(FixedPointTest, RightShiftFormKnownValues) {
  EXPECT_EQ(multiply_by_quantized_multiplier_right(1000, 3 << 29, -3), 94);  // 93.75
  EXPECT_EQ(multiply_by_quantized_multiplier_right(-1000, 3 << 29, -3), -94);
  // 20 * 0.5 / 8 = 1.25 -> 1; 12 * 0.5 / 4 = 1.5 -> 2; -12 * 0.5 / 4 = -1.5 -> -2 (ties away).
  EXPECT_EQ(multiply_by_quantized_multiplier_right(20, 1 << 30, -3), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier_right(12, 1 << 30, -2), 2);
  EXPECT_EQ(multiply_by_quantized_multiplier_right(-12, 1 << 30, -2), -2);
  // -1 * 0.5 = -0.5 rounds to 0 in the doubling multiply (the case where q and x differ in sign).
  EXPECT_EQ(multiply_by_quantized_multiplier_right(-1, 1 << 30, -1), 0);
  EXPECT_EQ(multiply_by_quantized_multiplier_right(-5, 0, -7), 0);
  // (2^31 - 1)^2 / 2^32 = 2^30 - 1 + 2^-32; -2^31 (2^31 - 1) / 2^32 = -2^30 + 0.5, a tie.
  EXPECT_EQ(multiply_by_quantized_multiplier_right(INT32_MAX, INT32_MAX, -1), (1 << 30) - 1);
  EXPECT_EQ(multiply_by_quantized_multiplier_right(INT32_MIN, INT32_MAX, -1), -(1 << 30));
  EXPECT_EQ(multiply_by_quantized_multiplier_right(INT32_MAX, INT32_MAX, -31), 1);
}

// The folded form against the two-step definition on every right shift, at the multipliers'
// ends and at random ones, for x at the int32 ends, around zero, on rounding ties (odd numbers
// times powers of two) and at random.
TEST(FixedPointTest, RightShiftFormEqualsTheTwoStepDefinition) {
  std::mt19937 rng(77);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int32_t> significand(1 << 30, INT32_MAX);
  std::vector<int32_t> multipliers = {0, 1 << 30, (1 << 30) + 1, 3 << 29, INT32_MAX - 1, INT32_MAX};
  for (int i = 0; i < 20; ++i) multipliers.push_back(significand(rng));
  std::vector<int32_t> xs = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1};
  for (int32_t v = -300; v <= 300; ++v) xs.push_back(v);
  for (int bit = 0; bit < 31; ++bit) {
    for (int32_t odd : {1, 3, 5, 7, 255}) {
      const int64_t value = int64_t{odd} << bit;
      if (value > INT32_MAX) continue;
      xs.push_back(static_cast<int32_t>(value));
      xs.push_back(static_cast<int32_t>(-value));
      xs.push_back(static_cast<int32_t>(value - 1));
      xs.push_back(static_cast<int32_t>(1 - value));
    }
  }
  for (int i = 0; i < 500; ++i) xs.push_back(any(rng));
  int64_t checked = 0;
  for (int shift = -31; shift <= -1; ++shift) {
    for (const int32_t m : multipliers) {
      for (const int32_t x : xs) {
        ASSERT_EQ(multiply_by_quantized_multiplier_right(x, m, shift),
                  multiply_by_quantized_multiplier(x, m, shift))
            << "x " << x << " multiplier " << m << " shift " << shift;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 31 * 26 * static_cast<int64_t>(xs.size()));
}

// The prepared form (one SMLAL, the output offset folded in) against the two-step definition
// plus the offset on every shift and offset it is prepared for: the multipliers' ends and
// random ones, x at the int32 ends, around zero, on ties and at random.
TEST(FixedPointTest, PreparedFormEqualsTheTwoStepDefinitionPlusOffset) {
  std::mt19937 rng(78);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int32_t> significand(1 << 30, INT32_MAX);
  std::vector<int32_t> multipliers = {0, 1 << 30, (1 << 30) + 1, 3 << 29, INT32_MAX - 1, INT32_MAX};
  for (int i = 0; i < 6; ++i) multipliers.push_back(significand(rng));
  std::vector<int32_t> xs = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1};
  for (int32_t v = -40; v <= 40; ++v) xs.push_back(v);
  for (int bit = 0; bit < 31; ++bit) {
    for (int32_t odd : {1, 3, 255}) {
      const int64_t value = int64_t{odd} << bit;
      if (value > INT32_MAX) continue;
      for (int64_t v : {value, -value, value - 1, 1 - value}) xs.push_back(static_cast<int32_t>(v));
    }
  }
  for (int i = 0; i < 100; ++i) xs.push_back(any(rng));
  EXPECT_FALSE(can_prepare_output_scale(-1, 0));
  EXPECT_FALSE(can_prepare_output_scale(-24, 0));
  EXPECT_FALSE(can_prepare_output_scale(-8, 128));
  EXPECT_FALSE(can_prepare_output_scale(0, 0));
  int64_t checked = 0;
  for (int shift = -23; shift <= -2; ++shift) {
    for (const int32_t offset : {-128, -127, -1, 0, 1, 5, 126, 127}) {
      ASSERT_TRUE(can_prepare_output_scale(shift, offset));
      const int32_t high = prepared_output_high(shift, offset);
      for (const int32_t m : multipliers) {
        for (const int32_t x : xs) {
          const int64_t expected = int64_t{multiply_by_quantized_multiplier(x, m, shift)} + offset;
          ASSERT_EQ(scale_prepared(x, m, high, -shift - 1), expected)
              << "x " << x << " multiplier " << m << " shift " << shift << " offset " << offset;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 22 * 8 * 12 * static_cast<int64_t>(xs.size()));
}

TEST(FixedPointTest, ClampWithOffsetSaturatesInsteadOfOverflowing) {
  EXPECT_EQ(clamp_with_offset(10, 5, -128, 127), 15);
  EXPECT_EQ(clamp_with_offset(INT32_MAX, 127, -128, 127), 127);
  EXPECT_EQ(clamp_with_offset(INT32_MIN, -128, -128, 127), -128);
  EXPECT_EQ(clamp_with_offset(INT32_MAX, 1, INT32_MIN, INT32_MAX), INT32_MAX);
}

}  // namespace
}  // namespace tinydeploy::runtime
