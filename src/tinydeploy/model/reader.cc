#include "tinydeploy/model/reader.h"

#include "tinydeploy/model/int4_weights.h"
#include "tinydeploy/model/resource_variables.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>

#include <flatbuffers/flatbuffers.h>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"
#include "tinydeploy/model/tflite_schema_generated.h"

namespace tinydeploy::model {
namespace {

namespace fb = tinydeploy::tflite;

// A 32-bit microcontroller cannot address a tensor larger than this; such a model is refused.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 32;
constexpr int kMaxTensorType = 17;

// Everything the checks need to build messages that point at the offending element.
class Reader {
 public:
  Reader(const std::vector<uint8_t>& file, const std::string& name) : file_(file), name_(name) {}

  Model read(const fb::Model& root);

 private:
  template <typename... Args>
  void note(fmt::format_string<Args...> format, Args&&... args) const {
    notes_.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Error("{}: {}", name_, fmt::format(format, std::forward<Args>(args)...));
  }

  void read_buffers(const fb::Model& root);
  OperatorCode read_operator_code(const fb::OperatorCode& code, size_t index) const;
  Subgraph read_subgraph(const fb::SubGraph& graph, size_t index,
                         const std::vector<OperatorCode>& codes, size_t subgraph_count) const;
  Tensor read_tensor(const fb::Tensor& tensor, size_t subgraph, size_t index) const;
  Operator read_operator(const fb::Operator& op, const std::string& where,
                         const std::vector<OperatorCode>& codes, size_t tensor_count,
                         size_t subgraph_count) const;
  void read_options(const fb::Operator& op, Operator& out, const std::string& where,
                    size_t subgraph_count) const;
  void check_data_flow(const Subgraph& graph, size_t index) const;

