// Output shapes re-derived from inputs and options, following each operator's definition in
// TensorFlow Lite (NHWC layout; filters OHWI; depthwise filters 1HW(C*M)).
#include <algorithm>
#include <cstring>

#include "tinydeploy/analysis/layers.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"

namespace tinydeploy::analysis {
namespace {

using model::BuiltinOp;
using model::DType;
using model::Padding;
using Shape = std::vector<int32_t>;
using Shapes = std::vector<Shape>;

std::string text(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

template <typename... Args>
[[noreturn]] void fail(const OpContext& c, fmt::format_string<Args...> format, Args&&... args) {
  throw Error("{}: {}", c.where(), fmt::format(format, std::forward<Args>(args)...));
}

void require_rank(const OpContext& c, const model::Tensor& tensor, const char* role, size_t rank) {
  if (tensor.shape.size() != rank) {
    fail(c, "{} '{}' has shape {}, expected rank {}", role, printable(tensor.name),
         text(tensor.shape), rank);
  }
}

// Values of a constant int32/int64 tensor (shape operands, axes, paddings), or nullopt when
// the tensor is computed at run time.
std::optional<std::vector<int64_t>> constant_ints(const OpContext& c, size_t input) {
  if (!c.has_input(input)) return std::nullopt;
  const model::Tensor& tensor = c.input(input);
  if (!tensor.is_constant()) return std::nullopt;
  const auto bytes = c.model.data(tensor);
  std::vector<int64_t> values;
  if (tensor.dtype == DType::Int32) {
    for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
      int32_t value;
      std::memcpy(&value, bytes.data() + i, 4);
      values.push_back(value);
    }
  } else if (tensor.dtype == DType::Int64) {
    for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
      int64_t value;
      std::memcpy(&value, bytes.data() + i, 8);
      values.push_back(value);
    }
  } else {
    fail(c, "input {} '{}' must be int32 or int64, not {}", input, printable(tensor.name),
         model::dtype_name(tensor.dtype));
  }
  return values;
}

// The operator's decoded options, or the format's defaults when the file has none.
template <typename T>
T options(const OpContext& c) {
  const T* stored = std::get_if<T>(&c.op.options);
  return stored != nullptr ? *stored : T{};
}

int32_t checked_dim(const OpContext& c, int64_t value) {
  if (value < 0 || value > std::numeric_limits<int32_t>::max()) {
    fail(c, "derived dimension {} is out of range", value);
  }
  return static_cast<int32_t>(value);
}

// Spatial output size with TFLite's padding rules.
int32_t window_output(const OpContext& c, int32_t in, int32_t filter, int32_t stride,
                      int32_t dilation, Padding padding) {
  if (stride < 1) fail(c, "stride {} must be at least 1", stride);
  if (dilation < 1) fail(c, "dilation {} must be at least 1", dilation);
  if (filter < 1) fail(c, "filter size {} must be at least 1", filter);
  const int64_t effective = int64_t{filter - 1} * dilation + 1;
  if (padding == Padding::Same) return checked_dim(c, (int64_t{in} + stride - 1) / stride);
  if (padding != Padding::Valid) fail(c, "unknown padding");
  if (in < effective) {
    fail(c, "VALID padding: input size {} is smaller than the effective filter size {}", in,
         effective);
  }
  return checked_dim(c, (in - effective + stride) / stride);
}

Shape broadcast(const OpContext& c, const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int32_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int32_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) {
      fail(c, "shapes {} and {} cannot be broadcast together", text(a), text(b));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

size_t normalize_axis(const OpContext& c, int64_t axis, size_t rank) {
  const auto signed_rank = static_cast<int64_t>(rank);
  if (axis < -signed_rank || axis >= signed_rank) {
    fail(c, "axis {} is out of range for rank {}", axis, rank);
  }
  return static_cast<size_t>(axis < 0 ? axis + signed_rank : axis);
}

Shape conv_2d(const OpContext& c) {
  const auto o = options<model::Conv2DOptions>(c);
  const auto& input = c.input(0);
  const auto& filter = c.input(1);
  require_rank(c, input, "input", 4);
  require_rank(c, filter, "filter", 4);
  if (filter.shape[3] == 0 || input.shape[3] % filter.shape[3] != 0) {
    fail(c, "input has {} channels, which the filter's {} input channels do not divide",
         input.shape[3], filter.shape[3]);
  }
  return {input.shape[0],
          window_output(c, input.shape[1], filter.shape[1], o.stride_h, o.dilation_h, o.padding),
          window_output(c, input.shape[2], filter.shape[2], o.stride_w, o.dilation_w, o.padding),
          filter.shape[0]};
}

Shape depthwise_conv_2d(const OpContext& c) {
  const auto o = options<model::DepthwiseConv2DOptions>(c);
  const auto& input = c.input(0);
  const auto& filter = c.input(1);
  require_rank(c, input, "input", 4);
  require_rank(c, filter, "filter", 4);
  const int32_t channels = input.shape[3];
  if (channels == 0 || filter.shape[3] % channels != 0) {
    fail(c, "filter has {} output channels, not a multiple of the input's {} channels",
         filter.shape[3], channels);
  }
  return {input.shape[0],
          window_output(c, input.shape[1], filter.shape[1], o.stride_h, o.dilation_h, o.padding),
          window_output(c, input.shape[2], filter.shape[2], o.stride_w, o.dilation_w, o.padding),
          filter.shape[3]};
}

Shape pool_2d(const OpContext& c) {
  const auto o = options<model::Pool2DOptions>(c);
  const auto& input = c.input(0);
  require_rank(c, input, "input", 4);
  return {input.shape[0], window_output(c, input.shape[1], o.filter_h, o.stride_h, 1, o.padding),
          window_output(c, input.shape[2], o.filter_w, o.stride_w, 1, o.padding), input.shape[3]};
}

Shape fully_connected(const OpContext& c) {
  const auto o = options<model::FullyConnectedOptions>(c);
  const auto& input = c.input(0);
  const auto& weights = c.input(1);
  require_rank(c, weights, "weights", 2);
  const int32_t features = weights.shape[1];
  const int64_t elements = input.elements();
  if (features == 0 || elements % features != 0) {
    fail(c, "input {} does not split into rows of the weights' {} features", text(input.shape),
         features);
  }
  if (o.keep_num_dims) {
    if (input.shape.empty() || input.shape.back() != features) {
      fail(c, "keep_num_dims: input {} must end in the weights' {} features", text(input.shape),
           features);
    }
    Shape out = input.shape;
    out.back() = weights.shape[0];
    return out;
  }
  return {checked_dim(c, elements / features), weights.shape[0]};
}

Shape transpose_conv(const OpContext& c) {
  const auto& filter = c.input(1);
  const auto& input = c.input(2);
  require_rank(c, filter, "filter", 4);
  require_rank(c, input, "input", 4);
  if (filter.shape[3] != input.shape[3]) {
    fail(c, "filter takes {} input channels but the input has {}", filter.shape[3], input.shape[3]);
  }
  const auto o = options<model::TransposeConvOptions>(c);
  if (o.stride_h < 1 || o.stride_w < 1) fail(c, "strides must be at least 1");
  const auto shape = constant_ints(c, 0);
  if (!shape) return c.output(0).shape;  // computed at run time: nothing more to check here
  if (shape->size() != 4) fail(c, "output_shape operand has {} values, expected 4", shape->size());
  Shape out;
  for (const int64_t dim : *shape) out.push_back(checked_dim(c, dim));
  if (out[3] != filter.shape[0]) {
    fail(c, "output_shape has {} channels but the filter produces {}", out[3], filter.shape[0]);
  }
  return out;
}

Shape reshape(const OpContext& c) {
  const auto& input = c.input(0);
  std::optional<std::vector<int64_t>> requested = constant_ints(c, 1);
  if (!requested && !c.has_input(1)) {
    if (const auto* o = std::get_if<model::ReshapeOptions>(&c.op.options)) {
      requested = std::vector<int64_t>(o->new_shape.begin(), o->new_shape.end());
    }
  }
  const int64_t elements = input.elements();
  if (!requested) {
    if (c.output(0).elements() != elements) {
      fail(c, "output {} has a different element count than input {}", text(c.output(0).shape),
           text(input.shape));
    }
    return c.output(0).shape;
  }
  Shape out;
  int64_t known = 1;
  std::optional<size_t> inferred;
  for (size_t i = 0; i < requested->size(); ++i) {
    const int64_t dim = (*requested)[i];
    if (dim == -1) {
      if (inferred) fail(c, "new shape has more than one -1");
      inferred = i;
      out.push_back(0);
    } else {
      out.push_back(checked_dim(c, dim));
      if (dim != 0 && known > std::numeric_limits<int64_t>::max() / dim) {
        fail(c, "the element count of new shape [{}] overflows", fmt::join(*requested, ", "));
      }
      known *= dim;
    }
  }
  if (inferred) {
    if (known == 0 || elements % known != 0) {
      fail(c, "cannot infer the -1 dimension of the new shape for input {}", text(input.shape));
    }
    out[*inferred] = checked_dim(c, elements / known);
  } else if (known != elements) {
    fail(c, "new shape {} holds {} elements but the input {} has {}", text(out), known,
         text(input.shape), elements);
  }
  return out;
}

Shape squeeze(const OpContext& c) {
  const auto& input = c.input(0);
  const auto o = options<model::SqueezeOptions>(c);
  std::vector<bool> drop(input.shape.size(), false);
  if (o.squeeze_dims.empty()) {
    for (size_t i = 0; i < input.shape.size(); ++i) drop[i] = input.shape[i] == 1;
  } else {
    for (const int32_t axis : o.squeeze_dims) {
      const size_t i = normalize_axis(c, axis, input.shape.size());
      if (input.shape[i] != 1) fail(c, "cannot squeeze dimension {} of size {}", i, input.shape[i]);
      drop[i] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < input.shape.size(); ++i) {
    if (!drop[i]) out.push_back(input.shape[i]);
  }
  return out;
}

std::optional<Shape> expand_dims(const OpContext& c) {
  const auto axis = constant_ints(c, 1);
  if (!axis) return std::nullopt;
  if (axis->size() != 1) fail(c, "axis operand has {} values, expected 1", axis->size());
  Shape out = c.input(0).shape;
  const size_t at = normalize_axis(c, (*axis)[0], out.size() + 1);
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), 1);
  return out;
}

std::optional<Shape> pad(const OpContext& c) {
  const auto paddings = constant_ints(c, 1);
  if (!paddings) return std::nullopt;
  Shape out = c.input(0).shape;
  if (paddings->size() != 2 * out.size()) {
    fail(c, "paddings operand has {} values, expected {} (two per dimension)", paddings->size(),
         2 * out.size());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t before = (*paddings)[2 * i];
    const int64_t after = (*paddings)[2 * i + 1];
    if (before < 0 || after < 0) fail(c, "negative padding in dimension {}", i);
    const int64_t limit = std::numeric_limits<int32_t>::max();
    if (before > limit || after > limit) fail(c, "padding in dimension {} is out of range", i);
    out[i] = checked_dim(c, out[i] + before + after);
  }
  return out;
}

Shape concatenation(const OpContext& c) {
  const auto o = options<model::ConcatenationOptions>(c);
  Shape out = c.input(0).shape;
  const size_t axis = normalize_axis(c, o.axis, out.size());
  int64_t total = 0;
  for (size_t i = 0; i < c.op.inputs.size(); ++i) {
    const Shape& shape = c.input(i).shape;
    if (shape.size() != out.size())
      fail(c, "input {} has rank {}, expected {}", i, shape.size(), out.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      if (d != axis && shape[d] != out[d]) {
        fail(c, "input {} has shape {}, which differs from {} outside axis {}", i, text(shape),
             text(out), axis);
      }
    }
    total += shape[axis];
  }
  out[axis] = checked_dim(c, total);
  return out;
}

std::optional<Shape> reduce(const OpContext& c) {
  const auto axes = constant_ints(c, 1);
  if (!axes) return std::nullopt;
  const auto o = options<model::ReducerOptions>(c);
  const Shape& in = c.input(0).shape;
  std::vector<bool> reduced(in.size(), false);
  for (const int64_t axis : *axes) reduced[normalize_axis(c, axis, in.size())] = true;
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!reduced[i]) {
      out.push_back(in[i]);
    } else if (o.keep_dims) {
      out.push_back(1);
    }
  }
  return out;
}

