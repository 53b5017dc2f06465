// The Helium kernels of the Cortex-M55 against the portable ones, byte for byte, on
// pseudo-random cases: fully_connected_s8_mve and fully_connected_packed_s8_mve against the
// portable int8 fully_connected (and the 1x1 CONV_2D forms against the portable conv),
// conv_packed_s8_mve against the portable conv, depthwise_conv_s8_mve and
// depthwise_conv_packed_s8_mve against the portable depthwise_conv, add_s8_lookup against add
// and sub, average_pool_s8_mve against average_pool; then the instructions per call on a few
// shapes. Exits 0 when every output byte matched, 1 at the first that did not (the case is
// printed on the UART).
#include <stddef.h>
#include <stdint.h>

#include "tinydeploy/port.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/cortex-m/add_s8_lookup.h"
#include "tinydeploy/runtime/cortex-m55/conv_s8_mve.h"
#include "tinydeploy/runtime/cortex-m55/pooling_s8_mve.h"
#include "tinydeploy/runtime/fixed_point.h"

namespace {

namespace rt = tinydeploy::runtime;

void print(const char* text) {
  size_t size = 0;
  while (text[size] != '\0') ++size;
  td_port_write(reinterpret_cast<const uint8_t*>(text), size);
}

void print(int64_t value) {
  char digits[24];
  int count = 0;
  const bool negative = value < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  char text[26];
  int length = 0;
  if (negative) text[length++] = '-';
  while (count > 0) text[length++] = digits[--count];
  text[length] = '\0';
  print(text);
}

// xorshift32: the same cases on every run.
struct Random {
  uint32_t state = 0x2545F491u;

  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  // Uniform in [low, high] (high - low < 2^32).
  int32_t in(int32_t low, int32_t high) {
    const uint32_t span = static_cast<uint32_t>(high) - static_cast<uint32_t>(low) + 1u;
    return static_cast<int32_t>(static_cast<uint32_t>(low) + (span == 0 ? next() : next() % span));
  }
  bool one_in(uint32_t n) { return next() % n == 0; }
};

constexpr int32_t kMaxInput = 125 * 640;
constexpr int32_t kMaxWeights = 640 * 128;
constexpr int32_t kMaxUnits = 128;
constexpr int32_t kMaxOutput = 32 * 32 * 16;  // the timed conv shape; more than 125 x 128

int8_t input[kMaxInput];
int8_t weights[kMaxWeights];
int32_t bias[kMaxUnits];
int32_t multipliers[kMaxUnits];
int32_t shifts[kMaxUnits];
int8_t expected[kMaxOutput];
int8_t expected_conv[kMaxOutput];
int8_t actual[kMaxOutput];
// Weights packed as lowering packs them for the *_packed_s8_mve kernels, and their folded bias.
int8_t packed[kMaxWeights + 16 * kMaxUnits];
int32_t packed_bias[kMaxUnits];

struct Case {
  rt::QuantizedActivation activation;
  rt::FullyConnectedShape shape;
  bool per_channel = false;
  int32_t weights_offset = 0;
  bool has_bias = false;
};

void fill(Random& random, int8_t* data, int32_t count, bool extremes) {
  for (int32_t i = 0; i < count; ++i) {
    data[i] =
        static_cast<int8_t>(extremes ? (random.one_in(2) ? -128 : 127) : random.in(-128, 127));
  }
}

int32_t pick_features(Random& random) {
  switch (random.in(0, 3)) {
    case 0:
      return 16 * random.in(1, 18);  // whole vectors only
    case 1:
      return 16 * random.in(1, 18) + (random.one_in(2) ? 1 : -1);  // one lane over or short
    case 2:
      return random.in(1, 15);  // the tail alone
    default:
      return random.in(1, 300);
  }
}

int32_t pick_input_offset(Random& random) {
  if (random.one_in(3)) {
    const int32_t extremes[] = {-128, -127, 127, 128, 0};
    return extremes[random.in(0, 4)];
  }
  return random.in(-128, 128);
}

Case make_case(Random& random) {
  Case c;
  c.shape.rows = random.one_in(8) ? random.in(4, 125 * 64 / 300) : random.in(1, 3);
  c.shape.features = pick_features(random);
  c.shape.units = random.in(1, 40);
  c.per_channel = random.one_in(2);
  c.weights_offset = random.one_in(4) ? random.in(-127, 128) : 0;
  c.has_bias = !random.one_in(4);
  c.activation.input_offset = pick_input_offset(random);
  c.activation.output_offset = random.in(-128, 127);
  if (random.one_in(2)) {
    c.activation.min = -128;
    c.activation.max = 127;
  } else {
    c.activation.min = random.in(-128, 0);
    c.activation.max = random.in(c.activation.min, 127);
  }
  fill(random, input, c.shape.rows * c.shape.features, random.one_in(8));
  fill(random, weights, c.shape.units * c.shape.features, random.one_in(8));
  const int32_t scales = c.per_channel ? c.shape.units : 1;
  // Half the cases shift right only (the kernels' fast requantization), as real layers do.
  const bool right_only = random.one_in(2);
  for (int32_t i = 0; i < scales; ++i) {
    multipliers[i] = random.one_in(50) ? 0 : random.in(1 << 30, INT32_MAX);
    // Mostly shifts that bring the sums into the output range, some anywhere in [-31, 30].
    shifts[i] = random.one_in(4) ? random.in(-31, right_only ? -1 : 30) : random.in(-14, -3);
  }
  for (int32_t i = 0; i < c.shape.units; ++i) {
    bias[i] = random.one_in(8) ? random.in(-(1 << 24), 1 << 24) : random.in(-(1 << 16), 1 << 16);
  }
  return c;
}

void print_case(int32_t index, const Case& c) {
  print("case ");
  print(index);
  print(": rows ");
  print(c.shape.rows);
  print(" features ");
  print(c.shape.features);
  print(" units ");
  print(c.shape.units);
  print(c.per_channel ? " per-channel" : " per-tensor");
  print(" input_offset ");
  print(c.activation.input_offset);
  print(" weights_offset ");
  print(c.weights_offset);
  print(" output_offset ");
  print(c.activation.output_offset);
  print(" range [");
  print(c.activation.min);
  print(", ");
  print(c.activation.max);
  print(c.has_bias ? "] bias" : "] no bias");
  print("\n");
}

// The first index where a and b differ, or -1.
int32_t first_difference(const int8_t* a, const int8_t* b, int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    if (a[i] != b[i]) return i;
  }
  return -1;
}

