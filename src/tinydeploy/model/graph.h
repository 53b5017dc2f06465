// The Graph IR: what tinydeploy knows about a TFLite model after reading it.
//
// Everything here is a plain value type. Indices are the file's own indices (tensor i of
// subgraph s is `model.subgraphs[s].tensors[i]`), so messages can name what a user sees in
// Netron. A Model read by `read_model` has been validated: every index is in range, every
// constant's byte size matches its shape, and the operators of each subgraph form an
// acyclic data flow in the order they are stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tinydeploy/model/builtin_op.h"

namespace tinydeploy::model {

// Element types; values are the format's TensorType codes.
enum class DType : int8_t {
  Float32 = 0,
  Float16 = 1,
  Int32 = 2,
  UInt8 = 3,
  Int64 = 4,
  String = 5,
  Bool = 6,
  Int16 = 7,
  Complex64 = 8,
  Int8 = 9,
  Float64 = 10,
  Complex128 = 11,
  UInt64 = 12,
  Resource = 13,
  Variant = 14,
  UInt32 = 15,
  UInt16 = 16,
  Int4 = 17,
};

// Lower-case name as TFLite spells it ("int8", "float32"); "unknown" for other codes.
std::string_view dtype_name(DType type);

// Storage bits of one element (4 for int4, 0 for types without a fixed size: string,
// resource, variant).
int dtype_bits(DType type);

// Bytes needed to store `elements` elements of `type`, rounding int4 up to whole bytes;
// nullopt for types without a fixed size or when the result does not fit in int64.
std::optional<int64_t> storage_bytes(DType type, int64_t elements);

// Product of the dimensions; nullopt if a dimension is negative or the product overflows.
std::optional<int64_t> element_count(std::span<const int32_t> shape);

struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  std::vector<float> min;
  std::vector<float> max;
  int32_t quantized_dimension = 0;

  bool is_quantized() const { return !scale.empty(); }
  bool is_per_channel() const { return scale.size() > 1; }
};

// Where a constant tensor's bytes are in the model file.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t size = 0;
  bool unpacked = false;  // into Model::unpacked, not the file
};

struct Tensor {
  std::string name;
  std::vector<int32_t> shape;
  // Shape with -1 for dimensions unknown at conversion time; empty when the file has none.
  std::vector<int32_t> shape_signature;
  DType dtype = DType::Float32;
  Quantization quantization;
  bool is_variable = false;
  // For a variable that stands for a resource variable (VAR_HANDLE, see resource_variables.h):
  // the byte TFLite Micro fills it with before the first invoke and on reset.
  std::optional<uint8_t> resource_fill;
  bool is_sparse = false;
  uint32_t buffer = 0;
  // Set for tensors whose buffer holds data (weights, biases, shape operands).
  std::optional<ByteRange> data;

  bool is_constant() const { return data.has_value(); }
  // Elements of `shape` (validated by the reader, so always representable).
  int64_t elements() const;
  // Storage bytes of `shape` (0 for types without a fixed size).
  int64_t bytes() const;
};

enum class Padding : int8_t { Same = 0, Valid = 1 };

enum class Activation : int8_t {
  None = 0,
  Relu = 1,
  ReluN1To1 = 2,
  Relu6 = 3,
  Tanh = 4,
  SignBit = 5,
};

std::string_view padding_name(Padding padding);
std::string_view activation_name(Activation activation);

// Builtin options the analysis and the runtime use. Fields and defaults follow the format's
// definition of each options table.
struct Conv2DOptions {
  Padding padding = Padding::Same;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  Activation activation = Activation::None;
  int32_t dilation_w = 1;
  int32_t dilation_h = 1;
};

struct DepthwiseConv2DOptions {
  Padding padding = Padding::Same;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  int32_t depth_multiplier = 0;
  Activation activation = Activation::None;
  int32_t dilation_w = 1;
  int32_t dilation_h = 1;
};

struct TransposeConvOptions {
  Padding padding = Padding::Same;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  Activation activation = Activation::None;
};

struct Pool2DOptions {
  Padding padding = Padding::Same;
  int32_t stride_w = 0;
  int32_t stride_h = 0;
  int32_t filter_w = 0;
  int32_t filter_h = 0;
  Activation activation = Activation::None;
};

struct FullyConnectedOptions {
  Activation activation = Activation::None;
  int8_t weights_format = 0;  // 0 = default layout; others are not supported anywhere here
  bool keep_num_dims = false;
  bool asymmetric_quantize_inputs = false;
};

struct SoftmaxOptions {
  float beta = 0.0f;
};

struct ConcatenationOptions {
  int32_t axis = 0;
  Activation activation = Activation::None;
};

// ADD, SUB, MUL, DIV.
struct ArithmeticOptions {
  Activation activation = Activation::None;
  bool pot_scale_int16 = true;  // ADD and SUB only
};

struct ReshapeOptions {
  std::vector<int32_t> new_shape;
};

struct SqueezeOptions {
  std::vector<int32_t> squeeze_dims;
};

struct StridedSliceOptions {
  int32_t begin_mask = 0;
  int32_t end_mask = 0;
  int32_t ellipsis_mask = 0;
  int32_t new_axis_mask = 0;
  int32_t shrink_axis_mask = 0;
  bool offset = false;
};

// MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD, REDUCE_ANY, REDUCE_ALL.
struct ReducerOptions {
  bool keep_dims = false;
};

struct LeakyReluOptions {
  float alpha = 0.0f;
};

struct BatchMatMulOptions {
  bool adj_x = false;
  bool adj_y = false;
  bool asymmetric_quantize_inputs = false;
};

