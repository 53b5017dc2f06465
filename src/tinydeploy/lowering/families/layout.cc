// Lowering of RESHAPE, SQUEEZE, EXPAND_DIMS, PAD, PADV2, CONCATENATION, STRIDED_SLICE,
// TRANSPOSE, PACK, UNPACK, SPLIT and SPLIT_V: data movement (runtime/kernels/layout.cc).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/layout.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

// RESHAPE, SQUEEZE, EXPAND_DIMS: the bytes do not change.
KernelCall prepare_copy(const OpBinding& b) {
  require_inputs(b, 1);
  require_same_elements(b);
  require(b.input(0).dtype == b.output(0).dtype, b, "input and output types differ");
  const int32_t bytes = narrow(b.input(0).elements() * element_size(b, b.input(0)), b);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(copy_bytes), bytes, typed<void>(input),
              typed<void>(output));
}

KernelCall prepare_pad(const OpBinding& b, bool v2) {
  require_inputs(b, v2 ? 3 : 2);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const int32_t size = element_size(b, in);
  const std::vector<int64_t> paddings = integers(b, 1);
  const size_t rank = in.shape.size();
  require(paddings.size() == rank * 2, b, "paddings must be [rank, 2]");
  const auto dims = aligned_dims(b, in.shape);
  rt::PadShape shape;
  const size_t lead = static_cast<size_t>(rt::kMaxRank) - rank;
  for (size_t d = 0; d < static_cast<size_t>(rt::kMaxRank); ++d) {
    shape.input_dims[d] = dims[d];
    if (d < lead) continue;
    const int64_t before = paddings[(d - lead) * 2];
    const int64_t after = paddings[(d - lead) * 2 + 1];
    require(before >= 0 && after >= 0 && before < (1 << 24) && after < (1 << 24), b,
            "paddings must be non-negative and reasonable");
    shape.before[d] = static_cast<int32_t>(before);
    shape.after[d] = static_cast<int32_t>(after);
    require(b.output(0).shape[d - lead] == dims[d] + before + after, b,
            "the output shape does not match the input plus paddings");
  }
  Constants<uint8_t> fill{"pad_value", std::vector<uint8_t>(static_cast<size_t>(size), 0)};
  if (v2) {
    const Tensor& value = b.input(2);
    require(value.dtype == in.dtype && value.elements() == 1 && value.data.has_value(), b,
            "the pad value must be a constant scalar of the input's type");
    const auto bytes = b.model.data(value);
    require(bytes.size() >= static_cast<size_t>(size), b, "pad value data is truncated");
    std::memcpy(fill.values.data(), bytes.data(), static_cast<size_t>(size));
  } else if (in.dtype == DType::Int8 || in.dtype == DType::Int16 || in.dtype == DType::UInt8) {
    // Quantized zero is the output's zero point.
    const int64_t zp = zero_point_of(b.output(0));
    if (in.dtype == DType::Int16) {
      const int16_t v = static_cast<int16_t>(zp);
      std::memcpy(fill.values.data(), &v, 2);
    } else {
      const uint8_t v = static_cast<uint8_t>(zp);
      std::memcpy(fill.values.data(), &v, 1);
    }
  }
  if (in.dtype == DType::Int8 || in.dtype == DType::Int16) {
    require_same_quantization(b, in, b.output(0));
  }
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(pad), shape, size, typed<void>(input), fill,
              typed<void>(output));
}

