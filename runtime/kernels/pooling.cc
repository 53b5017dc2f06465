#include "tinydeploy/runtime/pooling.h"

namespace tinydeploy::runtime {
namespace {

// Visits every output element with the input window clipped to the input.
template <typename Visit>
void for_each_window(const PoolGeometry& geometry, const Dims4& input_dims,
                     const Dims4& output_dims, const Visit& visit) {
  for (int32_t batch = 0; batch < output_dims.n; ++batch) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t origin_y = out_y * geometry.stride_h - geometry.pad_top;
      const int32_t y_begin = origin_y < 0 ? 0 : origin_y;
      const int32_t y_end =
          origin_y + geometry.filter_h < input_dims.h ? origin_y + geometry.filter_h : input_dims.h;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t origin_x = out_x * geometry.stride_w - geometry.pad_left;
        const int32_t x_begin = origin_x < 0 ? 0 : origin_x;
        const int32_t x_end = origin_x + geometry.filter_w < input_dims.w
                                  ? origin_x + geometry.filter_w
                                  : input_dims.w;
        const int32_t out_base =
            ((batch * output_dims.h + out_y) * output_dims.w + out_x) * output_dims.c;
        const int32_t in_batch = batch * input_dims.h;
        visit(out_base, in_batch, y_begin, y_end, x_begin, x_end);
      }
    }
  }
}

template <typename T>
void average_quantized(const PoolGeometry& geometry, const PoolClamp& clamp,
                       const Dims4& input_dims, const T* input, const Dims4& output_dims,
                       T* output) {
  for_each_window(geometry, input_dims, output_dims,
                  [&](int32_t out_base, int32_t in_batch, int32_t y_begin, int32_t y_end,
                      int32_t x_begin, int32_t x_end) {
                    const int32_t count = (y_end - y_begin) * (x_end - x_begin);
                    for (int32_t c = 0; c < output_dims.c; ++c) {
                      int32_t sum = 0;
                      for (int32_t y = y_begin; y < y_end; ++y) {
                        for (int32_t x = x_begin; x < x_end; ++x) {
                          sum += input[((in_batch + y) * input_dims.w + x) * input_dims.c + c];
                        }
                      }
                      // Round half away from zero.
                      int32_t average = count == 0 ? 0
                                        : sum > 0  ? (sum + count / 2) / count
                                                   : (sum - count / 2) / count;
                      average = average < clamp.min ? clamp.min : average;
                      average = average > clamp.max ? clamp.max : average;
                      output[out_base + c] = static_cast<T>(average);
                    }
                  });
}

template <typename T>
void max_quantized(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
                   const T* input, const Dims4& output_dims, T* output) {
  for_each_window(geometry, input_dims, output_dims,
                  [&](int32_t out_base, int32_t in_batch, int32_t y_begin, int32_t y_end,
                      int32_t x_begin, int32_t x_end) {
                    for (int32_t c = 0; c < output_dims.c; ++c) {
                      int32_t largest = clamp.min;
                      bool any = false;
                      for (int32_t y = y_begin; y < y_end; ++y) {
                        for (int32_t x = x_begin; x < x_end; ++x) {
                          const int32_t value =
                              input[((in_batch + y) * input_dims.w + x) * input_dims.c + c];
                          if (!any || value > largest) largest = value;
                          any = true;
                        }
                      }
                      largest = largest < clamp.min ? clamp.min : largest;
                      largest = largest > clamp.max ? clamp.max : largest;
                      output[out_base + c] = static_cast<T>(largest);
                    }
                  });
}

float clamp_float(float value, const FloatActivation& activation) {
  const float low = value < activation.min ? activation.min : value;
  return low > activation.max ? activation.max : low;
}

}  // namespace

void average_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
                  const int8_t* input, const Dims4& output_dims, int8_t* output) {
  average_quantized(geometry, clamp, input_dims, input, output_dims, output);
}

void average_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
                  const int16_t* input, const Dims4& output_dims, int16_t* output) {
  average_quantized(geometry, clamp, input_dims, input, output_dims, output);
}

void average_pool(const PoolGeometry& geometry, const FloatActivation& activation,
                  const Dims4& input_dims, const float* input, const Dims4& output_dims,
                  float* output) {
  for_each_window(geometry, input_dims, output_dims,
                  [&](int32_t out_base, int32_t in_batch, int32_t y_begin, int32_t y_end,
                      int32_t x_begin, int32_t x_end) {
                    const float count = static_cast<float>((y_end - y_begin) * (x_end - x_begin));
                    for (int32_t c = 0; c < output_dims.c; ++c) {
                      float sum = 0.0f;
                      for (int32_t y = y_begin; y < y_end; ++y) {
                        for (int32_t x = x_begin; x < x_end; ++x) {
                          sum += input[((in_batch + y) * input_dims.w + x) * input_dims.c + c];
                        }
                      }
                      output[out_base + c] = clamp_float(sum / count, activation);
                    }
                  });
}

void max_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
              const int8_t* input, const Dims4& output_dims, int8_t* output) {
  max_quantized(geometry, clamp, input_dims, input, output_dims, output);
}

void max_pool(const PoolGeometry& geometry, const PoolClamp& clamp, const Dims4& input_dims,
              const int16_t* input, const Dims4& output_dims, int16_t* output) {
  max_quantized(geometry, clamp, input_dims, input, output_dims, output);
}

void max_pool(const PoolGeometry& geometry, const FloatActivation& activation,
              const Dims4& input_dims, const float* input, const Dims4& output_dims,
              float* output) {
  for_each_window(geometry, input_dims, output_dims,
                  [&](int32_t out_base, int32_t in_batch, int32_t y_begin, int32_t y_end,
                      int32_t x_begin, int32_t x_end) {
                    for (int32_t c = 0; c < output_dims.c; ++c) {
                      float largest = -3.40282347e+38f;
                      for (int32_t y = y_begin; y < y_end; ++y) {
                        for (int32_t x = x_begin; x < x_end; ++x) {
                          const float value =
                              input[((in_batch + y) * input_dims.w + x) * input_dims.c + c];
                          largest = value > largest ? value : largest;
                        }
                      }
                      output[out_base + c] = clamp_float(largest, activation);
                    }
                  });
}

}  // namespace tinydeploy::runtime