bool report_difference(int32_t index, const Case& c, const char* what, const int8_t* reference,
                       const int8_t* result) {
  const int32_t count = c.shape.rows * c.shape.units;
  const int32_t at = first_difference(reference, result, count);
  if (at < 0) return false;
  print("MISMATCH (");
  print(what);
  print(") ");
  print_case(index, c);
  print("  output ");
  print(at);
  print(" (row ");
  print(at / c.shape.units);
  print(", unit ");
  print(at % c.shape.units);
  print("): expected ");
  print(reference[at]);
  print(", got ");
  print(result[at]);
  print("\n");
  return true;
}

int run_cases(int32_t count) {
  Random random;
  int64_t outputs = 0;
  int64_t inside = 0;  // outputs strictly inside the clamp range: the requantization was tested
  for (int32_t index = 0; index < count; ++index) {
    const Case c = make_case(random);
    const rt::PerChannelScale scale{multipliers, shifts};
    const int32_t* bias_or_null = c.has_bias ? bias : nullptr;
    const int32_t size = c.shape.rows * c.shape.units;
    rt::fully_connected(c.activation, scale, c.per_channel, c.weights_offset, c.shape, input,
                        weights, bias_or_null, expected);
    for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
    rt::fully_connected_s8_mve(c.activation, scale, c.per_channel, c.weights_offset, c.shape, input,
                               weights, bias_or_null, actual);
    if (report_difference(index, c, "fully_connected", expected, actual)) return 1;
    if (c.weights_offset == 0) {
      // The packed weights and the input offset folded into the bias, as lowering prepares them.
      rt::pack_weights_s8_mve(c.shape.units, c.shape.features, weights, packed);
      for (int32_t u = 0; u < c.shape.units; ++u) {
        uint32_t sum = 0;
        for (int32_t k = 0; k < c.shape.features; ++k) {
          sum += static_cast<uint32_t>(static_cast<int32_t>(weights[u * c.shape.features + k]));
        }
        packed_bias[u] =
            static_cast<int32_t>(sum * static_cast<uint32_t>(c.activation.input_offset) +
                                 static_cast<uint32_t>(c.has_bias ? bias[u] : 0));
      }
      for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
      rt::fully_connected_packed_s8_mve(c.activation, scale, c.per_channel, c.shape, input, packed,
                                        packed_bias, actual);
      if (report_difference(index, c, "fully_connected packed", expected, actual)) return 1;
      if (c.per_channel) {
        const rt::Dims4 input_dims{1, 1, c.shape.rows, c.shape.features};
        const rt::Dims4 filter_dims{c.shape.units, 1, 1, c.shape.features};
        const rt::Dims4 output_dims{1, 1, c.shape.rows, c.shape.units};
        for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
        rt::conv_1x1_packed_s8_mve(c.activation, scale, input_dims, input, filter_dims, packed,
                                   packed_bias, output_dims, actual);
        if (report_difference(index, c, "1x1 conv packed", expected, actual)) return 1;
      }
    }
    if (c.weights_offset == 0 && c.per_channel) {
      // The same numbers as a 1x1 CONV_2D (stride 1, no padding, one group) over rows pixels.
      const rt::Dims4 input_dims{1, c.shape.rows, 1, c.shape.features};
      const rt::Dims4 filter_dims{c.shape.units, 1, 1, c.shape.features};
      const rt::Dims4 output_dims{1, c.shape.rows, 1, c.shape.units};
      rt::conv(rt::ConvGeometry{}, c.activation, scale, input_dims, input, filter_dims, weights,
               bias_or_null, output_dims, expected_conv);
      if (report_difference(index, c, "1x1 conv", expected_conv, actual)) return 1;
    }
    for (int32_t i = 0; i < size; ++i) {
      inside += expected[i] > c.activation.min && expected[i] < c.activation.max ? 1 : 0;
    }
    outputs += size;
  }
  print("cases ");
  print(count);
  print(", outputs ");
  print(outputs);
  print(", inside the clamp range ");
  print(inside);
  print(": all bit-identical\n");
  // Cases that only ever clamp would not exercise the requantization.
  if (inside * 4 < outputs) {
    print("too few outputs inside the clamp range\n");
    return 1;
  }
  return 0;
}

