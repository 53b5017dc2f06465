#include "tinydeploy/runtime/conv.h"

#include <math.h>

#include <type_traits>

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// `value` rounded half away from zero and clamped to [low, high]. Inputs that are not finite
// (an earlier layer overflowed) make the quantization undefined in TFLite; here NaN gives
// `nan_value` and infinities clamp, so the kernel stays defined.
int32_t round_clamped(double value, int32_t low, int32_t high, int32_t nan_value) {
  if (value != value) return nan_value;
  if (value <= low) return low;
  if (value >= high) return high;
  return static_cast<int32_t>(round(value));
}

// Turns an accumulator into an output element: requantization for integer types, the fused
// activation's clamp for float.
template <typename Output>
struct QuantizedStore {
  const QuantizedActivation& activation;
  const PerChannelScale& scale;
  bool per_channel = true;

  template <typename Accumulator>
  Output operator()(Accumulator accumulator, int32_t channel) const {
    const int32_t c = per_channel ? channel : 0;
    const int32_t scaled =
        multiply_by_quantized_multiplier(accumulator, scale.multiplier[c], scale.shift[c]);
    return static_cast<Output>(
        clamp_with_offset(scaled, activation.output_offset, activation.min, activation.max));
  }
};

struct FloatStore {
  const FloatActivation& activation;

  float operator()(float accumulator, int32_t /*channel*/) const {
    const float low = accumulator < activation.min ? activation.min : accumulator;
    return low > activation.max ? activation.max : low;
  }
};

// A value plus its zero-point offset, widened to the accumulator (float values have no offset).
template <typename Accumulator, typename Value>
Accumulator widen(Value value, int32_t offset) {
  if constexpr (std::is_floating_point_v<Value>) {
    return static_cast<Accumulator>(value);
  } else {
    return static_cast<Accumulator>(value + offset);
  }
}

// accumulator + term. int32 accumulators wrap on overflow, as two's complement hardware does
// for TFLite's own int32 sums: lowering refuses the int8 models whose sums could overflow, but
// a 16-bit activation with an int32 bias is TFLite's choice of a narrow accumulator, run as
// TFLite runs it. Wider and float accumulators add plainly (lowering bounds int64 ones).
template <typename Accumulator>
Accumulator accumulate(Accumulator accumulator, Accumulator term) {
  if constexpr (std::is_same_v<Accumulator, int32_t>) {
    return static_cast<int32_t>(static_cast<uint32_t>(accumulator) + static_cast<uint32_t>(term));
  } else {
    return accumulator + term;
  }
}

int32_t offset4(const Dims4& dims, int32_t n, int32_t h, int32_t w, int32_t c) {
  return ((n * dims.h + h) * dims.w + w) * dims.c + c;
}

template <typename Accumulator, typename Input, typename Weight, typename Bias, typename Output,
          typename Store>
void conv_loops(const ConvGeometry& geometry, int32_t input_offset, const Dims4& input_dims,
                const Input* input, const Dims4& filter_dims, const Weight* filter,
                const Bias* bias, const Dims4& output_dims, Output* output, const Store& store) {
  const int32_t group_channels = filter_dims.c;
  const int32_t filters_per_group = output_dims.c / (input_dims.c / group_channels);
  for (int32_t batch = 0; batch < output_dims.n; ++batch) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t origin_y = out_y * geometry.stride_h - geometry.pad_top;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t origin_x = out_x * geometry.stride_w - geometry.pad_left;
        for (int32_t out_c = 0; out_c < output_dims.c; ++out_c) {
          const int32_t first_in_c = (out_c / filters_per_group) * group_channels;
          Accumulator accumulator = 0;
          for (int32_t ky = 0; ky < filter_dims.h; ++ky) {
            const int32_t in_y = origin_y + ky * geometry.dilation_h;
            if (in_y < 0 || in_y >= input_dims.h) continue;  // padding contributes zero
            for (int32_t kx = 0; kx < filter_dims.w; ++kx) {
              const int32_t in_x = origin_x + kx * geometry.dilation_w;
              if (in_x < 0 || in_x >= input_dims.w) continue;
              const Input* in = input + offset4(input_dims, batch, in_y, in_x, first_in_c);
              const Weight* weights = filter + offset4(filter_dims, out_c, ky, kx, 0);
              for (int32_t ic = 0; ic < group_channels; ++ic) {
                accumulator = accumulate(accumulator, widen<Accumulator>(in[ic], input_offset) *
                                                          widen<Accumulator>(weights[ic], 0));
              }
            }
          }
          if (bias != nullptr) {
            accumulator = accumulate(accumulator, static_cast<Accumulator>(bias[out_c]));
          }
          output[offset4(output_dims, batch, out_y, out_x, out_c)] = store(accumulator, out_c);
        }
      }
    }
  }
}

