#include "tinydeploy/runtime/svdf.h"

#include <math.h>

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

template <typename T>
struct Limits;
template <>
struct Limits<int8_t> {
  static constexpr int32_t min = -128;
  static constexpr int32_t max = 127;
};
template <>
struct Limits<int16_t> {
  static constexpr int32_t min = -32768;
  static constexpr int32_t max = 32767;
};

// a + b in int32 with two's complement wrap-around, as the reference's sums behave.
int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// The low bits of `value` read as a T: the reference stores the state zero point plus a value
// already saturated to T, which leaves T's range only for an extreme zero point, and then keeps
// the low bits. Written out so that it is defined C++17 on every target.
template <typename T>
T low_bits(int32_t value) {
  constexpr uint32_t span = uint32_t{1} << (8 * sizeof(T));
  const uint32_t bits = static_cast<uint32_t>(value) & (span - 1);
  const int32_t wrapped = bits > static_cast<uint32_t>(Limits<T>::max)
                              ? static_cast<int32_t>(bits) - static_cast<int32_t>(span)
                              : static_cast<int32_t>(bits);
  return static_cast<T>(wrapped);
}

// Every state value moves one position to the left over the whole buffer; the value that falls
// into each row's last position is overwritten by the new feature activation.
template <typename T>
void shift_state(const SvdfShape& shape, T* state) {
  const int32_t count = shape.batches * shape.filters * shape.memory;
  for (int32_t i = 1; i < count; ++i) state[i - 1] = state[i];
}

template <typename State>
void svdf_integer(const SvdfQuantization& q, const SvdfShape& shape, const int8_t* input,
                  const int8_t* weights_feature, const State* weights_time, const int32_t* bias,
                  State* state, int8_t* output, int32_t* scratch) {
  shift_state(shape, state);
  const int32_t row = shape.filters * shape.memory;  // state values per batch
  for (int32_t b = 0; b < shape.batches; ++b) {
    const int8_t* in = input + b * shape.input_size;
    for (int32_t f = 0; f < shape.filters; ++f) {
      const int8_t* w = weights_feature + f * shape.input_size;
      int32_t sum = 0;
      for (int32_t i = 0; i < shape.input_size; ++i) {
        sum = wrapping_add(sum, int32_t{w[i]} * (int32_t{in[i]} + q.input_offset));
      }
      const int32_t scaled =
          clamp(multiply_by_quantized_multiplier(sum, q.feature.multiplier, q.feature.shift),
                Limits<State>::min, Limits<State>::max);
      state[b * row + f * shape.memory + shape.memory - 1] =
          low_bits<State>(wrapping_add(scaled, q.state_zero_point));
    }
  }

  for (int32_t b = 0; b < shape.batches; ++b) {
    const State* memory_row = state + b * row;
    for (int32_t f = 0; f < shape.filters; ++f) {
      const State* w = weights_time + f * shape.memory;
      int32_t sum = 0;
      for (int32_t m = 0; m < shape.memory; ++m) {
        sum = wrapping_add(sum, int32_t{w[m]} * (int32_t{memory_row[m]} - q.state_zero_point));
      }
      scratch[b * shape.filters + f] = sum;
      memory_row += shape.memory;
    }
  }

  const int32_t units = shape.filters / shape.rank;
  for (int32_t b = 0; b < shape.batches; ++b) {
    const int32_t* filtered = scratch + b * shape.filters;
    for (int32_t u = 0; u < units; ++u) {
      int32_t sum = bias != nullptr ? bias[u] : 0;
      for (int32_t r = 0; r < shape.rank; ++r)
        sum = wrapping_add(sum, filtered[u * shape.rank + r]);
      const int32_t scaled = multiply_by_quantized_multiplier(sum, q.time.multiplier, q.time.shift);
      output[b * units + u] =
          static_cast<int8_t>(clamp_with_offset(scaled, q.output_zero_point, -128, 127));
    }
  }
}

float activate(int32_t activation, float x) {
  switch (activation) {
    case kSvdfActivationRelu:
      return x < 0.0f ? 0.0f : x;
    case kSvdfActivationReluN1To1:
      return x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
    case kSvdfActivationRelu6:
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case kSvdfActivationTanh:
      return tanhf(x);
    case kSvdfActivationSignBit:
      return signbit(x) ? 1.0f : 0.0f;
    default:
      return x;
  }
}

}  // namespace

void svdf(const SvdfQuantization& quantization, const SvdfShape& shape, const int8_t* input,
          const int8_t* weights_feature, const int16_t* weights_time, const int32_t* bias,
          int16_t* state, int8_t* output, int32_t* scratch) {
  svdf_integer(quantization, shape, input, weights_feature, weights_time, bias, state, output,
               scratch);
}

void svdf(const SvdfQuantization& quantization, const SvdfShape& shape, const int8_t* input,
          const int8_t* weights_feature, const int8_t* weights_time, const int32_t* bias,
          int8_t* state, int8_t* output, int32_t* scratch) {
  svdf_integer(quantization, shape, input, weights_feature, weights_time, bias, state, output,
               scratch);
}

// The sums run in the reference's order (each dot product from 0 upwards, then the bias plus
// the rank filters in order), so that the float results match it closely.
void svdf(int32_t activation, const SvdfShape& shape, const float* input,
          const float* weights_feature, const float* weights_time, const float* bias, float* state,
          float* output, float* scratch) {
  shift_state(shape, state);
  const int32_t row = shape.filters * shape.memory;
  for (int32_t b = 0; b < shape.batches; ++b) {
    const float* in = input + b * shape.input_size;
    for (int32_t f = 0; f < shape.filters; ++f) {
      const float* w = weights_feature + f * shape.input_size;
      float sum = 0.0f;
      for (int32_t i = 0; i < shape.input_size; ++i) sum += w[i] * in[i];
      state[b * row + f * shape.memory + shape.memory - 1] = sum;
    }
  }

  for (int32_t b = 0; b < shape.batches; ++b) {
    const float* memory_row = state + b * row;
    for (int32_t f = 0; f < shape.filters; ++f) {
      const float* w = weights_time + f * shape.memory;
      float sum = 0.0f;
      for (int32_t m = 0; m < shape.memory; ++m) sum += w[m] * memory_row[m];
      scratch[b * shape.filters + f] = sum;
      memory_row += shape.memory;
    }
  }

  const int32_t units = shape.filters / shape.rank;
  for (int32_t b = 0; b < shape.batches; ++b) {
    const float* filtered = scratch + b * shape.filters;
    for (int32_t u = 0; u < units; ++u) {
      float sum = bias != nullptr ? bias[u] : 0.0f;
      for (int32_t r = 0; r < shape.rank; ++r) sum += filtered[u * shape.rank + r];
      output[b * units + u] = activate(activation, sum);
    }
  }
}

}  // namespace tinydeploy::runtime