std::optional<Shape> transpose(const OpContext& c) {
  const auto perm = constant_ints(c, 1);
  if (!perm) return std::nullopt;
  const Shape& in = c.input(0).shape;
  if (perm->size() != in.size()) fail(c, "perm has {} values for rank {}", perm->size(), in.size());
  Shape out;
  std::vector<bool> used(in.size(), false);
  for (const int64_t p : *perm) {
    const size_t axis = normalize_axis(c, p, in.size());
    if (used[axis]) fail(c, "perm repeats axis {}", axis);
    used[axis] = true;
    out.push_back(in[axis]);
  }
  return out;
}

Shape batch_matmul(const OpContext& c) {
  const auto o = options<model::BatchMatMulOptions>(c);
  Shape lhs = c.input(0).shape;
  Shape rhs = c.input(1).shape;
  if (lhs.size() < 2 || rhs.size() < 2) fail(c, "operands must have rank 2 or more");
  if (o.adj_x) std::swap(lhs[lhs.size() - 1], lhs[lhs.size() - 2]);
  if (o.adj_y) std::swap(rhs[rhs.size() - 1], rhs[rhs.size() - 2]);
  const int32_t m = lhs[lhs.size() - 2];
  const int32_t k = lhs.back();
  if (rhs[rhs.size() - 2] != k) {
    fail(c, "inner dimensions differ: lhs {} and rhs {}", text(c.input(0).shape),
         text(c.input(1).shape));
  }
  const int32_t n = rhs.back();
  Shape out = broadcast(c, Shape(lhs.begin(), lhs.end() - 2), Shape(rhs.begin(), rhs.end() - 2));
  out.push_back(m);
  out.push_back(n);
  return out;
}