template <typename Accumulator, typename Input, typename Weight, typename Bias, typename Output,
          typename Store>
void depthwise_loops(const ConvGeometry& geometry, int32_t depth_multiplier, int32_t input_offset,
                     const Dims4& input_dims, const Input* input, const Dims4& filter_dims,
                     const Weight* filter, const Bias* bias, const Dims4& output_dims,
                     Output* output, const Store& store) {
  for (int32_t batch = 0; batch < output_dims.n; ++batch) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t origin_y = out_y * geometry.stride_h - geometry.pad_top;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t origin_x = out_x * geometry.stride_w - geometry.pad_left;
        for (int32_t out_c = 0; out_c < output_dims.c; ++out_c) {
          const int32_t in_c = out_c / depth_multiplier;
          Accumulator accumulator = 0;
          for (int32_t ky = 0; ky < filter_dims.h; ++ky) {
            const int32_t in_y = origin_y + ky * geometry.dilation_h;
            if (in_y < 0 || in_y >= input_dims.h) continue;
            for (int32_t kx = 0; kx < filter_dims.w; ++kx) {
              const int32_t in_x = origin_x + kx * geometry.dilation_w;
              if (in_x < 0 || in_x >= input_dims.w) continue;
              const Input value = input[offset4(input_dims, batch, in_y, in_x, in_c)];
              const Weight weight = filter[offset4(filter_dims, 0, ky, kx, out_c)];
              accumulator = accumulate(accumulator, widen<Accumulator>(value, input_offset) *
                                                        widen<Accumulator>(weight, 0));
            }
          }
          if (bias != nullptr) {
            accumulator = accumulate(accumulator, static_cast<Accumulator>(bias[out_c]));
          }
          output[offset4(output_dims, batch, out_y, out_x, out_c)] = store(accumulator, out_c);
        }
      }
    }
  }
}

// Scatters every input pixel into `accumulators` (one per output element, zeroed first).
template <typename Accumulator, typename Input, typename Weight>
void transpose_conv_scatter(const ConvGeometry& geometry, int32_t input_offset,
                            const Dims4& input_dims, const Input* input, const Dims4& filter_dims,
                            const Weight* filter, const Dims4& output_dims,
                            Accumulator* accumulators) {
  const int32_t output_elements = output_dims.n * output_dims.h * output_dims.w * output_dims.c;
  for (int32_t i = 0; i < output_elements; ++i) accumulators[i] = 0;
  for (int32_t batch = 0; batch < input_dims.n; ++batch) {
    for (int32_t in_y = 0; in_y < input_dims.h; ++in_y) {
      for (int32_t in_x = 0; in_x < input_dims.w; ++in_x) {
        const Input* in = input + offset4(input_dims, batch, in_y, in_x, 0);
        for (int32_t ky = 0; ky < filter_dims.h; ++ky) {
          const int32_t out_y = in_y * geometry.stride_h - geometry.pad_top + ky;
          if (out_y < 0 || out_y >= output_dims.h) continue;
          for (int32_t kx = 0; kx < filter_dims.w; ++kx) {
            const int32_t out_x = in_x * geometry.stride_w - geometry.pad_left + kx;
            if (out_x < 0 || out_x >= output_dims.w) continue;
            Accumulator* out = accumulators + offset4(output_dims, batch, out_y, out_x, 0);
            for (int32_t out_c = 0; out_c < output_dims.c; ++out_c) {
              const Weight* weights = filter + offset4(filter_dims, out_c, ky, kx, 0);
              Accumulator sum = 0;
              for (int32_t in_c = 0; in_c < input_dims.c; ++in_c) {
                sum = accumulate(sum, widen<Accumulator>(in[in_c], input_offset) *
                                          widen<Accumulator>(weights[in_c], 0));
              }
              out[out_c] = accumulate(out[out_c], sum);
            }
          }
        }
      }
    }
  }
}