  const std::vector<uint8_t>& file_;
  const std::string& name_;
  // Where each buffer's bytes are in the file; nullopt for empty buffers.
  std::vector<std::optional<ByteRange>> buffers_;
  mutable std::vector<std::string> notes_;
};

template <typename T>
std::vector<T> to_vector(const flatbuffers::Vector<T>* values) {
  if (values == nullptr) return {};
  return std::vector<T>(values->begin(), values->end());
}

// Vectors of 8-byte scalars are only checked for 4-byte alignment by the verifier, so their
// elements are copied bytewise instead of loaded in place.
std::vector<int64_t> to_int64_vector(const flatbuffers::Vector<int64_t>* values) {
  if (values == nullptr || values->size() == 0) return {};
  std::vector<int64_t> result(values->size());
  std::memcpy(result.data(), values->Data(), result.size() * sizeof(int64_t));
  return result;
}

std::string to_string(const flatbuffers::String* text) {
  return text == nullptr ? std::string{} : text->str();
}

std::string shape_text(std::span<const int32_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void Reader::read_buffers(const fb::Model& root) {
  const auto* buffers = root.buffers();
  if (buffers == nullptr) return;
  buffers_.reserve(buffers->size());
  const uint64_t file_size = file_.size();
  for (flatbuffers::uoffset_t i = 0; i < buffers->size(); ++i) {
    const fb::Buffer* buffer = buffers->Get(i);
    std::optional<ByteRange> range;
    if (buffer != nullptr && buffer->offset() > 1) {
      // Large-model layout: the bytes follow the FlatBuffer in the same file.
      const uint64_t offset = buffer->offset();
      const uint64_t size = buffer->size();
      if (offset > file_size || size > file_size - offset) {
        fail("buffer {} refers to bytes {}..{} but the file has {} bytes", i, offset,
             offset + std::min(size, file_size), file_size);
      }
      if (size > 0) range = ByteRange{offset, size};
    } else if (buffer != nullptr && buffer->data() != nullptr && buffer->data()->size() > 0) {
      const auto offset = static_cast<uint64_t>(buffer->data()->data() - file_.data());
      range = ByteRange{offset, buffer->data()->size()};
    }
    buffers_.push_back(range);
  }
}

OperatorCode Reader::read_operator_code(const fb::OperatorCode& code, size_t index) const {
  // Codes above 127 live in the int32 field; the old byte field then holds a placeholder. The
  // larger of the two is the real code either way.
  const int32_t builtin = std::max<int32_t>(code.deprecated_builtin_code(), code.builtin_code());
  if (builtin < 0) fail("operator code {} has a negative builtin code {}", index, builtin);
  return OperatorCode{static_cast<BuiltinOp>(builtin), to_string(code.custom_code()),
                      code.version()};
}

Tensor Reader::read_tensor(const fb::Tensor& tensor, size_t subgraph, size_t index) const {
  Tensor out;
  out.name = to_string(tensor.name());
  const auto where = [&] {
    return fmt::format("subgraph {}, tensor {} ('{}')", subgraph, index, printable(out.name));
  };
  const int type = static_cast<int>(tensor.type());
  if (type < 0 || type > kMaxTensorType) fail("{}: unknown element type code {}", where(), type);
  out.dtype = static_cast<DType>(type);
  out.shape = to_vector(tensor.shape());
  out.shape_signature = to_vector(tensor.shape_signature());
  out.is_variable = tensor.is_variable();
  out.is_sparse = tensor.sparsity() != nullptr;
  out.buffer = tensor.buffer();

  if (out.shape.size() > kMaxTensorRank) {
    fail("{}: rank {} is more than the {} dimensions tinydeploy accepts", where(), out.shape.size(),
         kMaxTensorRank);
  }
  for (const int32_t dim : out.shape) {
    if (dim < 0) {
      fail(
          "{}: shape {} has a negative dimension (dynamic shapes are not supported; convert "
          "the model with a fixed input shape)",
          where(), shape_text(out.shape));
    }
  }
  if (!out.shape_signature.empty() && out.shape_signature.size() != out.shape.size()) {
    // TFLite Micro never reads shape_signature; the shape is what counts.
    note("{}: shape_signature {} does not match shape {} and is ignored", where(),
         shape_text(out.shape_signature), shape_text(out.shape));
    out.shape_signature.clear();
  }
  const std::optional<int64_t> elements = element_count(out.shape);
  if (!elements)
    fail("{}: the element count of shape {} overflows", where(), shape_text(out.shape));
  const std::optional<int64_t> bytes = storage_bytes(out.dtype, *elements);
  if (dtype_bits(out.dtype) != 0 && (!bytes || *bytes > kMaxTensorBytes)) {
    fail("{}: shape {} of {} needs more than {} bytes, more than a 32-bit target can address",
         where(), shape_text(out.shape), dtype_name(out.dtype), kMaxTensorBytes);
  }

  if (out.buffer == 0 && buffers_.empty()) {
    // Buffer 0 is the format's empty sentinel; a file without a buffer list simply has no
    // constant data.
  } else if (out.buffer >= buffers_.size()) {
    fail("{}: refers to buffer {} but the model has {} buffers", where(), out.buffer,
         buffers_.size());
  } else {
    out.data = buffers_[out.buffer];
  }
  if (out.data && !out.is_sparse && dtype_bits(out.dtype) != 0) {
    const auto stored = static_cast<int64_t>(out.data->size);
    // int4 constants may be stored packed (two per byte) or one per byte.
    const bool int4_unpacked = out.dtype == DType::Int4 && stored == *elements;
    if (stored > *bytes && !int4_unpacked) {
      // TFLite Micro reads the bytes the shape needs from the start of the buffer.
      note(
          "{}: buffer {} holds {} bytes, more than the {} that shape {} of {} needs; the rest "
          "is ignored",
          where(), out.buffer, stored, *bytes, shape_text(out.shape), dtype_name(out.dtype));
      out.data->size = static_cast<uint64_t>(*bytes);
    } else if (stored != *bytes && !int4_unpacked) {
      fail("{}: shape {} of {} needs {} bytes but its buffer {} holds {} bytes", where(),
           shape_text(out.shape), dtype_name(out.dtype), *bytes, out.buffer, stored);
    }
  }

  if (const fb::QuantizationParameters* q = tensor.quantization(); q != nullptr) {
    Quantization& quant = out.quantization;
    quant.scale = to_vector(q->scale());
    quant.zero_point = to_int64_vector(q->zero_point());
    quant.min = to_vector(q->min());
    quant.max = to_vector(q->max());
    quant.quantized_dimension = q->quantized_dimension();
    if (!quant.scale.empty()) {
      if (quant.zero_point.empty()) quant.zero_point.assign(quant.scale.size(), 0);
      if (quant.zero_point.size() == 1 && quant.scale.size() > 1) {
        // TFLite Micro's space-saving form: one zero point for every channel.
        note("{}: one zero point for {} per-channel scales applies to every channel", where(),
             quant.scale.size());
        quant.zero_point.assign(quant.scale.size(), quant.zero_point[0]);
      }
      if (quant.zero_point.size() != quant.scale.size()) {
        fail("{}: quantization has {} scales but {} zero points", where(), quant.scale.size(),
             quant.zero_point.size());
      }
      if (quant.scale.size() == 1) {
        // Per-tensor: the dimension means nothing (converters copy the filter's).
        quant.quantized_dimension = 0;
      } else {
        int32_t axis = quant.quantized_dimension;
        const bool outside = axis < 0 || static_cast<size_t>(axis) >= out.shape.size();
        if (outside && out.shape.size() == 1 &&
            quant.scale.size() == static_cast<size_t>(out.shape[0])) {
          // A bias whose quantization was copied from its filter (dimension 3 of OHWI): TFLite
          // Micro never reads a bias's quantized_dimension, and its only dimension matches the
          // scale count.
          note(
              "{}: per-channel quantization along dimension {} of a rank-1 tensor is read "
              "along its only dimension ({} scales for {} elements)",
              where(), axis, quant.scale.size(), out.shape[0]);
          axis = 0;
          quant.quantized_dimension = 0;
        }
        if (axis < 0 || static_cast<size_t>(axis) >= out.shape.size()) {
          fail("{}: per-channel quantization along dimension {} of a rank-{} tensor", where(), axis,
               out.shape.size());
        }
        const auto channels = static_cast<size_t>(out.shape[static_cast<size_t>(axis)]);
        if (quant.scale.size() != channels) {
          fail("{}: {} per-channel scales for {} channels along dimension {}", where(),
               quant.scale.size(), channels, axis);
        }
      }
    }
  }
  return out;
}

Padding to_padding(fb::Padding padding, bool& valid) {
  const auto code = static_cast<int>(padding);
  valid = code == 0 || code == 1;
  return static_cast<Padding>(code);
}

void Reader::read_options(const fb::Operator& op, Operator& out, const std::string& where,
                          size_t subgraph_count) const {
  using T = fb::BuiltinOptions;
  const auto padding = [&](fb::Padding value) {
    bool valid = true;
    const Padding result = to_padding(value, valid);
    if (!valid) fail("{}: unknown padding code {}", where, static_cast<int>(value));
    return result;
  };
  const auto activation = [&](fb::ActivationFunctionType value) {
    const auto code = static_cast<int>(value);
    if (code < 0 || code > 5) {
      // TFLite Micro reads a code it does not know as no activation.
      note("{}: unknown fused activation code {} is read as none", where, code);
      return Activation::None;
    }
    return static_cast<Activation>(code);
  };
  const auto subgraph_index = [&](int64_t index) {
    if (index < 0 || static_cast<uint64_t>(index) >= subgraph_count) {
      fail("{}: refers to subgraph {} but the model has {} subgraphs", where, index,
           subgraph_count);
    }
    return index;
  };
  // The options table a builtin op carries; ops not listed here are read without options.
  T expected = T::NONE;
  switch (out.op) {
    case BuiltinOp::CONV_2D:
      expected = T::Conv2DOptions;
      break;
    case BuiltinOp::DEPTHWISE_CONV_2D:
      expected = T::DepthwiseConv2DOptions;
      break;
    case BuiltinOp::TRANSPOSE_CONV:
      expected = T::TransposeConvOptions;
      break;
    case BuiltinOp::AVERAGE_POOL_2D:
    case BuiltinOp::MAX_POOL_2D:
    case BuiltinOp::L2_POOL_2D:
      expected = T::Pool2DOptions;
      break;
    case BuiltinOp::FULLY_CONNECTED:
      expected = T::FullyConnectedOptions;
      break;
    case BuiltinOp::SOFTMAX:
      expected = T::SoftmaxOptions;
      break;
    case BuiltinOp::CONCATENATION:
      expected = T::ConcatenationOptions;
      break;
    case BuiltinOp::ADD:
      expected = T::AddOptions;
      break;
    case BuiltinOp::SUB:
      expected = T::SubOptions;
      break;
    case BuiltinOp::MUL:
      expected = T::MulOptions;
      break;
    case BuiltinOp::DIV:
      expected = T::DivOptions;
      break;
    case BuiltinOp::RESHAPE:
      expected = T::ReshapeOptions;
      break;
    case BuiltinOp::SQUEEZE:
      expected = T::SqueezeOptions;
      break;
    case BuiltinOp::STRIDED_SLICE:
      expected = T::StridedSliceOptions;
      break;
    case BuiltinOp::MEAN:
    case BuiltinOp::SUM:
    case BuiltinOp::REDUCE_MAX:
    case BuiltinOp::REDUCE_MIN:
    case BuiltinOp::REDUCE_PROD:
    case BuiltinOp::REDUCE_ANY:
    case BuiltinOp::REDUCE_ALL:
      expected = T::ReducerOptions;
      break;
    case BuiltinOp::LEAKY_RELU:
      expected = T::LeakyReluOptions;
      break;
    case BuiltinOp::BATCH_MATMUL:
      expected = T::BatchMatMulOptions;
      break;
    case BuiltinOp::SVDF:
      expected = T::SVDFOptions;
      break;
    case BuiltinOp::LSTM:
      expected = T::LSTMOptions;
      break;
    case BuiltinOp::UNIDIRECTIONAL_SEQUENCE_LSTM:
      expected = T::UnidirectionalSequenceLSTMOptions;
      break;
    case BuiltinOp::GATHER:
      expected = T::GatherOptions;
      break;
    case BuiltinOp::SPLIT:
      expected = T::SplitOptions;
      break;
    case BuiltinOp::SPLIT_V:
      expected = T::SplitVOptions;
      break;
    case BuiltinOp::PACK:
      expected = T::PackOptions;
      break;
    case BuiltinOp::UNPACK:
      expected = T::UnpackOptions;
      break;
    case BuiltinOp::ARG_MAX:
      expected = T::ArgMaxOptions;
      break;
    case BuiltinOp::ARG_MIN:
      expected = T::ArgMinOptions;
      break;
    case BuiltinOp::RESIZE_BILINEAR:
      expected = T::ResizeBilinearOptions;
      break;
    case BuiltinOp::RESIZE_NEAREST_NEIGHBOR:
      expected = T::ResizeNearestNeighborOptions;
      break;
    case BuiltinOp::SPACE_TO_DEPTH:
      expected = T::SpaceToDepthOptions;
      break;
    case BuiltinOp::DEPTH_TO_SPACE:
      expected = T::DepthToSpaceOptions;
      break;
    case BuiltinOp::VAR_HANDLE:
      expected = T::VarHandleOptions;
      break;
    case BuiltinOp::CALL:
      expected = T::CallOptions;
      break;
    case BuiltinOp::CALL_ONCE:
      expected = T::CallOnceOptions;
      break;
    case BuiltinOp::IF:
      expected = T::IfOptions;
      break;
    case BuiltinOp::WHILE:
      expected = T::WhileOptions;
      break;
    default:
      break;
  }
  const T stored = op.builtin_options_type();
  out.options_type = static_cast<uint8_t>(stored);
  if (expected == T::NONE || stored == T::NONE) {
    // Absent options mean the format's defaults, as TFLite reads them.
  } else if (stored != expected) {
    fail("{}: carries {} options, expected {}", where, fb::EnumNameBuiltinOptions(stored),
         fb::EnumNameBuiltinOptions(expected));
  }
  const bool has = stored != T::NONE;
  switch (expected) {
    case T::Conv2DOptions: {
      Conv2DOptions o;
      if (const auto* f = op.builtin_options_as_Conv2DOptions(); has && f) {
        o = {padding(f->padding()),  f->stride_w(),
             f->stride_h(),          activation(f->fused_activation_function()),
             f->dilation_w_factor(), f->dilation_h_factor()};
      }
      out.options = o;
      break;
    }
    case T::DepthwiseConv2DOptions: {
      DepthwiseConv2DOptions o;
      if (const auto* f = op.builtin_options_as_DepthwiseConv2DOptions(); has && f) {
        o = {padding(f->padding()),
             f->stride_w(),
             f->stride_h(),
             f->depth_multiplier(),
             activation(f->fused_activation_function()),
             f->dilation_w_factor(),
             f->dilation_h_factor()};
      }
      out.options = o;
      break;
    }
    case T::TransposeConvOptions: {
      TransposeConvOptions o;
      if (const auto* f = op.builtin_options_as_TransposeConvOptions(); has && f) {
        o = {padding(f->padding()), f->stride_w(), f->stride_h(),
             activation(f->fused_activation_function())};
      }
      out.options = o;
      break;
    }
    case T::Pool2DOptions: {
      Pool2DOptions o;
      if (const auto* f = op.builtin_options_as_Pool2DOptions(); has && f) {
        o = {padding(f->padding()), f->stride_w(),      f->stride_h(),
             f->filter_width(),     f->filter_height(), activation(f->fused_activation_function())};
      }
      out.options = o;
      break;
    }
    case T::FullyConnectedOptions: {
      FullyConnectedOptions o;
      if (const auto* f = op.builtin_options_as_FullyConnectedOptions(); has && f) {
        o = {activation(f->fused_activation_function()), f->weights_format(), f->keep_num_dims(),
             f->asymmetric_quantize_inputs()};
      }
      out.options = o;
      break;
    }
    case T::SoftmaxOptions: {
      SoftmaxOptions o;
      if (const auto* f = op.builtin_options_as_SoftmaxOptions(); has && f) o.beta = f->beta();
      out.options = o;
      break;
    }
    case T::ConcatenationOptions: {
      ConcatenationOptions o;
      if (const auto* f = op.builtin_options_as_ConcatenationOptions(); has && f) {
        o = {f->axis(), activation(f->fused_activation_function())};
      }
      out.options = o;
      break;
    }
    case T::AddOptions: {
      ArithmeticOptions o;
      if (const auto* f = op.builtin_options_as_AddOptions(); has && f) {
        o = {activation(f->fused_activation_function()), f->pot_scale_int16()};
      }
      out.options = o;
      break;
    }
    case T::SubOptions: {
      ArithmeticOptions o;
      if (const auto* f = op.builtin_options_as_SubOptions(); has && f) {
        o = {activation(f->fused_activation_function()), f->pot_scale_int16()};
      }
      out.options = o;
      break;
    }
    case T::MulOptions: {
      ArithmeticOptions o;
      if (const auto* f = op.builtin_options_as_MulOptions(); has && f) {
        o.activation = activation(f->fused_activation_function());
      }
      out.options = o;
      break;
    }
    case T::DivOptions: {
      ArithmeticOptions o;
      if (const auto* f = op.builtin_options_as_DivOptions(); has && f) {
        o.activation = activation(f->fused_activation_function());
      }
      out.options = o;
      break;
    }
    case T::ReshapeOptions: {
      ReshapeOptions o;
      if (const auto* f = op.builtin_options_as_ReshapeOptions(); has && f) {
        o.new_shape = to_vector(f->new_shape());
        if (o.new_shape.size() > kMaxTensorRank)
          fail("{}: new_shape has too many dimensions", where);
      }
      out.options = o;
      break;
    }
    case T::SqueezeOptions: {
      SqueezeOptions o;
      if (const auto* f = op.builtin_options_as_SqueezeOptions(); has && f) {
        o.squeeze_dims = to_vector(f->squeeze_dims());
        if (o.squeeze_dims.size() > kMaxTensorRank) fail("{}: too many squeeze_dims", where);
      }
      out.options = o;
      break;
    }
    case T::StridedSliceOptions: {
      StridedSliceOptions o;
      if (const auto* f = op.builtin_options_as_StridedSliceOptions(); has && f) {
        o = {f->begin_mask(),    f->end_mask(),         f->ellipsis_mask(),
             f->new_axis_mask(), f->shrink_axis_mask(), f->offset()};
      }
      out.options = o;
      break;
    }
    case T::ReducerOptions: {
      ReducerOptions o;
      if (const auto* f = op.builtin_options_as_ReducerOptions(); has && f) {
        o.keep_dims = f->keep_dims();
      }
      out.options = o;
      break;
    }
    case T::LeakyReluOptions: {
      LeakyReluOptions o;
      if (const auto* f = op.builtin_options_as_LeakyReluOptions(); has && f) o.alpha = f->alpha();
      out.options = o;
      break;
    }
    case T::BatchMatMulOptions: {
      BatchMatMulOptions o;
      if (const auto* f = op.builtin_options_as_BatchMatMulOptions(); has && f) {
        o = {f->adj_x(), f->adj_y(), f->asymmetric_quantize_inputs()};
      }
      out.options = o;
      break;
    }
    case T::SVDFOptions: {
      SVDFOptions o;
      if (const auto* f = op.builtin_options_as_SVDFOptions(); has && f) {
        o = {f->rank(), activation(f->fused_activation_function()),
             f->asymmetric_quantize_inputs()};
      }
      out.options = o;
      break;
    }
    case T::LSTMOptions: {
      LSTMOptions o;
      if (const auto* f = op.builtin_options_as_LSTMOptions(); has && f) {
        o = {activation(f->fused_activation_function()), f->cell_clip(), f->proj_clip(), false,
             f->asymmetric_quantize_inputs()};
      }
      out.options = o;
      break;
    }
    case T::UnidirectionalSequenceLSTMOptions: {
      LSTMOptions o;
      if (const auto* f = op.builtin_options_as_UnidirectionalSequenceLSTMOptions(); has && f) {
        o = {activation(f->fused_activation_function()), f->cell_clip(), f->proj_clip(),
             f->time_major(), f->asymmetric_quantize_inputs()};
      }
      out.options = o;
      break;
    }
    case T::GatherOptions: {
      GatherOptions o;
      if (const auto* f = op.builtin_options_as_GatherOptions(); has && f) {
        o = {f->axis(), f->batch_dims()};
      }
      out.options = o;
      break;
    }
    case T::SplitOptions: {
      SplitOptions o;
      if (const auto* f = op.builtin_options_as_SplitOptions(); has && f) {
        o.num_splits = f->num_splits();
      }
      out.options = o;
      break;
    }
    case T::SplitVOptions: {
      SplitOptions o;
      if (const auto* f = op.builtin_options_as_SplitVOptions(); has && f) {
        o.num_splits = f->num_splits();
      }
      out.options = o;
      break;
    }
    case T::PackOptions: {
      PackOptions o;
      if (const auto* f = op.builtin_options_as_PackOptions(); has && f) {
        o = {f->values_count(), f->axis()};
      }
      out.options = o;
      break;
    }
    case T::UnpackOptions: {
      UnpackOptions o;
      if (const auto* f = op.builtin_options_as_UnpackOptions(); has && f) {
        o = {f->num(), f->axis()};
      }
      out.options = o;
      break;
    }
    case T::ArgMaxOptions:
    case T::ArgMinOptions: {
      ArgMinMaxOptions o;
      const fb::TensorType type = expected == T::ArgMaxOptions
                                      ? (op.builtin_options_as_ArgMaxOptions() != nullptr
                                             ? op.builtin_options_as_ArgMaxOptions()->output_type()
                                             : fb::TensorType::INT64)
                                      : (op.builtin_options_as_ArgMinOptions() != nullptr
                                             ? op.builtin_options_as_ArgMinOptions()->output_type()
                                             : fb::TensorType::INT64);
      const int code = static_cast<int>(type);
      if (code < 0 || code > kMaxTensorType) fail("{}: unknown output type {}", where, code);
      o.output_type = static_cast<DType>(code);
      out.options = o;
      break;
    }
    case T::ResizeBilinearOptions: {
      ResizeOptions o;
      if (const auto* f = op.builtin_options_as_ResizeBilinearOptions(); has && f) {
        o = {f->align_corners(), f->half_pixel_centers()};
      }
      out.options = o;
      break;
    }
    case T::ResizeNearestNeighborOptions: {
      ResizeOptions o;
      if (const auto* f = op.builtin_options_as_ResizeNearestNeighborOptions(); has && f) {
        o = {f->align_corners(), f->half_pixel_centers()};
      }
      out.options = o;
      break;
    }
    case T::SpaceToDepthOptions: {
      DepthSpaceOptions o;
      if (const auto* f = op.builtin_options_as_SpaceToDepthOptions(); has && f) {
        o.block_size = f->block_size();
      }
      out.options = o;
      break;
    }
    case T::DepthToSpaceOptions: {
      DepthSpaceOptions o;
      if (const auto* f = op.builtin_options_as_DepthToSpaceOptions(); has && f) {
        o.block_size = f->block_size();
      }
      out.options = o;
      break;
    }
    case T::VarHandleOptions: {
      VarHandleOptions o;
      if (const auto* f = op.builtin_options_as_VarHandleOptions(); has && f) {
        o = {to_string(f->container()), to_string(f->shared_name())};
      }
      out.options = o;
      break;
    }
    case T::CallOptions: {
      CallOptions o;
      if (const auto* f = op.builtin_options_as_CallOptions(); has && f) {
        o.subgraph = static_cast<uint32_t>(subgraph_index(f->subgraph()));
      }
      out.options = o;
      break;
    }
    case T::CallOnceOptions: {
      CallOptions o;
      if (const auto* f = op.builtin_options_as_CallOnceOptions(); has && f) {
        o.subgraph = static_cast<uint32_t>(subgraph_index(f->init_subgraph_index()));
      }
      out.options = o;
      break;
    }
    case T::IfOptions: {
      ControlFlowOptions o;
      if (const auto* f = op.builtin_options_as_IfOptions(); has && f) {
        o = {static_cast<int32_t>(subgraph_index(f->then_subgraph_index())),
             static_cast<int32_t>(subgraph_index(f->else_subgraph_index()))};
      }
      out.options = o;
      break;
    }
    case T::WhileOptions: {
      ControlFlowOptions o;
      if (const auto* f = op.builtin_options_as_WhileOptions(); has && f) {
        o = {static_cast<int32_t>(subgraph_index(f->cond_subgraph_index())),
             static_cast<int32_t>(subgraph_index(f->body_subgraph_index()))};
      }
      out.options = o;
      break;
    }
    default:
      break;
  }
}

Operator Reader::read_operator(const fb::Operator& op, const std::string& where,
                               const std::vector<OperatorCode>& codes, size_t tensor_count,
                               size_t subgraph_count) const {
  Operator out;
  out.opcode_index = op.opcode_index();
  if (out.opcode_index >= codes.size()) {
    fail("{}: refers to operator code {} but the model has {} operator codes", where,
         out.opcode_index, codes.size());
  }
  const OperatorCode& code = codes[out.opcode_index];
  out.op = code.op;
  out.custom_code = code.custom_code;
  out.version = code.version;
  const std::string named = fmt::format("{} ({})", where, out.name());

  const auto read_indices = [&](const flatbuffers::Vector<int32_t>* indices, const char* role,
                                bool optional_allowed) {
    std::vector<int32_t> result = to_vector(indices);
    for (size_t i = 0; i < result.size(); ++i) {
      const int32_t tensor = result[i];
      if (tensor == kNoTensor && optional_allowed) continue;
      if (tensor < 0 || static_cast<size_t>(tensor) >= tensor_count) {
        fail("{}: {} {} refers to tensor {} but the subgraph has {} tensors", named, role, i,
             tensor, tensor_count);
      }
    }
    return result;
  };
  out.inputs = read_indices(op.inputs(), "input", true);
  out.outputs = read_indices(op.outputs(), "output", false);
  out.intermediates = read_indices(op.intermediates(), "intermediate", true);
  out.custom_options = to_vector(op.custom_options());
  if (op.large_custom_options_offset() > 1) {
    const uint64_t offset = op.large_custom_options_offset();
    const uint64_t size = op.large_custom_options_size();
    if (offset > file_.size() || size > file_.size() - offset) {
      fail("{}: custom options at bytes {}.. lie outside the {}-byte file", named, offset,
           file_.size());
    }
    const auto begin = file_.begin() + static_cast<std::ptrdiff_t>(offset);
    out.custom_options.assign(begin, begin + static_cast<std::ptrdiff_t>(size));
  }
  read_options(op, out, named, subgraph_count);
  return out;
}

void Reader::check_data_flow(const Subgraph& graph, size_t index) const {
  // Walking the operators in stored order, every value must exist before it is read: this
  // rejects cycles and references to tensors nothing computes.
  std::vector<bool> available(graph.tensors.size(), false);
  std::vector<bool> written(graph.tensors.size(), false);
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    available[t] = graph.tensors[t].is_constant() || graph.tensors[t].is_variable;
  }
  for (const int32_t input : graph.inputs) available[static_cast<size_t>(input)] = true;
  for (size_t o = 0; o < graph.operators.size(); ++o) {
    const Operator& op = graph.operators[o];
    for (const int32_t input : op.inputs) {
      if (input == kNoTensor || available[static_cast<size_t>(input)]) continue;
      fail(
          "subgraph {}, operator {} ({}): reads tensor {} ('{}') before any operator writes it "
          "(a cycle, or a value nothing computes)",
          index, o, op.name(), input, printable(graph.tensors[static_cast<size_t>(input)].name));
    }
    for (const int32_t output : op.outputs) {
      const auto t = static_cast<size_t>(output);
      if (graph.tensors[t].is_constant()) {
        fail("subgraph {}, operator {} ({}): writes tensor {} ('{}'), which holds constant data",
             index, o, op.name(), output, printable(graph.tensors[t].name));
      }
      if (written[t]) {
        fail(
            "subgraph {}, operator {} ({}): writes tensor {} ('{}'), which an earlier operator "
            "already wrote",
            index, o, op.name(), output, printable(graph.tensors[t].name));
      }
      written[t] = true;
      available[t] = true;
    }
  }
  for (const int32_t output : graph.outputs) {
    if (!available[static_cast<size_t>(output)]) {
      fail("subgraph {}: output tensor {} ('{}') is never computed", index, output,
           printable(graph.tensors[static_cast<size_t>(output)].name));
    }
  }
}

Subgraph Reader::read_subgraph(const fb::SubGraph& graph, size_t index,
                               const std::vector<OperatorCode>& codes,
                               size_t subgraph_count) const {
  Subgraph out;
  out.name = to_string(graph.name());
  if (const auto* tensors = graph.tensors(); tensors != nullptr) {
    out.tensors.reserve(tensors->size());
    for (flatbuffers::uoffset_t t = 0; t < tensors->size(); ++t) {
      out.tensors.push_back(read_tensor(*tensors->Get(t), index, t));
    }
  }
  const size_t tensor_count = out.tensors.size();
  const auto io = [&](const flatbuffers::Vector<int32_t>* indices, const char* role) {
    std::vector<int32_t> result = to_vector(indices);
    for (size_t i = 0; i < result.size(); ++i) {
      if (result[i] < 0 || static_cast<size_t>(result[i]) >= tensor_count) {
        fail("subgraph {}: {} {} refers to tensor {} but the subgraph has {} tensors", index, role,
             i, result[i], tensor_count);
      }
    }
    return result;
  };
  out.inputs = io(graph.inputs(), "input");
  out.outputs = io(graph.outputs(), "output");
  for (size_t i = 0; i < out.inputs.size(); ++i) {
    Tensor& input = out.tensors[static_cast<size_t>(out.inputs[i])];
    if (!input.is_constant()) continue;
    // TFLite Micro points such an input at its buffer, and what the caller writes there before
    // an invoke is what the operators read: the data is no constant, whatever lowering could
    // prepare from it.
    note(
        "subgraph {}: input {} is tensor {} ('{}'), which holds {} bytes of data; the value "
        "given at run time is used instead",
        index, i, out.inputs[i], printable(input.name), input.data->size);
    input.data.reset();
  }
  if (const auto* ops = graph.operators(); ops != nullptr) {
    out.operators.reserve(ops->size());
    for (flatbuffers::uoffset_t o = 0; o < ops->size(); ++o) {
      const std::string where = fmt::format("subgraph {}, operator {}", index, o);
      out.operators.push_back(
          read_operator(*ops->Get(o), where, codes, tensor_count, subgraph_count));
    }
  }
  check_data_flow(out, index);
  return out;
}

Model Reader::read(const fb::Model& root) {
  Model model;
  model.path = name_;
  model.schema_version = root.version();
  model.description = to_string(root.description());
  read_buffers(root);

  if (const auto* codes = root.operator_codes(); codes != nullptr) {
    for (flatbuffers::uoffset_t i = 0; i < codes->size(); ++i) {
      model.operator_codes.push_back(read_operator_code(*codes->Get(i), i));
    }
  }
  const auto* subgraphs = root.subgraphs();
  if (subgraphs == nullptr || subgraphs->size() == 0) fail("the model has no subgraphs");
  for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
    model.subgraphs.push_back(
        read_subgraph(*subgraphs->Get(s), s, model.operator_codes, subgraphs->size()));
  }

