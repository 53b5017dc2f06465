// The DSP average pool against the portable one: random shapes, windows (clipped at the
// input's edges, up to the 255 pixels the 16-bit sums allow, global ones), channel counts that
// are and are not multiples of 4, extreme data and clamps; the bytes must be identical. On the
// host the kernel runs with the exact emulation of SXTAB16.
#include "tinydeploy/runtime/cortex-m4/pooling_s8_dsp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tinydeploy/runtime/pooling.h"

namespace tinydeploy::runtime {
namespace {

int32_t pool_extent(int32_t in, int32_t filter, int32_t stride, int32_t pad) {
  return (in + 2 * pad - filter) / stride + 1;
}

TEST(AveragePoolS8DspTest, MatchesPortableBytes) {
  std::mt19937 rng(41);
  auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  size_t outputs = 0;
  size_t inside = 0;
  for (int index = 0; index < 400; ++index) {
    Dims4 in{pick(1, 2), pick(1, 12), pick(1, 12), pick(1, 19)};
    PoolGeometry g;
    g.filter_h = pick(1, 4);
    g.filter_w = pick(1, 4);
    g.stride_h = pick(1, 3);
    g.stride_w = pick(1, 3);
    g.pad_top = pick(0, g.filter_h - 1);
    g.pad_left = pick(0, g.filter_w - 1);
    if (index % 10 == 0) {  // global pools: kws's 25x5x64 and the largest window, 255 pixels
      in = index % 20 == 0 ? Dims4{1, 25, 5, 64} : Dims4{1, 15, 17, 7};
      g = {1, 1, in.h, in.w, 0, 0};
    }
    const Dims4 out{in.n, pool_extent(in.h, g.filter_h, g.stride_h, g.pad_top),
                    pool_extent(in.w, g.filter_w, g.stride_w, g.pad_left), in.c};
    if (out.h < 1 || out.w < 1) continue;
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    const int extremes = index % 7;
    for (int8_t& v : input) {
      v = static_cast<int8_t>(extremes == 1 ? -128 : (extremes == 2 ? 127 : pick(-128, 127)));
    }
    const PoolClamp clamp = index % 3 == 0 ? PoolClamp{-20, 90} : PoolClamp{-128, 127};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    average_pool(g, clamp, in, input.data(), out, portable.data());
    average_pool_s8_dsp(g, clamp, in, input.data(), out, variant.data());
    ASSERT_EQ(variant, portable) << "case " << index << ": input " << in.n << "x" << in.h << "x"
                                 << in.w << "x" << in.c << " filter " << g.filter_h << "x"
                                 << g.filter_w << " stride " << g.stride_h << "," << g.stride_w;
    for (int8_t v : portable) inside += v > clamp.min && v < clamp.max;
    outputs += count;
  }
  EXPECT_GT(outputs, 10000u);
  EXPECT_GT(inside, outputs / 2);
}

}  // namespace
}  // namespace tinydeploy::runtime
