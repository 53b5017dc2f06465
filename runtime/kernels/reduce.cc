#include "tinydeploy/runtime/reduce.h"

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// Folds every input element into its output slot with `fold(slot, value)`, in input order
// (the slots hold the initial values).
template <typename In, typename Out, typename Fold>
void reduce_into(const ReduceShape& shape, const In* input, Out* outputs, Fold fold) {
  int32_t index[kMaxRank] = {};
  int32_t out = 0;
  int32_t total = 1;
  for (int d = 0; d < kMaxRank; ++d) total *= shape.input_dims[d];
  for (int32_t i = 0; i < total; ++i) {
    fold(outputs[out], input[i]);
    // `out` only ever holds indexes of output elements.
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (++index[d] < shape.input_dims[d]) {
        out += shape.output_stride[d];
        break;
      }
      out -= shape.output_stride[d] * (shape.input_dims[d] - 1);
      index[d] = 0;
    }
  }
}

// Adds every input element into its output slot (sums must be zeroed by the caller).
template <typename In, typename Sum>
void accumulate(const ReduceShape& shape, const In* input, Sum* sums) {
  reduce_into(shape, input, sums, [](Sum& sum, In value) { sum += static_cast<Sum>(value); });
}

// TFLite's REDUCE_MAX / REDUCE_MIN: start from the type's lowest (highest) value and replace it
// with each value that is strictly larger (smaller), so a NaN is never taken.
template <typename T>
void max_min(const ReduceShape& shape, bool largest, T start, const T* input, T* output) {
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] = start;
  if (largest) {
    reduce_into(shape, input, output, [](T& best, T value) {
      if (value > best) best = value;
    });
  } else {
    reduce_into(shape, input, output, [](T& best, T value) {
      if (value < best) best = value;
    });
  }
}

template <typename T>
void mean_quantized(const MeanParams& params, const ReduceShape& shape, const T* input, T* output,
                    int32_t* scratch) {
  for (int32_t i = 0; i < shape.output_elements; ++i) scratch[i] = 0;
  accumulate(shape, input, scratch);
  constexpr int32_t kLowest = sizeof(T) == 1 ? -128 : -32768;
  constexpr int32_t kHighest = sizeof(T) == 1 ? 127 : 32767;
  for (int32_t i = 0; i < shape.output_elements; ++i) {
    const int32_t centred = scratch[i] - params.input_zero_point * shape.reduced_elements;
    const int32_t scaled =
        multiply_by_quantized_multiplier(centred, params.scale.multiplier, params.scale.shift);
    output[i] =
        static_cast<T>(clamp_with_offset(scaled, params.output_zero_point, kLowest, kHighest));
  }
}

}  // namespace

void mean(const MeanParams& params, const ReduceShape& shape, const int8_t* input, int8_t* output,
          int32_t* scratch) {
  mean_quantized(params, shape, input, output, scratch);
}

void mean(const MeanParams& params, const ReduceShape& shape, const int16_t* input, int16_t* output,
          int32_t* scratch) {
  mean_quantized(params, shape, input, output, scratch);
}

void sum(const ReduceShape& shape, const float* input, float* output) {
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] = 0.0f;
  accumulate(shape, input, output);
}

void reduce_max_min(const ReduceShape& shape, bool largest, const int8_t* input, int8_t* output) {
  max_min<int8_t>(shape, largest, largest ? int8_t{-128} : int8_t{127}, input, output);
}

void reduce_max_min(const ReduceShape& shape, bool largest, const float* input, float* output) {
  max_min<float>(shape, largest, largest ? -3.40282347e+38f : 3.40282347e+38f, input, output);
}

void mean(const ReduceShape& shape, const float* input, float* output) {
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] = 0.0f;
  accumulate(shape, input, output);
  const float count = static_cast<float>(shape.reduced_elements);
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] /= count;
}

namespace {

template <typename T>
void arg_min_max_of(int32_t outer, int32_t axis_size, int32_t inner, bool largest, const T* input,
                    int32_t* output) {
  for (int32_t o = 0; o < outer; ++o) {
    const T* block = input + o * axis_size * inner;
    for (int32_t i = 0; i < inner; ++i) {
      T best = block[i];
      int32_t best_index = 0;
      for (int32_t a = 1; a < axis_size; ++a) {
        const T value = block[a * inner + i];
        if (largest ? value > best : value < best) {
          best = value;
          best_index = a;
        }
      }
      *output++ = best_index;
    }
  }
}

}  // namespace

void arg_min_max(int32_t outer, int32_t axis_size, int32_t inner, bool largest, const int8_t* input,
                 int32_t* output) {
  arg_min_max_of(outer, axis_size, inner, largest, input, output);
}

void arg_min_max(int32_t outer, int32_t axis_size, int32_t inner, bool largest, const float* input,
                 int32_t* output) {
  arg_min_max_of(outer, axis_size, inner, largest, input, output);
}

}  // namespace tinydeploy::runtime
