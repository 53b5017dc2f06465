// Lowering of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (runtime/kernels/resize.cc). The
// source coordinates are worked out here, once per output row and column, with TFLite's
// formulas (float for nearest and float bilinear, Q10 integers for int8 bilinear), so the
// kernels hold no floating point on their integer paths.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/resize.h"

namespace tinydeploy::lowering {

using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

struct ResizeGeometry {
  rt::Dims4 input;
  int32_t output_height = 0;
  int32_t output_width = 0;
};

// TFLite Micro's Prepare: a rank-4 input, a constant rank-1 int32 size of two values; the output
// [n, height, width, c] of the input's type.
ResizeGeometry resize_geometry(const OpBinding& b, std::string_view name) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  const Tensor& size = b.input(1);
  require(
      in.shape.size() == 4, b,
      fmt::format("TFLite Micro's {} takes a rank-4 input, not rank {}", name, in.shape.size()));
  require(size.dtype == DType::Int32 && size.shape.size() == 1 && size.elements() == 2, b,
          fmt::format("TFLite Micro's {} takes an int32 size tensor of 2 values", name));
  require(size.is_constant(), b,
          fmt::format("TFLite Micro's {} takes a constant size tensor only", name));
  const auto values = integers(b, 1);
  if (b.output(0).dtype != in.dtype) unsupported_types(b);
  ResizeGeometry g;
  g.input = dims4(b, in);
  require(values[0] >= 0 && values[1] >= 0, b, "a negative output size");
  g.output_height = narrow(values[0], b);
  g.output_width = narrow(values[1], b);
  const Tensor& out = b.output(0);
  require(out.shape == std::vector<int32_t>{g.input.n, g.output_height, g.output_width, g.input.c},
          b, "the output shape does not match the input and the size tensor");
  return g;
}

// Source index of each output position, as TFLite's nearest-neighbour rule computes it (in
// single precision).
std::vector<int32_t> nearest_indexes(int32_t input_size, int32_t output_size, bool align_corners,
                                     bool half_pixel_centers) {
  const float scale = (align_corners && output_size > 1)
                          ? static_cast<float>(input_size - 1) / static_cast<float>(output_size - 1)
                          : static_cast<float>(input_size) / static_cast<float>(output_size);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  std::vector<int32_t> indexes;
  for (int32_t i = 0; i < output_size; ++i) {
    const float position = (static_cast<float>(i) + offset) * scale;
    // TfLiteRound rounds half away from zero, as std::round does.
    auto index = static_cast<int32_t>(align_corners ? std::round(position) : std::floor(position));
    index = std::min(index, input_size - 1);
    if (half_pixel_centers) index = std::max(index, 0);
    indexes.push_back(index);
  }
  return indexes;
}

bool inside(const std::vector<int32_t>& indexes, int32_t size) {
  return std::all_of(indexes.begin(), indexes.end(),
                     [size](int32_t i) { return i >= 0 && i < size; });
}

KernelCall prepare_resize_nearest(const OpBinding& b) {
  const ResizeGeometry g = resize_geometry(b, "RESIZE_NEAREST_NEIGHBOR");
  const DType type = b.input(0).dtype;
  if (type != DType::Int8 && type != DType::Int16 && type != DType::Float32) {
    unsupported_types(b);
  }
  if (b.output(0).elements() == 0) return no_call(b);
  require(g.input.h > 0 && g.input.w > 0, b, "the input has no pixels to resize from");
  const auto& o = options<model::ResizeOptions>(b);
  Constants<int32_t> rows{"source_rows", nearest_indexes(g.input.h, g.output_height,
                                                         o.align_corners, o.half_pixel_centers)};
  Constants<int32_t> cols{"source_cols", nearest_indexes(g.input.w, g.output_width, o.align_corners,
                                                         o.half_pixel_centers)};
  // TFLite's rule can only leave the input with align_corners and a negative position, which
  // no size reaches; checked all the same, as the kernel trusts the tables.
  require(inside(rows.values, g.input.h) && inside(cols.values, g.input.w), b,
          "a source pixel falls outside the input");
  const int32_t size = element_size(b, b.input(0));
  narrow(b.input(0).elements() * size, b);
  narrow(b.output(0).elements() * size, b);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(resize_nearest), g.input, g.output_height,
              g.output_width, size, rows, cols, typed<void>(b.input_slot(0)),
              typed<void>(b.output_slot(0)));
}

// TFLite's integer bilinear scale: input / output in Q10, rounded to nearest.
int32_t bilinear_scale_q10(int32_t input_size, int32_t output_size, bool align_corners) {
  if (align_corners && output_size > 1) {
    return static_cast<int32_t>(((int64_t{1} << 10) * (input_size - 1) + (output_size - 1) / 2) /
                                (output_size - 1));
  }
  return static_cast<int32_t>(((int64_t{1} << 10) * input_size + output_size / 2) / output_size);
}