// TFLite's strided slice without ellipsis or new axes: per axis, a start and stop clamped to
// the dimension (from the masks, negative indices counted from the end), then the count of
// strided steps; shrunk axes are dropped.
std::optional<Shape> strided_slice(const OpContext& c) {
  const auto o = options<model::StridedSliceOptions>(c);
  if (o.ellipsis_mask != 0 || o.new_axis_mask != 0) return std::nullopt;
  const auto begin = constant_ints(c, 1);
  const auto end = constant_ints(c, 2);
  const auto strides = constant_ints(c, 3);
  if (!begin || !end || !strides) return std::nullopt;
  const Shape& in = c.input(0).shape;
  if (begin->size() != end->size() || begin->size() != strides->size() ||
      begin->size() > in.size()) {
    fail(c, "begin, end and strides have {}, {} and {} values for rank {}", begin->size(),
         end->size(), strides->size(), in.size());
  }
  Shape out;
  for (size_t axis = 0; axis < in.size(); ++axis) {
    const int64_t dim = in[axis];
    if (axis >= begin->size()) {
      out.push_back(in[axis]);
      continue;
    }
    const int64_t stride = (*strides)[axis];
    if (stride == 0) fail(c, "stride of axis {} is 0", axis);
    const auto clamp = [&](int64_t index) {
      if (index < 0) index += dim;
      return stride > 0 ? std::clamp<int64_t>(index, 0, dim)
                        : std::clamp<int64_t>(index, -1, dim - 1);
    };
    const bool shrink = (o.shrink_axis_mask >> axis) & 1;
    const int64_t start =
        (o.begin_mask >> axis) & 1 ? (stride > 0 ? 0 : dim - 1) : clamp((*begin)[axis]);
    if (shrink) continue;
    int64_t stop_index = (*end)[axis];
    if (o.offset && __builtin_add_overflow(stop_index, (*begin)[axis], &stop_index)) {
      stop_index = (*begin)[axis] > 0 ? std::numeric_limits<int64_t>::max()
                                      : std::numeric_limits<int64_t>::min();
    }
    const int64_t stop = (o.end_mask >> axis) & 1 ? (stride > 0 ? dim : -1) : clamp(stop_index);
    // A step beyond the dimension takes at most one element; capping it keeps the arithmetic
    // (and the negation of INT64_MIN) in range.
    const int64_t step = std::min(stride > 0 ? stride : -std::max(stride, -dim - 1), dim + 1);
    const int64_t span = stride > 0 ? stop - start : start - stop;
    const int64_t count = span <= 0 ? 0 : (span + step - 1) / step;
    out.push_back(checked_dim(c, count));
  }
  return out;
}

