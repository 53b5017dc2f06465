// The Cortex-M4 DSP kernels on the core itself, where their inline assembly runs (the host
// gtests run their C paths): fully_connected_s8_dsp (also as _staged and _ldm4), conv_1x1_s8_dsp,
// conv_s8_dsp (each also as its _staged variant), depthwise_conv_s8_dsp, depthwise_conv_3x3_s8_dsp
// and average_pool_s8_dsp against the portable kernels on pseudo-random cases, byte for byte.
// Prints "MISMATCH" with the case and exits 1 at the first differing byte; prints "check
// complete" and exits 0 when all matched.
#include <stddef.h>
#include <stdint.h>

#include "tinydeploy/port.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"
#include "tinydeploy/runtime/cortex-m4/pooling_s8_dsp.h"
#include "tinydeploy/runtime/pooling.h"

namespace {

namespace rt = tinydeploy::runtime;

void print(const char* text) {
  size_t size = 0;
  while (text[size] != '\0') ++size;
  td_port_write(reinterpret_cast<const uint8_t*>(text), size);
}

void print(int32_t value) {
  char text[16];
  int length = 0;
  uint32_t magnitude = value < 0 ? 0u - static_cast<uint32_t>(value) : static_cast<uint32_t>(value);
  char digits[12];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10u);
    magnitude /= 10u;
  } while (magnitude != 0u);
  if (value < 0) text[length++] = '-';
  while (count > 0) text[length++] = digits[--count];
  text[length] = '\0';
  print(text);
}

// A fixed xorshift sequence: every run checks the same cases.
struct Random {
  uint32_t state = 0x9E3779B9u;

  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  int32_t in(int32_t low, int32_t high) {  // uniform in [low, high], high - low < 2^31
    const uint32_t span = static_cast<uint32_t>(high - low) + 1u;
    return low + static_cast<int32_t>(next() % span);
  }
  bool one_in(uint32_t n) { return next() % n == 0u; }
};

constexpr int32_t kMaxBytes = 96 * 1024;
constexpr int32_t kMaxChannels = 256;

int8_t input[kMaxBytes];
int8_t weights[kMaxBytes];
int8_t scratch[kMaxBytes];
int8_t expected[kMaxBytes];
int8_t actual[kMaxBytes];
int32_t bias[kMaxChannels];
int32_t folded[kMaxChannels];
int32_t multipliers[kMaxChannels];
int32_t shifts[kMaxChannels];
int32_t output_stage[3 * kMaxChannels];
int8_t packed[kMaxBytes];

void fill(Random& random, int8_t* data, int32_t count) {
  const bool extremes = random.one_in(8);
  for (int32_t i = 0; i < count; ++i) {
    data[i] =
        static_cast<int8_t>(extremes ? (random.one_in(2) ? -128 : 127) : random.in(-128, 127));
  }
}

rt::QuantizedActivation pick_activation(Random& random) {
  rt::QuantizedActivation a;
  const int32_t offsets[] = {-127, 128, 0, 5};
  a.input_offset = random.one_in(3) ? offsets[random.in(0, 3)] : random.in(-127, 128);
  a.output_offset = random.in(-128, 127);
  a.min = random.one_in(2) ? -128 : a.output_offset;
  a.max = 127;
  return a;
}

// Per-channel scales, mostly those that keep the outputs off the clamp, some anywhere.
void pick_scales(Random& random, int32_t channels, int32_t usual_low, int32_t usual_high) {
  for (int32_t i = 0; i < channels; ++i) {
    multipliers[i] = random.one_in(50) ? 0 : random.in(1 << 30, INT32_MAX);
    shifts[i] = random.one_in(6) ? random.in(-31, 4) : random.in(usual_low, usual_high);
    bias[i] = random.in(-(1 << 16), 1 << 16);
  }
}

// bias + input_offset * (the sum of each unit's `features` weights), as lowering folds it.
void fold_bias(int32_t units, int32_t features, int32_t input_offset, bool with_bias) {
  for (int32_t u = 0; u < units; ++u) {
    int32_t sum = 0;
    for (int32_t k = 0; k < features; ++k) sum += weights[u * features + k];
    folded[u] = (with_bias ? bias[u] : 0) + input_offset * sum;
  }
}

bool same(int32_t count, const char* kernel, int32_t index) {
  for (int32_t i = 0; i < count; ++i) {
    if (expected[i] != actual[i]) {
      print("MISMATCH ");
      print(kernel);
      print(" case ");
      print(index);
      print(" byte ");
      print(i);
      print(": ");
      print(actual[i]);
      print(" instead of ");
      print(expected[i]);
      print("\n");
      return false;
    }
  }
  return true;
}

