#include "model_mutator.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "tinydeploy/analysis/layers.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/model/graph.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/model/tflite_schema_generated.h"

namespace tinydeploy::fuzz {
namespace {

namespace fb = tinydeploy::tflite;
using model::BuiltinOp;
using Options = fb::BuiltinOptions;

// The operators the runtime has kernels for: what an opcode mutation usually switches to.
constexpr BuiltinOp kRuntimeOps[] = {
    BuiltinOp::CONV_2D,
    BuiltinOp::DEPTHWISE_CONV_2D,
    BuiltinOp::FULLY_CONNECTED,
    BuiltinOp::TRANSPOSE_CONV,
    BuiltinOp::AVERAGE_POOL_2D,
    BuiltinOp::MAX_POOL_2D,
    BuiltinOp::ADD,
    BuiltinOp::SUB,
    BuiltinOp::MUL,
    BuiltinOp::MAXIMUM,
    BuiltinOp::MINIMUM,
    BuiltinOp::RELU,
    BuiltinOp::RELU6,
    BuiltinOp::RELU_N1_TO_1,
    BuiltinOp::LEAKY_RELU,
    BuiltinOp::LOGISTIC,
    BuiltinOp::TANH,
    BuiltinOp::HARD_SWISH,
    BuiltinOp::SOFTMAX,
    BuiltinOp::QUANTIZE,
    BuiltinOp::DEQUANTIZE,
    BuiltinOp::RESHAPE,
    BuiltinOp::SQUEEZE,
    BuiltinOp::EXPAND_DIMS,
    BuiltinOp::PAD,
    BuiltinOp::PADV2,
    BuiltinOp::CONCATENATION,
    BuiltinOp::STRIDED_SLICE,
    BuiltinOp::TRANSPOSE,
    BuiltinOp::MEAN,
};

constexpr fb::TensorType kTensorTypes[] = {
    fb::TensorType::FLOAT32, fb::TensorType::INT8,    fb::TensorType::INT16,
    fb::TensorType::INT32,   fb::TensorType::UINT8,   fb::TensorType::INT64,
    fb::TensorType::BOOL,    fb::TensorType::FLOAT16, fb::TensorType::INT4,
    fb::TensorType::FLOAT64, fb::TensorType::UINT32,  fb::TensorType::STRING,
};

// Repairs never grow a constant or a derived shape beyond this; larger changes stay unrepaired
// (the reader or the pipeline's limits refuse them).
constexpr int64_t kMaxRepairedBytes = int64_t{1} << 22;
constexpr int64_t kMaxRepairedElements = int64_t{1} << 24;

enum class Kind {
  Dimension,
  Rank,
  Scale,
  ZeroPoint,
  QuantizedDimension,
  QuantizationCount,
  ConstantBytes,
  ConstantValue,
  Option,
  OperatorTensor,
  TensorType,
  Opcode,
  GraphTensor,
};

// Relative frequency of each kind, in the order above.
constexpr double kKindWeights[] = {12, 3, 8, 8, 3, 3, 6, 12, 22, 7, 6, 7, 2};

std::vector<uint8_t> pack(const fb::ModelT& model) {
  flatbuffers::FlatBufferBuilder builder(1024);
  fb::FinishModelBuffer(builder, fb::Model::Pack(builder, &model));
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

int32_t clamp32(int64_t value) {
  return static_cast<int32_t>(std::clamp<int64_t>(value, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

class Mutator {
 public:
  Mutator(fb::ModelT& model, uint32_t seed, ByteMutator byte_mutator)
      : model_(model), random_(seed), byte_mutator_(byte_mutator) {}

  // Applies one mutation of a randomly chosen kind; false when that kind has nothing to change
  // in this model.
  bool mutate() {
    std::discrete_distribution<int> pick_kind(std::begin(kKindWeights), std::end(kKindWeights));
    kind_ = static_cast<Kind>(pick_kind(random_));
    switch (kind_) {
      case Kind::Dimension:
        return mutate_dimension();
      case Kind::Rank:
        return mutate_rank();
      case Kind::Scale:
        return mutate_scale();
      case Kind::ZeroPoint:
        return mutate_zero_point();
      case Kind::QuantizedDimension:
        return mutate_quantized_dimension();
      case Kind::QuantizationCount:
        return mutate_quantization_count();
      case Kind::ConstantBytes:
        return mutate_constant_bytes();
      case Kind::ConstantValue:
        return mutate_constant_value();
      case Kind::Option:
        return mutate_option();
      case Kind::OperatorTensor:
        return mutate_operator_tensor();
      case Kind::TensorType:
        return mutate_tensor_type();
      case Kind::Opcode:
        return mutate_opcode();
      case Kind::GraphTensor:
        return mutate_graph_tensor();
    }
    return false;
  }

  // Makes the rest of the model agree with the mutation where that is mechanical. Skipped now
  // and then so that unrepaired inconsistencies are exercised too.
  void repair() {
    if (chance(8)) return;
    if (touched_tensor_ &&
        (kind_ == Kind::Dimension || kind_ == Kind::Rank || kind_ == Kind::TensorType)) {
      if (kind_ != Kind::TensorType) repair_channel_count(*touched_tensor_);
      repair_constant_size(*touched_tensor_);
    }
    repair_output_shapes();
  }

  const std::string& description() const { return description_; }

 private:
  // --- random choices ----------------------------------------------------------------------

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  int64_t between(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random_);
  }
  template <typename T, size_t N>
  T one_of(const T (&values)[N]) {
    return values[below(N)];
  }

  int32_t interesting_int(int32_t old) {
    const int64_t o = old;
    const int64_t values[] = {0,     1,     2,     3,       4,        -1,        -2,        7,
                              8,     16,    127,   128,     255,      256,       1000,      32767,
                              32768, 65535, 65536, 1 << 24, 1 << 30,  INT32_MAX, INT32_MIN, o + 1,
                              o - 1, o * 2, o / 2, -o,      o * 1000, o + 256};
    return clamp32(one_of(values));
  }

  // Mostly small values near the old one, where kernels do real work; sometimes extremes.
  int32_t small_int(int32_t old) {
    if (chance(70)) return clamp32(between(-2, std::max<int64_t>(8, int64_t{old} * 2 + 2)));
    return interesting_int(old);
  }

  float interesting_float(float old) {
    const float values[] = {0.0f,
                            -0.0f,
                            1.0f,
                            -1.0f,
                            0.5f,
                            2.0f,
                            1e-10f,
                            1e-30f,
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::min(),
                            1e10f,
                            1e30f,
                            std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::lowest(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            old * 2.0f,
                            old * 0.5f,
                            old * 1024.0f,
                            old / 1024.0f,
                            -old,
                            std::nextafter(old, std::numeric_limits<float>::infinity())};
    return one_of(values);
  }

  int64_t interesting_zero_point(int64_t old) {
    const int64_t values[] = {0,
                              1,
                              -1,
                              127,
                              128,
                              -128,
                              -129,
                              255,
                              256,
                              32767,
                              32768,
                              -32768,
                              -32769,
                              INT32_MAX,
                              INT32_MIN,
                              INT64_MAX,
                              INT64_MIN,
                              old == INT64_MAX ? old : old + 1,
                              old == INT64_MIN ? old : old - 1};
    return one_of(values);
  }

  // --- what to change ----------------------------------------------------------------------

  fb::SubGraphT& graph() { return *model_.subgraphs.front(); }

  bool is_constant(const fb::TensorT& tensor) const {
    return tensor.buffer < model_.buffers.size() && model_.buffers[tensor.buffer] != nullptr &&
           !model_.buffers[tensor.buffer]->data.empty();
  }

  // A tensor of subgraph 0. With `prefer_sources`, mostly one whose shape and type feed the
  // rest of the graph (a constant, a graph input, a tensor no operator writes): a change there
  // propagates through the shape repair instead of being undone by it.
  std::optional<size_t> pick_tensor(bool prefer_sources) {
    const auto& tensors = graph().tensors;
    if (tensors.empty()) return std::nullopt;
    if (prefer_sources && chance(80)) {
      std::set<int32_t> written;
      for (const auto& op : graph().operators) {
        if (op) written.insert(op->outputs.begin(), op->outputs.end());
      }
      std::vector<size_t> sources;
      for (size_t t = 0; t < tensors.size(); ++t) {
        if (tensors[t] && !written.count(static_cast<int32_t>(t))) sources.push_back(t);
      }
      if (!sources.empty()) return sources[below(sources.size())];
    }
    const size_t t = below(tensors.size());
    if (!tensors[t]) return std::nullopt;
    return t;
  }

  template <typename Predicate>
  std::optional<size_t> pick_tensor_where(Predicate predicate) {
    std::vector<size_t> matching;
    const auto& tensors = graph().tensors;
    for (size_t t = 0; t < tensors.size(); ++t) {
      if (tensors[t] && predicate(*tensors[t])) matching.push_back(t);
    }
    if (matching.empty()) return std::nullopt;
    return matching[below(matching.size())];
  }

  std::optional<size_t> pick_operator() {
    if (graph().operators.empty()) return std::nullopt;
    const size_t i = below(graph().operators.size());
    if (!graph().operators[i]) return std::nullopt;
    return i;
  }

  std::string tensor_text(size_t t) {
    return fmt::format("tensor {} '{}'", t, graph().tensors[t]->name);
  }

  std::optional<BuiltinOp> op_of(const fb::OperatorT& op) const {
    if (op.opcode_index >= model_.operator_codes.size() ||
        !model_.operator_codes[op.opcode_index]) {
      return std::nullopt;
    }
    const fb::OperatorCodeT& code = *model_.operator_codes[op.opcode_index];
    return static_cast<BuiltinOp>(
        std::max<int32_t>(code.deprecated_builtin_code, code.builtin_code));
  }

  // --- mutations ---------------------------------------------------------------------------

  bool mutate_dimension() {
    const auto t = pick_tensor(true);
    if (!t) return false;
    fb::TensorT& tensor = *graph().tensors[*t];
    if (tensor.shape.empty()) return false;
    const size_t d = below(tensor.shape.size());
    const int32_t old = tensor.shape[d];
    tensor.shape[d] = chance(75) ? clamp32(between(0, std::max<int64_t>(4, int64_t{old} * 2)))
                                 : interesting_int(old);
    if (d < tensor.shape_signature.size() && tensor.shape_signature[d] != -1) {
      tensor.shape_signature[d] = tensor.shape[d];
    }
    touched_tensor_ = *t;
    description_ =
        fmt::format("{} dimension {}: {} -> {}", tensor_text(*t), d, old, tensor.shape[d]);
    return true;
  }

  bool mutate_rank() {
    const auto t = pick_tensor(true);
    if (!t) return false;
    fb::TensorT& tensor = *graph().tensors[*t];
    const bool matching_signature = tensor.shape_signature.size() == tensor.shape.size();
    const size_t old_rank = tensor.shape.size();
    if (!tensor.shape.empty() && chance(50)) {
      const size_t d = below(tensor.shape.size());
      tensor.shape.erase(tensor.shape.begin() + static_cast<std::ptrdiff_t>(d));
      if (matching_signature) {
        tensor.shape_signature.erase(tensor.shape_signature.begin() +
                                     static_cast<std::ptrdiff_t>(d));
      }
    } else {
      const size_t d = below(tensor.shape.size() + 1);
      const int32_t dim = chance(80) ? 1 : small_int(1);
      tensor.shape.insert(tensor.shape.begin() + static_cast<std::ptrdiff_t>(d), dim);
      if (matching_signature && !tensor.shape_signature.empty()) {
        tensor.shape_signature.insert(
            tensor.shape_signature.begin() + static_cast<std::ptrdiff_t>(d), dim);
      }
    }
    touched_tensor_ = *t;
    description_ = fmt::format("{} rank {} -> {}", tensor_text(*t), old_rank, tensor.shape.size());
    return true;
  }

  bool mutate_scale() {
    auto t = pick_tensor_where(
        [](const fb::TensorT& x) { return x.quantization && !x.quantization->scale.empty(); });
    if (!t || chance(5)) {
      // Quantize a tensor that was not.
      t = pick_tensor(false);
      if (!t) return false;
      auto& q = graph().tensors[*t]->quantization;
      if (!q) q = std::make_unique<fb::QuantizationParametersT>();
      q->scale = {interesting_float(0.05f)};
      q->zero_point = {0};
      description_ = fmt::format("{} quantized with scale {}", tensor_text(*t), q->scale[0]);
      return true;
    }
    auto& scales = graph().tensors[*t]->quantization->scale;
    const size_t i = below(scales.size());
    const float old = scales[i];
    scales[i] = interesting_float(old);
    description_ = fmt::format("{} scale[{}]: {} -> {}", tensor_text(*t), i, old, scales[i]);
    return true;
  }

  bool mutate_zero_point() {
    const auto t = pick_tensor_where(
        [](const fb::TensorT& x) { return x.quantization && !x.quantization->scale.empty(); });
    if (!t) return false;
    fb::QuantizationParametersT& q = *graph().tensors[*t]->quantization;
    if (q.zero_point.size() != q.scale.size()) q.zero_point.assign(q.scale.size(), 0);
    const size_t i = below(q.zero_point.size());
    const int64_t old = q.zero_point[i];
    q.zero_point[i] = interesting_zero_point(old);
    description_ =
        fmt::format("{} zero_point[{}]: {} -> {}", tensor_text(*t), i, old, q.zero_point[i]);
    return true;
  }

  bool mutate_quantized_dimension() {
    const auto t = pick_tensor_where(
        [](const fb::TensorT& x) { return x.quantization && !x.quantization->scale.empty(); });
    if (!t) return false;
    fb::TensorT& tensor = *graph().tensors[*t];
    fb::QuantizationParametersT& q = *tensor.quantization;
    const int32_t old = q.quantized_dimension;
    q.quantized_dimension = chance(80)
                                ? clamp32(between(-1, static_cast<int64_t>(tensor.shape.size())))
                                : interesting_int(old);
    description_ = fmt::format("{} quantized_dimension: {} -> {}", tensor_text(*t), old,
                               q.quantized_dimension);
    return true;
  }

  bool mutate_quantization_count() {
    const auto t = pick_tensor_where(
        [](const fb::TensorT& x) { return x.quantization && !x.quantization->scale.empty(); });
    if (!t) return false;
    fb::TensorT& tensor = *graph().tensors[*t];
    fb::QuantizationParametersT& q = *tensor.quantization;
    const size_t old = q.scale.size();
    if (chance(15)) {
      tensor.quantization.reset();
      description_ = fmt::format("{} quantization removed", tensor_text(*t));
      return true;
    }
    size_t count = 1;
    switch (below(4)) {
      case 0:
        count = 1;
        break;
      case 1:
        count = old + 1;
        break;
      case 2:
        count = old > 1 ? old - 1 : 2;
        break;
      default:
        // As many as some dimension of the tensor has: per-channel along another axis.
        if (!tensor.shape.empty()) {
          const size_t d = below(tensor.shape.size());
          q.quantized_dimension = static_cast<int32_t>(d);
          count = static_cast<size_t>(std::clamp(tensor.shape[d], 1, 4096));
        }
        break;
    }
    const float last_scale = q.scale.back();
    q.scale.resize(count, last_scale);
    if (!q.zero_point.empty()) q.zero_point.resize(count, q.zero_point.back());
    description_ = fmt::format("{} {} scales -> {} (quantized_dimension {})", tensor_text(*t), old,
                               count, q.quantized_dimension);
    return true;
  }

  std::optional<size_t> pick_constant() {
    return pick_tensor_where([this](const fb::TensorT& x) { return is_constant(x); });
  }

  bool mutate_constant_bytes() {
    const auto t = pick_constant();
    if (!t) return false;
    std::vector<uint8_t>& data = model_.buffers[graph().tensors[*t]->buffer]->data;
    const size_t size = data.size();
    if (byte_mutator_ != nullptr) {
      const size_t used = byte_mutator_(data.data(), size, size);
      data.resize(std::min(used, size));
      data.resize(size, 0);
    } else {
      for (int flips = 0; flips < 4; ++flips) {
        data[below(size)] ^= static_cast<uint8_t>(1u << below(8));
      }
    }
    description_ = fmt::format("{} constant bytes mutated", tensor_text(*t));
    return true;
  }

  template <typename T>
  void store(std::vector<uint8_t>& data, size_t index, T value) {
    std::memcpy(data.data() + index * sizeof(T), &value, sizeof(T));
  }
  template <typename T>
  T load(const std::vector<uint8_t>& data, size_t index) {
    T value;
    std::memcpy(&value, data.data() + index * sizeof(T), sizeof(T));
    return value;
  }

  bool mutate_constant_value() {
    const auto t = pick_constant();
    if (!t) return false;
    const fb::TensorT& tensor = *graph().tensors[*t];
    std::vector<uint8_t>& data = model_.buffers[tensor.buffer]->data;
    std::string change;
    switch (tensor.type) {
      case fb::TensorType::INT8:
      case fb::TensorType::UINT8:
      case fb::TensorType::BOOL: {
        const size_t i = below(data.size());
        const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe};
        data[i] = one_of(values);
        change = fmt::format("byte {} -> {}", i, data[i]);
        break;
      }
      case fb::TensorType::INT16: {
        if (data.size() < 2) return false;
        const size_t i = below(data.size() / 2);
        const int16_t values[] = {0, 1, -1, INT16_MAX, INT16_MIN, 256};
        store(data, i, one_of(values));
        change = fmt::format("element {} -> {}", i, load<int16_t>(data, i));
        break;
      }
      case fb::TensorType::INT32: {
        if (data.size() < 4) return false;
        const size_t i = below(data.size() / 4);
        // Small int32 constants are mostly shape operands (new shapes, paddings, axes, slice
        // bounds): mostly small values for those.
        const int32_t old = load<int32_t>(data, i);
        const int32_t value = data.size() <= 64 ? small_int(old) : interesting_int(old);
        store(data, i, value);
        change = fmt::format("element {}: {} -> {}", i, old, value);
        break;
      }
      case fb::TensorType::INT64: {
        if (data.size() < 8) return false;
        const size_t i = below(data.size() / 8);
        const int64_t value = interesting_zero_point(load<int64_t>(data, i));
        store(data, i, value);
        change = fmt::format("element {} -> {}", i, value);
        break;
      }
      case fb::TensorType::FLOAT32: {
        if (data.size() < 4) return false;
        const size_t i = below(data.size() / 4);
        const float value = interesting_float(load<float>(data, i));
        store(data, i, value);
        change = fmt::format("element {} -> {}", i, value);
        break;
      }
      default: {
        const size_t i = below(data.size());
        data[i] = static_cast<uint8_t>(below(256));
        change = fmt::format("byte {} -> {}", i, data[i]);
        break;
      }
    }
    description_ = fmt::format("{} constant {}", tensor_text(*t), change);
    return true;
  }

  // --- operator options --------------------------------------------------------------------

  std::string set_int(const char* name, int32_t& field) {
    const int32_t old = field;
    field = small_int(old);
    return fmt::format("{} {} -> {}", name, old, field);
  }
  std::string set_bool(const char* name, bool& field) {
    field = !field;
    return fmt::format("{} -> {}", name, field);
  }
  std::string set_float(const char* name, float& field) {
    const float old = field;
    field = interesting_float(old);
    return fmt::format("{} {} -> {}", name, old, field);
  }
  std::string set_padding(fb::Padding& field) {
    const int8_t values[] = {0, 1, 0, 1, 2, -1};
    const auto old = static_cast<int>(field);
    field = static_cast<fb::Padding>(one_of(values));
    return fmt::format("padding {} -> {}", old, static_cast<int>(field));
  }
  std::string set_activation(fb::ActivationFunctionType& field) {
    const int8_t values[] = {0, 1, 2, 3, 4, 5, 0, 1, 3, 6, 127, -1};
    const auto old = static_cast<int>(field);
    field = static_cast<fb::ActivationFunctionType>(one_of(values));
    return fmt::format("activation {} -> {}", old, static_cast<int>(field));
  }
  std::string set_type(const char* name, fb::TensorType& field) {
    const auto old = static_cast<int>(field);
    field = chance(90) ? one_of(kTensorTypes) : static_cast<fb::TensorType>(between(-1, 30));
    return fmt::format("{} {} -> {}", name, old, static_cast<int>(field));
  }
  std::string set_ints(const char* name, std::vector<int32_t>& values) {
    if (values.empty() || chance(20)) {
      values.push_back(small_int(0));
      return fmt::format("{} gains {}", name, values.back());
    }
    if (chance(15)) {
      values.pop_back();
      return fmt::format("{} loses its last value", name);
    }
    const size_t i = below(values.size());
    const int32_t old = values[i];
    values[i] = small_int(old);
    return fmt::format("{}[{}] {} -> {}", name, i, old, values[i]);
  }
  std::string set_mask(const char* name, int32_t& field) {
    const int32_t old = field;
    field = chance(80) ? (field ^ (1 << below(6))) : interesting_int(old);
    return fmt::format("{} {} -> {}", name, old, field);
  }

  // Options a fresh operator of kind `op` gets: working defaults, not the format's zeros.
  void default_options(BuiltinOp op, fb::BuiltinOptionsUnion& options) {
    options.Reset();
    switch (op) {
      case BuiltinOp::CONV_2D: {
        fb::Conv2DOptionsT o;
        o.padding = chance(50) ? fb::Padding::SAME : fb::Padding::VALID;
        o.stride_w = o.stride_h = 1;
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::DEPTHWISE_CONV_2D: {
        fb::DepthwiseConv2DOptionsT o;
        o.padding = chance(50) ? fb::Padding::SAME : fb::Padding::VALID;
        o.stride_w = o.stride_h = 1;
        o.depth_multiplier = 1;
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::TRANSPOSE_CONV: {
        fb::TransposeConvOptionsT o;
        o.stride_w = o.stride_h = 1;
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::AVERAGE_POOL_2D:
      case BuiltinOp::MAX_POOL_2D: {
        fb::Pool2DOptionsT o;
        o.padding = chance(50) ? fb::Padding::SAME : fb::Padding::VALID;
        o.stride_w = o.stride_h = 1;
        o.filter_width = o.filter_height = static_cast<int32_t>(1 + below(3));
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::FULLY_CONNECTED:
        options.Set(fb::FullyConnectedOptionsT{});
        break;
      case BuiltinOp::SOFTMAX: {
        fb::SoftmaxOptionsT o;
        o.beta = 1.0f;
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::CONCATENATION: {
        fb::ConcatenationOptionsT o;
        o.axis = -1;
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::ADD:
        options.Set(fb::AddOptionsT{});
        break;
      case BuiltinOp::SUB:
        options.Set(fb::SubOptionsT{});
        break;
      case BuiltinOp::MUL:
        options.Set(fb::MulOptionsT{});
        break;
      case BuiltinOp::RESHAPE:
        options.Set(fb::ReshapeOptionsT{});
        break;
      case BuiltinOp::SQUEEZE:
        options.Set(fb::SqueezeOptionsT{});
        break;
      case BuiltinOp::STRIDED_SLICE:
        options.Set(fb::StridedSliceOptionsT{});
        break;
      case BuiltinOp::MEAN: {
        fb::ReducerOptionsT o;
        o.keep_dims = chance(50);
        options.Set(std::move(o));
        break;
      }
      case BuiltinOp::LEAKY_RELU: {
        fb::LeakyReluOptionsT o;
        o.alpha = 0.2f;
        options.Set(std::move(o));
        break;
      }
      default:
        break;
    }
  }

  // Changes one field of the options table; "" when the table has no field to change.
  std::string mutate_fields(fb::BuiltinOptionsUnion& u) {
    switch (u.type) {
      case Options::Conv2DOptions: {
        fb::Conv2DOptionsT& o = *u.AsConv2DOptions();
        switch (below(7)) {
          case 0:
            return set_padding(o.padding);
          case 1:
            return set_int("stride_w", o.stride_w);
          case 2:
            return set_int("stride_h", o.stride_h);
          case 3:
            return set_activation(o.fused_activation_function);
          case 4:
            return set_int("dilation_w", o.dilation_w_factor);
          case 5:
            return set_int("dilation_h", o.dilation_h_factor);
          default:
            return set_type("quantized_bias_type", o.quantized_bias_type);
        }
      }
      case Options::DepthwiseConv2DOptions: {
        fb::DepthwiseConv2DOptionsT& o = *u.AsDepthwiseConv2DOptions();
        switch (below(7)) {
          case 0:
            return set_padding(o.padding);
          case 1:
            return set_int("stride_w", o.stride_w);
          case 2:
            return set_int("stride_h", o.stride_h);
          case 3:
            return set_activation(o.fused_activation_function);
          case 4:
            return set_int("dilation_w", o.dilation_w_factor);
          case 5:
            return set_int("dilation_h", o.dilation_h_factor);
          default:
            return set_int("depth_multiplier", o.depth_multiplier);
        }
      }
      case Options::TransposeConvOptions: {
        fb::TransposeConvOptionsT& o = *u.AsTransposeConvOptions();
        switch (below(5)) {
          case 0:
            return set_padding(o.padding);
          case 1:
            return set_int("stride_w", o.stride_w);
          case 2:
            return set_int("stride_h", o.stride_h);
          case 3:
            return set_activation(o.fused_activation_function);
          default:
            return set_type("quantized_bias_type", o.quantized_bias_type);
        }
      }
      case Options::Pool2DOptions: {
        fb::Pool2DOptionsT& o = *u.AsPool2DOptions();
        switch (below(6)) {
          case 0:
            return set_padding(o.padding);
          case 1:
            return set_int("stride_w", o.stride_w);
          case 2:
            return set_int("stride_h", o.stride_h);
          case 3:
            return set_int("filter_width", o.filter_width);
          case 4:
            return set_int("filter_height", o.filter_height);
          default:
            return set_activation(o.fused_activation_function);
        }
      }
      case Options::FullyConnectedOptions: {
        fb::FullyConnectedOptionsT& o = *u.AsFullyConnectedOptions();
        switch (below(5)) {
          case 0:
            return set_activation(o.fused_activation_function);
          case 1:
            o.weights_format = static_cast<int8_t>(between(0, 2));
            return fmt::format("weights_format -> {}", o.weights_format);
          case 2:
            return set_bool("keep_num_dims", o.keep_num_dims);
          case 3:
            return set_bool("asymmetric_quantize_inputs", o.asymmetric_quantize_inputs);
          default:
            return set_type("quantized_bias_type", o.quantized_bias_type);
        }
      }
      case Options::SoftmaxOptions:
        return set_float("beta", u.AsSoftmaxOptions()->beta);
      case Options::ConcatenationOptions: {
        fb::ConcatenationOptionsT& o = *u.AsConcatenationOptions();
        if (chance(70)) return set_int("axis", o.axis);
        return set_activation(o.fused_activation_function);
      }
      case Options::AddOptions: {
        fb::AddOptionsT& o = *u.AsAddOptions();
        if (chance(70)) return set_activation(o.fused_activation_function);
        return set_bool("pot_scale_int16", o.pot_scale_int16);
      }
      case Options::SubOptions: {
        fb::SubOptionsT& o = *u.AsSubOptions();
        if (chance(70)) return set_activation(o.fused_activation_function);
        return set_bool("pot_scale_int16", o.pot_scale_int16);
      }
      case Options::MulOptions:
        return set_activation(u.AsMulOptions()->fused_activation_function);
      case Options::DivOptions:
        return set_activation(u.AsDivOptions()->fused_activation_function);
      case Options::ReshapeOptions:
        return set_ints("new_shape", u.AsReshapeOptions()->new_shape);
      case Options::SqueezeOptions:
        return set_ints("squeeze_dims", u.AsSqueezeOptions()->squeeze_dims);
      case Options::StridedSliceOptions: {
        fb::StridedSliceOptionsT& o = *u.AsStridedSliceOptions();
        switch (below(6)) {
          case 0:
            return set_mask("begin_mask", o.begin_mask);
          case 1:
            return set_mask("end_mask", o.end_mask);
          case 2:
            return set_mask("ellipsis_mask", o.ellipsis_mask);
          case 3:
            return set_mask("new_axis_mask", o.new_axis_mask);
          case 4:
            return set_mask("shrink_axis_mask", o.shrink_axis_mask);
          default:
            return set_bool("offset", o.offset);
        }
      }
      case Options::ReducerOptions:
        return set_bool("keep_dims", u.AsReducerOptions()->keep_dims);
      case Options::LeakyReluOptions:
        return set_float("alpha", u.AsLeakyReluOptions()->alpha);
      case Options::GatherOptions: {
        fb::GatherOptionsT& o = *u.AsGatherOptions();
        if (chance(50)) return set_int("axis", o.axis);
        return set_int("batch_dims", o.batch_dims);
      }
      case Options::SplitOptions:
        return set_int("num_splits", u.AsSplitOptions()->num_splits);
      case Options::SplitVOptions:
        return set_int("num_splits", u.AsSplitVOptions()->num_splits);
      case Options::PackOptions: {
        fb::PackOptionsT& o = *u.AsPackOptions();
        if (chance(50)) return set_int("values_count", o.values_count);
        return set_int("axis", o.axis);
      }
      case Options::UnpackOptions: {
        fb::UnpackOptionsT& o = *u.AsUnpackOptions();
        if (chance(50)) return set_int("num", o.num);
        return set_int("axis", o.axis);
      }
      case Options::SpaceToDepthOptions:
        return set_int("block_size", u.AsSpaceToDepthOptions()->block_size);
      case Options::DepthToSpaceOptions:
        return set_int("block_size", u.AsDepthToSpaceOptions()->block_size);
      case Options::ArgMaxOptions:
        return set_type("output_type", u.AsArgMaxOptions()->output_type);
      case Options::ArgMinOptions:
        return set_type("output_type", u.AsArgMinOptions()->output_type);
      case Options::BatchMatMulOptions: {
        fb::BatchMatMulOptionsT& o = *u.AsBatchMatMulOptions();
        if (chance(50)) return set_bool("adj_x", o.adj_x);
        return set_bool("adj_y", o.adj_y);
      }
      case Options::ResizeBilinearOptions: {
        fb::ResizeBilinearOptionsT& o = *u.AsResizeBilinearOptions();
        if (chance(50)) return set_bool("align_corners", o.align_corners);
        return set_bool("half_pixel_centers", o.half_pixel_centers);
      }
      case Options::ResizeNearestNeighborOptions: {
        fb::ResizeNearestNeighborOptionsT& o = *u.AsResizeNearestNeighborOptions();
        if (chance(50)) return set_bool("align_corners", o.align_corners);
        return set_bool("half_pixel_centers", o.half_pixel_centers);
      }
      default:
        return "";
    }
  }

  bool mutate_option() {
    const auto i = pick_operator();
    if (!i) return false;
    fb::OperatorT& op = *graph().operators[*i];
    fb::BuiltinOptionsUnion& options = op.builtin_options;
    if (options.type != Options::NONE && options.value == nullptr) return false;
    if (options.type == Options::NONE) {
      const auto kind = op_of(op);
      if (!kind) return false;
      default_options(*kind, options);
    } else if (chance(3)) {
      options.Reset();
      description_ = fmt::format("operator {}: options removed", *i);
      return true;
    }
    const std::string change = mutate_fields(options);
    if (change.empty()) return false;
    description_ = fmt::format("operator {}: {}", *i, change);
    return true;
  }

  // --- graph structure ---------------------------------------------------------------------

  int32_t tensor_index(int32_t old) {
    const auto count = static_cast<int64_t>(graph().tensors.size());
    if (chance(85) && count > 0) return static_cast<int32_t>(between(0, count - 1));
    const int64_t values[] = {-1, -2, count, count + 100, INT32_MAX, old};
    return clamp32(one_of(values));
  }

  std::string change_indices(std::vector<int32_t>& indices) {
    if (indices.empty() || chance(10)) {
      indices.push_back(tensor_index(-1));
      return fmt::format("gains tensor {}", indices.back());
    }
    if (chance(10)) {
      indices.pop_back();
      return "loses its last tensor";
    }
    if (indices.size() > 1 && chance(15)) {
      const size_t a = below(indices.size());
      const size_t b = below(indices.size());
      std::swap(indices[a], indices[b]);
      return fmt::format("swaps tensors {} and {}", a, b);
    }
    const size_t slot = below(indices.size());
    const int32_t old = indices[slot];
    indices[slot] = tensor_index(old);
    return fmt::format("slot {}: tensor {} -> {}", slot, old, indices[slot]);
  }

  bool mutate_operator_tensor() {
    const auto i = pick_operator();
    if (!i) return false;
    fb::OperatorT& op = *graph().operators[*i];
    const bool inputs = chance(70);
    const std::string change = change_indices(inputs ? op.inputs : op.outputs);
    description_ = fmt::format("operator {} {} {}", *i, inputs ? "input" : "output", change);
    return true;
  }

  bool mutate_graph_tensor() {
    const bool inputs = chance(50);
    const std::string change = change_indices(inputs ? graph().inputs : graph().outputs);
    description_ = fmt::format("subgraph {} {}", inputs ? "input" : "output", change);
    return true;
  }

  bool mutate_tensor_type() {
    const auto t = pick_tensor(chance(60));
    if (!t) return false;
    fb::TensorT& tensor = *graph().tensors[*t];
    touched_tensor_ = *t;
    description_ = fmt::format("{} {}", tensor_text(*t), set_type("type", tensor.type));
    return true;
  }

  bool mutate_opcode() {
    const auto i = pick_operator();
    if (!i) return false;
    fb::OperatorT& op = *graph().operators[*i];
    if (chance(4)) {
      const uint32_t old = op.opcode_index;
      op.opcode_index = static_cast<uint32_t>(model_.operator_codes.size() + below(3));
      description_ = fmt::format("operator {} opcode_index {} -> {}", *i, old, op.opcode_index);
      return true;
    }
    const BuiltinOp target =
        chance(85) ? one_of(kRuntimeOps) : static_cast<BuiltinOp>(between(0, 210));
    const auto code = static_cast<int32_t>(target);
    // Reuse an operator code of that op, or add one, so only this operator changes.
    uint32_t index = 0;
    for (; index < model_.operator_codes.size(); ++index) {
      const auto& c = model_.operator_codes[index];
      if (c && std::max<int32_t>(c->deprecated_builtin_code, c->builtin_code) == code) break;
    }
    if (index == model_.operator_codes.size()) {
      auto c = std::make_unique<fb::OperatorCodeT>();
      c->builtin_code = code;
      c->deprecated_builtin_code = static_cast<int8_t>(std::min(code, 127));
      model_.operator_codes.push_back(std::move(c));
    }
    const auto old = op_of(op);
    op.opcode_index = index;
    if (chance(90)) default_options(target, op.builtin_options);
    description_ =
        fmt::format("operator {} opcode {} -> {}", *i, old ? static_cast<int>(*old) : -1, code);
    return true;
  }

  // --- repairs -----------------------------------------------------------------------------

  // A constant whose shape or type changed gets a buffer of the new size (existing bytes kept,
  // new ones random), so the reader's size check passes and the kernels read the new shape.
  void repair_constant_size(size_t t) {
    const fb::TensorT& tensor = *graph().tensors[t];
    if (!is_constant(tensor)) return;
    const auto elements = model::element_count(tensor.shape);
    if (!elements) return;
    const auto bytes = model::storage_bytes(
        static_cast<model::DType>(static_cast<int8_t>(tensor.type)), *elements);
    if (!bytes || *bytes > kMaxRepairedBytes || *bytes == 0) return;
    std::vector<uint8_t>& data = model_.buffers[tensor.buffer]->data;
    const size_t old = data.size();
    data.resize(static_cast<size_t>(*bytes));
    for (size_t i = old; i < data.size(); ++i) data[i] = static_cast<uint8_t>(below(256));
  }

  // Per-channel parameters follow a resized channel dimension.
  void repair_channel_count(size_t t) {
    fb::TensorT& tensor = *graph().tensors[t];
    if (!tensor.quantization || tensor.quantization->scale.size() < 2) return;
    fb::QuantizationParametersT& q = *tensor.quantization;
    const int32_t axis = q.quantized_dimension;
    if (axis < 0 || static_cast<size_t>(axis) >= tensor.shape.size()) return;
    const int32_t channels = tensor.shape[static_cast<size_t>(axis)];
    if (channels < 1 || channels > 65536) return;
    const auto count = static_cast<size_t>(channels);
    q.scale.resize(count, q.scale.back());
    if (!q.zero_point.empty()) q.zero_point.resize(count, q.zero_point.back());
  }

  // Stored output shapes re-derived by the analysis, operator by operator, so a change of an
  // input's shape or of an option propagates through the graph instead of being refused as a
  // contradiction. Stops at the first operator the analysis refuses.
  void repair_output_shapes() {
    model::Model ir;
    try {
      ir = model::parse_model(pack(model_), "repair.tflite");
    } catch (const Error&) {
      return;
    }
    model::Subgraph& main = ir.subgraphs.front();
    for (size_t i = 0; i < main.operators.size(); ++i) {
      const model::Operator& op = main.operators[i];
      std::optional<std::vector<std::vector<int32_t>>> derived;
      try {
        derived = analysis::derive_output_shapes({ir, main, op, static_cast<int32_t>(i)});
      } catch (const Error&) {
        return;
      }
      if (!derived) continue;
      for (size_t o = 0; o < derived->size() && o < op.outputs.size(); ++o) {
        const int32_t t = op.outputs[o];
        if (t < 0) continue;
        model::Tensor& tensor = main.tensors[static_cast<size_t>(t)];
        const std::vector<int32_t>& shape = (*derived)[o];
        if (tensor.is_constant() || shape == tensor.shape) continue;
        const auto elements = model::element_count(shape);
        if (!elements || *elements > kMaxRepairedElements) return;
        tensor.shape = shape;
        fb::TensorT& stored = *graph().tensors[static_cast<size_t>(t)];
        stored.shape = shape;
        if (!stored.shape_signature.empty()) stored.shape_signature = shape;
      }
    }
  }

  fb::ModelT& model_;
  std::mt19937 random_;
  ByteMutator byte_mutator_;
  Kind kind_ = Kind::Option;
  std::optional<size_t> touched_tensor_;
  std::string description_;
};

}  // namespace

std::optional<Mutation> mutate_model(const uint8_t* data, size_t size, uint32_t seed,
                                     ByteMutator byte_mutator) {
  if (size < 8 || !fb::ModelBufferHasIdentifier(data)) return std::nullopt;
  flatbuffers::Verifier verifier(data, size);
  if (!fb::VerifyModelBuffer(verifier)) return std::nullopt;
  // The verifier checks vectors of 8-byte values for 4-byte alignment only, and unpacking loads
  // them in place: a byte-mutated file may hold a misaligned one (the reader copies them).
  const fb::Model* root = fb::GetModel(data);
  if (root->subgraphs() != nullptr) {
    for (const fb::SubGraph* graph : *root->subgraphs()) {
      if (graph->tensors() == nullptr) continue;
      for (const fb::Tensor* tensor : *graph->tensors()) {
        const auto* q = tensor->quantization();
        if (q != nullptr && q->zero_point() != nullptr &&
            reinterpret_cast<uintptr_t>(q->zero_point()->Data()) % alignof(int64_t) != 0) {
          return std::nullopt;
        }
      }
    }
  }
  const std::unique_ptr<fb::ModelT> model = fb::UnPackModel(data);
  if (!model || model->subgraphs.empty() || !model->subgraphs.front()) return std::nullopt;
  for (const auto& buffer : model->buffers) {
    if (!buffer) return std::nullopt;
  }
  for (const auto& tensor : model->subgraphs.front()->tensors) {
    if (!tensor) return std::nullopt;
  }

  Mutator mutator(*model, seed, byte_mutator);
  // Some kinds do not apply to every model (no quantized tensor, no constant): try again.
  bool changed = false;
  for (int attempt = 0; attempt < 8 && !changed; ++attempt) changed = mutator.mutate();
  if (!changed) return std::nullopt;
  // The repair runs the reader and the analysis on a model no fuzz input has been yet: should
  // they crash, the fuzzer saves no input, so the model is kept where the crash can be read.
  static const char* const dump = std::getenv("TINYDEPLOY_FUZZ_MUTATOR_DUMP");
  if (dump != nullptr && *dump != '\0') {
    const std::vector<uint8_t> unrepaired = pack(*model);
    if (std::FILE* file = std::fopen(dump, "wb")) {
      std::fwrite(unrepaired.data(), 1, unrepaired.size(), file);
      std::fclose(file);
    }
  }
  mutator.repair();
  return Mutation{pack(*model), mutator.description()};
}

}  // namespace tinydeploy::fuzz