KernelCall prepare_concatenation(const OpBinding& b) {
  require_inputs(b, 1);
  const auto& o = options<model::ConcatenationOptions>(b);
  const Tensor& out = b.output(0);
  const int32_t rank = static_cast<int32_t>(out.shape.size());
  const int32_t axis = o.axis < 0 ? o.axis + rank : o.axis;
  require(axis >= 0 && axis < rank, b, "axis is out of range");
  require(o.activation == Activation::None || out.dtype == DType::Float32, b,
          "a fused activation on a quantized CONCATENATION is not supported");
  require(o.activation == Activation::None, b,
          "a fused activation on CONCATENATION is not supported");
  const int32_t size = element_size(b, out);
  int64_t outer = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= out.shape[static_cast<size_t>(d)];
  TensorPointerList inputs;
  Constants<int32_t> chunks{"chunk_bytes", {}};
  int64_t axis_total = 0;
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    require(b.has_input(i), b, "an input is omitted");
    const Tensor& in = b.input(i);
    require(in.dtype == out.dtype && static_cast<int32_t>(in.shape.size()) == rank, b,
            "inputs must match the output's type and rank");
    if (out.dtype == DType::Int8 || out.dtype == DType::Int16) {
      require_same_quantization(b, in, out);
    }
    for (int32_t d = 0; d < rank; ++d) {
      require(
          d == axis || in.shape[static_cast<size_t>(d)] == out.shape[static_cast<size_t>(d)], b,
          fmt::format("input '{}' differs from output '{}' outside the axis", in.name, out.name));
    }
    // The kernel addresses each input's bytes with int32 offsets.
    narrow(in.elements() * size, b);
    int64_t chunk = size;
    for (int32_t d = axis; d < rank; ++d) chunk *= in.shape[static_cast<size_t>(d)];
    axis_total += in.shape[static_cast<size_t>(axis)];
    inputs.tensors.push_back(b.op.inputs[i]);
    chunks.values.push_back(narrow(chunk, b));
  }
  require(axis_total == out.shape[static_cast<size_t>(axis)], b,
          "the inputs do not add up to the output along the axis");
  const int32_t outer32 = narrow(outer, b);
  const auto input_count = static_cast<int32_t>(inputs.tensors.size());
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(concatenate), outer32, input_count, inputs, chunks,
              typed<void>(output));
}

// PACK, UNPACK, SPLIT and SPLIT_V accept the element types TFLite Micro's kernels accept
// (pack.cc, unpack.cc, split.cc, split_v.cc); they move bytes, so one kernel serves them all.
void require_types(const OpBinding& b, DType type, std::span<const DType> accepted) {
  if (std::find(accepted.begin(), accepted.end(), type) == accepted.end()) unsupported_types(b);
}

// An axis in [-rank, rank), as the operators' options and axis tensors give it.
int32_t normalized_axis(const OpBinding& b, int64_t axis, size_t rank) {
  const auto signed_rank = static_cast<int64_t>(rank);
  require(axis >= -signed_rank && axis < signed_rank, b,
          fmt::format("axis {} is out of range for rank {}", axis, rank));
  return static_cast<int32_t>(axis < 0 ? axis + signed_rank : axis);
}

// Elements before `axis` (the kernel's outer count) and bytes from `axis` on, of `shape`.
std::pair<int32_t, int64_t> outer_and_inner(const OpBinding& b, const std::vector<int32_t>& shape,
                                            size_t axis, int32_t element_bytes) {
  int64_t outer = 1;
  for (size_t d = 0; d < axis; ++d) outer *= shape[d];
  int64_t inner = element_bytes;
  for (size_t d = axis; d < shape.size(); ++d) inner *= shape[d];
  return {narrow(outer, b), inner};
}

KernelCall prepare_pack(const OpBinding& b) {
  require_inputs(b, 1);
  const auto& o = options<model::PackOptions>(b);
  const Tensor& out = b.output(0);
  const Tensor& first = b.input(0);
  constexpr std::array kPackTypes = {DType::Float32, DType::Int8, DType::Int16, DType::Int32,
                                     DType::Int64};
  require_types(b, out.dtype, kPackTypes);
  const auto count = static_cast<int32_t>(b.op.inputs.size());
  require(o.values_count == count, b,
          fmt::format("values_count is {} but the operator has {} inputs", o.values_count, count));
  require(out.shape.size() == first.shape.size() + 1, b,
          "the output's rank must be the inputs' rank plus one");
  const int32_t axis = normalized_axis(b, o.axis, out.shape.size());
  std::vector<int32_t> expected = first.shape;
  expected.insert(expected.begin() + axis, count);
  require(out.shape == expected, b,
          fmt::format("output '{}' does not stack {} inputs of the first input's shape along "
                      "axis {}",
                      out.name, count, axis));
  const int32_t size = element_size(b, out);
  // Each input is one slice of the output along the axis.
  const auto [outer, slice] = outer_and_inner(b, first.shape, static_cast<size_t>(axis), size);
  narrow(out.elements() * size, b);
  TensorPointerList inputs;
  Constants<int32_t> chunks{"chunk_bytes", {}};
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    require(b.has_input(i), b, "an input is omitted");
    const Tensor& in = b.input(i);
    require(
        in.dtype == out.dtype && in.shape == first.shape, b,
        fmt::format("input '{}' must have the output's type and the first input's shape", in.name));
    require_same_quantization(b, in, out);
    inputs.tensors.push_back(b.op.inputs[i]);
    chunks.values.push_back(narrow(slice, b));
  }
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(concatenate), outer, count, inputs, chunks,
              typed<void>(output));
}