void clear(int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    expected[i] = 0;
    actual[i] = 1;
  }
}

// Feature counts around the assembly's steps of eight: whole steps, one step of four over,
// a few bytes of tail, and any.
int32_t pick_features(Random& random) {
  switch (random.in(0, 3)) {
    case 0:
      return 8 * random.in(1, 40);
    case 1:
      return 8 * random.in(1, 40) + 4;
    case 2:
      return random.in(1, 11);
    default:
      return random.in(1, 400);
  }
}

// Moves the first `channels` shifts into the prepared output stage's range ([-23, -2], some at
// its ends) and prepares the stage for `output_offset`.
bool prepare_stage(Random& random, int32_t channels, int32_t output_offset) {
  for (int32_t c = 0; c < channels; ++c) {
    if (shifts[c] > -2 || shifts[c] < -23 || random.one_in(20)) {
      shifts[c] = random.one_in(2) ? -2 : -23;
    }
  }
  const rt::PerChannelScale scale{multipliers, shifts};
  if (!rt::prepare_output_stage(scale, channels, output_offset, output_stage)) {
    print("output stage not prepared\n");
    return false;
  }
  return true;
}

bool check_fully_connected(Random& random, int32_t index) {
  rt::FullyConnectedShape shape;
  shape.rows = random.in(1, 5);
  shape.features = pick_features(random);
  shape.units = random.one_in(8) ? 1 : random.in(1, 40);
  while (shape.rows * shape.features > kMaxBytes ||
         static_cast<int32_t>(rt::fully_connected_ldm4_weight_bytes(shape.features, shape.units)) >
             kMaxBytes) {
    shape.features /= 2;
  }
  const bool per_channel = random.one_in(2);
  const bool with_bias = !random.one_in(4);
  const rt::QuantizedActivation activation = pick_activation(random);
  fill(random, input, shape.rows * shape.features);
  fill(random, weights, shape.units * shape.features);
  pick_scales(random, shape.units, -16, -8);
  fold_bias(shape.units, shape.features, activation.input_offset, with_bias);
  const int32_t count = shape.rows * shape.units;
  clear(count);
  const rt::PerChannelScale scale{multipliers, shifts};
  rt::fully_connected(activation, scale, per_channel, 0, shape, input, weights,
                      with_bias ? bias : nullptr, expected);
  rt::fully_connected_s8_dsp(activation, scale, per_channel, shape, input, weights, folded, actual);
  if (!same(count, "fully_connected_s8_dsp", index)) return false;
  // Staged: the shifts moved into the prepared stage's range, the portable result again.
  if (!prepare_stage(random, per_channel ? shape.units : 1, activation.output_offset)) return false;
  clear(count);
  rt::fully_connected(activation, scale, per_channel, 0, shape, input, weights,
                      with_bias ? bias : nullptr, expected);
  rt::fully_connected_s8_dsp_staged(activation, output_stage, per_channel, shape, input, weights,
                                    folded, actual);
  if (!same(count, "fully_connected_s8_dsp_staged", index)) return false;
  // Packed four units by word (zeros up to multiples of 4), the bias padded with values that
  // must not reach the output.
  rt::pack_fully_connected_ldm4_weights(weights, shape.features, shape.units, packed);
  for (int32_t u = shape.units; u < rt::fully_connected_ldm4_units(shape.units); ++u) {
    folded[u] = random.in(INT32_MIN, INT32_MAX - 1);
  }
  clear(count);
  rt::fully_connected(activation, scale, per_channel, 0, shape, input, weights,
                      with_bias ? bias : nullptr, expected);
  rt::fully_connected_s8_dsp_ldm4(activation, output_stage, per_channel, shape, input, packed,
                                  folded, actual, scratch);
  return same(count, "fully_connected_s8_dsp_ldm4", index);
}

bool check_conv_1x1(Random& random, int32_t index) {
  const int32_t features = pick_features(random);
  const rt::Dims4 in{1, random.in(1, 9), random.in(1, 9), features};
  const int32_t units = random.in(1, 48);
  if (in.h * in.w * features > kMaxBytes || units * features > kMaxBytes ||
      in.h * in.w * units > kMaxBytes) {
    return true;
  }
  const rt::Dims4 filter{units, 1, 1, features};
  const rt::Dims4 out{1, in.h, in.w, units};
  const rt::QuantizedActivation activation = pick_activation(random);
  fill(random, input, in.h * in.w * features);
  fill(random, weights, units * features);
  pick_scales(random, units, -16, -8);
  fold_bias(units, features, activation.input_offset, true);
  const int32_t count = in.h * in.w * units;
  clear(count);
  const rt::PerChannelScale scale{multipliers, shifts};
  rt::conv({}, activation, scale, in, input, filter, weights, bias, out, expected);
  rt::conv_1x1_s8_dsp(activation, scale, in, input, filter, weights, folded, out, actual, scratch);
  if (!same(count, "conv_1x1_s8_dsp", index)) return false;
  if (!prepare_stage(random, units, activation.output_offset)) return false;
  clear(count);
  rt::conv({}, activation, scale, in, input, filter, weights, bias, out, expected);
  rt::conv_1x1_s8_dsp_staged(activation, output_stage, in, input, filter, weights, folded, out,
                             actual, scratch);
  return same(count, "conv_1x1_s8_dsp_staged", index);
}