  if (const auto* signatures = root.signature_defs(); signatures != nullptr) {
    for (flatbuffers::uoffset_t i = 0; i < signatures->size(); ++i) {
      const fb::SignatureDef& def = *signatures->Get(i);
      SignatureDef out;
      out.key = to_string(def.signature_key());
      out.subgraph = def.subgraph_index();
      // TFLite Micro does not read signatures: one that points nowhere is left out, not fatal.
      if (out.subgraph >= model.subgraphs.size()) {
        note(
            "signature {} ('{}') refers to subgraph {} but the model has {} subgraphs; it is "
            "ignored",
            i, printable(out.key), out.subgraph, model.subgraphs.size());
        continue;
      }
      const size_t tensor_count = model.subgraphs[out.subgraph].tensors.size();
      bool valid = true;
      const auto entries = [&](const auto* maps, const char* role) {
        std::vector<TensorMapEntry> result;
        if (maps == nullptr) return result;
        for (flatbuffers::uoffset_t m = 0; m < maps->size() && valid; ++m) {
          TensorMapEntry entry{to_string(maps->Get(m)->name()), maps->Get(m)->tensor_index()};
          if (entry.tensor >= tensor_count) {
            note(
                "signature {} ('{}'): {} '{}' refers to tensor {} but subgraph {} has {} "
                "tensors; the signature is ignored",
                i, printable(out.key), role, printable(entry.name), entry.tensor, out.subgraph,
                tensor_count);
            valid = false;
          }
          result.push_back(std::move(entry));
        }
        return result;
      };
      out.inputs = entries(def.inputs(), "input");
      out.outputs = entries(def.outputs(), "output");
      if (valid) model.signatures.push_back(std::move(out));
    }
  }