// Output extent of a convolution whose padding after equals the padding before.
int32_t output_extent(int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t pad) {
  return (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

constexpr int32_t kMaxWindow = 2 * (5 * 5 * 40 + 16);  // conv_packed_s8_mve: two windows
int8_t window_scratch[kMaxWindow];
int32_t folded[kMaxUnits];

struct ConvCase {
  rt::ConvGeometry geometry;
  rt::QuantizedActivation activation;
  rt::Dims4 input, filter, output;
  bool has_bias = false;
};

// input_offset * (sum of each filter row) + bias, modulo 2^32 as the kernel takes it.
void fold_bias(const ConvCase& c) {
  const int32_t features = c.filter.h * c.filter.w * c.filter.c;
  for (int32_t u = 0; u < c.filter.n; ++u) {
    uint32_t sum = 0;
    for (int32_t k = 0; k < features; ++k) {
      sum += static_cast<uint32_t>(static_cast<int32_t>(weights[u * features + k]));
    }
    folded[u] = static_cast<int32_t>(sum * static_cast<uint32_t>(c.activation.input_offset) +
                                     static_cast<uint32_t>(c.has_bias ? bias[u] : 0));
  }
}

// `in_place`: shapes whose window rows are whole vectors (16 or 32 channels, units a multiple
// of four, no dilation across), which conv_packed_s8_mve reads in place where a window lies
// inside the input.
ConvCase make_conv_case(Random& random, bool in_place = false, bool one_by_one = false) {
  ConvCase c;
  for (;;) {
    c.input = {random.in(1, 2), random.in(1, 12), random.in(1, 12), random.in(1, 40)};
    c.filter = {random.in(1, 20), random.in(1, 5), random.in(1, 5), c.input.c};
    c.geometry.stride_h = random.in(1, 3);
    c.geometry.stride_w = random.in(1, 3);
    c.geometry.dilation_h = random.in(1, 2);
    c.geometry.dilation_w = random.in(1, 2);
    if (in_place) {
      c.input.c = 16 * random.in(1, 2);
      c.filter = {4 * random.in(1, 5), random.in(1, 4), random.in(1, 4), c.input.c};
      c.geometry.dilation_w = 1;
    }
    if (one_by_one) c.filter = {4 * random.in(1, 5), 1, 1, random.in(1, 40)};
    c.filter.c = c.input.c;
    c.geometry.pad_top = random.in(0, (c.filter.h - 1) * c.geometry.dilation_h);
    c.geometry.pad_left = random.in(0, (c.filter.w - 1) * c.geometry.dilation_w);
    const rt::ConvGeometry& g = c.geometry;
    c.output = {
        c.input.n, output_extent(c.input.h, c.filter.h, g.stride_h, g.dilation_h, g.pad_top),
        output_extent(c.input.w, c.filter.w, g.stride_w, g.dilation_w, g.pad_left), c.filter.n};
    if (c.output.h >= 1 && c.output.w >= 1) break;
  }
  c.has_bias = !random.one_in(4);
  // The negated zero point of an int8 input: a padded position holds the zero point itself.
  c.activation.input_offset =
      random.one_in(3) ? (random.one_in(2) ? -127 : 128) : random.in(-127, 128);
  c.activation.output_offset = random.in(-128, 127);
  c.activation.min = random.one_in(2) ? -128 : random.in(-128, 0);
  c.activation.max = random.one_in(2) ? 127 : random.in(c.activation.min, 127);
  fill(random, input, c.input.n * c.input.h * c.input.w * c.input.c, random.one_in(8));
  fill(random, weights, c.filter.n * c.filter.h * c.filter.w * c.filter.c, random.one_in(8));
  const bool right_only = random.one_in(2);
  for (int32_t i = 0; i < c.filter.n; ++i) {
    multipliers[i] = random.one_in(50) ? 0 : random.in(1 << 30, INT32_MAX);
    shifts[i] = random.one_in(4) ? random.in(-31, right_only ? -1 : 30) : random.in(-16, -7);
    bias[i] = random.in(-(1 << 16), 1 << 16);
  }
  fold_bias(c);
  return c;
}

int run_conv_cases(int32_t count) {
  Random random;
  int64_t outputs = 0;
  int64_t inside = 0;
  int32_t strided = 0;  // cases also run through conv_1x1_strided_packed_s8_mve
  for (int32_t index = 0; index < count; ++index) {
    const ConvCase c = make_conv_case(random, index % 3 == 0, index % 5 == 1);
    const rt::PerChannelScale scale{multipliers, shifts};
    const int32_t size = c.output.n * c.output.h * c.output.w * c.output.c;
    rt::conv(c.geometry, c.activation, scale, c.input, input, c.filter, weights,
             c.has_bias ? bias : nullptr, c.output, expected);
    for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
    // Two windows per pass, the filter packed as lowering packs it.
    const int32_t features = c.filter.h * c.filter.w * c.filter.c;
    rt::pack_weights_s8_mve(c.filter.n, features, weights, packed);
    rt::conv_packed_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter, packed,
                           folded, c.output, actual, window_scratch);
    int32_t at = first_difference(expected, actual, size);
    const rt::ConvGeometry& g = c.geometry;
    if (at < 0 && c.filter.h == 1 && c.filter.w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
        c.filter.n % 4 == 0 && (c.output.h - 1) * g.stride_h < c.input.h &&
        (c.output.w - 1) * g.stride_w < c.input.w) {
      // A 1x1 filter without padding: also the strided matrix product (packed as for an FC).
      ++strided;
      for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
      rt::conv_1x1_strided_packed_s8_mve(c.geometry, c.activation, scale, c.input, input, packed,
                                         folded, c.output, actual);
      at = first_difference(expected, actual, size);
      if (at >= 0) print("conv_1x1_strided_packed_s8_mve: ");
    }
    if (at >= 0) {
      print("MISMATCH (conv_packed_s8_mve) conv case ");
      print(index);
      print(": input ");
      print(c.input.h);
      print("x");
      print(c.input.w);
      print("x");
      print(c.input.c);
      print(", filter ");
      print(c.filter.h);
      print("x");
      print(c.filter.w);
      print(", input offset ");
      print(c.activation.input_offset);
      print(", output ");
      print(at);
      print(": expected ");
      print(expected[at]);
      print(", got ");
      print(actual[at]);
      print("\n");
      return 1;
    }
    for (int32_t i = 0; i < size; ++i) {
      inside += expected[i] > c.activation.min && expected[i] < c.activation.max ? 1 : 0;
    }
    outputs += size;
  }
  print("conv cases ");
  print(count);
  print(" (");
  print(strided);
  print(" also strided 1x1)");
  print(", outputs ");
  print(outputs);
  print(", inside the clamp range ");
  print(inside);
  print(": all bit-identical\n");
  if (inside * 4 < outputs) {
    print("too few conv outputs inside the clamp range\n");
    return 1;
  }
  return 0;
}

// depthwise_conv_s8_mve against the portable depthwise_conv (multiplier 1) on random geometries.
int run_depthwise_cases(int32_t count) {
  Random random;
  int64_t outputs = 0;
  int64_t inside = 0;
  for (int32_t index = 0; index < count; ++index) {
    ConvCase c = make_conv_case(random);
    // A fifth of the cases have exactly eight channels (their own path, pixels in pairs).
    if (index % 5 == 0) {
      c.input.c = 8;
      fill(random, input, c.input.n * c.input.h * c.input.w * 8, random.one_in(8));
    }
    // A fifth have 41 to 64 channels: several whole groups of sixteen (the group in assembly
    // with right shifts) and a partial one, one image so that the outputs fit.
    if (index % 5 == 1) {
      c.input.n = 1;
      c.output.n = 1;
      c.input.c = random.in(41, 64);
      fill(random, input, c.input.h * c.input.w * c.input.c, random.one_in(8));
    }
    // The same geometry as a depthwise layer: one filter per channel, as many outputs.
    c.filter = {1, c.filter.h, c.filter.w, c.input.c};
    c.output.c = c.input.c;
    fill(random, weights, c.filter.h * c.filter.w * c.filter.c, random.one_in(8));
    const bool right_only = random.one_in(2);
    for (int32_t i = 0; i < c.input.c; ++i) {
      multipliers[i] = random.one_in(50) ? 0 : random.in(1 << 30, INT32_MAX);
      shifts[i] = random.one_in(4) ? random.in(-31, right_only ? -1 : 30) : random.in(-12, -5);
      bias[i] = random.in(-(1 << 16), 1 << 16);
    }
    const rt::PerChannelScale scale{multipliers, shifts};
    const int32_t size = c.output.n * c.output.h * c.output.w * c.output.c;
    const int32_t* bias_or_null = c.has_bias ? bias : nullptr;
    rt::depthwise_conv(c.geometry, 1, c.activation, scale, c.input, input, c.filter, weights,
                       bias_or_null, c.output, expected);
    for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
    rt::depthwise_conv_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter, weights,
                              bias_or_null, c.output, actual);
    int32_t at = first_difference(expected, actual, size);
    if (at < 0) {
      // The packed variant, on the constants lowering prepares: packed filter, folded bias.
      const char* what = "depthwise_conv_packed_s8_mve";
      rt::pack_depthwise_weights_s8_mve(c.filter, weights, packed);
      const int32_t taps = c.filter.h * c.filter.w;
      for (int32_t ch = 0; ch < c.input.c; ++ch) {
        uint32_t sum = 0;
        for (int32_t t = 0; t < taps; ++t) {
          sum += static_cast<uint32_t>(static_cast<int32_t>(weights[t * c.input.c + ch]));
        }
        packed_bias[ch] =
            static_cast<int32_t>(sum * static_cast<uint32_t>(c.activation.input_offset) +
                                 static_cast<uint32_t>(c.has_bias ? bias[ch] : 0));
      }
      for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
      rt::depthwise_conv_packed_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter,
                                       packed, packed_bias, c.output, actual, window_scratch);
      at = first_difference(expected, actual, size);
      if (at >= 0) print(what);
    }
    if (at >= 0) {
      print("MISMATCH (depthwise_conv_s8_mve) case ");
      print(index);
      print(": input ");
      print(c.input.h);
      print("x");
      print(c.input.w);
      print("x");
      print(c.input.c);
      print(", filter ");
      print(c.filter.h);
      print("x");
      print(c.filter.w);
      print(", output ");
      print(at);
      print(": expected ");
      print(expected[at]);
      print(", got ");
      print(actual[at]);
      print("\n");
      return 1;
    }
    for (int32_t i = 0; i < size; ++i) {
      inside += expected[i] > c.activation.min && expected[i] < c.activation.max ? 1 : 0;
    }
    outputs += size;
  }
  print("depthwise cases ");
  print(count);
  print(", outputs ");
  print(outputs);
  print(", inside the clamp range ");
  print(inside);
  print(": all bit-identical\n");
  if (inside * 4 < outputs) {
    print("too few depthwise outputs inside the clamp range\n");
    return 1;
  }
  return 0;
}

