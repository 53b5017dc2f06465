#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

int8_t requantize(int32_t accumulator, int32_t multiplier, int32_t shift,
                  const QuantizedActivation& activation) {
  int32_t value = multiply_by_quantized_multiplier(accumulator, multiplier, shift);
  value += activation.output_offset;
  return static_cast<int8_t>(clamp(value, activation.min, activation.max));
}

}  // namespace

void conv_s8(const ConvGeometry& geometry, const QuantizedActivation& activation,
             const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
             const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
             const Dims4& output_dims, int8_t* output) {
  const int32_t group_channels = filter_dims.c;
  const int32_t filters_per_group = output_dims.c / (input_dims.c / group_channels);
  for (int32_t batch = 0; batch < output_dims.n; ++batch) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t origin_y = out_y * geometry.stride_h - geometry.pad_top;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t origin_x = out_x * geometry.stride_w - geometry.pad_left;
        for (int32_t out_c = 0; out_c < output_dims.c; ++out_c) {
          const int32_t first_in_c = (out_c / filters_per_group) * group_channels;
          int32_t accumulator = 0;
          for (int32_t ky = 0; ky < filter_dims.h; ++ky) {
            const int32_t in_y = origin_y + ky * geometry.dilation_h;
            if (in_y < 0 || in_y >= input_dims.h) continue;  // padding contributes zero
            for (int32_t kx = 0; kx < filter_dims.w; ++kx) {
              const int32_t in_x = origin_x + kx * geometry.dilation_w;
              if (in_x < 0 || in_x >= input_dims.w) continue;
              const int8_t* in =
                  input + ((batch * input_dims.h + in_y) * input_dims.w + in_x) * input_dims.c +
                  first_in_c;
              const int8_t* weights =
                  filter + ((out_c * filter_dims.h + ky) * filter_dims.w + kx) * filter_dims.c;
              for (int32_t ic = 0; ic < group_channels; ++ic) {
                accumulator += (in[ic] + activation.input_offset) * weights[ic];
              }
            }
          }
          if (bias != nullptr) accumulator += bias[out_c];
          output[((batch * output_dims.h + out_y) * output_dims.w + out_x) * output_dims.c +
                 out_c] =
              requantize(accumulator, scale.multiplier[out_c], scale.shift[out_c], activation);
        }
      }
    }
  }
}

void depthwise_conv_s8(const ConvGeometry& geometry, int32_t depth_multiplier,
                       const QuantizedActivation& activation, const PerChannelScale& scale,
                       const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                       const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                       int8_t* output) {
  for (int32_t batch = 0; batch < output_dims.n; ++batch) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t origin_y = out_y * geometry.stride_h - geometry.pad_top;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t origin_x = out_x * geometry.stride_w - geometry.pad_left;
        for (int32_t out_c = 0; out_c < output_dims.c; ++out_c) {
          const int32_t in_c = out_c / depth_multiplier;
          int32_t accumulator = 0;
          for (int32_t ky = 0; ky < filter_dims.h; ++ky) {
            const int32_t in_y = origin_y + ky * geometry.dilation_h;
            if (in_y < 0 || in_y >= input_dims.h) continue;
            for (int32_t kx = 0; kx < filter_dims.w; ++kx) {
              const int32_t in_x = origin_x + kx * geometry.dilation_w;
              if (in_x < 0 || in_x >= input_dims.w) continue;
              const int32_t value =
                  input[((batch * input_dims.h + in_y) * input_dims.w + in_x) * input_dims.c +
                        in_c];
              const int32_t weight = filter[(ky * filter_dims.w + kx) * filter_dims.c + out_c];
              accumulator += (value + activation.input_offset) * weight;
            }
          }
          if (bias != nullptr) accumulator += bias[out_c];
          output[((batch * output_dims.h + out_y) * output_dims.w + out_x) * output_dims.c +
                 out_c] =
              requantize(accumulator, scale.multiplier[out_c], scale.shift[out_c], activation);
        }
      }
    }
  }
}

void fully_connected_s8(const QuantizedActivation& activation, const PerChannelScale& scale,
                        bool per_channel, int32_t rows, int32_t features, const int8_t* input,
                        int32_t units, const int8_t* weights, const int32_t* bias, int8_t* output) {
  for (int32_t row = 0; row < rows; ++row) {
    for (int32_t unit = 0; unit < units; ++unit) {
      int32_t accumulator = 0;
      for (int32_t f = 0; f < features; ++f) {
        accumulator +=
            (input[row * features + f] + activation.input_offset) * weights[unit * features + f];
      }
      if (bias != nullptr) accumulator += bias[unit];
      const int32_t channel = per_channel ? unit : 0;
      output[row * units + unit] =
          requantize(accumulator, scale.multiplier[channel], scale.shift[channel], activation);
    }
  }
}

}  // namespace tinydeploy::runtime