std::optional<Shape> slice(const OpContext& c) {
  const auto begin = constant_ints(c, 1);
  const auto size = constant_ints(c, 2);
  if (!begin || !size) return std::nullopt;
  const Shape& in = c.input(0).shape;
  if (begin->size() != in.size() || size->size() != in.size()) {
    fail(c, "begin and size need {} values each", in.size());
  }
  Shape out;
  for (size_t axis = 0; axis < in.size(); ++axis) {
    const int64_t from = (*begin)[axis];
    const int64_t count = (*size)[axis] == -1 ? in[axis] - from : (*size)[axis];
    if (from < 0 || count < 0 || from + count > in[axis]) {
      fail(c, "slice [{}, {}+{}) is outside dimension {} of size {}", from, from, count, axis,
           in[axis]);
    }
    out.push_back(checked_dim(c, count));
  }
  return out;
}

std::optional<Shapes> split(const OpContext& c, size_t input_index, size_t axis_index) {
  const auto axis_value = constant_ints(c, axis_index);
  if (!axis_value || axis_value->size() != 1) return std::nullopt;
  const Shape& in = c.input(input_index).shape;
  const size_t axis = normalize_axis(c, (*axis_value)[0], in.size());
  Shapes out;
  if (c.op.op == BuiltinOp::SPLIT) {
    const int64_t parts = static_cast<int64_t>(c.op.outputs.size());
    if (parts == 0 || in[axis] % parts != 0) {
      fail(c, "dimension {} of size {} does not split into {} equal parts", axis, in[axis], parts);
    }
    Shape part = in;
    part[axis] = checked_dim(c, in[axis] / parts);
    return Shapes(static_cast<size_t>(parts), part);
  }
  const auto sizes = constant_ints(c, 1);
  if (!sizes) return std::nullopt;
  if (sizes->size() != c.op.outputs.size()) {
    fail(c, "{} split sizes for {} outputs", sizes->size(), c.op.outputs.size());
  }
  int64_t known = 0;
  std::optional<size_t> inferred;
  for (size_t i = 0; i < sizes->size(); ++i) {
    if ((*sizes)[i] == -1) {
      if (inferred) fail(c, "split sizes have more than one -1");
      inferred = i;
    } else {
      known += (*sizes)[i];
    }
  }
  for (size_t i = 0; i < sizes->size(); ++i) {
    Shape part = in;
    part[axis] = checked_dim(c, inferred == i ? in[axis] - known : (*sizes)[i]);
    out.push_back(part);
  }
  if (!inferred && known != in[axis]) {
    fail(c, "split sizes add up to {} but dimension {} has size {}", known, axis, in[axis]);
  }
  return out;
}

