// add_s8_lookup (the Cortex-M ADD and SUB with prepared tables) against the portable add and
// sub: on the host it runs its scalar path, the one the Cortex-M4 runs.
#include "tinydeploy/runtime/cortex-m/add_s8_lookup.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

TEST(AddS8LookupTest, MatchesPortableAddAndSubBytes) {
  std::mt19937 rng(31);
  auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  int64_t outputs = 0;
  int64_t inside = 0;
  int right_shift_cases = 0;
  for (int index = 0; index < 300; ++index) {
    AddParams p;
    p.input1_offset = pick(-127, 128);
    p.input2_offset = pick(-127, 128);
    p.output_offset = pick(-128, 127);
    p.left_shift = 20;
    p.input1 = {pick(1 << 30, INT32_MAX), pick(-8, -1)};
    p.input2 = {pick(1 << 30, INT32_MAX), pick(-8, -1)};
    // Mostly right shifts (the folded form), some of 0 and left ones (the definition).
    const int32_t output_shift = index % 5 == 4 ? pick(0, 2) : pick(-24, -14);
    p.output = {pick(1 << 30, INT32_MAX), output_shift};
    right_shift_cases += output_shift < 0 ? 1 : 0;
    p.min = index % 2 == 0 ? -128 : pick(-128, 0);
    p.max = index % 3 == 0 ? 127 : pick(p.min, 127);
    const bool subtract = index % 2 == 1;
    std::vector<int32_t> table1(256), table2(256);
    for (int32_t v = -128; v <= 127; ++v) {
      const auto at = static_cast<size_t>(v + 128);
      table1[at] = multiply_by_quantized_multiplier((v + p.input1_offset) * (1 << p.left_shift),
                                                    p.input1.multiplier, p.input1.shift);
      const int32_t two = multiply_by_quantized_multiplier(
          (v + p.input2_offset) * (1 << p.left_shift), p.input2.multiplier, p.input2.shift);
      table2[at] = subtract ? -two : two;
    }
    const int32_t count = pick(1, 200);
    std::vector<int8_t> a(static_cast<size_t>(count)), b(static_cast<size_t>(count));
    for (int8_t& v : a) v = static_cast<int8_t>(pick(-128, 127));
    for (int8_t& v : b) v = static_cast<int8_t>(pick(-128, 127));
    BroadcastShape shape;
    shape.dims[5] = count;
    shape.stride1[5] = 1;
    shape.stride2[5] = 1;
    std::vector<int8_t> expected(static_cast<size_t>(count), 0);
    std::vector<int8_t> actual(static_cast<size_t>(count), 1);
    if (subtract) {
      sub(p, shape, a.data(), b.data(), expected.data());
    } else {
      add(p, shape, a.data(), b.data(), expected.data());
    }
    add_s8_lookup(p, count, table1.data(), table2.data(), a.data(), b.data(), actual.data());
    EXPECT_EQ(actual, expected) << "case " << index;
    for (int8_t v : expected) inside += v > p.min && v < p.max ? 1 : 0;
    outputs += count;
  }
  EXPECT_EQ(right_shift_cases, 240);
  // The comparison means something only if many outputs are off the clamp.
  EXPECT_GT(inside, outputs / 3);
}

}  // namespace
}  // namespace tinydeploy::runtime
