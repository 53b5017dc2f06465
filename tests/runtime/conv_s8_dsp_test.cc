// The DSP variants against the portable kernels they replace: on random shapes (odd counts,
// features that are not a multiple of 4, convolution geometries with strides, dilations and
// padding), scales and zero points, the bytes must be identical.
// On the host the variants run with the exact emulation of SXTB16 and SMLAD.
#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  // Some scales near or above 1: the stores' shift of 1, no shift and left shifts (which
  // the variants apply by the definition rather than by the folded right-shift form).
  std::uniform_int_distribution<int32_t> large_shift(-2, 2);
  const int32_t scales = c.per_channel ? c.units : 1;
  for (int32_t i = 0; i < scales; ++i) {
    d.multiplier.push_back(multiplier(rng));
    d.shift.push_back(i % 4 == 3 ? large_shift(rng) : shift(rng));
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

// The shifts of `d` moved into the prepared output stage's range ([-23, -2]: the large ones
// to -2, so both ends and the usual middle are exercised), then the stage prepared.
std::vector<int32_t> staged(Data& d, int32_t stages) {
  for (int32_t& shift : d.shift) {
    if (shift > -2) shift = -2;
  }
  if (!d.shift.empty()) d.shift.back() = -23;
  std::vector<int32_t> table(static_cast<size_t>(3 * stages));
  const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
  EXPECT_TRUE(prepare_output_stage(scale, stages, d.activation.output_offset, table.data()));
  return table;
}

TEST(FullyConnectedS8DspTest, StagedMatchesPortableBytes) {
  std::mt19937 rng(8);
  for (const Case& c : cases()) {
    Data d = random_data(c, rng);
    const std::vector<int32_t> table = staged(d, c.per_channel ? c.units : 1);
    const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
    const FullyConnectedShape shape{c.rows, c.features, c.units};
    fully_connected(d.activation, scale, c.per_channel, 0, shape, d.input.data(), d.weights.data(),
                    c.with_bias ? d.bias.data() : nullptr, d.output_portable.data());
    fully_connected_s8_dsp_staged(d.activation, table.data(), c.per_channel, shape, d.input.data(),
                                  d.weights.data(), d.folded.data(), d.output_variant.data());
    EXPECT_EQ(d.output_variant, d.output_portable)
        << "rows " << c.rows << " features " << c.features << " units " << c.units;
  }
}

// Weights packed four units by word, the folded bias padded to a multiple of 4 with values
// that must not reach the output.
TEST(FullyConnectedS8DspTest, Ldm4MatchesPortableBytes) {
  std::mt19937 rng(9);
  for (const Case& c : cases()) {
    Data d = random_data(c, rng);
    const std::vector<int32_t> table = staged(d, c.per_channel ? c.units : 1);
    const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
    const FullyConnectedShape shape{c.rows, c.features, c.units};
    std::vector<int8_t> packed(fully_connected_ldm4_weight_bytes(c.features, c.units), 99);
    pack_fully_connected_ldm4_weights(d.weights.data(), c.features, c.units, packed.data());
    std::vector<int32_t> folded = d.folded;
    folded.resize(static_cast<size_t>(fully_connected_ldm4_units(c.units)), INT32_MIN);
    std::vector<int8_t> scratch(
        static_cast<size_t>(fully_connected_ldm4_scratch_bytes(c.features)));
    fully_connected(d.activation, scale, c.per_channel, 0, shape, d.input.data(), d.weights.data(),
                    c.with_bias ? d.bias.data() : nullptr, d.output_portable.data());
    fully_connected_s8_dsp_ldm4(d.activation, table.data(), c.per_channel, shape, d.input.data(),
                                packed.data(), folded.data(), d.output_variant.data(),
                                scratch.data());
    EXPECT_EQ(d.output_variant, d.output_portable)
        << "rows " << c.rows << " features " << c.features << " units " << c.units;
  }
}

TEST(Conv1x1S8DspTest, StagedMatchesPortableBytes) {
  std::mt19937 rng(12);
  for (Case c : cases()) {
    c.per_channel = true;
    Data d = random_data(c, rng);
    const std::vector<int32_t> table = staged(d, c.units);
    const PerChannelScale scale{d.multiplier.data(), d.shift.data()};
    const int32_t n = c.rows % 2 == 0 ? 2 : 1;
    const int32_t h = c.rows / n;
    const Dims4 input_dims{n, h, 1, c.features};
    const Dims4 filter_dims{c.units, 1, 1, c.features};
    const Dims4 output_dims{n, h, 1, c.units};
    conv({}, d.activation, scale, input_dims, d.input.data(), filter_dims, d.weights.data(),
         c.with_bias ? d.bias.data() : nullptr, output_dims, d.output_portable.data());
    std::vector<int8_t> scratch(static_cast<size_t>(conv_1x1_s8_dsp_scratch_bytes(filter_dims)), 9);
    conv_1x1_s8_dsp_staged(d.activation, table.data(), input_dims, d.input.data(), filter_dims,
                           d.weights.data(), d.folded.data(), output_dims, d.output_variant.data(),
                           scratch.data());
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
    std::vector<int8_t> scratch(static_cast<size_t>(conv_1x1_s8_dsp_scratch_bytes(filter_dims)), 9);
    conv_1x1_s8_dsp(d.activation, scale, input_dims, d.input.data(), filter_dims, d.weights.data(),
                    d.folded.data(), output_dims, d.output_variant.data(), scratch.data());
    EXPECT_EQ(d.output_variant, d.output_portable)
        << "rows " << c.rows << " features " << c.features << " units " << c.units;
  }
}

struct ConvCase {
  Dims4 input;
  int32_t filter_h, filter_w, out_c;
  ConvGeometry geometry;
};

// Output size for the geometry, as if the padding after equals the padding before.
int32_t output_extent(int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t pad) {
  const int32_t span = (filter - 1) * dilation + 1;
  return (in + 2 * pad - span) / stride + 1;
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> all = {
      // kws's first layer: 49x10x1, 10x4 filter, stride 2, SAME (pad 4 above, 1 left).
      {{1, 49, 10, 1}, 10, 4, 64, {2, 2, 1, 1, 4, 1}},
      // vww-like 3x3 stride 2 over 3 channels, and 3x3 stride 1 over 8 with SAME padding.
      {{1, 17, 17, 3}, 3, 3, 8, {2, 2, 1, 1, 0, 0}},
      {{2, 6, 7, 8}, 3, 3, 5, {1, 1, 1, 1, 1, 1}},
      // A 1x1 filter with stride 2 (not a plain matrix product), and a dilated one.
      {{1, 9, 9, 16}, 1, 1, 7, {2, 2, 1, 1, 0, 0}},
      {{1, 11, 10, 5}, 3, 2, 3, {1, 2, 2, 3, 2, 1}},
      // The window wider than the input: every row partly padded.
      {{1, 3, 2, 4}, 5, 5, 2, {1, 1, 1, 1, 2, 2}},
  };
  std::mt19937 rng(99);
  auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  while (all.size() < 80) {
    ConvCase c;
    c.input = {pick(1, 2), pick(1, 12), pick(1, 12), pick(1, 19)};
    c.filter_h = pick(1, 5);
    c.filter_w = pick(1, 5);
    c.out_c = pick(1, 9);
    c.geometry.stride_h = pick(1, 3);
    c.geometry.stride_w = pick(1, 3);
    c.geometry.dilation_h = pick(1, 2);
    c.geometry.dilation_w = pick(1, 2);
    c.geometry.pad_top = pick(0, (c.filter_h - 1) * c.geometry.dilation_h);
    c.geometry.pad_left = pick(0, (c.filter_w - 1) * c.geometry.dilation_w);
    const ConvGeometry& g = c.geometry;
    if (output_extent(c.input.h, c.filter_h, g.stride_h, g.dilation_h, g.pad_top) < 1 ||
        output_extent(c.input.w, c.filter_w, g.stride_w, g.dilation_w, g.pad_left) < 1) {
      continue;
    }
    all.push_back(c);
  }
  return all;
}

TEST(ConvS8DspTest, MatchesPortableBytesOnManyGeometries) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_int_distribution<int32_t> bias_value(-100000, 100000);
  std::uniform_int_distribution<int32_t> multiplier(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> shift(-16, -10);
  const int32_t zero_points[] = {-128, 127, 0, -3, 41};
  size_t inside = 0;
  size_t outputs = 0;
  int index = 0;
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry& g = c.geometry;
    const Dims4 filter{c.out_c, c.filter_h, c.filter_w, c.input.c};
    const Dims4 out{
        c.input.n, output_extent(c.input.h, c.filter_h, g.stride_h, g.dilation_h, g.pad_top),
        output_extent(c.input.w, c.filter_w, g.stride_w, g.dilation_w, g.pad_left), c.out_c};
    const int32_t patch = filter.h * filter.w * filter.c;
    std::vector<int8_t> input(static_cast<size_t>(c.input.n * c.input.h * c.input.w * c.input.c));
    std::vector<int8_t> weights(static_cast<size_t>(c.out_c * patch));
    for (int8_t& v : input) v = static_cast<int8_t>(byte(rng));
    for (int8_t& v : weights) v = static_cast<int8_t>(byte(rng));
    const bool with_bias = index % 4 != 3;
    const int32_t input_zero_point = zero_points[index % 5];
    const int32_t output_zero_point = zero_points[(index + 2) % 5];
    const QuantizedActivation activation{-input_zero_point, output_zero_point,
                                         index % 3 == 0 ? output_zero_point : -128, 127};
    std::vector<int32_t> bias, folded, multipliers, shifts;
    for (int32_t u = 0; u < c.out_c; ++u) {
      const int32_t b = with_bias ? bias_value(rng) : 0;
      bias.push_back(b);
      int32_t sum = 0;
      for (int32_t k = 0; k < patch; ++k) sum += weights[static_cast<size_t>(u * patch + k)];
      folded.push_back(b + activation.input_offset * sum);
      multipliers.push_back(multiplier(rng));
      shifts.push_back(shift(rng));
    }
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    std::vector<int8_t> scratch(static_cast<size_t>(conv_s8_dsp_scratch_bytes(filter)), 55);
    conv(g, activation, scale, c.input, input.data(), filter, weights.data(),
         with_bias ? bias.data() : nullptr, out, portable.data());
    conv_s8_dsp(g, activation, scale, c.input, input.data(), filter, weights.data(), folded.data(),
                out, variant.data(), scratch.data());
    // The same with the prepared output stage (every shift here, -16 to -10, is in its range).
    std::vector<int32_t> table(static_cast<size_t>(3 * c.out_c));
    ASSERT_TRUE(prepare_output_stage(scale, c.out_c, output_zero_point, table.data()));
    std::vector<int8_t> variant_staged(count, 2);
    std::vector<int8_t> padded(static_cast<size_t>(filter.n * conv_s8_dsp_staged_row(filter)), 3);
    pad_conv_weights(weights.data(), filter, padded.data());
    std::vector<int8_t> staged_scratch(
        static_cast<size_t>(conv_s8_dsp_staged_scratch_bytes(filter)), 77);
    conv_s8_dsp_staged(g, activation, table.data(), c.input, input.data(), filter, padded.data(),
                       folded.data(), out, variant_staged.data(), staged_scratch.data());
    EXPECT_EQ(variant_staged, portable) << "staged, case " << index;
    EXPECT_EQ(variant, portable) << "case " << index << ": input " << c.input.h << "x" << c.input.w
                                 << "x" << c.input.c << " filter " << c.filter_h << "x"
                                 << c.filter_w << " stride " << g.stride_h << "," << g.stride_w
                                 << " dilation " << g.dilation_h << "," << g.dilation_w << " pad "
                                 << g.pad_top << "," << g.pad_left;
    for (int8_t v : portable) inside += v > activation.min && v < activation.max;
    outputs += count;
    ++index;
  }
  // The comparison means something only if most outputs are not clamped.
  EXPECT_GT(inside, outputs / 2);
  EXPECT_EQ(index, 80);
}