Shape pack(const OpContext& c) {
  const auto o = options<model::PackOptions>(c);
  const Shape& in = c.input(0).shape;
  for (size_t i = 1; i < c.op.inputs.size(); ++i) {
    if (c.input(i).shape != in)
      fail(c, "input {} has shape {}, expected {}", i, text(c.input(i).shape), text(in));
  }
  Shape out = in;
  const size_t axis = normalize_axis(c, o.axis, in.size() + 1);
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis),
             checked_dim(c, static_cast<int64_t>(c.op.inputs.size())));
  return out;
}

Shapes unpack(const OpContext& c) {
  const auto o = options<model::UnpackOptions>(c);
  Shape out = c.input(0).shape;
  const size_t axis = normalize_axis(c, o.axis, out.size());
  if (static_cast<size_t>(out[axis]) != c.op.outputs.size()) {
    fail(c, "dimension {} has size {} but there are {} outputs", axis, out[axis],
         c.op.outputs.size());
  }
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  return Shapes(c.op.outputs.size(), out);
}

Shape gather(const OpContext& c) {
  const auto o = options<model::GatherOptions>(c);
  const Shape& params = c.input(0).shape;
  const Shape& indices = c.input(1).shape;
  const size_t axis = normalize_axis(c, o.axis, params.size());
  const size_t batch = normalize_axis(c, o.batch_dims, indices.size() + 1);
  if (batch > axis) fail(c, "batch_dims {} is larger than axis {}", batch, axis);
  Shape out(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), indices.begin() + static_cast<std::ptrdiff_t>(batch), indices.end());
  out.insert(out.end(), params.begin() + static_cast<std::ptrdiff_t>(axis) + 1, params.end());
  return out;
}