// SPLIT, SPLIT_V and UNPACK: the input cut along `axis` into the outputs, each of which holds
// `parts[i]` indexes of that axis (UNPACK's outputs drop the axis, whose parts are all 1).
KernelCall split_along(const OpBinding& b, size_t input_index, int32_t axis,
                       const std::vector<int32_t>& parts, bool drop_axis) {
  const Tensor& in = b.input(input_index);
  require(parts.size() == b.op.outputs.size(), b, "one part per output");
  const int32_t size = element_size(b, in);
  narrow(in.elements() * size, b);
  int64_t inner = size;
  for (size_t d = static_cast<size_t>(axis) + 1; d < in.shape.size(); ++d) inner *= in.shape[d];
  const int32_t outer = outer_and_inner(b, in.shape, static_cast<size_t>(axis), size).first;
  const OutputList outputs = b.output_list();
  Constants<int32_t> chunks{"chunk_bytes", {}};
  int64_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& out = b.output(i);
    std::vector<int32_t> expected = in.shape;
    if (drop_axis) {
      expected.erase(expected.begin() + axis);
    } else {
      expected[static_cast<size_t>(axis)] = parts[i];
    }
    require(out.dtype == in.dtype, b,
            fmt::format("output '{}' must have the input's type", out.name));
    require(out.shape == expected, b,
            fmt::format("output '{}' has shape [{}], expected [{}]", out.name,
                        fmt::join(out.shape, ", "), fmt::join(expected, ", ")));
    require_same_quantization(b, in, out);
    total += parts[i];
    chunks.values.push_back(narrow(inner * parts[i], b));
  }
  require(total == in.shape[static_cast<size_t>(axis)], b,
          fmt::format("the parts add up to {} but the input's dimension {} is {}", total, axis,
                      in.shape[static_cast<size_t>(axis)]));
  const auto count = static_cast<int32_t>(parts.size());
  const Slot input = b.input_slot(input_index);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(split), outer, count, typed<void>(input), chunks,
              outputs);
}

constexpr std::array kSplitTypes = {DType::Float32, DType::Int8, DType::Int16, DType::Int32};

KernelCall prepare_unpack(const OpBinding& b) {
  require_inputs(b, 1);
  const auto& o = options<model::UnpackOptions>(b);
  const Tensor& in = b.input(0);
  require_types(b, in.dtype, kSplitTypes);
  require(!in.shape.empty(), b, "the input must have at least one dimension");
  const int32_t axis = normalized_axis(b, o.axis, in.shape.size());
  const auto count = static_cast<int32_t>(b.op.outputs.size());
  require(o.num == count && in.shape[static_cast<size_t>(axis)] == count, b,
          fmt::format("num is {} and dimension {} has size {}, but the operator has {} outputs",
                      o.num, axis, in.shape[static_cast<size_t>(axis)], count));
  return split_along(b, 0, axis, std::vector<int32_t>(static_cast<size_t>(count), 1), true);
}

// SPLIT's and SPLIT_V's axis: a constant int32 tensor with one element (as TFLite Micro reads
// it).
int32_t split_axis(const OpBinding& b, size_t index, const Tensor& in) {
  const Tensor& axis = b.input(index);
  require(axis.dtype == DType::Int32 && axis.elements() == 1, b,
          fmt::format("the axis '{}' must be one int32 value", axis.name));
  const std::vector<int64_t> value = integers(b, index);
  return normalized_axis(b, value.at(0), in.shape.size());
}