TEST(DepthwiseConvS8DspTest, MatchesPortableBytesOnManyGeometries) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_int_distribution<int32_t> bias_value(-50000, 50000);
  std::uniform_int_distribution<int32_t> multiplier(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> shift(-12, -6);
  const int32_t zero_points[] = {-128, 127, 0, -7, 90};
  size_t inside = 0;
  size_t outputs = 0;
  int index = 0;
  for (ConvCase c : conv_cases()) {
    // Depthwise shapes: the channel counts vary in the same cases (1 to 19, and 16 or 64 in the
    // fixed ones), the output channels equal the input's.
    c.out_c = c.input.c;
    const ConvGeometry& g = c.geometry;
    const Dims4 filter{1, c.filter_h, c.filter_w, c.input.c};
    const Dims4 out{
        c.input.n, output_extent(c.input.h, c.filter_h, g.stride_h, g.dilation_h, g.pad_top),
        output_extent(c.input.w, c.filter_w, g.stride_w, g.dilation_w, g.pad_left), c.out_c};
    std::vector<int8_t> input(static_cast<size_t>(c.input.n * c.input.h * c.input.w * c.input.c));
    std::vector<int8_t> weights(static_cast<size_t>(c.filter_h * c.filter_w * c.input.c));
    for (int8_t& v : input) v = static_cast<int8_t>(byte(rng));
    for (int8_t& v : weights) v = static_cast<int8_t>(byte(rng));
    const bool with_bias = index % 4 != 1;
    const int32_t input_zero_point = zero_points[index % 5];
    const QuantizedActivation activation{-input_zero_point, zero_points[(index + 3) % 5],
                                         index % 3 == 0 ? 0 : -128, 127};
    std::vector<int32_t> bias, multipliers, shifts;
    for (int32_t ch = 0; ch < c.out_c; ++ch) {
      bias.push_back(bias_value(rng));
      multipliers.push_back(multiplier(rng));
      shifts.push_back(shift(rng));
    }
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    depthwise_conv(g, 1, activation, scale, c.input, input.data(), filter, weights.data(),
                   with_bias ? bias.data() : nullptr, out, portable.data());
    depthwise_conv_s8_dsp(g, activation, scale, c.input, input.data(), filter, weights.data(),
                          with_bias ? bias.data() : nullptr, out, variant.data());
    EXPECT_EQ(variant, portable) << "case " << index << ": input " << c.input.h << "x" << c.input.w
                                 << "x" << c.input.c << " filter " << c.filter_h << "x"
                                 << c.filter_w << " stride " << g.stride_h << "," << g.stride_w
                                 << " dilation " << g.dilation_h << "," << g.dilation_w << " pad "
                                 << g.pad_top << "," << g.pad_left;
    for (int8_t v : portable) inside += v > activation.min && v < activation.max;
    outputs += count;
    ++index;
  }
  EXPECT_GT(inside, outputs / 2);
  EXPECT_EQ(index, 80);
}