// add_s8_lookup (Helium) against the portable add and sub on random same-shape cases; the
// tables are prepared as lowering prepares them.
int32_t scaled_table[2][256];

int run_add_cases(int32_t count) {
  Random random;
  int64_t outputs = 0;
  int64_t inside = 0;
  for (int32_t index = 0; index < count; ++index) {
    rt::AddParams p;
    p.input1_offset = random.in(-127, 128);
    p.input2_offset = random.in(-127, 128);
    p.output_offset = random.in(-128, 127);
    p.left_shift = 20;
    // Input multipliers of at most 1/2, the output one bringing the sums back to int8 range.
    p.input1 = {random.in(1 << 30, INT32_MAX), random.in(-8, -1)};
    p.input2 = {random.in(1 << 30, INT32_MAX), random.in(-8, -1)};
    // Mostly right shifts (the kernel's fast path), sometimes none or a left one.
    p.output = {random.in(1 << 30, INT32_MAX),
                random.one_in(5) ? random.in(0, 1) : random.in(-24, -14)};
    p.min = random.one_in(2) ? -128 : random.in(-128, 0);
    p.max = random.one_in(2) ? 127 : random.in(p.min, 127);
    const bool subtract = random.one_in(2);
    for (int32_t v = -128; v <= 127; ++v) {
      const int32_t one =
          rt::multiply_by_quantized_multiplier((v + p.input1_offset) * (int32_t{1} << p.left_shift),
                                               p.input1.multiplier, p.input1.shift);
      const int32_t two =
          rt::multiply_by_quantized_multiplier((v + p.input2_offset) * (int32_t{1} << p.left_shift),
                                               p.input2.multiplier, p.input2.shift);
      scaled_table[0][v + 128] = one;
      scaled_table[1][v + 128] = subtract ? -two : two;
    }
    const int32_t size = random.in(1, 300);
    fill(random, input, size, random.one_in(8));
    fill(random, weights, size, random.one_in(8));  // the second input
    rt::BroadcastShape shape;
    shape.dims[5] = size;
    shape.stride1[5] = 1;
    shape.stride2[5] = 1;
    if (subtract) {
      rt::sub(p, shape, input, weights, expected);
    } else {
      rt::add(p, shape, input, weights, expected);
    }
    for (int32_t i = 0; i < size + 4; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
    const int8_t guard = actual[size];
    rt::add_s8_lookup(p, size, scaled_table[0], scaled_table[1], input, weights, actual);
    const int32_t at = first_difference(expected, actual, size);
    if (at >= 0 || actual[size] != guard) {
      print("MISMATCH (add_s8_lookup) case ");
      print(index);
      print(", element ");
      print(at);
      print("\n");
      return 1;
    }
    for (int32_t i = 0; i < size; ++i) inside += expected[i] > p.min && expected[i] < p.max ? 1 : 0;
    outputs += size;
  }
  print("add cases ");
  print(count);
  print(", outputs ");
  print(outputs);
  print(", inside the clamp range ");
  print(inside);
  print(": all bit-identical\n");
  if (inside * 4 < outputs) {
    print("too few add outputs inside the clamp range\n");
    return 1;
  }
  return 0;
}

// average_pool_s8_mve against the portable int8 average_pool on random geometries: windows
// clipped at the edges, global pools, windows of more than 256 positions, channels 1-40.
int run_pool_cases(int32_t count) {
  Random random;
  int64_t outputs = 0;
  for (int32_t index = 0; index < count; ++index) {
    rt::PoolGeometry g;
    // Outputs of at most 16 x 16 x 40 (kMaxOutput) with the largest pads.
    rt::Dims4 in{1, random.in(1, 12), random.in(1, 12), random.in(1, 40)};
    if (index % 7 == 0) in = {2, random.in(1, 6), random.in(1, 6), random.in(1, 40)};
    if (index % 10 == 0) in = {1, random.in(17, 30), random.in(17, 30), random.in(1, 9)};
    g.filter_h = random.one_in(4) ? in.h : random.in(1, 5);
    g.filter_w = random.one_in(4) ? in.w : random.in(1, 5);
    g.stride_h = random.in(1, 3);
    g.stride_w = random.in(1, 3);
    if (index % 10 == 0) {
      // A global pool of more than 256 positions: the 16-bit sums are widened midway.
      g.filter_h = in.h;
      g.filter_w = in.w;
    }
    g.pad_top = random.in(0, g.filter_h - 1);
    g.pad_left = random.in(0, g.filter_w - 1);
    const rt::Dims4 out{in.n, (in.h + 2 * g.pad_top - g.filter_h) / g.stride_h + 1,
                        (in.w + 2 * g.pad_left - g.filter_w) / g.stride_w + 1, in.c};
    if (out.h < 1 || out.w < 1) continue;
    rt::PoolClamp clamp;
    clamp.min = random.one_in(2) ? -128 : random.in(-128, 0);
    clamp.max = random.one_in(2) ? 127 : random.in(clamp.min, 127);
    fill(random, input, in.n * in.h * in.w * in.c, random.one_in(6));
    const int32_t size = out.n * out.h * out.w * out.c;
    rt::average_pool(g, clamp, in, input, out, expected);
    for (int32_t i = 0; i < size; ++i) actual[i] = static_cast<int8_t>(~expected[i]);
    rt::average_pool_s8_mve(g, clamp, in, input, out, actual);
    const int32_t at = first_difference(expected, actual, size);
    if (at >= 0) {
      print("MISMATCH (average_pool_s8_mve) case ");
      print(index);
      print(", output ");
      print(at);
      print(": expected ");
      print(expected[at]);
      print(", got ");
      print(actual[at]);
      print("\n");
      return 1;
    }
    outputs += size;
  }
  print("average pool cases ");
  print(count);
  print(", outputs ");
  print(outputs);
  print(": all bit-identical\n");
  return 0;
}

// Instructions per call: under -icount shift=0 one instruction is 1 ns of virtual time, and
// SysTick counts at 32 MHz, so one tick is 31.25 instructions.
int64_t tenths_of_instructions(uint64_t ticks, int32_t repeats) {
  return static_cast<int64_t>(ticks * 3125u / (10u * static_cast<uint64_t>(repeats)));
}

void print_tenths(int64_t tenths) {
  print(tenths / 10);
  print(".");
  print(tenths % 10);
}

template <typename Kernel>
uint64_t time_calls(int32_t repeats, Kernel kernel) {
  const uint64_t start = td_port_ticks();
  for (int32_t i = 0; i < repeats; ++i) kernel();
  return td_port_ticks() - start;
}

int measure(const char* name, rt::FullyConnectedShape shape, int32_t input_offset) {
  Random random;
  fill(random, input, shape.rows * shape.features, false);
  fill(random, weights, shape.units * shape.features, false);
  for (int32_t i = 0; i < shape.units; ++i) {
    bias[i] = random.in(-(1 << 16), 1 << 16);
    multipliers[i] = random.in(1 << 30, INT32_MAX);
    shifts[i] = random.in(-12, -6);
  }
  rt::QuantizedActivation activation;
  activation.input_offset = input_offset;
  const rt::PerChannelScale scale{multipliers, shifts};
  const int64_t macs = int64_t{shape.rows} * shape.features * shape.units;
  const int32_t repeats = static_cast<int32_t>(2000000 / macs + 2);
  const uint64_t portable = time_calls(repeats, [&] {
    rt::fully_connected(activation, scale, true, 0, shape, input, weights, bias, expected);
  });
  const uint64_t mve = time_calls(repeats, [&] {
    rt::fully_connected_s8_mve(activation, scale, true, 0, shape, input, weights, bias, actual);
  });
  rt::pack_weights_s8_mve(shape.units, shape.features, weights, packed);
  for (int32_t u = 0; u < shape.units; ++u) {
    int32_t sum = 0;
    for (int32_t k = 0; k < shape.features; ++k) sum += weights[u * shape.features + k];
    packed_bias[u] = bias[u] + input_offset * sum;
  }
  const uint64_t mve_packed = time_calls(repeats, [&] {
    rt::fully_connected_packed_s8_mve(activation, scale, true, shape, input, packed, packed_bias,
                                      expected_conv);
  });
  if (first_difference(expected, actual, shape.rows * shape.units) >= 0 ||
      first_difference(expected, expected_conv, shape.rows * shape.units) >= 0) {
    print("MISMATCH in the timed shape ");
    print(name);
    print("\n");
    return 1;
  }
  const int64_t portable_tenths = tenths_of_instructions(portable, repeats);
  const int64_t mve_tenths = tenths_of_instructions(mve, repeats);
  print(name);
  print(": rows ");
  print(shape.rows);
  print(" features ");
  print(shape.features);
  print(" units ");
  print(shape.units);
  print(" (");
  print(macs);
  print(" MACs, ");
  print(repeats);
  print(" calls): portable ");
  print_tenths(portable_tenths);
  print(", mve ");
  print_tenths(mve_tenths);
  print(", packed ");
  print_tenths(tenths_of_instructions(mve_packed, repeats));
  print(" instructions per call; speed-up x");
  print_tenths(mve_tenths > 0 ? portable_tenths * 10 / mve_tenths : 0);
  print("\n");
  return 0;
}

// resnet's 3x3 CONV_2D, 16 -> 16 channels over 32x32 (SAME): portable conv vs conv_packed_s8_mve.
int measure_conv() {
  Random random;
  ConvCase c;
  c.input = {1, 32, 32, 16};
  c.filter = {16, 3, 3, 16};
  c.output = {1, 32, 32, 16};
  c.geometry.pad_top = 1;
  c.geometry.pad_left = 1;
  c.has_bias = true;
  c.activation.input_offset = 128;
  fill(random, input, 32 * 32 * 16, false);
  fill(random, weights, 16 * 3 * 3 * 16, false);
  for (int32_t i = 0; i < 16; ++i) {
    bias[i] = random.in(-(1 << 16), 1 << 16);
    multipliers[i] = random.in(1 << 30, INT32_MAX);
    shifts[i] = random.in(-12, -8);
  }
  fold_bias(c);
  const rt::PerChannelScale scale{multipliers, shifts};
  const uint64_t portable = time_calls(1, [&] {
    rt::conv(c.geometry, c.activation, scale, c.input, input, c.filter, weights, bias, c.output,
             expected);
  });
  rt::pack_weights_s8_mve(16, 3 * 3 * 16, weights, packed);
  const uint64_t mve_packed = time_calls(1, [&] {
    rt::conv_packed_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter, packed,
                           folded, c.output, expected_conv, window_scratch);
  });
  if (first_difference(expected, expected_conv, 32 * 32 * 16) >= 0) {
    print("MISMATCH in the timed conv shape\n");
    return 1;
  }
  print("resnet 3x3 CONV_2D 32x32x16 -> 16 (2359296 MACs): portable ");
  print_tenths(tenths_of_instructions(portable, 1));
  print(", conv_packed_s8_mve ");
  print_tenths(tenths_of_instructions(mve_packed, 1));
  print(" instructions per call\n");
  return 0;
}