  if (const auto* metadata = root.metadata(); metadata != nullptr) {
    for (flatbuffers::uoffset_t i = 0; i < metadata->size(); ++i) {
      Metadata out{to_string(metadata->Get(i)->name()), metadata->Get(i)->buffer(), {}};
      if (out.buffer >= buffers_.size()) {
        // Nothing tinydeploy does depends on metadata, and TFLite Micro reads only its own
        // entries: a broken one is left out.
        note("metadata {} ('{}') refers to buffer {} but the model has {} buffers; it is ignored",
             i, printable(out.name), out.buffer, buffers_.size());
        continue;
      }
      out.data = buffers_[out.buffer].value_or(ByteRange{});
      model.metadata.push_back(std::move(out));
    }
  }
  model.reader_notes = std::move(notes_);
  return model;
}

}  // namespace

Model parse_model(std::vector<uint8_t> bytes, std::string display_name) {
  if (bytes.empty()) throw Error("{}: the file is empty", display_name);
  if (bytes.size() > kMaxModelFileBytes) {
    throw Error("{}: {} bytes is larger than the {} bytes tinydeploy accepts", display_name,
                bytes.size(), kMaxModelFileBytes);
  }
  if (bytes.size() < 8) {
    throw Error("{}: {} bytes is too small to be a TFLite model", display_name, bytes.size());
  }
  // The verifier covers the FlatBuffer itself; data stored after it (large models) is
  // bound-checked separately.
  const size_t verified_size =
      std::min<size_t>(bytes.size(), static_cast<size_t>(FLATBUFFERS_MAX_BUFFER_SIZE) - 1);
  flatbuffers::Verifier::Options options;
  options.max_depth = 64;
  options.max_tables = 10'000'000;
  std::string identifier_note;
  if (!fb::ModelBufferHasIdentifier(bytes.data())) {
    std::string found(4, '?');
    std::transform(bytes.begin() + 4, bytes.begin() + 8, found.begin(),
                   [](uint8_t c) { return c >= 32 && c < 127 ? static_cast<char>(c) : '?'; });
    // TFLite Micro does not look at the identifier; a file that is a valid model without it is
    // read, anything else is not a model.
    flatbuffers::Verifier verifier(bytes.data(), verified_size, options);
    if (!verifier.VerifyBuffer<fb::Model>(nullptr)) {
      throw Error("{}: not a TFLite model (file identifier is '{}', expected 'TFL3')", display_name,
                  found);
    }
    identifier_note = fmt::format(
        "the file identifier is '{}', not 'TFL3'; the file is a valid model otherwise", found);
  } else {
    flatbuffers::Verifier verifier(bytes.data(), verified_size, options);
    if (!fb::VerifyModelBuffer(verifier)) {
      throw Error("{}: the file is corrupt or truncated (FlatBuffer verification failed)",
                  display_name);
    }
  }
  Model model = Reader(bytes, display_name).read(*fb::GetModel(bytes.data()));
  if (!identifier_note.empty()) {
    model.reader_notes.insert(model.reader_notes.begin(), identifier_note);
  }
  model.file = std::move(bytes);
  resolve_resource_variables(model);
  unpack_int4_weights(model);
  return model;
}

Model read_model(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error || !std::filesystem::exists(status)) throw Error("{}: no such file", name);
  if (std::filesystem::is_directory(status)) {
    throw Error("{}: is a directory, expected a .tflite file", name);
  }
  if (!std::filesystem::is_regular_file(status)) throw Error("{}: not a regular file", name);
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw Error("{}: cannot read the file size ({})", name, error.message());
  if (size > kMaxModelFileBytes) {
    throw Error("{}: {} bytes is larger than the {} bytes tinydeploy accepts", name, size,
                kMaxModelFileBytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("{}: cannot open the file for reading", name);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size())) {
    throw Error("{}: the file changed or could not be read completely", name);
  }
  return parse_model(std::move(bytes), name);
}

}  // namespace tinydeploy::model