KernelCall prepare_split(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& in = b.input(1);
  require_types(b, in.dtype, kSplitTypes);
  const int32_t axis = split_axis(b, 0, in);
  const auto count = static_cast<int32_t>(b.op.outputs.size());
  const int32_t dim = in.shape[static_cast<size_t>(axis)];
  require(
      dim % count == 0, b,
      fmt::format("dimension {} of size {} does not split into {} equal parts", axis, dim, count));
  if (const auto* o = std::get_if<model::SplitOptions>(&b.op.options); o && o->num_splits != 0) {
    require(o->num_splits == count, b,
            fmt::format("num_splits is {} but the operator has {} outputs", o->num_splits, count));
  }
  return split_along(b, 1, axis, std::vector<int32_t>(static_cast<size_t>(count), dim / count),
                     false);
}

KernelCall prepare_split_v(const OpBinding& b) {
  require_inputs(b, 3);
  const Tensor& in = b.input(0);
  require_types(b, in.dtype, kSplitTypes);
  const int32_t axis = split_axis(b, 2, in);
  const std::vector<int64_t> sizes = integers(b, 1);
  require(sizes.size() == b.op.outputs.size(), b,
          fmt::format("{} split sizes for {} outputs", sizes.size(), b.op.outputs.size()));
  // At most one size is -1: the rest of the dimension.
  const int32_t dim = in.shape[static_cast<size_t>(axis)];
  int64_t known = 0;
  std::optional<size_t> rest;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      require(!rest, b, "more than one split size is -1");
      rest = i;
    } else {
      require(sizes[i] >= 0 && sizes[i] <= dim, b,
              fmt::format("split size {} is outside 0..{}", sizes[i], dim));
      known += sizes[i];
    }
  }
  require(
      rest ? known <= dim : known == dim, b,
      fmt::format("the split sizes add up to {} but dimension {} has size {}", known, axis, dim));
  std::vector<int32_t> parts;
  for (size_t i = 0; i < sizes.size(); ++i) {
    parts.push_back(static_cast<int32_t>(rest == i ? dim - known : sizes[i]));
  }
  return split_along(b, 0, axis, parts, false);
}

std::vector<int32_t> contiguous_strides(const std::vector<int32_t>& shape) {
  std::vector<int32_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

// Packs (count, stride) pairs into a view, dropping unit counts so that up to kMaxRank real
// dimensions fit. Every element the view reads must lie inside `input`: the first and last
// index along each axis are summed up and checked against its element count.
rt::StridedView make_view(const OpBinding& b, const std::vector<std::pair<int32_t, int64_t>>& axes,
                          int64_t offset, const Tensor& input) {
  std::vector<std::pair<int32_t, int64_t>> kept;
  int64_t lowest = offset;
  int64_t highest = offset;
  bool empty = false;
  for (const auto& axis : axes) {
    empty = empty || axis.first == 0;
    if (axis.first == 1) continue;
    kept.push_back(axis);
    // |stride| < 2^32 and count < 2^31 here, so the product fits in int64.
    const int64_t reach = axis.second * (int64_t{axis.first} - 1);
    (reach < 0 ? lowest : highest) += axis.first > 0 ? reach : 0;
  }
  require(kept.size() <= static_cast<size_t>(rt::kMaxRank), b,
          "too many dimensions for the runtime's strided copy");
  require(empty || (lowest >= 0 && highest < input.elements()), b,
          fmt::format("the strided view reads elements {}..{} of '{}', which has {}", lowest,
                      highest, input.name, input.elements()));
  rt::StridedView view;
  const size_t lead = static_cast<size_t>(rt::kMaxRank) - kept.size();
  for (size_t i = 0; i < kept.size(); ++i) {
    view.count[lead + i] = kept[i].first;
    view.stride[lead + i] = static_cast<int32_t>(kept[i].second);
  }
  view.offset = empty ? 0 : static_cast<int32_t>(offset);
  return view;
}

KernelCall prepare_transpose(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const std::vector<int64_t> perm = integers(b, 1);
  const size_t rank = in.shape.size();
  require(perm.size() == rank, b, "the permutation's length must equal the input rank");
  const auto strides = contiguous_strides(in.shape);
  std::vector<bool> seen(rank, false);
  std::vector<std::pair<int32_t, int64_t>> axes;
  for (size_t i = 0; i < rank; ++i) {
    const int64_t p = perm[i] < 0 ? perm[i] + static_cast<int64_t>(rank) : perm[i];
    require(p >= 0 && p < static_cast<int64_t>(rank) && !seen[static_cast<size_t>(p)], b,
            "the permutation is invalid");
    seen[static_cast<size_t>(p)] = true;
    const size_t axis = static_cast<size_t>(p);
    require(b.output(0).shape[i] == in.shape[axis], b,
            "the output shape does not match the permutation");
    axes.emplace_back(in.shape[axis], strides[axis]);
  }
  const rt::StridedView view = make_view(b, axes, 0, in);
  const int32_t size = element_size(b, in);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, size, typed<void>(input),
              typed<void>(output));
}