// kws's depthwise 3x3 (SAME), 64 channels over 25x5: the three kernels.
int measure_depthwise() {
  Random random;
  ConvCase c;
  c.input = {1, 25, 5, 64};
  c.filter = {1, 3, 3, 64};
  c.output = {1, 25, 5, 64};
  c.geometry.pad_top = 1;
  c.geometry.pad_left = 1;
  c.activation.input_offset = 83;
  fill(random, input, 25 * 5 * 64, false);
  fill(random, weights, 9 * 64, false);
  for (int32_t i = 0; i < 64; ++i) {
    bias[i] = random.in(-(1 << 12), 1 << 12);
    multipliers[i] = random.in(1 << 30, INT32_MAX);
    shifts[i] = random.in(-10, -6);
    int32_t sum = 0;
    for (int32_t t = 0; t < 9; ++t) sum += weights[t * 64 + i];
    packed_bias[i] = bias[i] + c.activation.input_offset * sum;
  }
  rt::pack_depthwise_weights_s8_mve(c.filter, weights, packed);
  const rt::PerChannelScale scale{multipliers, shifts};
  const uint64_t portable = time_calls(1, [&] {
    rt::depthwise_conv(c.geometry, 1, c.activation, scale, c.input, input, c.filter, weights, bias,
                       c.output, expected);
  });
  const uint64_t mve = time_calls(1, [&] {
    rt::depthwise_conv_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter, weights,
                              bias, c.output, actual);
  });
  const uint64_t mve_packed = time_calls(1, [&] {
    rt::depthwise_conv_packed_s8_mve(c.geometry, c.activation, scale, c.input, input, c.filter,
                                     packed, packed_bias, c.output, expected_conv, window_scratch);
  });
  if (first_difference(expected, actual, 25 * 5 * 64) >= 0 ||
      first_difference(expected, expected_conv, 25 * 5 * 64) >= 0) {
    print("MISMATCH in the timed depthwise shape\n");
    return 1;
  }
  print("kws depthwise 3x3 25x5x64 (72000 MACs): portable ");
  print_tenths(tenths_of_instructions(portable, 1));
  print(", depthwise_conv_s8_mve ");
  print_tenths(tenths_of_instructions(mve, 1));
  print(", packed ");
  print_tenths(tenths_of_instructions(mve_packed, 1));
  print(" instructions per call\n");
  return 0;
}

}  // namespace

int main() {
  td_port_init();
  print("fully_connected_s8_mve bench on ");
  print(td_port_board_name());
  print("\n");
  if (run_cases(3000) != 0) return 1;
  if (run_conv_cases(600) != 0) return 1;
  if (run_depthwise_cases(600) != 0) return 1;
  if (run_add_cases(600) != 0) return 1;
  if (run_pool_cases(400) != 0) return 1;
  struct Shape {
    const char* name;
    rt::FullyConnectedShape shape;
    int32_t input_offset;
  };
  const Shape shapes[] = {
      {"kws FULLY_CONNECTED", {1, 64, 12}, 128},
      {"kws 1x1 CONV_2D as FC", {125, 64, 64}, 128},
      {"ad01-like dense", {1, 640, 128}, 3},
      {"odd features", {1, 300, 40}, -5},
  };
  for (const Shape& s : shapes) {
    if (measure(s.name, s.shape, s.input_offset) != 0) return 1;
  }
  if (measure_conv() != 0) return 1;
  if (measure_depthwise() != 0) return 1;
  print("bench complete\n");
  return 0;
}
