#include "tinydeploy/runtime/reduce.h"

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// Adds every input element into its output slot (sums must be zeroed by the caller).
template <typename In, typename Sum>
void accumulate(const ReduceShape& shape, const In* input, Sum* sums) {
  int32_t index[kMaxRank] = {};
  int32_t out = 0;
  int32_t total = 1;
  for (int d = 0; d < kMaxRank; ++d) total *= shape.input_dims[d];
  for (int32_t i = 0; i < total; ++i) {
    sums[out] += static_cast<Sum>(input[i]);
    for (int d = kMaxRank - 1; d >= 0; --d) {
      out += shape.output_stride[d];
      if (++index[d] < shape.input_dims[d]) break;
      out -= shape.output_stride[d] * shape.input_dims[d];
      index[d] = 0;
    }
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
    const int32_t value = add_saturating(
        multiply_by_quantized_multiplier(centred, params.scale.multiplier, params.scale.shift),
        params.output_zero_point);
    output[i] = static_cast<T>(clamp(value, kLowest, kHighest));
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

void mean(const ReduceShape& shape, const float* input, float* output) {
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] = 0.0f;
  accumulate(shape, input, output);
  const float count = static_cast<float>(shape.reduced_elements);
  for (int32_t i = 0; i < shape.output_elements; ++i) output[i] /= count;
}

}  // namespace tinydeploy::runtime