KernelCall prepare_strided_slice(const OpBinding& b) {
  require_inputs(b, 4);
  const auto& o = options<model::StridedSliceOptions>(b);
  const Tensor& in = b.input(0);
  require(in.dtype == b.output(0).dtype, b, "input and output types differ");
  const std::vector<int64_t> begin = integers(b, 1);
  const std::vector<int64_t> end = integers(b, 2);
  const std::vector<int64_t> strides = integers(b, 3);
  const size_t spec = begin.size();
  require(end.size() == spec && strides.size() == spec && spec <= 32, b,
          "begin, end and strides must have the same length");
  const size_t rank = in.shape.size();
  const auto in_strides = contiguous_strides(in.shape);
  // Input axes consumed by the spec entries after the ellipsis (new axes consume none).
  auto bit = [](int32_t mask, size_t i) { return (mask >> i) & 1; };
  size_t ellipsis = spec;
  for (size_t i = 0; i < spec; ++i) {
    if (bit(o.ellipsis_mask, i)) {
      ellipsis = i;
      break;
    }
  }
  size_t consuming = 0;
  for (size_t i = 0; i < spec; ++i) {
    if (i != ellipsis && !bit(o.new_axis_mask, i)) ++consuming;
  }
  require(consuming <= rank, b, "the slice has more entries than the input has dimensions");
  std::vector<std::pair<int32_t, int64_t>> axes;  // output dims in order (count, stride)
  std::vector<int32_t> output_shape;
  int64_t offset = 0;
  size_t axis = 0;
  auto full_axis = [&](size_t d) {
    axes.emplace_back(in.shape[d], in_strides[d]);
    output_shape.push_back(in.shape[d]);
  };
  for (size_t i = 0; i < spec; ++i) {
    if (i == ellipsis) {
      const size_t covered = rank - consuming;
      for (size_t k = 0; k < covered; ++k) full_axis(axis++);
      continue;
    }
    if (bit(o.new_axis_mask, i)) {
      axes.emplace_back(1, 0);
      output_shape.push_back(1);
      continue;
    }
    const int64_t dim = in.shape[axis];
    const int64_t stride = strides[i];
    require(stride != 0, b, "a stride of 0 is invalid");
    int64_t start;
    if (bit(o.begin_mask, i)) {
      start = stride > 0 ? 0 : dim - 1;
    } else {
      start = begin[i] < 0 ? begin[i] + dim : begin[i];
    }
    if (bit(o.shrink_axis_mask, i)) {
      require(start >= 0 && start < dim, b, "a shrunk index is out of range");
      offset += start * in_strides[axis];
      ++axis;
      continue;
    }
    const int64_t low = stride > 0 ? 0 : -1;
    const int64_t high = stride > 0 ? dim : dim - 1;
    if (!bit(o.begin_mask, i)) start = std::clamp(start, low, high);
    int64_t stop;
    if (bit(o.end_mask, i)) {
      stop = stride > 0 ? dim : -1;
    } else {
      int64_t raw_end = end[i];
      if (o.offset && __builtin_add_overflow(begin[i], end[i], &raw_end)) {
        raw_end = begin[i] > 0 ? std::numeric_limits<int64_t>::max()
                               : std::numeric_limits<int64_t>::min();
      }
      stop = std::clamp(raw_end < 0 ? raw_end + dim : raw_end, low, high);
    }
    const int64_t span = stride > 0 ? stop - start : start - stop;
    // A step beyond the span takes one element, so capping it there changes nothing and keeps
    // the arithmetic (and -INT64_MIN) in range.
    const int64_t step = std::min(stride > 0 ? stride : -std::max(stride, -dim - 1), dim + 1);
    const int64_t count = span <= 0 ? 0 : (span + step - 1) / step;
    if (count > 0) offset += start * in_strides[axis];
    // With two or more steps |stride| < dim, so the stride in elements stays within the
    // input; a single step never moves.
    axes.emplace_back(static_cast<int32_t>(count), count > 1 ? stride * in_strides[axis] : 0);
    output_shape.push_back(static_cast<int32_t>(count));
    ++axis;
  }
  while (axis < rank) full_axis(axis++);
  require(output_shape == b.output(0).shape, b,
          fmt::format("the slice produces shape [{}] but the model's output is [{}]",
                      fmt::join(output_shape, ","), fmt::join(b.output(0).shape, ",")));
  const rt::StridedView view = make_view(b, axes, offset, in);
  const int32_t size = element_size(b, in);
  const Slot input = b.input_slot(0);
  const Slot output = b.output_slot(0);
  if (b.output(0).elements() == 0) return no_call(b);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, size, typed<void>(input),
              typed<void>(output));
}