template <typename Accumulator, typename Bias, typename Output, typename Store>
void finish_with_bias(const Dims4& output_dims, const Accumulator* accumulators, const Bias* bias,
                      Output* output, const Store& store) {
  const int32_t pixels = output_dims.n * output_dims.h * output_dims.w;
  for (int32_t pixel = 0; pixel < pixels; ++pixel) {
    for (int32_t c = 0; c < output_dims.c; ++c) {
      const int32_t i = pixel * output_dims.c + c;
      Accumulator value = accumulators[i];
      if (bias != nullptr) value = accumulate(value, static_cast<Accumulator>(bias[c]));
      output[i] = store(value, c);
    }
  }
}

template <typename Accumulator, typename Input, typename Weight, typename Bias, typename Output,
          typename Store>
void fully_connected_loops(int32_t input_offset, int32_t weights_offset,
                           const FullyConnectedShape& shape, const Input* input,
                           const Weight* weights, const Bias* bias, Output* output,
                           const Store& store) {
  for (int32_t row = 0; row < shape.rows; ++row) {
    const Input* in = input + row * shape.features;
    for (int32_t unit = 0; unit < shape.units; ++unit) {
      const Weight* w = weights + unit * shape.features;
      Accumulator accumulator = 0;
      for (int32_t f = 0; f < shape.features; ++f) {
        accumulator = accumulate(accumulator, widen<Accumulator>(in[f], input_offset) *
                                                  widen<Accumulator>(w[f], weights_offset));
      }
      if (bias != nullptr)
        accumulator = accumulate(accumulator, static_cast<Accumulator>(bias[unit]));
      output[row * shape.units + unit] = store(accumulator, unit);
    }
  }
}

// Quantizes `count` floats to int8 with an asymmetric range that includes 0: returns the
// scale and sets the zero point, choosing the zero point whose rounding error is smaller.
float quantize_asymmetric(const float* values, int32_t count, int8_t* quantized,
                          int32_t* zero_point) {
  float low = 0.0f;
  float high = 0.0f;
  for (int32_t i = 0; i < count; ++i) {
    low = values[i] < low ? values[i] : low;
    high = values[i] > high ? values[i] : high;
  }
  if (low == high) {
    for (int32_t i = 0; i < count; ++i) quantized[i] = 0;
    *zero_point = 0;
    return 1.0f;
  }
  const double rmin = low;
  const double rmax = high;
  const double scale = (rmax - rmin) / 255.0;
  const double from_min = -128.0 - rmin / scale;
  const double from_max = 127.0 - rmax / scale;
  const double error_min = 128.0 + (rmin / scale < 0 ? -rmin / scale : rmin / scale);
  const double error_max = 127.0 + (rmax / scale < 0 ? -rmax / scale : rmax / scale);
  const double zero = error_min < error_max ? from_min : from_max;
  *zero_point = round_clamped(zero, -128, 127, 0);
  const float factor = static_cast<float>(scale);
  const float inverse = 1.0f / factor;
  for (int32_t i = 0; i < count; ++i) {
    const float value = static_cast<float>(*zero_point) + values[i] * inverse;
    quantized[i] = static_cast<int8_t>(round_clamped(value, -128, 127, *zero_point));
  }
  return factor;
}