std::optional<Shape> arg_min_max(const OpContext& c) {
  const auto axis = constant_ints(c, 1);
  if (!axis || axis->size() != 1) return std::nullopt;
  Shape out = c.input(0).shape;
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(normalize_axis(c, (*axis)[0], out.size())));
  return out;
}

std::optional<Shape> resize(const OpContext& c) {
  const auto size = constant_ints(c, 1);
  if (!size) return std::nullopt;
  const auto& input = c.input(0);
  require_rank(c, input, "input", 4);
  if (size->size() != 2) fail(c, "size operand has {} values, expected 2", size->size());
  return Shape{input.shape[0], checked_dim(c, (*size)[0]), checked_dim(c, (*size)[1]),
               input.shape[3]};
}

Shape space_depth(const OpContext& c) {
  const auto& input = c.input(0);
  require_rank(c, input, "input", 4);
  const int32_t block = options<model::DepthSpaceOptions>(c).block_size;
  if (block < 1) fail(c, "block size {} must be at least 1", block);
  const Shape& in = input.shape;
  if (c.op.op == BuiltinOp::SPACE_TO_DEPTH) {
    if (in[1] % block != 0 || in[2] % block != 0) {
      fail(c, "height {} and width {} must be multiples of the block size {}", in[1], in[2], block);
    }
    return {in[0], in[1] / block, in[2] / block, checked_dim(c, int64_t{in[3]} * block * block)};
  }
  // In 64 bits: a block size from the file can square past int32.
  const int64_t square = int64_t{block} * block;
  if (in[3] % square != 0) {
    fail(c, "depth {} must be a multiple of block size squared ({})", in[3], square);
  }
  return {in[0], checked_dim(c, int64_t{in[1]} * block), checked_dim(c, int64_t{in[2]} * block),
          static_cast<int32_t>(in[3] / square)};
}