// TFLite Micro's SLICE: float32, int8, int16, int32 or bool, up to rank 5, begin and size of one
// type (int32 or int64), a size of -1 meaning "to the end". It reads begin and size at run time
// without checking them; the output shape depends on them, so tinydeploy takes them constant and
// refuses a slice outside the input.
KernelCall prepare_slice(const OpBinding& b) {
  require_inputs(b, 3);
  const Tensor& in = b.input(0);
  const Tensor& out = b.output(0);
  static constexpr DType kAccepted[] = {DType::Float32, DType::Int8, DType::Int16, DType::Int32,
                                        DType::Bool};
  if (std::find(std::begin(kAccepted), std::end(kAccepted), in.dtype) == std::end(kAccepted) ||
      out.dtype != in.dtype) {
    refuse(b, fmt::format("TFLite Micro's SLICE takes float32, int8, int16, int32 or bool of one "
                          "type in and out, not {} to {}",
                          model::dtype_name(in.dtype), model::dtype_name(out.dtype)));
  }
  const size_t rank = in.shape.size();
  require(rank <= 5, b,
          fmt::format("TFLite Micro's SLICE takes at most 5 dimensions, not {}", rank));
  require(b.input(1).dtype == b.input(2).dtype, b, "begin and size must be of one type");
  require(b.input(1).is_constant() && b.input(2).is_constant(), b,
          "begin and size must be constants (the output shape depends on them)");
  const std::vector<int64_t> begin = integers(b, 1);
  const std::vector<int64_t> size = integers(b, 2);
  require(b.input(1).shape.size() == 1 && b.input(2).shape.size() == 1 && begin.size() == rank &&
              size.size() == rank,
          b, fmt::format("begin and size must hold one value per input dimension ({})", rank));
  const auto strides = contiguous_strides(in.shape);
  std::vector<std::pair<int32_t, int64_t>> axes;
  int64_t offset = 0;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t from = begin[d];
    const int64_t count = size[d] == -1 ? in.shape[d] - from : size[d];
    require(from >= 0 && count >= 0 && from + count <= in.shape[d], b,
            fmt::format("slice [{}, {}) is outside dimension {} of size {}", from, from + count, d,
                        in.shape[d]));
    require(out.shape[d] == count, b, "the output shape does not match begin and size");
    axes.emplace_back(static_cast<int32_t>(count), strides[d]);
    offset += from * strides[d];
  }
  require(out.shape.size() == rank, b, "the output shape does not match begin and size");
  if (out.elements() == 0) return no_call(b);
  const rt::StridedView view = make_view(b, axes, offset, in);
  const int32_t element = element_size(b, in);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, element, typed<void>(b.input_slot(0)),
              typed<void>(b.output_slot(0)));
}