// Symmetric int8 quantization in [-127, 127]; returns the scale.
float quantize_symmetric(const float* values, int32_t count, int8_t* quantized) {
  float low = 0.0f;
  float high = 0.0f;
  for (int32_t i = 0; i < count; ++i) {
    low = values[i] < low ? values[i] : low;
    high = values[i] > high ? values[i] : high;
  }
  const float range = -low > high ? -low : high;
  if (range == 0.0f) {
    for (int32_t i = 0; i < count; ++i) quantized[i] = 0;
    return 1.0f;
  }
  const float inverse = 127.0f / range;
  for (int32_t i = 0; i < count; ++i) {
    quantized[i] = static_cast<int8_t>(round_clamped(values[i] * inverse, -127, 127, 0));
  }
  return range / 127.0f;
}

}  // namespace

void conv_hybrid(const ConvGeometry& geometry, const FloatActivation& activation,
                 const float* weight_scales, bool per_channel, const Dims4& input_dims,
                 const float* input, const Dims4& filter_dims, const int8_t* filter,
                 const float* bias, const Dims4& output_dims, float* output,
                 int8_t* quantized_input) {
  const int32_t batch_elements = input_dims.h * input_dims.w * input_dims.c;
  const int32_t batch_outputs = output_dims.h * output_dims.w * output_dims.c;
  const Dims4 one_input{1, input_dims.h, input_dims.w, input_dims.c};
  const Dims4 one_output{1, output_dims.h, output_dims.w, output_dims.c};
  for (int32_t batch = 0; batch < input_dims.n; ++batch) {
    int32_t zero_point = 0;
    int8_t* q = quantized_input + batch * batch_elements;
    const float* in = input + batch * batch_elements;
    const float input_scale = per_channel ? quantize_asymmetric(in, batch_elements, q, &zero_point)
                                          : quantize_symmetric(in, batch_elements, q);
    const FloatStore clamp_store{activation};
    conv_loops<int32_t>(geometry, -zero_point, one_input, q, filter_dims, filter,
                        static_cast<const int32_t*>(nullptr), one_output,
                        output + batch * batch_outputs, [&](int32_t accumulator, int32_t c) {
                          const float weight_scale = weight_scales[per_channel ? c : 0];
                          float value =
                              per_channel
                                  ? static_cast<float>(accumulator) * weight_scale * input_scale
                                  : static_cast<float>(accumulator) * (input_scale * weight_scale);
                          if (bias != nullptr) value += bias[c];
                          return clamp_store(value, c);
                        });
  }
}

void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
          const Dims4& output_dims, int8_t* output) {
  conv_loops<int32_t>(geometry, activation.input_offset, input_dims, input, filter_dims, filter,
                      bias, output_dims, output, QuantizedStore<int8_t>{activation, scale});
}

void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
          const Dims4& output_dims, int16_t* output) {
  conv_loops<int32_t>(geometry, activation.input_offset, input_dims, input, filter_dims, filter,
                      bias, output_dims, output, QuantizedStore<int16_t>{activation, scale});
}

void conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
          const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
          const Dims4& filter_dims, const int8_t* filter, const int64_t* bias,
          const Dims4& output_dims, int16_t* output) {
  conv_loops<int64_t>(geometry, activation.input_offset, input_dims, input, filter_dims, filter,
                      bias, output_dims, output, QuantizedStore<int16_t>{activation, scale});
}

void conv(const ConvGeometry& geometry, const FloatActivation& activation, const Dims4& input_dims,
          const float* input, const Dims4& filter_dims, const float* filter, const float* bias,
          const Dims4& output_dims, float* output) {
  conv_loops<float>(geometry, 0, input_dims, input, filter_dims, filter, bias, output_dims, output,
                    FloatStore{activation});
}

void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                    int8_t* output) {
  depthwise_loops<int32_t>(geometry, depth_multiplier, activation.input_offset, input_dims, input,
                           filter_dims, filter, bias, output_dims, output,
                           QuantizedStore<int8_t>{activation, scale});
}

