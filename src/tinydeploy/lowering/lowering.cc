#include "tinydeploy/lowering/lowering.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/lower_ops.h"

namespace tinydeploy::lowering {

const char* c_type_name(CType type) {
  switch (type) {
    case CType::Int8:
      return "int8_t";
    case CType::UInt8:
      return "uint8_t";
    case CType::Int16:
      return "int16_t";
    case CType::Int32:
      return "int32_t";
    case CType::Int64:
      return "int64_t";
    case CType::Float32:
      return "float";
    case CType::Void:
      break;
  }
  return "void";
}

std::string kernel_source(std::string_view kernel) {
  struct Entry {
    std::string_view kernel;
    std::string_view source;
  };
  static constexpr Entry kSources[] = {
      {"conv", "conv"},
      {"conv_hybrid", "conv"},
      {"depthwise_conv", "conv"},
      {"transpose_conv", "conv"},
      {"fully_connected", "conv"},
      {"average_pool", "pooling"},
      {"max_pool", "pooling"},
      {"add", "elementwise"},
      {"sub", "elementwise"},
      {"mul", "elementwise"},
      {"maximum", "elementwise"},
      {"minimum", "elementwise"},
      {"requantize", "activation"},
      {"quantize", "activation"},
      {"dequantize", "activation"},
      {"clamp", "activation"},
      {"leaky_relu", "activation"},
      {"hard_swish", "activation"},
      {"logistic", "activation"},
      {"tanh", "activation"},
      {"softmax", "activation"},
      {"copy_bytes", "layout"},
      {"gather", "layout"},
      {"pad", "layout"},
      {"concatenate", "layout"},
      {"mean", "reduce"},
  };
  for (const Entry& entry : kSources) {
    if (entry.kernel == kernel) return std::string(entry.source);
  }
  throw Error("internal error: runtime kernel '{}' has no known source file", kernel);
}

namespace {

using model::BuiltinOp;
using model::DType;

std::optional<std::pair<int64_t, int64_t>> integer_range(DType type) {
  switch (type) {
    case DType::Int8:
      return std::pair<int64_t, int64_t>{-128, 127};
    case DType::UInt8:
      return std::pair<int64_t, int64_t>{0, 255};
    case DType::Int16:
      return std::pair<int64_t, int64_t>{-32768, 32767};
    case DType::Int32:
    case DType::Int64:
      return std::pair<int64_t, int64_t>{INT32_MIN, INT32_MAX};
    default:
      return std::nullopt;
  }
}

int64_t largest_magnitude(const model::Model& model, const model::Tensor& tensor) {
  const auto bytes = model.data(tensor);
  int64_t largest = 0;
  const size_t size = tensor.dtype == DType::Int64 ? 8 : 4;
  for (size_t at = 0; at + size <= bytes.size(); at += size) {
    int64_t value = 0;
    if (size == 8) {
      std::memcpy(&value, bytes.data() + at, 8);
    } else {
      int32_t narrow = 0;
      std::memcpy(&narrow, bytes.data() + at, 4);
      value = narrow;
    }
    largest = std::max(largest, value == INT64_MIN ? INT64_MAX : std::abs(value));
  }
  return largest;
}

// Operand checks the kernels rely on, found missing by the model fuzz target
// (fuzz/model_fuzz.cc; reproducers in tests/data/fuzz-regressions): quantization parameters with
// a meaning, a bias value per output channel, and integer accumulators that cannot overflow.
void require_sane_operands(const OpBinding& b) {
  const auto refuse = [&b](const std::string& what) { throw Error("{}: {}", b.where(), what); };
  const auto check_quantization = [&](const model::Tensor& t) {
    const auto range = integer_range(t.dtype);
    if (!range || !t.quantization.is_quantized()) return;
    const bool activation_type = t.dtype != DType::Int32 && t.dtype != DType::Int64;
    for (const float scale : t.quantization.scale) {
      if (activation_type && (!std::isfinite(scale) || scale <= 0.0f)) {
        refuse(fmt::format("tensor '{}' has the invalid quantization scale {}", t.name, scale));
      }
    }
    for (const int64_t zero_point : t.quantization.zero_point) {
      if (zero_point < range->first || zero_point > range->second) {
        refuse(fmt::format("tensor '{}' has zero point {}, outside the range of {}", t.name,
                           zero_point, model::dtype_name(t.dtype)));
      }
    }
  };
  for (size_t i = 0; i < b.op.inputs.size(); ++i) {
    if (b.has_input(i)) check_quantization(b.input(i));
  }
  for (size_t i = 0; i < b.op.outputs.size(); ++i) check_quantization(b.output(i));

  // The int8 SOFTMAX sums one exp (at most 1.0) per value of a row in Q12.19.
  if (b.op.op == BuiltinOp::SOFTMAX && b.has_input(0) && b.input(0).dtype == DType::Int8 &&
      !b.input(0).shape.empty() && b.input(0).shape.back() >= 4096) {
    refuse(fmt::format("rows of {} values exceed the 4095 its int8 kernel can sum",
                       b.input(0).shape.back()));
  }
  // Window positions (output index x stride + filter index x dilation) must fit the kernels'
  // int32 arithmetic.
  const auto check_window = [&](int64_t stride, int64_t dilation, int64_t outputs, int64_t filter) {
    if (stride * outputs + dilation * filter >= INT32_MAX) {
      refuse("its strides or dilations are too large for the tensor sizes");
    }
  };
  const model::Tensor* window = b.op.outputs.empty() ? nullptr : &b.output(0);
  if (const auto* o = std::get_if<model::TransposeConvOptions>(&b.op.options)) {
    window = b.has_input(2) ? &b.input(2) : nullptr;  // strides step through the input
    if (window != nullptr && !window->shape.empty() && !b.op.outputs.empty() &&
        !b.output(0).shape.empty() && window->shape[0] != b.output(0).shape[0]) {
      refuse("input and output batches differ");
    }
    if (window != nullptr && window->shape.size() == 4 && b.has_input(1) &&
        b.input(1).shape.size() == 4) {
      check_window(o->stride_h, 1, window->shape[1], b.input(1).shape[1]);
      check_window(o->stride_w, 1, window->shape[2], b.input(1).shape[2]);
    }
  } else if (window != nullptr && window->shape.size() == 4) {
    const int64_t h = window->shape[1];
    const int64_t w = window->shape[2];
    const bool filtered = b.has_input(1) && b.input(1).shape.size() == 4;
    if (const auto* c = std::get_if<model::Conv2DOptions>(&b.op.options); c && filtered) {
      check_window(c->stride_h, c->dilation_h, h, b.input(1).shape[1]);
      check_window(c->stride_w, c->dilation_w, w, b.input(1).shape[2]);
    } else if (const auto* d = std::get_if<model::DepthwiseConv2DOptions>(&b.op.options);
               d && filtered) {
      check_window(d->stride_h, d->dilation_h, h, b.input(1).shape[1]);
      check_window(d->stride_w, d->dilation_w, w, b.input(1).shape[2]);
    } else if (const auto* p = std::get_if<model::Pool2DOptions>(&b.op.options)) {
      check_window(p->stride_h, 1, h, p->filter_h);
      check_window(p->stride_w, 1, w, p->filter_w);
    }
  }

  size_t bias_index = 2;
  switch (b.op.op) {
    case BuiltinOp::CONV_2D:
    case BuiltinOp::DEPTHWISE_CONV_2D:
    case BuiltinOp::FULLY_CONNECTED:
      break;
    case BuiltinOp::TRANSPOSE_CONV:
      bias_index = 3;
      break;
    default:
      return;
  }
  if (!b.has_input(1) || b.op.outputs.empty() || b.output(0).shape.empty()) return;
  const model::Tensor& filter = b.input(1);
  const int64_t channels = b.output(0).shape.back();
  if (filter.elements() == 0 && b.output(0).elements() > 0) {
    refuse(fmt::format("filter '{}' has no elements", filter.name));
  }
  if (b.has_input(bias_index) && b.input(bias_index).elements() < channels) {
    refuse(fmt::format("bias '{}' has {} values for {} output channels", b.input(bias_index).name,
                       b.input(bias_index).elements(), channels));
  }
  // The worst case of one output's sum: |bias| + products x |input - zp| x |weight - zp|, which
  // must fit the kernel's accumulator (int32; for 16-bit inputs the 2^47 its rescaling takes).
  const model::Tensor& input = b.input(b.op.op == BuiltinOp::TRANSPOSE_CONV ? 2 : 0);
  const auto input_range = integer_range(input.dtype);
  const auto filter_range = integer_range(filter.dtype);
  if (input.dtype == DType::Int32 || !input_range || !filter_range || filter.shape.empty()) return;
  const int64_t filter_channels =
      b.op.op == BuiltinOp::DEPTHWISE_CONV_2D ? filter.shape.back() : filter.shape.front();
  if (filter_channels <= 0) return;
  const auto span = [](const model::Tensor& t, std::pair<int64_t, int64_t> range) {
    const int64_t zp = t.quantization.zero_point.empty() ? 0 : t.quantization.zero_point[0];
    return static_cast<double>(std::max(range.second - zp, zp - range.first));
  };
  double bound = static_cast<double>(filter.elements() / filter_channels) *
                 span(input, *input_range) * span(filter, *filter_range);
  if (b.has_input(bias_index) && b.input(bias_index).is_constant() &&
      (b.input(bias_index).dtype == DType::Int32 || b.input(bias_index).dtype == DType::Int64)) {
    bound += static_cast<double>(largest_magnitude(b.model, b.input(bias_index)));
  }
  const double limit = input.dtype == DType::Int16 ? 0x1p47 : 0x1p31;
  if (bound >= limit) {
    refuse(
        fmt::format("its sums can reach {:.3g}, more than its {} accumulator holds (bias "
                    "values or the number of products are too large)",
                    bound, input.dtype == DType::Int16 ? "2^47" : "int32"));
  }
}

}  // namespace

std::vector<KernelCall> lower(const model::Model& model, const analysis::ModelAnalysis& analysis) {
  const model::Subgraph& graph = model.main();
  std::vector<bool> has_scratch(graph.operators.size(), false);
  for (const analysis::Allocation& a : analysis.plan.allocations) {
    if (a.scratch_of_op >= 0 && static_cast<size_t>(a.scratch_of_op) < has_scratch.size()) {
      has_scratch[static_cast<size_t>(a.scratch_of_op)] = true;
    }
  }
  std::vector<KernelCall> calls;
  calls.reserve(graph.operators.size());
  for (size_t i = 0; i < graph.operators.size(); ++i) {
    const OpBinding binding{model, graph, graph.operators[i], static_cast<int32_t>(i),
                            has_scratch[i]};
    require_sane_operands(binding);
    calls.push_back(lower_op(binding));
  }
  return calls;
}

}  // namespace tinydeploy::lowering