std::optional<Shape> tile(const OpContext& c) {
  const auto multiples = constant_ints(c, 1);
  if (!multiples) return std::nullopt;
  Shape out = c.input(0).shape;
  if (multiples->size() != out.size())
    fail(c, "{} multiples for rank {}", multiples->size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = checked_dim(c, out[i] * (*multiples)[i]);
  return out;
}

// SVDF: input [batch, input_size], feature weights [units * rank, input_size].
Shape svdf(const OpContext& c) {
  const auto o = options<model::SVDFOptions>(c);
  const auto& input = c.input(0);
  const auto& features = c.input(1);
  require_rank(c, input, "input", 2);
  require_rank(c, features, "feature weights", 2);
  if (o.rank < 1 || features.shape[0] % o.rank != 0) {
    fail(c, "{} filters do not divide into rank {}", features.shape[0], o.rank);
  }
  return {input.shape[0], features.shape[0] / o.rank};
}

// Sequence LSTM: input [time, batch, inputs] (or batch-major); the recurrent-to-output weights
// [cells, outputs] give the output width.
std::optional<Shape> sequence_lstm(const OpContext& c) {
  if (!c.has_input(8)) return std::nullopt;
  const auto& input = c.input(0);
  require_rank(c, input, "input", 3);
  require_rank(c, c.input(8), "recurrent-to-output weights", 2);
  return Shape{input.shape[0], input.shape[1], c.input(8).shape[1]};
}

bool is_elementwise_binary(BuiltinOp op) {
  switch (op) {
    case BuiltinOp::ADD:
    case BuiltinOp::SUB:
    case BuiltinOp::MUL:
    case BuiltinOp::DIV:
    case BuiltinOp::MAXIMUM:
    case BuiltinOp::MINIMUM:
    case BuiltinOp::SQUARED_DIFFERENCE:
    case BuiltinOp::POW:
    case BuiltinOp::FLOOR_DIV:
    case BuiltinOp::FLOOR_MOD:
    case BuiltinOp::LESS:
    case BuiltinOp::LESS_EQUAL:
    case BuiltinOp::GREATER:
    case BuiltinOp::GREATER_EQUAL:
    case BuiltinOp::EQUAL:
    case BuiltinOp::NOT_EQUAL:
    case BuiltinOp::LOGICAL_AND:
    case BuiltinOp::LOGICAL_OR:
    case BuiltinOp::PRELU:
      return true;
    default:
      return false;
  }
}

bool is_elementwise_unary(BuiltinOp op) {
  switch (op) {
    case BuiltinOp::RELU:
    case BuiltinOp::RELU6:
    case BuiltinOp::RELU_N1_TO_1:
    case BuiltinOp::RELU_0_TO_1:
    case BuiltinOp::LOGISTIC:
    case BuiltinOp::TANH:
    case BuiltinOp::LEAKY_RELU:
    case BuiltinOp::HARD_SWISH:
    case BuiltinOp::ELU:
    case BuiltinOp::GELU:
    case BuiltinOp::QUANTIZE:
    case BuiltinOp::DEQUANTIZE:
    case BuiltinOp::SOFTMAX:
    case BuiltinOp::LOG_SOFTMAX:
    case BuiltinOp::ABS:
    case BuiltinOp::NEG:
    case BuiltinOp::EXP:
    case BuiltinOp::LOG:
    case BuiltinOp::SQRT:
    case BuiltinOp::RSQRT:
    case BuiltinOp::SQUARE:
    case BuiltinOp::SIN:
    case BuiltinOp::COS:
    case BuiltinOp::FLOOR:
    case BuiltinOp::CEIL:
    case BuiltinOp::ROUND:
    case BuiltinOp::SIGN:
    case BuiltinOp::CAST:
    case BuiltinOp::LOGICAL_NOT:
    case BuiltinOp::L2_NORMALIZATION:
    case BuiltinOp::LOCAL_RESPONSE_NORMALIZATION:
    case BuiltinOp::ZEROS_LIKE:
      return true;
    default:
      return false;
  }
}

void require_inputs(const OpContext& c, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (!c.has_input(i)) fail(c, "needs at least {} inputs, input {} is missing", count, i);
  }
  if (c.op.outputs.empty()) fail(c, "has no output");
}

}  // namespace