// TFLite Micro's DEPTH_TO_SPACE and SPACE_TO_DEPTH: rank-4 float32 or int8, a positive block
// size. Both are a fixed permutation of the elements: the output is walked in order as a rank-6
// view of the input.
KernelCall prepare_depth_space(const OpBinding& b) {
  require_inputs(b, 1);
  const bool to_space = b.op.op == BuiltinOp::DEPTH_TO_SPACE;
  const std::string_view name = to_space ? "DEPTH_TO_SPACE" : "SPACE_TO_DEPTH";
  const Tensor& in = b.input(0);
  const Tensor& out = b.output(0);
  if ((in.dtype != DType::Float32 && in.dtype != DType::Int8) || out.dtype != in.dtype) {
    refuse(b, fmt::format("TFLite Micro's {} takes float32 or int8 of one type in and out, not "
                          "{} to {}",
                          name, model::dtype_name(in.dtype), model::dtype_name(out.dtype)));
  }
  require(
      in.shape.size() == 4, b,
      fmt::format("TFLite Micro's {} takes a rank-4 input, not rank {}", name, in.shape.size()));
  const int32_t block = options<model::DepthSpaceOptions>(b).block_size;
  require(block > 0, b, fmt::format("the block size {} must be positive", block));
  const rt::Dims4 i = dims4(b, in);
  const rt::Dims4 o = dims4(b, out);
  const int64_t block2 = int64_t{block} * block;
  std::vector<std::pair<int32_t, int64_t>> axes;
  const int64_t image = int64_t{i.h} * i.w * i.c;
  if (to_space) {
    require(i.c % block2 == 0, b,
            fmt::format("the depth {} is not a multiple of the block size squared", i.c));
    require(o.n == i.n && o.h == int64_t{i.h} * block && o.w == int64_t{i.w} * block &&
                o.c == i.c / block2,
            b, "the output shape does not match the input and the block size");
    // Output (n, h, dy, w, dx, c) reads input (n, h, w, (dy * block + dx) * C + c).
    axes = {{i.n, image},
            {i.h, int64_t{i.w} * i.c},
            {block, int64_t{block} * o.c},
            {i.w, i.c},
            {block, o.c},
            {o.c, 1}};
  } else {
    require(i.h % block == 0 && i.w % block == 0, b,
            fmt::format("height {} and width {} are not multiples of the block size {}", i.h, i.w,
                        block));
    require(o.n == i.n && o.h == i.h / block && o.w == i.w / block && o.c == i.c * block2, b,
            "the output shape does not match the input and the block size");
    // Output (n, h, w, dy, dx, c) reads input (n, h * block + dy, w * block + dx, c).
    axes = {{i.n, image},
            {o.h, int64_t{block} * i.w * i.c},
            {o.w, int64_t{block} * i.c},
            {block, int64_t{i.w} * i.c},
            {block, i.c},
            {i.c, 1}};
  }
  if (out.elements() == 0) return no_call(b);
  const rt::StridedView view = make_view(b, axes, 0, in);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather), view, element_size(b, in),
              typed<void>(b.input_slot(0)), typed<void>(b.output_slot(0)));
}

