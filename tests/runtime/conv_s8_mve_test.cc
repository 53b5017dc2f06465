// The Cortex-M55 variants as the host builds them: the packed kernels' plain loops over the
// same packed weights, im2col windows and folded bias the Helium code reads, and the others'
// portable forms, against the portable kernels. The Helium code itself is compared on QEMU
// (runtime_mve_kernels_qemu).
#include "tinydeploy/runtime/cortex-m55/conv_s8_mve.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tinydeploy/runtime/conv.h"

namespace tinydeploy::runtime {
namespace {

int32_t extent(int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t pad) {
  return (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

TEST(ConvS8MveHostTest, WindowsAndFoldedBiasMatchThePortableConv) {
  std::mt19937 rng(23);
  const auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  int cases = 0;
  size_t inside = 0;
  size_t outputs = 0;
  while (cases < 60) {
    const Dims4 in{pick(1, 2), pick(1, 10), pick(1, 10), pick(1, 12)};
    const Dims4 filter{pick(1, 9), pick(1, 4), pick(1, 4), in.c};
    ConvGeometry g;
    g.stride_h = pick(1, 2);
    g.stride_w = pick(1, 3);
    g.dilation_h = pick(1, 2);
    g.dilation_w = pick(1, 2);
    g.pad_top = pick(0, (filter.h - 1) * g.dilation_h);
    g.pad_left = pick(0, (filter.w - 1) * g.dilation_w);
    const Dims4 out{in.n, extent(in.h, filter.h, g.stride_h, g.dilation_h, g.pad_top),
                    extent(in.w, filter.w, g.stride_w, g.dilation_w, g.pad_left), filter.n};
    if (out.h < 1 || out.w < 1) continue;
    const int32_t features = filter.h * filter.w * filter.c;
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    std::vector<int8_t> weights(static_cast<size_t>(filter.n * features));
    for (int8_t& v : input) v = static_cast<int8_t>(pick(-128, 127));
    for (int8_t& v : weights) v = static_cast<int8_t>(pick(-128, 127));
    const QuantizedActivation activation{cases % 3 == 0 ? 128 : pick(-127, 128), pick(-128, 127),
                                         -128, 127};
    std::vector<int32_t> bias, folded, multipliers, shifts;
    for (int32_t u = 0; u < filter.n; ++u) {
      bias.push_back(pick(-60000, 60000));
      int32_t sum = 0;
      for (int32_t k = 0; k < features; ++k) sum += weights[static_cast<size_t>(u * features + k)];
      folded.push_back(bias.back() + activation.input_offset * sum);
      multipliers.push_back(pick(1 << 30, INT32_MAX));
      shifts.push_back(pick(-14, -7));
    }
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    conv(g, activation, scale, in, input.data(), filter, weights.data(), bias.data(), out,
         portable.data());
    // The packed variant on the same folded bias.
    std::vector<int8_t> packed(static_cast<size_t>(packed_weights_bytes(filter.n, features)));
    pack_weights_s8_mve(filter.n, features, weights.data(), packed.data());
    std::vector<int8_t> pair_scratch(static_cast<size_t>(conv_packed_s8_mve_scratch_bytes(filter)),
                                     77);
    std::vector<int8_t> packed_variant(count, 1);
    conv_packed_s8_mve(g, activation, scale, in, input.data(), filter, packed.data(), folded.data(),
                       out, packed_variant.data(), pair_scratch.data());
    EXPECT_EQ(packed_variant, portable) << "case " << cases;
    for (int8_t v : portable) inside += v > -128 && v < 127;
    outputs += count;
    ++cases;
  }
  EXPECT_GT(inside, outputs / 2);
}

TEST(ConvS8MveHostTest, Strided1x1MatchesThePortableConv) {
  std::mt19937 rng(41);
  const auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  for (int cases = 0; cases < 40; ++cases) {
    const Dims4 in{pick(1, 2), pick(1, 9), pick(1, 9), pick(1, 20)};
    const Dims4 filter{4 * pick(1, 3), 1, 1, in.c};
    ConvGeometry g;
    g.stride_h = pick(1, 3);
    g.stride_w = pick(1, 3);
    const Dims4 out{in.n, (in.h - 1) / g.stride_h + 1, (in.w - 1) / g.stride_w + 1, filter.n};
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    std::vector<int8_t> weights(static_cast<size_t>(filter.n * in.c));
    for (int8_t& v : input) v = static_cast<int8_t>(pick(-128, 127));
    for (int8_t& v : weights) v = static_cast<int8_t>(pick(-128, 127));
    const QuantizedActivation activation{pick(-127, 128), pick(-128, 127), -128, 127};
    std::vector<int32_t> bias, folded, multipliers, shifts;
    for (int32_t u = 0; u < filter.n; ++u) {
      bias.push_back(pick(-60000, 60000));
      int32_t sum = 0;
      for (int32_t k = 0; k < in.c; ++k) sum += weights[static_cast<size_t>(u * in.c + k)];
      folded.push_back(bias.back() + activation.input_offset * sum);
      multipliers.push_back(pick(1 << 30, INT32_MAX));
      shifts.push_back(pick(-12, -5));
    }
    std::vector<int8_t> packed(static_cast<size_t>(packed_weights_bytes(filter.n, in.c)));
    pack_weights_s8_mve(filter.n, in.c, weights.data(), packed.data());
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    conv(g, activation, scale, in, input.data(), filter, weights.data(), bias.data(), out,
         portable.data());
    conv_1x1_strided_packed_s8_mve(g, activation, scale, in, input.data(), packed.data(),
                                   folded.data(), out, variant.data());
    EXPECT_EQ(variant, portable) << "case " << cases;
  }
}

TEST(ConvS8MveHostTest, PackedFullyConnectedMatchesThePortableOne) {
  std::mt19937 rng(31);
  const auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  for (int cases = 0; cases < 60; ++cases) {
    const FullyConnectedShape shape{pick(1, 5), pick(1, 70), pick(1, 13)};
    const bool per_channel = cases % 2 == 0;
    std::vector<int8_t> input(static_cast<size_t>(shape.rows * shape.features));
    std::vector<int8_t> weights(static_cast<size_t>(shape.units * shape.features));
    for (int8_t& v : input) v = static_cast<int8_t>(pick(-128, 127));
    for (int8_t& v : weights) v = static_cast<int8_t>(pick(-127, 127));
    const QuantizedActivation activation{pick(-127, 128), pick(-128, 127), -128, 127};
    std::vector<int32_t> bias, folded, multipliers, shifts;
    for (int32_t u = 0; u < shape.units; ++u) {
      bias.push_back(pick(-60000, 60000));
      int32_t sum = 0;
      for (int32_t k = 0; k < shape.features; ++k) {
        sum += weights[static_cast<size_t>(u * shape.features + k)];
      }
      folded.push_back(bias.back() + activation.input_offset * sum);
      multipliers.push_back(pick(1 << 30, INT32_MAX));
      shifts.push_back(pick(-12, -5));
    }
    std::vector<int8_t> packed(
        static_cast<size_t>(packed_weights_bytes(shape.units, shape.features)));
    pack_weights_s8_mve(shape.units, shape.features, weights.data(), packed.data());
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(shape.rows * shape.units);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    fully_connected(activation, scale, per_channel, 0, shape, input.data(), weights.data(),
                    bias.data(), portable.data());
    fully_connected_packed_s8_mve(activation, scale, per_channel, shape, input.data(),
                                  packed.data(), folded.data(), variant.data());
    EXPECT_EQ(variant, portable) << "case " << cases;
  }
}

TEST(ConvS8MveHostTest, PackedDepthwiseMatchesThePortableOne) {
  std::mt19937 rng(37);
  const auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  int cases = 0;
  while (cases < 60) {
    const Dims4 in{pick(1, 2), pick(1, 9), pick(1, 9), pick(1, 35)};
    const Dims4 filter{1, pick(1, 4), pick(1, 4), in.c};
    ConvGeometry g;
    g.stride_h = pick(1, 2);
    g.stride_w = pick(1, 3);
    g.dilation_h = pick(1, 2);
    g.dilation_w = pick(1, 2);
    g.pad_top = pick(0, (filter.h - 1) * g.dilation_h);
    g.pad_left = pick(0, (filter.w - 1) * g.dilation_w);
    const Dims4 out{in.n, extent(in.h, filter.h, g.stride_h, g.dilation_h, g.pad_top),
                    extent(in.w, filter.w, g.stride_w, g.dilation_w, g.pad_left), in.c};
    if (out.h < 1 || out.w < 1) continue;
    const int32_t taps = filter.h * filter.w;
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    std::vector<int8_t> weights(static_cast<size_t>(taps * in.c));
    for (int8_t& v : input) v = static_cast<int8_t>(pick(-128, 127));
    for (int8_t& v : weights) v = static_cast<int8_t>(pick(-128, 127));
    const QuantizedActivation activation{cases % 3 == 0 ? 128 : pick(-127, 128), pick(-128, 127),
                                         -128, 127};
    std::vector<int32_t> bias, folded, multipliers, shifts;
    for (int32_t c = 0; c < in.c; ++c) {
      bias.push_back(pick(-60000, 60000));
      int32_t sum = 0;
      for (int32_t t = 0; t < taps; ++t) sum += weights[static_cast<size_t>(t * in.c + c)];
      folded.push_back(bias.back() + activation.input_offset * sum);
      multipliers.push_back(pick(1 << 30, INT32_MAX));
      shifts.push_back(pick(-12, -5));
    }
    std::vector<int8_t> packed(static_cast<size_t>(depthwise_packed_bytes(filter)));
    pack_depthwise_weights_s8_mve(filter, weights.data(), packed.data());
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    std::vector<int8_t> scratch(static_cast<size_t>(depthwise_conv_packed_s8_mve_scratch_bytes(in)),
                                77);
    depthwise_conv(g, 1, activation, scale, in, input.data(), filter, weights.data(), bias.data(),
                   out, portable.data());
    depthwise_conv_packed_s8_mve(g, activation, scale, in, input.data(), filter, packed.data(),
                                 folded.data(), out, variant.data(), scratch.data());
    EXPECT_EQ(variant, portable) << "case " << cases;
    ++cases;
  }
}

}  // namespace
}  // namespace tinydeploy::runtime