// Output extent with the padding after equal to the padding before.
int32_t extent(int32_t size, int32_t filter, int32_t stride, int32_t dilation, int32_t pad) {
  return (size + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

bool pick_geometry(Random& random, rt::Dims4& in, rt::Dims4& filter, rt::ConvGeometry& g,
                   rt::Dims4& out, bool depthwise) {
  in = {1, random.in(1, 14), random.in(1, 14), random.in(1, depthwise ? 40 : 24)};
  const bool three = random.one_in(2);
  filter = {depthwise ? 1 : random.in(1, 20), three ? 3 : random.in(1, 5),
            three ? 3 : random.in(1, 5), in.c};
  g.stride_h = random.in(1, 2);
  g.stride_w = random.in(1, 2);
  g.dilation_h = three ? 1 : random.in(1, 2);
  g.dilation_w = three ? 1 : random.in(1, 2);
  g.pad_top = random.in(0, (filter.h - 1) * g.dilation_h);
  g.pad_left = random.in(0, (filter.w - 1) * g.dilation_w);
  out = {1, extent(in.h, filter.h, g.stride_h, g.dilation_h, g.pad_top),
         extent(in.w, filter.w, g.stride_w, g.dilation_w, g.pad_left), depthwise ? in.c : filter.n};
  return out.h > 0 && out.w > 0 && out.h * out.w * out.c <= kMaxBytes;
}

bool check_conv(Random& random, int32_t index) {
  rt::Dims4 in, filter, out;
  rt::ConvGeometry g;
  if (!pick_geometry(random, in, filter, g, out, false)) return true;
  const int32_t patch = filter.h * filter.w * filter.c;
  const rt::QuantizedActivation activation = pick_activation(random);
  fill(random, input, in.h * in.w * in.c);
  fill(random, weights, filter.n * patch);
  pick_scales(random, filter.n, -16, -8);
  fold_bias(filter.n, patch, activation.input_offset, true);
  const int32_t count = out.h * out.w * out.c;
  clear(count);
  const rt::PerChannelScale scale{multipliers, shifts};
  rt::conv(g, activation, scale, in, input, filter, weights, bias, out, expected);
  rt::conv_s8_dsp(g, activation, scale, in, input, filter, weights, folded, out, actual, scratch);
  if (!same(count, "conv_s8_dsp", index)) return false;
  if (!prepare_stage(random, filter.n, activation.output_offset)) return false;
  clear(count);
  rt::conv(g, activation, scale, in, input, filter, weights, bias, out, expected);
  rt::pad_conv_weights(weights, filter, packed);
  rt::conv_s8_dsp_staged(g, activation, output_stage, in, input, filter, packed, folded, out,
                         actual, scratch);
  return same(count, "conv_s8_dsp_staged", index);
}

bool check_depthwise(Random& random, int32_t index) {
  rt::Dims4 in, filter, out;
  rt::ConvGeometry g;
  if (!pick_geometry(random, in, filter, g, out, true)) return true;
  const bool with_bias = !random.one_in(4);
  const rt::QuantizedActivation activation = pick_activation(random);
  fill(random, input, in.h * in.w * in.c);
  fill(random, weights, filter.h * filter.w * in.c);
  pick_scales(random, in.c, -13, -6);
  const int32_t count = out.h * out.w * out.c;
  clear(count);
  const rt::PerChannelScale scale{multipliers, shifts};
  const int32_t* b = with_bias ? bias : nullptr;
  rt::depthwise_conv(g, 1, activation, scale, in, input, filter, weights, b, out, expected);
  rt::depthwise_conv_s8_dsp(g, activation, scale, in, input, filter, weights, b, out, actual);
  return same(count, "depthwise_conv_s8_dsp", index);
}

// The packed 3x3 kernel: shapes from a single pixel to kws's 25x5x64 and channel counts up to
// 70 (tails of 1-3 channels), strides 1-3, every padding a 3x3 window can have; shifts where
// the prepared output stage applies ([-23, -2], both ends included).
bool check_depthwise_3x3(Random& random, int32_t index) {
  rt::Dims4 in{random.in(1, 2), random.in(1, 12), random.in(1, 12), random.in(1, 70)};
  if (random.one_in(10)) in = {1, 25, 5, 64};
  const rt::Dims4 filter{1, 3, 3, in.c};
  rt::ConvGeometry g;
  g.stride_h = random.in(1, 3);
  g.stride_w = random.one_in(3) ? random.in(1, 3) : g.stride_h;
  g.dilation_h = 1;
  g.dilation_w = 1;
  g.pad_top = random.in(0, 2);
  g.pad_left = random.in(0, 2);
  const rt::Dims4 out{in.n, extent(in.h, 3, g.stride_h, 1, g.pad_top),
                      extent(in.w, 3, g.stride_w, 1, g.pad_left), in.c};
  const int32_t count = out.n * out.h * out.w * out.c;
  if (out.h <= 0 || out.w <= 0 || count > kMaxBytes || in.n * in.h * in.w * in.c > kMaxBytes) {
    return true;
  }
  const bool with_bias = !random.one_in(4);
  const rt::QuantizedActivation activation = pick_activation(random);
  fill(random, input, in.n * in.h * in.w * in.c);
  fill(random, weights, 9 * in.c);
  pick_scales(random, in.c, -13, -6);
  for (int32_t c = 0; c < in.c; ++c) {
    if (shifts[c] > -2 || shifts[c] < -23) shifts[c] = random.one_in(2) ? -2 : -23;
  }
  const rt::PerChannelScale scale{multipliers, shifts};
  if (!rt::prepare_output_stage(scale, in.c, activation.output_offset, output_stage)) {
    print("output stage not prepared\n");
    return false;
  }
  rt::pack_depthwise_3x3_weights(weights, in.c, packed);
  clear(count);
  const int32_t* b = with_bias ? bias : nullptr;
  rt::depthwise_conv(g, 1, activation, scale, in, input, filter, weights, b, out, expected);
  rt::depthwise_conv_3x3_s8_dsp(g, activation, in, input, packed, b, output_stage, out, actual);
  return same(count, "depthwise_conv_3x3_s8_dsp", index);
}

// The average pool: windows clipped at the edges, global ones up to 255 pixels, any channels.
bool check_average_pool(Random& random, int32_t index) {
  rt::Dims4 in{random.in(1, 2), random.in(1, 12), random.in(1, 12), random.in(1, 70)};
  rt::PoolGeometry g;
  g.filter_h = random.in(1, 4);
  g.filter_w = random.in(1, 4);
  g.stride_h = random.in(1, 3);
  g.stride_w = random.in(1, 3);
  g.pad_top = random.in(0, g.filter_h - 1);
  g.pad_left = random.in(0, g.filter_w - 1);
  if (random.one_in(6)) {
    in = random.one_in(2) ? rt::Dims4{1, 25, 5, 64} : rt::Dims4{1, 15, 17, 9};
    g = {1, 1, in.h, in.w, 0, 0};
  }
  const rt::Dims4 out{in.n, extent(in.h, g.filter_h, g.stride_h, 1, g.pad_top),
                      extent(in.w, g.filter_w, g.stride_w, 1, g.pad_left), in.c};
  const int32_t count = out.n * out.h * out.w * out.c;
  if (out.h <= 0 || out.w <= 0 || count > kMaxBytes || in.n * in.h * in.w * in.c > kMaxBytes) {
    return true;
  }
  fill(random, input, in.n * in.h * in.w * in.c);
  const rt::PoolClamp clamp =
      random.one_in(3) ? rt::PoolClamp{random.in(-128, 0), random.in(1, 127)} : rt::PoolClamp{};
  clear(count);
  rt::average_pool(g, clamp, in, input, out, expected);
  rt::average_pool_s8_dsp(g, clamp, in, input, out, actual);
  return same(count, "average_pool_s8_dsp", index);
}

}  // namespace

int main() {
  td_port_init();
  print("DSP kernel check on ");
  print(td_port_board_name());
  print("\n");
  Random random;
  constexpr int32_t kCases = 400;
  for (int32_t i = 0; i < kCases; ++i) {
    if (!check_fully_connected(random, i) || !check_conv_1x1(random, i) || !check_conv(random, i) ||
        !check_depthwise(random, i) || !check_depthwise_3x3(random, i) ||
        !check_average_pool(random, i)) {
      return 1;
    }
  }
  print("10 kernels x ");
  print(kCases);
  print(" cases bit-identical\ncheck complete\n");
  return 0;
}