std::optional<Shapes> derive_output_shapes(const OpContext& c) {
  const BuiltinOp op = c.op.op;
  const auto one = [](std::optional<Shape> shape) -> std::optional<Shapes> {
    if (!shape) return std::nullopt;
    return Shapes{std::move(*shape)};
  };
  if (is_elementwise_unary(op)) {
    require_inputs(c, 1);
    return Shapes{c.input(0).shape};
  }
  if (is_elementwise_binary(op)) {
    require_inputs(c, 2);
    return Shapes{broadcast(c, c.input(0).shape, c.input(1).shape)};
  }
  switch (op) {
    case BuiltinOp::CONV_2D:
      require_inputs(c, 2);
      return Shapes{conv_2d(c)};
    case BuiltinOp::DEPTHWISE_CONV_2D:
      require_inputs(c, 2);
      return Shapes{depthwise_conv_2d(c)};
    case BuiltinOp::AVERAGE_POOL_2D:
    case BuiltinOp::MAX_POOL_2D:
    case BuiltinOp::L2_POOL_2D:
      require_inputs(c, 1);
      return Shapes{pool_2d(c)};
    case BuiltinOp::FULLY_CONNECTED:
      require_inputs(c, 2);
      return Shapes{fully_connected(c)};
    case BuiltinOp::TRANSPOSE_CONV:
      require_inputs(c, 3);
      return Shapes{transpose_conv(c)};
    case BuiltinOp::RESHAPE:
      require_inputs(c, 1);
      return Shapes{reshape(c)};
    case BuiltinOp::SQUEEZE:
      require_inputs(c, 1);
      return Shapes{squeeze(c)};
    case BuiltinOp::EXPAND_DIMS:
      require_inputs(c, 2);
      return one(expand_dims(c));
    case BuiltinOp::PAD:
    case BuiltinOp::PADV2:
    case BuiltinOp::MIRROR_PAD:
      require_inputs(c, 2);
      return one(pad(c));
    case BuiltinOp::CONCATENATION:
      require_inputs(c, std::max<size_t>(c.op.inputs.size(), 1));
      return Shapes{concatenation(c)};
    case BuiltinOp::MEAN:
    case BuiltinOp::SUM:
    case BuiltinOp::REDUCE_MAX:
    case BuiltinOp::REDUCE_MIN:
    case BuiltinOp::REDUCE_PROD:
    case BuiltinOp::REDUCE_ANY:
    case BuiltinOp::REDUCE_ALL:
      require_inputs(c, 2);
      return one(reduce(c));
    case BuiltinOp::TRANSPOSE:
      require_inputs(c, 2);
      return one(transpose(c));
    case BuiltinOp::BATCH_MATMUL:
      require_inputs(c, 2);
      return Shapes{batch_matmul(c)};
    case BuiltinOp::STRIDED_SLICE:
      require_inputs(c, 4);
      return one(strided_slice(c));
    case BuiltinOp::SLICE:
      require_inputs(c, 3);
      return one(slice(c));
    case BuiltinOp::SPLIT:
      require_inputs(c, 2);
      return split(c, 1, 0);
    case BuiltinOp::SPLIT_V:
      require_inputs(c, 3);
      return split(c, 0, 2);
    case BuiltinOp::PACK:
      require_inputs(c, std::max<size_t>(c.op.inputs.size(), 1));
      return Shapes{pack(c)};
    case BuiltinOp::UNPACK:
      require_inputs(c, 1);
      return unpack(c);
    case BuiltinOp::GATHER:
      require_inputs(c, 2);
      return Shapes{gather(c)};
    case BuiltinOp::ARG_MAX:
    case BuiltinOp::ARG_MIN:
      require_inputs(c, 2);
      return one(arg_min_max(c));
    case BuiltinOp::RESIZE_BILINEAR:
    case BuiltinOp::RESIZE_NEAREST_NEIGHBOR:
      require_inputs(c, 2);
      return one(resize(c));
    case BuiltinOp::SPACE_TO_DEPTH:
    case BuiltinOp::DEPTH_TO_SPACE:
      require_inputs(c, 1);
      return Shapes{space_depth(c)};
    case BuiltinOp::TILE:
      require_inputs(c, 2);
      return one(tile(c));
    case BuiltinOp::SVDF:
      require_inputs(c, 3);
      return Shapes{svdf(c)};
    case BuiltinOp::UNIDIRECTIONAL_SEQUENCE_LSTM:
      require_inputs(c, 1);
      return one(sequence_lstm(c));
    default:
      return std::nullopt;
  }
}

}  // namespace tinydeploy::analysis