// 3x3 windows without dilation, as in kws, vww and resnet: the interior, and every edge the
// padding leaves (the windows' columns inside the input [0, 3), [1, 3), [0, 2) or a single one,
// some of their rows), with channel counts that are and are not multiples of 4.
TEST(DepthwiseConvS8DspTest, MatchesPortableBytesOnEvery3x3Edge) {
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_int_distribution<int32_t> bias_value(-50000, 50000);
  std::uniform_int_distribution<int32_t> multiplier(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> shift(-13, -10);
  struct Shape {
    Dims4 input;
    int32_t stride, pad_top, pad_left;
  };
  const std::vector<Shape> shapes = {
      {{1, 25, 5, 64}, 1, 1, 1},  // kws's depthwise layers
      {{1, 6, 1, 8}, 1, 1, 1},   {{1, 5, 2, 12}, 1, 1, 1}, {{2, 4, 3, 7}, 1, 1, 1},
      {{1, 7, 7, 20}, 2, 0, 0},  {{1, 8, 8, 16}, 2, 1, 1}, {{1, 3, 9, 5}, 1, 2, 2},
      {{1, 2, 2, 4}, 1, 2, 1},   {{1, 9, 4, 36}, 1, 1, 1}, {{1, 1, 6, 4}, 1, 1, 2},
  };
  size_t inside = 0;
  size_t outputs = 0;
  int index = 0;
  for (const Shape& shape : shapes) {
    const Dims4 in = shape.input;
    const ConvGeometry g{shape.stride, shape.stride, 1, 1, shape.pad_top, shape.pad_left};
    const Dims4 filter{1, 3, 3, in.c};
    const Dims4 out{in.n, output_extent(in.h, 3, g.stride_h, 1, g.pad_top),
                    output_extent(in.w, 3, g.stride_w, 1, g.pad_left), in.c};
    ASSERT_GT(out.h, 0);
    ASSERT_GT(out.w, 0);
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    std::vector<int8_t> weights(static_cast<size_t>(9 * in.c));
    for (int8_t& v : input) v = static_cast<int8_t>(byte(rng));
    for (int8_t& v : weights) v = static_cast<int8_t>(byte(rng));
    // Every third with a ReLU (the clamp at the output zero point).
    const int32_t output_zero_point = index % 2 == 0 ? -20 : 6;
    const QuantizedActivation activation{index % 2 == 0 ? 128 : -5, output_zero_point,
                                         index % 3 == 0 ? output_zero_point : -128, 127};
    std::vector<int32_t> bias, multipliers, shifts;
    for (int32_t ch = 0; ch < in.c; ++ch) {
      bias.push_back(bias_value(rng));
      multipliers.push_back(multiplier(rng));
      // Every thirteenth channel with a shift of -1 to 1: groups of four that take the stores'
      // definition, not the folded right-shift form.
      shifts.push_back(ch % 13 == 12 ? static_cast<int32_t>(ch % 3) - 1 : shift(rng));
    }
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    const int32_t* bias_data = index % 4 == 2 ? nullptr : bias.data();
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    depthwise_conv(g, 1, activation, scale, in, input.data(), filter, weights.data(), bias_data,
                   out, portable.data());
    depthwise_conv_s8_dsp(g, activation, scale, in, input.data(), filter, weights.data(), bias_data,
                          out, variant.data());
    EXPECT_EQ(variant, portable) << "shape " << index << ": input " << in.h << "x" << in.w << "x"
                                 << in.c << " stride " << shape.stride;
    for (int8_t v : portable) inside += v > activation.min && v < activation.max;
    outputs += count;
    ++index;
  }
  EXPECT_GT(inside, outputs / 2);
  EXPECT_EQ(outputs, 10407u);
}

// The packed 3x3 kernel with its prepared output stage: random 3x3 shapes (strides 1-3,
// paddings 0-2, windows wider than the input, 1 to 70 channels, batches), every shift and
// zero point the prepared form takes, clamps that are and are not the whole int8 range.
TEST(DepthwiseConv3x3S8DspTest, MatchesPortableBytesOnRandomShapes) {
  std::mt19937 rng(31);
  auto pick = [&](int32_t low, int32_t high) {
    return std::uniform_int_distribution<int32_t>(low, high)(rng);
  };
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_int_distribution<int32_t> multiplier(1 << 30, INT32_MAX);
  size_t inside = 0;
  size_t outputs = 0;
  for (int index = 0; index < 300; ++index) {
    Dims4 in{pick(1, 2), pick(1, 9), pick(1, 9), pick(1, 19)};
    if (index == 0) in = {1, 25, 5, 64};  // kws
    if (index == 1) in = {1, 12, 12, 70};
    const int32_t stride = index < 2 ? 1 : pick(1, 3);
    const ConvGeometry g{stride, index % 7 == 3 ? 1 : stride, 1,
                         1,      index < 2 ? 1 : pick(0, 2),  index < 2 ? 1 : pick(0, 2)};
    const Dims4 filter{1, 3, 3, in.c};
    const Dims4 out{in.n, output_extent(in.h, 3, g.stride_h, 1, g.pad_top),
                    output_extent(in.w, 3, g.stride_w, 1, g.pad_left), in.c};
    if (out.h < 1 || out.w < 1) continue;
    std::vector<int8_t> input(static_cast<size_t>(in.n * in.h * in.w * in.c));
    std::vector<int8_t> weights(static_cast<size_t>(9 * in.c));
    for (int8_t& v : input) v = static_cast<int8_t>(byte(rng));
    for (int8_t& v : weights) v = static_cast<int8_t>(byte(rng));
    if (index % 5 == 4) {
      for (int8_t& v : input) v = index % 2 == 0 ? -128 : 127;
      for (int8_t& v : weights) v = -128;
    }
    const int32_t input_zero_point =
        index % 9 == 0 ? -128 : (index % 9 == 1 ? 127 : pick(-128, 127));
    const int32_t output_zero_point =
        index % 11 == 0 ? 127 : (index % 11 == 1 ? -128 : pick(-128, 127));
    const bool whole_range = index % 3 != 0;
    const QuantizedActivation activation{-input_zero_point, output_zero_point,
                                         whole_range ? -128 : std::max(output_zero_point, -100),
                                         whole_range ? 127 : 120};
    std::vector<int32_t> bias, multipliers, shifts;
    // Shifts around the sums' magnitude (so that most outputs are not clamped), and at the
    // prepared form's ends.
    const int32_t typical = pick(-13, -8);
    for (int32_t ch = 0; ch < in.c; ++ch) {
      bias.push_back(pick(-60000, 60000));
      multipliers.push_back(ch % 17 == 5 ? 0 : (ch % 17 == 6 ? 1 << 30 : multiplier(rng)));
      shifts.push_back(ch % 19 == 7 ? -2 : (ch % 19 == 8 ? -23 : typical + pick(-1, 1)));
    }
    const PerChannelScale scale{multipliers.data(), shifts.data()};
    std::vector<int32_t> table(static_cast<size_t>(3 * in.c));
    ASSERT_TRUE(prepare_output_stage(scale, in.c, output_zero_point, table.data()));
    std::vector<int8_t> packed(weights.size());
    pack_depthwise_3x3_weights(weights.data(), in.c, packed.data());
    const int32_t* bias_data = index % 4 == 2 ? nullptr : bias.data();
    const size_t count = static_cast<size_t>(out.n * out.h * out.w * out.c);
    std::vector<int8_t> portable(count, 0);
    std::vector<int8_t> variant(count, 1);
    depthwise_conv(g, 1, activation, scale, in, input.data(), filter, weights.data(), bias_data,
                   out, portable.data());
    depthwise_conv_3x3_s8_dsp(g, activation, in, input.data(), packed.data(), bias_data,
                              table.data(), out, variant.data());
    ASSERT_EQ(variant, portable) << "case " << index << ": input " << in.n << "x" << in.h << "x"
                                 << in.w << "x" << in.c << " stride " << g.stride_h << ","
                                 << g.stride_w << " pad " << g.pad_top << "," << g.pad_left;
    for (int8_t v : portable) inside += v > activation.min && v < activation.max;
    outputs += count;
  }
  EXPECT_GT(inside, outputs / 3);
  EXPECT_GT(outputs, 20000u);
}

TEST(DepthwiseConv3x3S8DspTest, OutputStageIsPreparedOnlyForItsShifts) {
  const int32_t multipliers[] = {1 << 30, 1 << 30};
  const int32_t right[] = {-2, -23};
  const int32_t one[] = {-5, -1};
  const int32_t left[] = {-5, 1};
  int32_t table[6] = {};
  EXPECT_TRUE(prepare_output_stage({multipliers, right}, 2, -128, table));
  EXPECT_EQ(table[2], 1);
  EXPECT_EQ(table[5], 22);
  EXPECT_EQ(table[4], (1 << 21) - 128 * (1 << 22));
  EXPECT_FALSE(prepare_output_stage({multipliers, one}, 2, 0, table));
  EXPECT_FALSE(prepare_output_stage({multipliers, left}, 2, 0, table));
  EXPECT_FALSE(prepare_output_stage({multipliers, right}, 2, 128, table));
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
