#include "tinydeploy/runtime/resize.h"

namespace tinydeploy::runtime {

void resize_nearest(const Dims4& input, int32_t output_height, int32_t output_width,
                    int32_t element_size, const int32_t* rows, const int32_t* cols,
                    const void* input_data, void* output) {
  const auto* in = static_cast<const uint8_t*>(input_data);
  auto* out = static_cast<uint8_t*>(output);
  const int32_t pixel = input.c * element_size;
  const int32_t row = input.w * pixel;
  for (int32_t n = 0; n < input.n; ++n) {
    const uint8_t* image = in + n * input.h * row;
    for (int32_t y = 0; y < output_height; ++y) {
      const uint8_t* source_row = image + rows[y] * row;
      for (int32_t x = 0; x < output_width; ++x) {
        const uint8_t* source = source_row + cols[x] * pixel;
        for (int32_t i = 0; i < pixel; ++i) *out++ = source[i];
      }
    }
  }
}

void resize_bilinear(const Dims4& input, int32_t output_height, int32_t output_width,
                     const int32_t* rows, const int32_t* cols, const int8_t* input_data,
                     int8_t* output) {
  constexpr int64_t kOne = 1 << 10;
  constexpr int64_t kHalfQ20 = int64_t{1} << 19;
  const int32_t depth = input.c;
  const int32_t row = input.w * depth;
  for (int32_t n = 0; n < input.n; ++n) {
    const int8_t* image = input_data + n * input.h * row;
    for (int32_t y = 0; y < output_height; ++y) {
      const int64_t below = rows[3 * y + 1];
      const int64_t dy = rows[3 * y] - kOne * below;
      const int8_t* top = image + rows[3 * y + 1] * row;
      const int8_t* bottom = image + rows[3 * y + 2] * row;
      for (int32_t x = 0; x < output_width; ++x) {
        const int64_t left = cols[3 * x + 1];
        const int64_t dx = cols[3 * x] - kOne * left;
        const int32_t x0 = cols[3 * x + 1] * depth;
        const int32_t x1 = cols[3 * x + 2] * depth;
        for (int32_t c = 0; c < depth; ++c) {
          const int64_t sum = top[x0 + c] * (kOne - dy) * (kOne - dx) +
                              bottom[x0 + c] * dy * (kOne - dx) + top[x1 + c] * (kOne - dy) * dx +
                              bottom[x1 + c] * dy * dx;
          const int64_t rounded = (sum + (sum > 0 ? kHalfQ20 : -kHalfQ20)) / (kHalfQ20 * 2);
          *output++ = static_cast<int8_t>(rounded);
        }
      }
    }
  }
}

void resize_bilinear(const Dims4& input, int32_t output_height, int32_t output_width,
                     const int32_t* row_bounds, const float* row_position,
                     const int32_t* col_bounds, const float* col_position, const float* input_data,
                     float* output) {
  const int32_t depth = input.c;
  const int32_t row = input.w * depth;
  for (int32_t n = 0; n < input.n; ++n) {
    const float* image = input_data + n * input.h * row;
    for (int32_t y = 0; y < output_height; ++y) {
      const float dy = row_position[y] - static_cast<float>(row_bounds[2 * y]);
      const float* top = image + row_bounds[2 * y] * row;
      const float* bottom = image + row_bounds[2 * y + 1] * row;
      for (int32_t x = 0; x < output_width; ++x) {
        const float dx = col_position[x] - static_cast<float>(col_bounds[2 * x]);
        const int32_t x0 = col_bounds[2 * x] * depth;
        const int32_t x1 = col_bounds[2 * x + 1] * depth;
        for (int32_t c = 0; c < depth; ++c) {
          *output++ = top[x0 + c] * (1 - dy) * (1 - dx) + bottom[x0 + c] * dy * (1 - dx) +
                      top[x1 + c] * (1 - dy) * dx + bottom[x1 + c] * dy * dx;
        }
      }
    }
  }
}

}  // namespace tinydeploy::runtime