struct SVDFOptions {
  int32_t rank = 0;
  Activation activation = Activation::None;
  bool asymmetric_quantize_inputs = false;
};

// LSTM and UNIDIRECTIONAL_SEQUENCE_LSTM.
struct LSTMOptions {
  Activation activation = Activation::None;
  float cell_clip = 0.0f;
  float proj_clip = 0.0f;
  bool time_major = false;  // sequence LSTM only
  bool asymmetric_quantize_inputs = false;
};

struct GatherOptions {
  int32_t axis = 0;
  int32_t batch_dims = 0;
};

struct SplitOptions {
  int32_t num_splits = 0;
};

struct PackOptions {
  int32_t values_count = 0;
  int32_t axis = 0;
};

struct UnpackOptions {
  int32_t num = 0;
  int32_t axis = 0;
};

struct ArgMinMaxOptions {
  DType output_type = DType::Int64;
};

struct ResizeOptions {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

struct DepthSpaceOptions {
  int32_t block_size = 0;
};

struct VarHandleOptions {
  std::string container;
  std::string shared_name;
};

struct CallOptions {
  uint32_t subgraph = 0;  // CALL; CALL_ONCE: the initialization subgraph
};

struct ControlFlowOptions {
  int32_t then_or_cond_subgraph = 0;  // IF: then branch; WHILE: condition
  int32_t else_or_body_subgraph = 0;  // IF: else branch; WHILE: body
};

using Options =
    std::variant<std::monostate, Conv2DOptions, DepthwiseConv2DOptions, TransposeConvOptions,
                 Pool2DOptions, FullyConnectedOptions, SoftmaxOptions, ConcatenationOptions,
                 ArithmeticOptions, ReshapeOptions, SqueezeOptions, StridedSliceOptions,
                 ReducerOptions, LeakyReluOptions, BatchMatMulOptions, SVDFOptions, LSTMOptions,
                 GatherOptions, SplitOptions, PackOptions, UnpackOptions, ArgMinMaxOptions,
                 ResizeOptions, DepthSpaceOptions, VarHandleOptions, CallOptions,
                 ControlFlowOptions>;

// The byte every byte of a variable tensor holds before the first invoke and after a reset, as
// TensorFlow Lite Micro sets it: a resource variable's fill; an int8 tensor's zero point; else 0.
uint8_t variable_reset_byte(const Tensor& tensor);

// Marks an optional operator input the model leaves out.
inline constexpr int32_t kNoTensor = -1;

struct Operator {
  uint32_t opcode_index = 0;
  BuiltinOp op = BuiltinOp::ADD;
  std::string custom_code;  // set when op == CUSTOM
  int32_t version = 1;
  std::vector<int32_t> inputs;  // kNoTensor for an omitted optional input
  std::vector<int32_t> outputs;
  std::vector<int32_t> intermediates;
  Options options;
  // Set on the operators of a CALL_ONCE initialization subgraph inlined into the entry subgraph:
  // they run on the first invoke, and again on the first invoke after a reset.
  bool run_once = false;
  // Raw BuiltinOptions union type as stored, for ops whose options are not decoded above.
  uint8_t options_type = 0;
  std::vector<uint8_t> custom_options;

  // "CONV_2D", or the custom code for CUSTOM ops.
  std::string name() const;
};

struct Subgraph {
  std::string name;
  std::vector<Tensor> tensors;
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  std::vector<Operator> operators;  // in execution order
};

struct TensorMapEntry {
  std::string name;
  uint32_t tensor = 0;
};

struct SignatureDef {
  std::string key;
  uint32_t subgraph = 0;
  std::vector<TensorMapEntry> inputs;
  std::vector<TensorMapEntry> outputs;
};

struct Metadata {
  std::string name;
  uint32_t buffer = 0;
  ByteRange data;  // bytes of that buffer (empty range if the buffer is empty)
};

struct OperatorCode {
  BuiltinOp op = BuiltinOp::ADD;
  std::string custom_code;
  int32_t version = 1;
};

struct Model {
  std::string path;  // where it was read from, for messages
  uint32_t schema_version = 0;
  std::string description;
  std::vector<OperatorCode> operator_codes;
  std::vector<Subgraph> subgraphs;  // subgraph 0 is the entry point
  std::vector<SignatureDef> signatures;
  std::vector<Metadata> metadata;
  // What the reader accepted although the file deviates from the format's rules, in the way
  // TFLite Micro accepts it (e.g. a rank-1 bias quantized along dimension 3); `inspect` shows
  // them.
  std::vector<std::string> reader_notes;
  // Subgraphs inlined into the entry subgraph (CALL_ONCE initialization); they are not run on
  // their own.
  std::vector<int32_t> inlined_subgraphs;
  // Why the model's resource variables stay as they are in the file (empty when it has none or
  // they were resolved); lowering refuses their operators with this reason.
  std::string unresolved_state;
  // The whole file; ByteRanges index into it.
  std::vector<uint8_t> file;
  // Constant data derived from the file's (int4 weights unpacked to int8: unpack_int4_weights);
  // ByteRanges marked `unpacked` index into it.
  std::vector<uint8_t> unpacked;

  const Subgraph& main() const { return subgraphs.front(); }
  std::span<const uint8_t> bytes(ByteRange range) const {
    return std::span<const uint8_t>(range.unpacked ? unpacked : file)
        .subspan(range.offset, range.size);
  }
  // Constant data of a tensor (empty span for non-constant tensors).
  std::span<const uint8_t> data(const Tensor& tensor) const {
    return tensor.data ? bytes(*tensor.data) : std::span<const uint8_t>{};
  }
};

}  // namespace tinydeploy::model
