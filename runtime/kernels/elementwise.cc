#include "tinydeploy/runtime/elementwise.h"

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// Applies `combine` to every output element and the input elements broadcast onto it, walking
// the output in row-major order with an odometer over the dims.
template <typename In1, typename In2, typename Out, typename Combine>
void broadcast_apply(const BroadcastShape& shape, const In1* input1, const In2* input2, Out* output,
                     const Combine& combine) {
  int32_t index[kMaxRank] = {};
  int32_t offset1 = 0;
  int32_t offset2 = 0;
  int32_t total = 1;
  for (int d = 0; d < kMaxRank; ++d) total *= shape.dims[d];
  for (int32_t i = 0; i < total; ++i) {
    output[i] = combine(input1[offset1], input2[offset2]);
    // The offsets only ever hold indexes of elements, never one step past a dimension.
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (++index[d] < shape.dims[d]) {
        offset1 += shape.stride1[d];
        offset2 += shape.stride2[d];
        break;
      }
      offset1 -= shape.stride1[d] * (shape.dims[d] - 1);
      offset2 -= shape.stride2[d] * (shape.dims[d] - 1);
      index[d] = 0;
    }
  }
}

template <typename T>
struct QuantizedAddSub {
  const AddParams& params;
  bool subtract;

  T operator()(T a, T b) const {
    const int32_t shifted1 = (a + params.input1_offset) * (int32_t{1} << params.left_shift);
    const int32_t shifted2 = (b + params.input2_offset) * (int32_t{1} << params.left_shift);
    const int32_t scaled1 =
        multiply_by_quantized_multiplier(shifted1, params.input1.multiplier, params.input1.shift);
    const int32_t scaled2 =
        multiply_by_quantized_multiplier(shifted2, params.input2.multiplier, params.input2.shift);
    const int32_t combined = subtract ? scaled1 - scaled2 : scaled1 + scaled2;
    const int32_t scaled =
        multiply_by_quantized_multiplier(combined, params.output.multiplier, params.output.shift);
    return static_cast<T>(clamp_with_offset(scaled, params.output_offset, params.min, params.max));
  }
};

template <typename T>
struct QuantizedMul {
  const MulParams& params;

  T operator()(T a, T b) const {
    const int32_t product = (a + params.input1_offset) * (b + params.input2_offset);
    const int32_t scaled =
        multiply_by_quantized_multiplier(product, params.output.multiplier, params.output.shift);
    return static_cast<T>(clamp_with_offset(scaled, params.output_offset, params.min, params.max));
  }
};

float clamp_float(float value, const FloatActivation& activation) {
  const float low = value < activation.min ? activation.min : value;
  return low > activation.max ? activation.max : low;
}

template <typename T>
T larger(T a, T b) {
  return a > b ? a : b;
}
template <typename T>
T smaller(T a, T b) {
  return a < b ? a : b;
}

}  // namespace

void add(const AddParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedAddSub<int8_t>{params, false});
}
void add(const AddParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedAddSub<int16_t>{params, false});
}
void add(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output) {
  broadcast_apply(shape, input1, input2, output,
                  [&](float a, float b) { return clamp_float(a + b, activation); });
}

void sub(const AddParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedAddSub<int8_t>{params, true});
}
void sub(const AddParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedAddSub<int16_t>{params, true});
}
void sub(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output) {
  broadcast_apply(shape, input1, input2, output,
                  [&](float a, float b) { return clamp_float(a - b, activation); });
}

void mul(const MulParams& params, const BroadcastShape& shape, const int8_t* input1,
         const int8_t* input2, int8_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedMul<int8_t>{params});
}
void mul(const MulParams& params, const BroadcastShape& shape, const int16_t* input1,
         const int16_t* input2, int16_t* output) {
  broadcast_apply(shape, input1, input2, output, QuantizedMul<int16_t>{params});
}
void mul(const FloatActivation& activation, const BroadcastShape& shape, const float* input1,
         const float* input2, float* output) {
  broadcast_apply(shape, input1, input2, output,
                  [&](float a, float b) { return clamp_float(a * b, activation); });
}

void maximum(const BroadcastShape& shape, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  broadcast_apply(shape, input1, input2, output, larger<int8_t>);
}
void maximum(const BroadcastShape& shape, const int16_t* input1, const int16_t* input2,
             int16_t* output) {
  broadcast_apply(shape, input1, input2, output, larger<int16_t>);
}
void maximum(const BroadcastShape& shape, const float* input1, const float* input2, float* output) {
  broadcast_apply(shape, input1, input2, output, larger<float>);
}
void minimum(const BroadcastShape& shape, const int8_t* input1, const int8_t* input2,
             int8_t* output) {
  broadcast_apply(shape, input1, input2, output, smaller<int8_t>);
}
void minimum(const BroadcastShape& shape, const int16_t* input1, const int16_t* input2,
             int16_t* output) {
  broadcast_apply(shape, input1, input2, output, smaller<int16_t>);
}
void minimum(const BroadcastShape& shape, const float* input1, const float* input2, float* output) {
  broadcast_apply(shape, input1, input2, output, smaller<float>);
}

namespace {

// TFLite's quantized PRELU: a non-negative centred input rescaled by (positive_multiplier,
// positive_shift); a negative one times the centred alpha, rescaled by params.output.
template <typename T>
struct QuantizedPrelu {
  const MulParams& params;
  int32_t positive_multiplier;
  int32_t positive_shift;
  T operator()(T x, int8_t alpha) const {
    const int32_t centred = params.input1_offset + x;
    const int32_t scaled =
        centred >= 0
            ? multiply_by_quantized_multiplier(centred, positive_multiplier, positive_shift)
            : multiply_by_quantized_multiplier(centred * (params.input2_offset + alpha),
                                               params.output.multiplier, params.output.shift);
    return static_cast<T>(clamp_with_offset(scaled, params.output_offset, params.min, params.max));
  }
};

}  // namespace

void prelu(const MulParams& params, int32_t positive_multiplier, int32_t positive_shift,
           const BroadcastShape& shape, const int8_t* input, const int8_t* alpha, int8_t* output) {
  broadcast_apply(shape, input, alpha, output,
                  QuantizedPrelu<int8_t>{params, positive_multiplier, positive_shift});
}

void prelu(const MulParams& params, int32_t positive_multiplier, int32_t positive_shift,
           const BroadcastShape& shape, const int16_t* input, const int8_t* alpha,
           int16_t* output) {
  broadcast_apply(shape, input, alpha, output,
                  QuantizedPrelu<int16_t>{params, positive_multiplier, positive_shift});
}

void prelu(const BroadcastShape& shape, const float* input, const float* alpha, float* output) {
  broadcast_apply(shape, input, alpha, output,
                  [](float x, float a) { return x >= 0.0f ? x : x * a; });
}

}  // namespace tinydeploy::runtime