// Per output position: the Q10 source coordinate, the lower and the upper source index.
std::vector<int32_t> bilinear_table_q10(const OpBinding& b, int32_t input_size, int32_t output_size,
                                        bool align_corners, bool half_pixel_centers) {
  const int64_t scale = bilinear_scale_q10(input_size, output_size, align_corners);
  std::vector<int32_t> table;
  for (int32_t i = 0; i < output_size; ++i) {
    const int64_t position =
        half_pixel_centers ? i * scale + scale / 2 - (1 << 9) : int64_t{i} * scale;
    // Half-pixel centres put the first positions below 0; sides below 2^20 keep every
    // position far inside int32.
    const auto coordinate = static_cast<int32_t>(position);
    const int32_t lower = std::max(coordinate / (1 << 10), 0);
    const int32_t upper = std::min((coordinate + (1 << 10) - 1) / (1 << 10), input_size - 1);
    require(lower < input_size && upper >= 0, b, "a source pixel falls outside the input");
    table.insert(table.end(), {coordinate, lower, upper});
  }
  return table;
}

// Per output position: the lower and upper source index, and the float source coordinate.
void bilinear_table_float(const OpBinding& b, int32_t input_size, int32_t output_size,
                          bool align_corners, bool half_pixel_centers, std::vector<int32_t>& bounds,
                          std::vector<float>& positions) {
  float scale = static_cast<float>(input_size) / static_cast<float>(output_size);
  if (align_corners && output_size > 1) {
    scale = static_cast<float>(input_size - 1) / static_cast<float>(output_size - 1);
  }
  for (int32_t i = 0; i < output_size; ++i) {
    const float value = static_cast<float>(i);
    const float position = half_pixel_centers ? (value + 0.5f) * scale - 0.5f : value * scale;
    const float lower_real = std::floor(position);
    require(std::isfinite(position) && lower_real < static_cast<float>(input_size), b,
            "a source pixel falls outside the input");
    const int32_t lower = std::max(static_cast<int32_t>(lower_real), 0);
    const int32_t upper = std::min(static_cast<int32_t>(std::ceil(position)), input_size - 1);
    require(upper >= 0, b, "a source pixel falls outside the input");
    bounds.insert(bounds.end(), {lower, upper});
    positions.push_back(position);
  }
}

KernelCall prepare_resize_bilinear(const OpBinding& b) {
  const ResizeGeometry g = resize_geometry(b, "RESIZE_BILINEAR");
  const DType type = b.input(0).dtype;
  const auto& o = options<model::ResizeOptions>(b);
  require(!(o.align_corners && o.half_pixel_centers), b,
          "TFLite Micro's RESIZE_BILINEAR refuses half_pixel_centers together with "
          "align_corners");
  if (type != DType::Int8 && type != DType::Float32) {
    refuse(b, fmt::format("TFLite Micro's RESIZE_BILINEAR takes float32 or int8, not {}",
                          model::dtype_name(type)));
  }
  if (b.output(0).elements() == 0) return no_call(b);
  require(g.input.h > 0 && g.input.w > 0, b, "the input has no pixels to resize from");
  narrow(b.input(0).elements() * element_size(b, b.input(0)), b);
  narrow(b.output(0).elements() * element_size(b, b.output(0)), b);
  if (type == DType::Int8) {
    // The Q10 coordinates stay far from int32's range for any size the runtime can index.
    require(g.input.h < (1 << 20) && g.input.w < (1 << 20), b,
            "an input side of 2^20 or more overflows TFLite's Q10 coordinates");
    Constants<int32_t> rows{
        "source_rows",
        bilinear_table_q10(b, g.input.h, g.output_height, o.align_corners, o.half_pixel_centers)};
    Constants<int32_t> cols{
        "source_cols",
        bilinear_table_q10(b, g.input.w, g.output_width, o.align_corners, o.half_pixel_centers)};
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(resize_bilinear), g.input, g.output_height,
                g.output_width, rows, cols, typed<int8_t>(b.input_slot(0)),
                typed<int8_t>(b.output_slot(0)));
  }
  Constants<int32_t> row_bounds{"source_row_bounds", {}};
  Constants<float> row_positions{"source_row_positions", {}};
  Constants<int32_t> col_bounds{"source_col_bounds", {}};
  Constants<float> col_positions{"source_col_positions", {}};
  bilinear_table_float(b, g.input.h, g.output_height, o.align_corners, o.half_pixel_centers,
                       row_bounds.values, row_positions.values);
  bilinear_table_float(b, g.input.w, g.output_width, o.align_corners, o.half_pixel_centers,
                       col_bounds.values, col_positions.values);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(resize_bilinear), g.input, g.output_height,
              g.output_width, row_bounds, row_positions, col_bounds, col_positions,
              typed<float>(b.input_slot(0)), typed<float>(b.output_slot(0)));
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::RESIZE_NEAREST_NEIGHBOR, prepare_resize_nearest},
    {BuiltinOp::RESIZE_BILINEAR, prepare_resize_bilinear},
};

}  // namespace

Family resize_family() { return {"resize", "resize", kOperators}; }

}  // namespace tinydeploy::lowering