// TFLite Micro's GATHER: float32 or int8 params, int32 indices, 0 <= batch_dims <= axis, the
// batch dimensions of params and indices equal. Constant indices are checked here; run-time
// indices are bounded by the kernel (see gather_indexed).
KernelCall prepare_gather(const OpBinding& b) {
  require_inputs(b, 2);
  const Tensor& params = b.input(0);
  const Tensor& indices = b.input(1);
  const Tensor& out = b.output(0);
  if ((params.dtype != DType::Float32 && params.dtype != DType::Int8) ||
      out.dtype != params.dtype) {
    refuse(b, fmt::format("TFLite Micro's GATHER takes float32 or int8 params of one type in and "
                          "out, not {} to {}",
                          model::dtype_name(params.dtype), model::dtype_name(out.dtype)));
  }
  require(indices.dtype == DType::Int32, b,
          fmt::format("TFLite Micro's GATHER takes int32 indices, not {}",
                      model::dtype_name(indices.dtype)));
  const auto& o = options<model::GatherOptions>(b);
  const auto rank = static_cast<int64_t>(params.shape.size());
  const auto index_rank = static_cast<int64_t>(indices.shape.size());
  const int64_t axis = o.axis < 0 ? int64_t{o.axis} + rank : o.axis;
  const int64_t batch_dims = o.batch_dims < 0 ? int64_t{o.batch_dims} + index_rank : o.batch_dims;
  require(axis >= 0 && axis < rank, b, "the axis is out of range");
  require(batch_dims >= 0 && batch_dims <= axis && batch_dims < rank && batch_dims <= index_rank, b,
          "batch_dims must lie in [0, axis] and within the indices' rank");
  std::vector<int32_t> expected(params.shape.begin(), params.shape.begin() + axis);
  for (int64_t d = 0; d < batch_dims; ++d) {
    require(params.shape[static_cast<size_t>(d)] == indices.shape[static_cast<size_t>(d)], b,
            "the batch dimensions of params and indices differ");
  }
  expected.insert(expected.end(), indices.shape.begin() + batch_dims, indices.shape.end());
  expected.insert(expected.end(), params.shape.begin() + axis + 1, params.shape.end());
  require(out.shape == expected, b, "the output shape does not match params, indices and axis");
  int64_t batches = 1;
  for (int64_t d = 0; d < batch_dims; ++d) batches *= params.shape[static_cast<size_t>(d)];
  int64_t outer = 1;
  for (int64_t d = batch_dims; d < axis; ++d) outer *= params.shape[static_cast<size_t>(d)];
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= params.shape[static_cast<size_t>(d)];
  int64_t index_count = 1;
  for (int64_t d = batch_dims; d < index_rank; ++d) {
    index_count *= indices.shape[static_cast<size_t>(d)];
  }
  const int32_t axis_size = params.shape[static_cast<size_t>(axis)];
  if (indices.is_constant()) {
    for (const int64_t index : integers(b, 1)) {
      require(index >= 0 && index < axis_size, b,
              fmt::format("index {} is outside the gathered axis of size {}", index, axis_size));
    }
  }
  if (out.elements() == 0) return no_call(b);
  const int32_t size = element_size(b, params);
  narrow(params.elements() * size, b);
  narrow(out.elements() * size, b);
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(gather_indexed), narrow(batches, b), narrow(outer, b),
              axis_size, narrow(index_count, b), narrow(inner * size, b),
              typed<int32_t>(b.input_slot(1)), typed<void>(b.input_slot(0)),
              typed<void>(b.output_slot(0)));
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::RESHAPE, prepare_copy},
    {BuiltinOp::SQUEEZE, prepare_copy},
    {BuiltinOp::EXPAND_DIMS, prepare_copy},
    {BuiltinOp::PAD, [](const OpBinding& b) { return prepare_pad(b, false); }},
    {BuiltinOp::PADV2, [](const OpBinding& b) { return prepare_pad(b, true); }},
    {BuiltinOp::CONCATENATION, prepare_concatenation},
    {BuiltinOp::STRIDED_SLICE, prepare_strided_slice},
    {BuiltinOp::TRANSPOSE, prepare_transpose},
    {BuiltinOp::PACK, prepare_pack},
    {BuiltinOp::UNPACK, prepare_unpack},
    {BuiltinOp::SPLIT, prepare_split},
    {BuiltinOp::SPLIT_V, prepare_split_v},
    {BuiltinOp::SLICE, prepare_slice},
    {BuiltinOp::GATHER, prepare_gather},
    {BuiltinOp::DEPTH_TO_SPACE, prepare_depth_space},
    {BuiltinOp::SPACE_TO_DEPTH, prepare_depth_space},
};

}  // namespace

Family layout_family() { return {"layout", "layout", kOperators}; }

}  // namespace tinydeploy::lowering
