// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on NHWC tensors. Every source coordinate is worked
// out ahead of time (lowering applies TFLite's float or Q10 formulas once per output row and
// column), so the kernels only gather and, for bilinear, interpolate.
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// Output pixel (n, y, x) is a copy of input pixel (n, rows[y], cols[x]): `input.c` elements of
// `element_size` bytes.
// Requires: rows holds output_height entries in [0, input.h), cols output_width entries in
// [0, input.w); element_size 1, 2 or 4; input and output each fewer than 2^31 bytes.
void resize_nearest(const Dims4& input, int32_t output_height, int32_t output_width,
                    int32_t element_size, const int32_t* rows, const int32_t* cols,
                    const void* input_data, void* output);

// int8 bilinear in TFLite's Q10 arithmetic: per output row y, rows[3y] is the source coordinate
// in 1/1024ths, rows[3y + 1] and rows[3y + 2] the lower and upper source rows (cols likewise per
// output column); the four-tap sum in Q20 is rounded half away from zero.
// Requires: rows holds 3 x output_height entries and cols 3 x output_width, every lower and
// upper index inside the input (rows in [0, input.h), columns in [0, input.w)); sizes < 2^31.
void resize_bilinear(const Dims4& input, int32_t output_height, int32_t output_width,
                     const int32_t* rows, const int32_t* cols, const int8_t* input_data,
                     int8_t* output);

// float bilinear: row_bounds[2y] and row_bounds[2y + 1] are the lower and upper source rows of
// output row y, row_position[y] its source coordinate (columns likewise).
// Requires: the bounds hold 2 x output_height (2 x output_width) entries inside the input, the
// positions output_height (output_width) entries; sizes < 2^31.
void resize_bilinear(const Dims4& input, int32_t output_height, int32_t output_width,
                     const int32_t* row_bounds, const float* row_position,
                     const int32_t* col_bounds, const float* col_position, const float* input_data,
                     float* output);

}  // namespace tinydeploy::runtime
