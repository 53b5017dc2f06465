// The DSP variants against the portable kernels they replace: on random shapes (odd counts,
// features that are not a multiple of 4), scales and zero points, the bytes must be identical.
// On the host the variants run with the exact emulation of SXTB16 and SMLAD.
#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tinydeploy/runtime/conv.h"

namespace tinydeploy::runtime {
namespace {

struct Case {
  int32_t rows, features, units;
  int32_t input_zero_point, output_zero_point;
  bool per_channel;
  bool with_bias;
  int32_t low, high;  // activation clamp
};

struct Data {
  std::vector<int8_t> input, weights, output_portable, output_variant;
  std::vector<int32_t> bias, folded, multiplier, shift;
  QuantizedActivation activation;
};

// Weights and bias are kept small enough for the int32 bound that lowering checks.
Data random_data(const Case& c, std::mt19937& rng) {
  Data d;
  std::uniform_int_distribution<int> byte(-128, 127);
  d.input.resize(static_cast<size_t>(c.rows * c.features));
  d.weights.resize(static_cast<size_t>(c.units * c.features));
  for (int8_t& v : d.input) v = static_cast<int8_t>(byte(rng));
  for (int8_t& v : d.weights) v = static_cast<int8_t>(byte(rng));
  // Extreme weights in the first and last positions of each row.
  if (c.features > 1) {
    d.weights.front() = -128;
    d.weights.back() = 127;
  }
  std::uniform_int_distribution<int32_t> bias(-100000, 100000);
  std::uniform_int_distribution<int32_t> multiplier(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> shift(-12, -4);
  const int32_t scales = c.per_channel ? c.units : 1;
  for (int32_t i = 0; i < scales; ++i) {
    d.multiplier.push_back(multiplier(rng));
    d.shift.push_back(shift(rng));
  }
  d.activation = {-c.input_zero_point, c.output_zero_point, c.low, c.high};
  for (int32_t u = 0; u < c.units; ++u) {
    const int32_t b = c.with_bias ? bias(rng) : 0;
    if (c.with_bias) d.bias.push_back(b);
    int32_t sum = 0;
    for (int32_t k = 0; k < c.features; ++k)
      sum += d.weights[static_cast<size_t>(u * c.features + k)];
    d.folded.push_back(b + d.activation.input_offset * sum);
  }
  const size_t outputs = static_cast<size_t>(c.rows * c.units);
  d.output_portable.assign(outputs, 0);
  d.output_variant.assign(outputs, 1);
  return d;
}

std::vector<Case> cases() {
  std::vector<Case> all = {
      {1, 1, 1, 0, 0, true, true, -128, 127},
      {1, 3, 5, -128, 127, false, true, -128, 127},
      {2, 4, 2, 127, -128, true, false, -128, 127},
      {3, 7, 3, -1, 5, true, true, 0, 127},
      {5, 64, 12, 22, -17, true, true, -128, 127},
      {1, 250, 10, -128, -128, false, true, -100, 90},
      {49, 64, 64, -3, -128, true, true, -128, 127},
      {4, 1001, 2, 100, 0, false, false, -128, 127},
      {7, 13, 9, 127, 127, true, true, -128, 127},
  };
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> small(1, 40);
  std::uniform_int_distribution<int32_t> zero_point(-128, 127);
  for (int i = 0; i < 40; ++i) {
    all.push_back({small(rng), small(rng) * 3 + i % 4, small(rng), zero_point(rng), zero_point(rng),
                   i % 2 == 0, i % 3 != 0, -128, 127});
  }
  return all;
}

TEST(FullyConnectedS8DspTest, MatchesPortableBytes) {
  std::mt19937 rng(7);
  for (const Case& c : cases()) {
    Data d = random_data(c, rng);
    const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
    const FullyConnectedShape shape{c.rows, c.features, c.units};
    fully_connected(d.activation, scale, c.per_channel, 0, shape, d.input.data(), d.weights.data(),
                    c.with_bias ? d.bias.data() : nullptr, d.output_portable.data());
    fully_connected_s8_dsp(d.activation, scale, c.per_channel, shape, d.input.data(),
                           d.weights.data(), d.folded.data(), d.output_variant.data());
    EXPECT_EQ(d.output_variant, d.output_portable)
        << "rows " << c.rows << " features " << c.features << " units " << c.units;
  }
}

TEST(Conv1x1S8DspTest, MatchesPortableBytes) {
  std::mt19937 rng(11);
  for (Case c : cases()) {
    c.per_channel = true;  // CONV_2D's scales are one per output channel
    Data d = random_data(c, rng);
    const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
    // rows as a batch of images: split into n x h x w where the count allows.
    const int32_t n = c.rows % 2 == 0 ? 2 : 1;
    const int32_t h = c.rows / n;
    const Dims4 input_dims{n, h, 1, c.features};
    const Dims4 filter_dims{c.units, 1, 1, c.features};
    const Dims4 output_dims{n, h, 1, c.units};
    conv({}, d.activation, scale, input_dims, d.input.data(), filter_dims, d.weights.data(),
         c.with_bias ? d.bias.data() : nullptr, output_dims, d.output_portable.data());
    conv_1x1_s8_dsp(d.activation, scale, input_dims, d.input.data(), filter_dims, d.weights.data(),
                    d.folded.data(), output_dims, d.output_variant.data());
    EXPECT_EQ(d.output_variant, d.output_portable)
        << "rows " << c.rows << " features " << c.features << " units " << c.units;
  }
}

TEST(FullyConnectedS8DspTest, SumsNearTheInt32LimitsAreExact) {
  // One row of 255-magnitude terms: input -128 with zero point 127 (offset -127 makes x + offset
  // = -255), weights -128. The unfolded sum reaches 255 * 128 * features; the folded bias and
  // the raw sum are each far from it but their wrapped sum must equal it exactly.
  const int32_t features = 65000;  // 255 * 128 * 65000 = 2,121,600,000 < 2^31
  const std::vector<int8_t> input(features, -128);
  const std::vector<int8_t> weights(features, -128);
  const int32_t multiplier[] = {1 << 30};
  const int32_t shift[] = {-24};
  const QuantizedActivation activation{-127, 0, -128, 127};
  const int32_t bias[] = {0};
  const int32_t folded[] = {static_cast<int32_t>(-127 * -128 * features)};
  int8_t portable = 0;
  int8_t variant = 1;
  fully_connected(activation, {multiplier, shift}, false, 0, {1, features, 1}, input.data(),
                  weights.data(), bias, &portable);
  fully_connected_s8_dsp(activation, {multiplier, shift}, false, {1, features, 1}, input.data(),
                         weights.data(), folded, &variant);
  EXPECT_EQ(variant, portable);
  EXPECT_EQ(portable, 63);  // 2,121,600,000 / 2^25 = 63.2
}

}  // namespace
}  // namespace tinydeploy::runtime