void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int16_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                    int16_t* output) {
  depthwise_loops<int32_t>(geometry, depth_multiplier, activation.input_offset, input_dims, input,
                           filter_dims, filter, bias, output_dims, output,
                           QuantizedStore<int16_t>{activation, scale});
}

void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const QuantizedActivation& activation, const PerChannelScale& scale,
                    const Dims4& input_dims, const int16_t* input, const Dims4& filter_dims,
                    const int8_t* filter, const int64_t* bias, const Dims4& output_dims,
                    int16_t* output) {
  depthwise_loops<int64_t>(geometry, depth_multiplier, activation.input_offset, input_dims, input,
                           filter_dims, filter, bias, output_dims, output,
                           QuantizedStore<int16_t>{activation, scale});
}

void depthwise_conv(const ConvGeometry& geometry, int32_t depth_multiplier,
                    const FloatActivation& activation, const Dims4& input_dims, const float* input,
                    const Dims4& filter_dims, const float* filter, const float* bias,
                    const Dims4& output_dims, float* output) {
  depthwise_loops<float>(geometry, depth_multiplier, 0, input_dims, input, filter_dims, filter,
                         bias, output_dims, output, FloatStore{activation});
}

void transpose_conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
                    const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                    const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
                    const Dims4& output_dims, int8_t* output, int32_t* scratch) {
  transpose_conv_scatter(geometry, activation.input_offset, input_dims, input, filter_dims, filter,
                         output_dims, scratch);
  finish_with_bias(output_dims, scratch, bias, output, QuantizedStore<int8_t>{activation, scale});
}

void transpose_conv(const ConvGeometry& geometry, const QuantizedActivation& activation,
                    const PerChannelScale& scale, const Dims4& input_dims, const int16_t* input,
                    const Dims4& filter_dims, const int8_t* filter, const int64_t* bias,
                    const Dims4& output_dims, int16_t* output, int64_t* scratch) {
  transpose_conv_scatter(geometry, activation.input_offset, input_dims, input, filter_dims, filter,
                         output_dims, scratch);
  finish_with_bias(output_dims, scratch, bias, output, QuantizedStore<int16_t>{activation, scale});
}

void transpose_conv(const ConvGeometry& geometry, const FloatActivation& activation,
                    const Dims4& input_dims, const float* input, const Dims4& filter_dims,
                    const float* filter, const float* bias, const Dims4& output_dims,
                    float* output) {
  // The output itself holds the sums; the bias and clamp are applied in place.
  transpose_conv_scatter(geometry, 0, input_dims, input, filter_dims, filter, output_dims, output);
  finish_with_bias(output_dims, output, bias, output, FloatStore{activation});
}

void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int8_t* input, const int8_t* weights, const int32_t* bias,
                     int8_t* output) {
  fully_connected_loops<int32_t>(activation.input_offset, weights_offset, shape, input, weights,
                                 bias, output,
                                 QuantizedStore<int8_t>{activation, scale, per_channel});
}

void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int16_t* input, const int8_t* weights, const int32_t* bias,
                     int16_t* output) {
  fully_connected_loops<int32_t>(activation.input_offset, weights_offset, shape, input, weights,
                                 bias, output,
                                 QuantizedStore<int16_t>{activation, scale, per_channel});
}

void fully_connected(const QuantizedActivation& activation, const PerChannelScale& scale,
                     bool per_channel, int32_t weights_offset, const FullyConnectedShape& shape,
                     const int16_t* input, const int8_t* weights, const int64_t* bias,
                     int16_t* output) {
  fully_connected_loops<int64_t>(activation.input_offset, weights_offset, shape, input, weights,
                                 bias, output,
                                 QuantizedStore<int16_t>{activation, scale, per_channel});
}

void fully_connected(const FloatActivation& activation, const FullyConnectedShape& shape,
                     const float* input, const float* weights, const float* bias, float* output) {
  fully_connected_loops<float>(0, 0, shape, input, weights, bias, output, FloatStore{activation});
}

}  // namespace tinydeploy::runtime
