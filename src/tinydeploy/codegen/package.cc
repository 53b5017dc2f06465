#include "tinydeploy/codegen/package.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

#include "tinydeploy/codegen/initializers.h"
#include "tinydeploy/common/embedded_files.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/common/text.h"

namespace tinydeploy::codegen {
namespace {

using lowering::Argument;
using lowering::KernelCall;
using model::DType;

constexpr std::string_view kToolVersion = "tinydeploy 0.1.0";

// A C identifier made of the letters and digits of `text`, at most `limit` characters.
std::string identifier(std::string_view text, size_t limit = 40) {
  std::string out;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
    if (out.size() >= limit) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// Text from the model (tensor names, the file name) made safe inside a /* */ or // comment of
// generated C or C++: printable ASCII only; other bytes and backslashes (which would splice a
// // comment with the next line) as <NN>; no comment delimiters, no trigraph (C99 still has
// them: ??/ is a backslash).
std::string comment_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = u >= 0x20 && u < 0x7f && c != '\\';
    // A space splits */, /* and ?? as they form: the previous character closes the pair.
    const char previous = out.empty() ? '\0' : out.back();
    if ((previous == '*' && c == '/') || (previous == '/' && c == '*') ||
        (previous == '?' && c == '?')) {
      out += ' ';
    }
    if (plain) {
      out += c;
    } else {
      out += fmt::format("<{:02X}>", u);
    }
  }
  return out;
}

std::string shape_text(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

// Element types that generated code holds: their C type and the C API's enumerator suffix.
struct ElementType {
  DType dtype;
  const char* c_type;
  const char* api_name;
};
constexpr ElementType kElementTypes[] = {
    {DType::Int8, "int8_t", "INT8"},    {DType::UInt8, "uint8_t", "UINT8"},
    {DType::Int16, "int16_t", "INT16"}, {DType::Int32, "int32_t", "INT32"},
    {DType::Int64, "int64_t", "INT64"}, {DType::Float32, "float", "FLOAT32"},
};

const ElementType* element_type(DType type) {
  for (const ElementType& e : kElementTypes) {
    if (e.dtype == type) return &e;
  }
  return nullptr;
}

const char* c_type(DType type) {
  const ElementType* e = element_type(type);
  return e != nullptr ? e->c_type : nullptr;
}

const char* api_dtype(DType type) {
  const ElementType* e = element_type(type);
  return e != nullptr ? e->api_name : nullptr;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Little-endian bytes as the values of a C array of the tensor's type.
// One element as a C++ literal of its array's type (int64 values suffixed LL).
template <typename T>
std::string literal(T value) {
  if constexpr (std::is_same_v<T, float>) {
    return float_literal(value);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return value == INT64_MIN ? integer_literal(value) : integer_literal(value) + "LL";
  } else {
    return integer_literal(value);
  }
}

// The C type of a prepared constant array's elements.
template <typename T>
const char* element_type_name(const std::vector<T>&) {
  if constexpr (std::is_same_v<T, float>) return "float";
  if constexpr (std::is_same_v<T, int32_t>) return "int32_t";
  if constexpr (std::is_same_v<T, int16_t>) return "int16_t";
  if constexpr (std::is_same_v<T, int8_t>) return "int8_t";
  if constexpr (std::is_same_v<T, uint8_t>) return "uint8_t";
}

template <typename T>
std::vector<std::string> literals_of(const std::vector<T>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const T& v : values) out.push_back(literal(v));
  return out;
}

// Element `i` of little-endian `bytes` as a C++ literal of the tensor's type.
std::string element_literal(std::span<const uint8_t> bytes, DType type, size_t i) {
  auto read = [&](auto tag) {
    using T = decltype(tag);
    T value;
    std::memcpy(&value, bytes.data() + i * sizeof(T), sizeof(T));
    return literal(value);
  };
  switch (type) {
    case DType::Int8:
      return read(int8_t{});
    case DType::UInt8:
      return read(uint8_t{});
    case DType::Int16:
      return read(int16_t{});
    case DType::Int32:
      return read(int32_t{});
    case DType::Int64:
      return read(int64_t{});
    case DType::Float32:
      return read(float{});
    default:
      throw Error("internal error: no C literal for elements of type {}", model::dtype_name(type));
  }
}

// `{a, b, ...}` wrapped at `per_line` values.
std::string braced(const std::vector<std::string>& values, int per_line) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i % static_cast<size_t>(per_line) == 0) out += "\n   ";
    out += " " + values[i] + (i + 1 < values.size() ? "," : "");
  }
  return out + (values.empty() ? "}" : "\n}");
}

// The runtime parameter structs: C++ type name and the role that names their constants (Dims4
// is named by its position instead: input, filter, output).
template <typename T>
struct StructInfo;
#define TINYDEPLOY_STRUCT_INFO(Type, role_name)         \
  template <>                                           \
  struct StructInfo<rt::Type> {                         \
    static constexpr std::string_view type = #Type;     \
    static constexpr std::string_view role = role_name; \
  };
TINYDEPLOY_STRUCT_INFO(QuantizedActivation, "activation")
TINYDEPLOY_STRUCT_INFO(FloatActivation, "activation")
TINYDEPLOY_STRUCT_INFO(ConvGeometry, "geometry")
TINYDEPLOY_STRUCT_INFO(FullyConnectedShape, "shape")
TINYDEPLOY_STRUCT_INFO(PoolGeometry, "geometry")
TINYDEPLOY_STRUCT_INFO(PoolClamp, "clamp")
TINYDEPLOY_STRUCT_INFO(BroadcastShape, "shape")
TINYDEPLOY_STRUCT_INFO(AddParams, "params")
TINYDEPLOY_STRUCT_INFO(MulParams, "params")
TINYDEPLOY_STRUCT_INFO(RequantizeParams, "params")
TINYDEPLOY_STRUCT_INFO(LeakyReluParams, "params")
TINYDEPLOY_STRUCT_INFO(HardSwishParams, "params")
TINYDEPLOY_STRUCT_INFO(SigmoidParams, "params")
TINYDEPLOY_STRUCT_INFO(SigmoidInt16Params, "params")
TINYDEPLOY_STRUCT_INFO(SoftmaxParams, "params")
TINYDEPLOY_STRUCT_INFO(AffineQuantization, "quantization")
TINYDEPLOY_STRUCT_INFO(StridedView, "view")
TINYDEPLOY_STRUCT_INFO(PadShape, "shape")
TINYDEPLOY_STRUCT_INFO(ReduceShape, "shape")
TINYDEPLOY_STRUCT_INFO(MeanParams, "params")
TINYDEPLOY_STRUCT_INFO(SvdfShape, "shape")
TINYDEPLOY_STRUCT_INFO(SvdfQuantization, "quantization")
TINYDEPLOY_STRUCT_INFO(LstmFloatParams, "params")
TINYDEPLOY_STRUCT_INFO(LstmQuantizedParams, "params")
#undef TINYDEPLOY_STRUCT_INFO

template <typename T, typename = void>
struct IsParamStruct : std::false_type {};
template <typename T>
struct IsParamStruct<T, std::void_t<decltype(StructInfo<T>::type)>> : std::true_type {};

// Where every tensor the calls use lives in the generated code.
struct TensorHome {
  int64_t arena_offset = -1;     // in the arena, or
  int64_t variable_offset = -1;  // in the variable area (state kept across invokes), or
  std::string constant;          // the name of its array in NAME_model_data
};

class Generator {
 public:
  Generator(const model::Model& model, const analysis::ModelAnalysis& analysis,
            const std::vector<KernelCall>& calls, const ExampleData& example,
            const PackageOptions& options)
      : model_(model),
        graph_(model.main()),
        analysis_(analysis),
        calls_(calls),
        example_(example),
        options_(options),
        name_(options.name),
        macro_(upper(options.name)) {}

  Package generate() {
    place_tensors();
    name_prepared_weights();
    Package package;
    package.name = name_;
    package.arena_bytes = analysis_.plan.arena_bytes;
    package.variable_bytes = analysis_.plan.variable_arena_bytes;
    for (const KernelCall& call : calls_) {
      if (!call.kernel.empty()) sources_.insert(call.source);
    }
    std::set<std::string> files = {"fixed_point"};
    for (const std::string& s : sources_) {
      files.insert(s);
      if (s == "activation") files.insert("sigmoid_table");
      // The LSTM's gates use the int16 sigmoid and tanh of the activation kernels.
      if (s == "lstm") files.insert({"activation", "sigmoid_table"});
      // The Helium kernels are the portable ones where the compiler has no MVE (a package for a
      // Cortex-M55 built for another core still links).
      if (s.starts_with("cortex-m55/")) files.insert("conv");
    }
    for (const std::string& f : files) package.kernel_sources.push_back(f);
    package.files.push_back({name_ + ".h", api_header()});
    package.files.push_back({name_ + "_model_data.h", data_header()});
    package.files.push_back({name_ + "_model_data.cc", data_source(package.weight_bytes)});
    package.files.push_back({name_ + "_model.cc", model_source()});
    package.files.push_back({"CMakeLists.txt", cmake_lists(package.kernel_sources)});
    package.files.push_back({"example/main.c", example_main()});
    package.files.push_back({"example/example_data.h", example_data()});
    package.files.push_back({"footprint/footprint.c", footprint_main()});
    package.files.push_back({"README.md", readme(package)});
    for (const EmbeddedFile& file : embedded_files()) {
      const std::string path(file.path);
      const bool header = path.starts_with("runtime/include/tinydeploy/runtime/");
      const bool toolchain = path.starts_with("toolchains/");
      bool kernel = false;
      for (const std::string& k : package.kernel_sources) {
        kernel = kernel || path == "runtime/kernels/" + k + ".cc";
      }
      if (header || kernel) package.files.push_back({path, std::string(file.content)});
      if (toolchain) {
        package.files.push_back(
            {"cmake/" + path.substr(std::strlen("toolchains/")), std::string(file.content)});
      }
    }
    std::sort(package.files.begin(), package.files.end(),
              [](const GeneratedFile& a, const GeneratedFile& b) { return a.path < b.path; });
    return package;
  }

 private:
  std::string where(int32_t op) const {
    return fmt::format("{}: operator {} ({})", model_.path, op,
                       graph_.operators[static_cast<size_t>(op)].name());
  }

  const model::Tensor& tensor(int32_t index) const {
    return graph_.tensors[static_cast<size_t>(index)];
  }

  std::string tensor_label(int32_t index) const {
    const model::Tensor& t = tensor(index);
    // Converter names can run to hundreds of characters (every fused op's name): keep the head.
    constexpr size_t kMaxName = 60;
    std::string name = comment_text(t.name);
    if (name.size() > kMaxName) name = name.substr(0, kMaxName) + "...";
    return fmt::format("tensor {} '{}' {} {}", index, name, model::dtype_name(t.dtype),
                       shape_text(t.shape));
  }

  void use_tensor(int32_t index, int32_t op) {
    if (index < 0 || homes_.count(index)) return;
    if (static_cast<size_t>(index) >= graph_.tensors.size()) {
      throw Error("{}: refers to tensor {}, which does not exist", where(op), index);
    }
    const model::Tensor& t = tensor(index);
    if (arena_offsets_.count(index)) {
      homes_[index].arena_offset = arena_offsets_.at(index);
      return;
    }
    if (variable_offsets_.count(index)) {
      homes_[index].variable_offset = variable_offsets_.at(index);
      return;
    }
    if (!t.data) {
      if (t.elements() == 0) return;
      throw Error("{}: tensor {} ('{}') has no storage (not planned, not constant)", where(op),
                  index, printable(t.name));
    }
    if (c_type(t.dtype) == nullptr) {
      throw Error("{}: constant tensor {} ('{}') has type {}, which generated code cannot hold",
                  where(op), index, printable(t.name), model::dtype_name(t.dtype));
    }
    std::string base = identifier(t.name);
    homes_[index].constant = fmt::format("t{}{}{}", index, base.empty() ? "" : "_", base);
    constants_.push_back(index);
  }

  // Names the arrays the calls prepared from the model's weights (ConstantArray::weights): they
  // are written to NAME_model_data with the constant tensors, as op<N>_<role>.
  void name_prepared_weights() {
    for (const KernelCall& call : calls_) {
      std::map<std::string, int> role_count;
      for (size_t position = 0; position < call.arguments.size(); ++position) {
        const auto* array = std::get_if<lowering::ConstantArray>(&call.arguments[position]);
        if (array == nullptr || !array->weights) continue;
        const int k = role_count[array->role]++;
        const std::string name =
            fmt::format("op{}_{}{}", call.op_index, array->role, k == 0 ? "" : std::to_string(k));
        const model::Operator& op = graph_.operators[static_cast<size_t>(call.op_index)];
        prepared_weights_.push_back(
            {call.op_index, position, name,
             fmt::format("{} of layer {} ({}), prepared from its constant inputs", array->role,
                         call.op_index, comment_text(op.name())),
             array});
      }
    }
  }

  const std::string& prepared_weight_name(int32_t op_index, size_t position) const {
    for (const PreparedWeights& p : prepared_weights_) {
      if (p.op_index == op_index && p.position == position) return p.name;
    }
    throw Error("{}: prepared weights that were never named", where(op_index));
  }

  void place_tensors() {
    for (const analysis::Allocation& a : analysis_.plan.allocations) {
      if (a.tensor >= 0) arena_offsets_[a.tensor] = a.offset;
      if (a.scratch_of_op >= 0) scratch_offsets_[a.scratch_of_op] = a.offset;
    }
    for (const analysis::VariableAllocation& v : analysis_.plan.variables) {
      if (v.tensor >= 0) variable_offsets_[v.tensor] = v.offset;
    }
    for (int32_t index : graph_.inputs) use_tensor(index, 0);
    for (int32_t index : graph_.outputs) use_tensor(index, 0);
    for (int32_t index : graph_.inputs) {
      if (homes_[index].arena_offset < 0) {
        throw Error("{}: model input {} ('{}') has no place in the arena", model_.path, index,
                    printable(tensor(index).name));
      }
    }
    for (int32_t index : graph_.outputs) {
      if (homes_[index].arena_offset < 0) {
        throw Error("{}: model output {} ('{}') is not computed into the arena", model_.path, index,
                    printable(tensor(index).name));
      }
    }
    for (const KernelCall& call : calls_) {
      for (const Argument& argument : call.arguments) {
        if (const auto* p = std::get_if<lowering::TensorPointer>(&argument)) {
          use_tensor(p->tensor, call.op_index);
        } else if (const auto* list = std::get_if<lowering::TensorPointerList>(&argument)) {
          for (int32_t t : list->tensors) use_tensor(t, call.op_index);
        }
      }
    }
  }

  // The expression for a pointer to tensor `index` in NAME_model.cc.
  std::string tensor_pointer(int32_t index, const char* type, bool writable) const {
    // A typed null: the kernels' overloads differ by pointer type (int32 or int64 bias).
    const std::string null =
        fmt::format("static_cast<{}{}*>(nullptr)", writable ? "" : "const ", type);
    if (index < 0) return null;
    const auto found = homes_.find(index);
    if (found == homes_.end()) return null;  // an empty tensor: no storage to point at
    if (found->second.arena_offset >= 0) {
      return fmt::format("at<{}>({})", type, found->second.arena_offset);
    }
    if (found->second.variable_offset >= 0) {
      return fmt::format("variable<{}>({})", type, found->second.variable_offset);
    }
    return "data::" + found->second.constant;
  }

  // The address of a tensor that lives in the arena or the variable area, as a byte pointer.
  static std::string storage_address(const TensorHome& home) {
    return home.arena_offset >= 0 ? fmt::format("arena + {}", home.arena_offset)
                                  : fmt::format("variables + {}", home.variable_offset);
  }

  // --- NAME.h -------------------------------------------------------------------------------

  std::string api_header() const {
    const std::string& n = name_;
    const std::string& m = macro_;
    std::string text = fmt::format(
        R"(/* {n}: generated by {version} from {model}. Do not edit.
 *
 * C API of the model, ahead-of-time compiled: no interpreter, no model parsing, no heap.
 * Call {n}_init() once; then, for each inference:
 *   1. fill every {n}_input(i)->data,
 *   2. call {n}_invoke(),
 *   3. read every {n}_output(i)->data.
 * Inputs share the arena with intermediate tensors, so {n}_invoke() may overwrite them:
 * fill them again before every call. Outputs stay valid until the next call. Not reentrant.
 * A model with state (variable tensors, resource variables: {m}_VARIABLE_BYTES > 0) keeps it in
 * its own static area from one {n}_invoke() to the next; {n}_reset() puts it back to where it
 * was before the first invoke (as TensorFlow Lite Micro resets it, and with the model's
 * run-once initialization run again on the next invoke).
 */
#ifndef {m}_H_
#define {m}_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

/* Bytes of the statically allocated tensor arena (activations and scratch). */
#define {m}_ARENA_BYTES {arena}
/* Bytes of the statically allocated variable area (state kept across invokes); 0 for none. */
#define {m}_VARIABLE_BYTES {variable_bytes}
#define {m}_INPUT_COUNT {inputs}
#define {m}_OUTPUT_COUNT {outputs}
/* SHA-256 of the .tflite file this package was generated from. */
#define {m}_MODEL_SHA256 "{hash}"

typedef enum {{
  {m}_OK = 0,
  {m}_ERROR_NOT_INITIALIZED = 1 /* {n}_invoke() before {n}_init() */
}} {n}_status;

typedef enum {{
  {m}_DTYPE_INT8 = 0,
  {m}_DTYPE_UINT8 = 1,
  {m}_DTYPE_INT16 = 2,
  {m}_DTYPE_INT32 = 3,
  {m}_DTYPE_INT64 = 4,
  {m}_DTYPE_FLOAT32 = 5
}} {n}_dtype;

/* A model input or output. real_value = scale * (quantized_value - zero_point) for quantized
 * tensors; scale is 0 for float tensors. */
typedef struct {{
  const char* name;
  void* data;         /* in the arena */
  size_t bytes;
  const int32_t* dims;
  int32_t rank;
  {n}_dtype dtype;
  float scale;
  int32_t zero_point;
}} {n}_tensor;

/* Prepares the arena. Call once before the first {n}_invoke(). */
{n}_status {n}_init(void);
/* Runs one inference on the current inputs. */
{n}_status {n}_invoke(void);
/* Resets the model's state (nothing for a model without state). {n}_init() does it too. */
{n}_status {n}_reset(void);

/* Operators in the model; each one's index is its "layer" below. */
#define {m}_LAYER_COUNT {layers}
/* Called by {n}_invoke_traced() after each operator, once per output of it, while that output
 * is valid. For validation (comparing every layer with the PC) and per-layer profiling. */
typedef void (*{n}_layer_hook)(void* context, uint32_t layer, uint32_t output, const void* data,
                               size_t bytes);
/* {n}_invoke(), calling `hook` (when not NULL) after every operator. */
{n}_status {n}_invoke_traced({n}_layer_hook hook, void* context);
/* Input / output `index`, or NULL when index >= the count. */
const {n}_tensor* {n}_input(size_t index);
const {n}_tensor* {n}_output(size_t index);
size_t {n}_input_count(void);
size_t {n}_output_count(void);
/* {m}_MODEL_SHA256, as a function for code that links the library without the header. */
const char* {n}_model_sha256(void);

#ifdef __cplusplus
}}  /* extern "C" */
#endif

#endif /* {m}_H_ */
)",
        fmt::arg("n", n), fmt::arg("m", m), fmt::arg("version", kToolVersion),
        fmt::arg("layers", graph_.operators.size()),
        fmt::arg("model", comment_text(model_file_name())),
        fmt::arg("arena", analysis_.plan.arena_bytes),
        fmt::arg("variable_bytes", analysis_.plan.variable_arena_bytes),
        fmt::arg("inputs", graph_.inputs.size()), fmt::arg("outputs", graph_.outputs.size()),
        fmt::arg("hash", sha256_hex(model_.file)));
    return text;
  }

  std::string model_file_name() const {
    return std::filesystem::path(model_.path).filename().string();
  }

  // --- NAME_model_data.h / .cc ---------------------------------------------------------------

  std::string data_header() const {
    std::string text = fmt::format(
        "// Constant tensors of {}: generated by {}. Do not edit.\n"
        "#pragma once\n\n#include <stdint.h>\n\nnamespace {}_model_data {{\n\n",
        comment_text(model_file_name()), kToolVersion, name_);
    for (int32_t index : constants_) {
      const model::Tensor& t = tensor(index);
      text += fmt::format("// {}\nalignas(16) extern const {} {}[{}];\n", tensor_label(index),
                          c_type(t.dtype), homes_.at(index).constant,
                          std::max<int64_t>(t.elements(), 1));
    }
    for (const PreparedWeights& p : prepared_weights_) {
      std::visit(
          [&](const auto& values) {
            text += fmt::format("// {}\nalignas(16) extern const {} {}[{}];\n", p.label,
                                element_type_name(values), p.name, values.size());
          },
          p.array->values);
    }
    return text + fmt::format("\n}}  // namespace {}_model_data\n", name_);
  }

  std::string data_source(int64_t& weight_bytes) const {
    std::string text = fmt::format(
        "// Constant tensors of {}: generated by {}. Do not edit.\n"
        "#include \"{}_model_data.h\"\n\nnamespace {}_model_data {{\n",
        comment_text(model_file_name()), kToolVersion, name_, name_);
    weight_bytes = 0;
    for (int32_t index : constants_) {
      const model::Tensor& t = tensor(index);
      const auto bytes = model_.data(t);
      if (static_cast<int64_t>(bytes.size()) < t.bytes()) {
        throw Error("{}: constant tensor {} ('{}') holds {} bytes, its shape needs {}", model_.path,
                    index, printable(t.name), bytes.size(), t.bytes());
      }
      const auto values = bytes.first(static_cast<size_t>(t.bytes()));
      const size_t count = static_cast<size_t>(t.elements());
      weight_bytes += t.bytes();
      const int per_line = t.dtype == DType::Float32 ? 8 : 16;
      // An empty tensor still gets one element: C++ has no zero-length arrays.
      text += fmt::format("\n// {}\n", tensor_label(index));
      text += literal_array_definition(
          c_type(t.dtype), homes_.at(index).constant, std::max<size_t>(count, 1),
          [&](size_t i) {
            return count == 0 ? std::string("0") : element_literal(values, t.dtype, i);
          },
          per_line);
    }
    for (const PreparedWeights& p : prepared_weights_) {
      std::visit(
          [&](const auto& values) {
            weight_bytes += static_cast<int64_t>(values.size() * sizeof(values[0]));
            text += fmt::format("\n// {}\n", p.label);
            text += literal_array_definition(element_type_name(values), p.name, literals_of(values),
                                             12);
          },
          p.array->values);
    }
    return text + fmt::format("\n}}  // namespace {}_model_data\n", name_);
  }

  // --- NAME_model.cc -----------------------------------------------------------------------

  // Prints one call: its constants into `constants`, the statement into `body`.
  void print_call(const KernelCall& call, std::string& constants, std::string& body) const {
    const model::Operator& op = graph_.operators[static_cast<size_t>(call.op_index)];
    body += fmt::format("\n  // Layer {}: {}\n", call.op_index, comment_text(op.name()));
    for (int32_t t : op.inputs) {
      if (t >= 0) body += fmt::format("  //   in:  {}\n", tensor_label(t));
    }
    for (int32_t t : op.outputs) {
      if (t >= 0) body += fmt::format("  //   out: {}\n", tensor_label(t));
    }
    if (call.kernel.empty()) {
      body += "  // Nothing to compute: the output is empty.\n";
      return;
    }
    const std::string prefix = fmt::format("op{}_", call.op_index);
    std::map<std::string, int> role_count;
    auto fresh = [&](const std::string& role) {
      const int k = role_count[role]++;
      return prefix + role + (k == 0 ? "" : std::to_string(k));
    };
    int dims_seen = 0;
    int dims_total = 0;
    for (const Argument& a : call.arguments) dims_total += std::holds_alternative<rt::Dims4>(a);
    std::vector<std::string> args;
    for (size_t position = 0; position < call.arguments.size(); ++position) {
      const Argument& argument = call.arguments[position];
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int32_t>) {
              args.push_back(integer_literal(value));
            } else if constexpr (std::is_same_v<T, float>) {
              args.push_back(float_literal(value));
            } else if constexpr (std::is_same_v<T, bool>) {
              args.push_back(value ? "true" : "false");
            } else if constexpr (std::is_same_v<T, rt::Dims4>) {
              static constexpr const char* kThree[] = {"input_dims", "filter_dims", "output_dims"};
              static constexpr const char* kTwo[] = {"input_dims", "output_dims"};
              const int k = dims_seen++;
              const std::string role =
                  dims_total == 3 ? kThree[k] : (dims_total == 2 ? kTwo[k] : "dims");
              const std::string name = fresh(role);
              constants += fmt::format("constexpr rt::Dims4 {} = {};\n", name, initializer(value));
              args.push_back(name);
            } else if constexpr (IsParamStruct<T>::value) {
              const std::string name = fresh(std::string(StructInfo<T>::role));
              constants += fmt::format("constexpr rt::{} {} = {};\n", StructInfo<T>::type, name,
                                       initializer(value));
              args.push_back(name);
            } else if constexpr (std::is_same_v<T, lowering::TensorPointer>) {
              args.push_back(
                  tensor_pointer(value.tensor, lowering::c_type_name(value.type), value.writable));
            } else if constexpr (std::is_same_v<T, lowering::ScratchPointer>) {
              const auto found = scratch_offsets_.find(call.op_index);
              if (found == scratch_offsets_.end()) {
                throw Error("{}: needs scratch memory the plan does not provide",
                            where(call.op_index));
              }
              args.push_back(
                  fmt::format("at<{}>({})", lowering::c_type_name(value.type), found->second));
            } else if constexpr (std::is_same_v<T, lowering::ConstantArray>) {
              if (value.weights) {
                args.push_back("data::" + prepared_weight_name(call.op_index, position));
                return;
              }
              const std::string name = fresh(value.role);
              std::visit(
                  [&](const auto& values) {
                    constants += literal_array_definition(element_type_name(values), name,
                                                          literals_of(values), 12);
                  },
                  value.values);
              args.push_back(name);
            } else if constexpr (std::is_same_v<T, lowering::ChannelScales>) {
              const std::string name = fresh("scale");
              constants += literal_array_definition("int32_t", name + "_multiplier",
                                                    literals_of(value.multiplier), 8);
              constants += literal_array_definition("int32_t", name + "_shift",
                                                    literals_of(value.shift), 16);
              constants += fmt::format(
                  "constexpr rt::PerChannelScale {} = {};\n", name,
                  initializer(rt::PerChannelScale{}, name + "_multiplier", name + "_shift"));
              args.push_back(name);
            } else if constexpr (std::is_same_v<T, lowering::SoftmaxInt16Tables>) {
              const std::string name = fresh("params");
              constants += literal_array_definition("int16_t", name + "_exp_table",
                                                    literals_of(value.exp_table), 12);
              constants += literal_array_definition("int16_t", name + "_reciprocal_table",
                                                    literals_of(value.reciprocal_table), 12);
              rt::SoftmaxInt16Params params;
              params.input_beta = value.input_beta;
              constants +=
                  fmt::format("constexpr rt::SoftmaxInt16Params {} = {};\n", name,
                              initializer(params, name + "_exp_table", name + "_reciprocal_table"));
              args.push_back(name);
            } else if constexpr (std::is_same_v<T, lowering::TensorPointerList>) {
              const std::string name = fresh(value.writable ? "outputs" : "inputs");
              std::vector<std::string> pointers;
              for (int32_t t : value.tensors) {
                const auto found = homes_.find(t);
                if (found == homes_.end()) {
                  pointers.push_back("nullptr");
                } else if (found->second.arena_offset >= 0 || found->second.variable_offset >= 0) {
                  pointers.push_back(storage_address(found->second));
                } else {
                  pointers.push_back("data::" + found->second.constant);
                }
              }
              constants +=
                  fmt::format("{}void* const {}[{}] = {};\n", value.writable ? "" : "const ", name,
                              pointers.size(), braced(pointers, 4));
              args.push_back(name);
            } else {
              static_assert(sizeof(T) == 0, "an argument kind the generator does not print");
            }
          },
          argument);
    }
    const std::string one_line = fmt::format("  rt::{}({});\n", call.kernel, fmt::join(args, ", "));
    body += one_line.size() <= 101
                ? one_line
                : fmt::format("  rt::{}(\n      {});\n", call.kernel, fmt::join(args, ",\n      "));
  }

  // After an operator's call: hands each of its outputs to the trace hook, if one is given.
  void print_layer_hook(int32_t op_index, std::string& body) const {
    const model::Operator& op = graph_.operators[static_cast<size_t>(op_index)];
    for (size_t i = 0; i < op.outputs.size(); ++i) {
      const auto found = homes_.find(op.outputs[i]);
      if (found == homes_.end() ||
          (found->second.arena_offset < 0 && found->second.variable_offset < 0)) {
        continue;
      }
      body += fmt::format("  if (hook != nullptr) hook(context, {}, {}, {}, {});\n", op_index, i,
                          storage_address(found->second), tensor(op.outputs[i]).bytes());
    }
  }

  std::string descriptors(const std::vector<int32_t>& tensors, std::string_view kind) const {
    std::string text;
    std::vector<std::string> entries;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const model::Tensor& t = tensor(tensors[i]);
      if (api_dtype(t.dtype) == nullptr) {
        throw Error("{}: model {} {} ('{}') has type {}, which the C API does not describe",
                    model_.path, kind, i, printable(t.name), model::dtype_name(t.dtype));
      }
      const std::string dims = fmt::format("k{}{}_dims", kind == "input" ? "Input" : "Output", i);
      std::vector<std::string> dim_values;
      for (int32_t d : t.shape) dim_values.push_back(std::to_string(d));
      if (dim_values.empty()) dim_values.push_back("1");
      text += fmt::format("const int32_t {}[{}] = {{{}}};\n", dims, dim_values.size(),
                          fmt::join(dim_values, ", "));
      const bool quantized = t.dtype != DType::Float32 && t.quantization.is_quantized();
      const float scale = quantized ? t.quantization.scale[0] : 0.0f;
      const int64_t zero_point =
          quantized && !t.quantization.zero_point.empty() ? t.quantization.zero_point[0] : 0;
      entries.push_back(fmt::format("    {{\"{}\", arena + {}, {}, {}, {}, {}_DTYPE_{}, {}, {}}}",
                                    escape(t.name), homes_.at(tensors[i]).arena_offset, t.bytes(),
                                    dims, t.shape.size(), macro_, api_dtype(t.dtype),
                                    float_literal(scale), zero_point));
    }
    text += fmt::format("const {}_tensor k{}s[] = {{\n{}}};\n", name_,
                        kind == "input" ? "Input" : "Output", fmt::join(entries, ",\n"));
    return text;
  }

  // A C string literal's contents for any bytes: quotes, backslashes and '?' (trigraphs) escaped,
  // everything outside printable ASCII as a three-digit octal escape (which cannot run on into
  // a following digit, unlike \x).
  static std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\' || c == '?') {
        out += '\\';
        out += c;
      } else if (u < 0x20 || u >= 0x7f) {
        out += fmt::format("\\{:03o}", u);
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string model_source() const {
    std::string constants;
    std::string body;
    // Operators that run once (an inlined CALL_ONCE subgraph) are grouped under one condition.
    std::string once;
    const auto close_once = [&] {
      if (once.empty()) return;
      std::string indented;
      for (size_t begin = 0; begin < once.size();) {
        const size_t end = once.find('\n', begin);
        const std::string line = once.substr(begin, end - begin + 1);
        indented += line == "\n" ? line : "  " + line;
        begin = end + 1;
      }
      body += "  if (run_once_pending) {\n" + indented + "  }\n";
      once.clear();
    };
    for (const KernelCall& call : calls_) {
      if (!call.once) close_once();
      std::string& target = call.once ? once : body;
      print_call(call, constants, target);
      print_layer_hook(call.op_index, target);
    }
    close_once();
    std::string variables;
    std::string reset;
    if (analysis_.plan.variable_arena_bytes > 0) {
      variables = fmt::format(
          "\n// State kept from one invoke to the next: variable tensors and resource variables.\n"
          "alignas(16) uint8_t variables[{}_VARIABLE_BYTES];\n\n"
          "// A typed pointer to variable-area byte `offset` (16-byte aligned).\n"
          "template <typename T>\n"
          "T* variable(size_t offset) {{\n"
          "  return static_cast<T*>(static_cast<void*>(variables + offset));\n"
          "}}\n",
          macro_);
      for (const analysis::VariableAllocation& v : analysis_.plan.variables) {
        reset += fmt::format("  memset(variables + {}, 0x{:02x}, {});  // {}\n", v.offset,
                             v.reset_byte, v.size, comment_text(v.name));
      }
    }
    std::string includes;
    for (const std::string& source : sources_) {
      includes += fmt::format("#include \"tinydeploy/runtime/{}.h\"\n", source);
    }
    return fmt::format(
        R"(// {model}: ahead-of-time code generated by {version}. Do not edit.
// Every operator is one call of a tinydeploy runtime kernel with parameters prepared on the PC;
// tensors live at fixed offsets of one static arena planned from their lifetimes.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "{n}.h"
#include "{n}_model_data.h"
{includes}
namespace {{

namespace rt = tinydeploy::runtime;
namespace data = {n}_model_data;

alignas(16) uint8_t arena[{m}_ARENA_BYTES];
bool initialized = false;
bool run_once_pending = true;
{variables}
// A typed pointer to arena byte `offset` (every offset is 16-byte aligned).
template <typename T>
T* at(size_t offset) {{
  return static_cast<T*>(static_cast<void*>(arena + offset));
}}

// Parameters prepared ahead of time, named after the operator index.
{constants}
{inputs}{outputs}
}}  // namespace

extern "C" {{

{n}_status {n}_init(void) {{
  memset(arena, 0, sizeof(arena));
  initialized = true;
  return {n}_reset();
}}

{n}_status {n}_reset(void) {{
  if (!initialized) return {m}_ERROR_NOT_INITIALIZED;
{reset}  run_once_pending = true;
  return {m}_OK;
}}

{n}_status {n}_invoke_traced({n}_layer_hook hook, void* context) {{
  if (!initialized) return {m}_ERROR_NOT_INITIALIZED;
{body}  run_once_pending = false;
  return {m}_OK;
}}

{n}_status {n}_invoke(void) {{ return {n}_invoke_traced(nullptr, nullptr); }}

const {n}_tensor* {n}_input(size_t index) {{
  return index < {m}_INPUT_COUNT ? &kInputs[index] : nullptr;
}}

const {n}_tensor* {n}_output(size_t index) {{
  return index < {m}_OUTPUT_COUNT ? &kOutputs[index] : nullptr;
}}

size_t {n}_input_count(void) {{ return {m}_INPUT_COUNT; }}

size_t {n}_output_count(void) {{ return {m}_OUTPUT_COUNT; }}

const char* {n}_model_sha256(void) {{ return {m}_MODEL_SHA256; }}

}}  // extern "C"
)",
        fmt::arg("model", comment_text(model_file_name())), fmt::arg("version", kToolVersion),
        fmt::arg("n", name_), fmt::arg("m", macro_), fmt::arg("includes", includes),
        fmt::arg("constants", constants), fmt::arg("inputs", descriptors(graph_.inputs, "input")),
        fmt::arg("outputs", descriptors(graph_.outputs, "output")), fmt::arg("body", body),
        fmt::arg("variables", variables), fmt::arg("reset", reset));
  }

  // --- CMakeLists.txt ----------------------------------------------------------------------

  std::string cmake_lists(const std::vector<std::string>& kernels) const {
    std::string kernel_files;
    std::string hot_files;  // the per-core variants (cortex-m4/..., cortex-m55/...)
    for (const std::string& k : kernels) {
      kernel_files += fmt::format("  runtime/kernels/{}.cc\n", k);
      if (k.find('/') != std::string::npos) hot_files += fmt::format(" runtime/kernels/{}.cc", k);
    }
    std::string speed;
    if (!hot_files.empty()) {
      speed = fmt::format(
          "# The per-core kernel variants hold the hot loops: compiled for speed even in a size\n"
          "# build (the memory report's library code includes what that costs).\n"
          "if(CMAKE_BUILD_TYPE STREQUAL \"MinSizeRel\")\n"
          "  set_source_files_properties({} PROPERTIES COMPILE_OPTIONS -O3)\n"
          "endif()\n",
          hot_files.substr(1));
    }
    std::string toolchain;
    if (options_.core != board::Core::Host) {
      toolchain = fmt::format(
          "# Cross-compiles for {} unless another toolchain file is given.\n"
          "if(NOT DEFINED CMAKE_TOOLCHAIN_FILE)\n"
          "  set(CMAKE_TOOLCHAIN_FILE ${{CMAKE_CURRENT_LIST_DIR}}/cmake/{})\n"
          "endif()\n",
          board::core_name(options_.core), board::toolchain_file(options_.core));
    }
    return fmt::format(
        R"(# {n}: generated by {version} from {model} for {target}. Do not edit.
#   cmake -S . -B build && cmake --build build
# builds lib{n}.a, the example ({n}_example) and a minimal image for size measurement
# ({n}_footprint).
cmake_minimum_required(VERSION 3.16)
{toolchain}project({n} LANGUAGES C CXX)

if(NOT CMAKE_BUILD_TYPE)
  if(CMAKE_SYSTEM_NAME STREQUAL "Generic")
    set(CMAKE_BUILD_TYPE MinSizeRel)
  else()
    set(CMAKE_BUILD_TYPE Release)
  endif()
endif()
option({m}_WERROR "Treat warnings as errors" ON)

set(CMAKE_C_STANDARD 99)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# The model and only the runtime kernels it calls.
add_library({n} STATIC
  {n}_model.cc
  {n}_model_data.cc
{kernel_files})
target_include_directories({n} PUBLIC ${{CMAKE_CURRENT_SOURCE_DIR}}
  PRIVATE ${{CMAKE_CURRENT_SOURCE_DIR}}/runtime/include)
set(warnings -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion)
if({m}_WERROR)
  list(APPEND warnings -Werror)
endif()
target_compile_options({n} PRIVATE ${{warnings}} -Wold-style-cast
  -fno-exceptions -fno-rtti -ffunction-sections -fdata-sections)
{speed}
# Links for the board when one is targeted; nosys stubs stand in for its I/O here.
set(image_options -Wl,--gc-sections)
if(CMAKE_SYSTEM_NAME STREQUAL "Generic")
  list(APPEND image_options --specs=nosys.specs)
endif()

add_executable({n}_example example/main.c)
target_link_libraries({n}_example PRIVATE {n})
target_compile_options({n}_example PRIVATE ${{warnings}})
target_link_options({n}_example PRIVATE ${{image_options}})

add_executable({n}_footprint footprint/footprint.c)
target_link_libraries({n}_footprint PRIVATE {n})
target_compile_options({n}_footprint PRIVATE ${{warnings}})
target_link_options({n}_footprint PRIVATE ${{image_options}})
)",
        fmt::arg("n", name_), fmt::arg("m", macro_), fmt::arg("version", kToolVersion),
        fmt::arg("model", comment_text(model_file_name())),
        fmt::arg("target", board::core_name(options_.core)), fmt::arg("toolchain", toolchain),
        fmt::arg("kernel_files", kernel_files), fmt::arg("speed", speed));
  }

  // --- example/ and footprint/ ---------------------------------------------------------------

  // `static const uint8_t NAME[N] = {0x.., ...};`, 16 bytes a line, written straight into
  // `out`: the example can hold megabytes.
  static void append_byte_array(std::string& out, std::string_view name,
                                const std::vector<uint8_t>& bytes) {
    if (bytes.empty()) {
      out += fmt::format("static const uint8_t {}[1] = {{\n    0\n}};\n", name);
      return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out.reserve(out.size() + bytes.size() * 6 + 64);
    out += fmt::format("static const uint8_t {}[{}] = {{", name, bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) {
      out += i % 16 == 0 ? "\n    0x" : " 0x";
      out += kHex[bytes[i] >> 4];
      out += kHex[bytes[i] & 0xf];
      if (i + 1 < bytes.size()) out += ',';
    }
    out += "\n};\n";
  }

  std::string example_data() const {
    if (example_.invokes < 1 || example_.inputs.size() != graph_.inputs.size() * example_.invokes ||
        example_.outputs.size() != graph_.outputs.size() * example_.invokes) {
      throw Error("internal error: the example has the wrong number of tensors");
    }
    std::string text = fmt::format(
        "/* Example inference{} for {}, computed on the PC by {} from seeded random inputs\n"
        " * (seed {}); raw little-endian tensor bytes{}. Do not edit. */\n"
        "#ifndef {}_EXAMPLE_DATA_H_\n#define {}_EXAMPLE_DATA_H_\n\n#include <stdint.h>\n\n"
        "#define EXAMPLE_INVOKES {}\n\n",
        example_.invokes > 1 ? "s" : "", comment_text(model_file_name()), kToolVersion,
        example_.seed, example_.invokes > 1 ? ", invoke after invoke (state carried)" : "", macro_,
        macro_, example_.invokes);
    for (size_t i = 0; i < example_.inputs.size(); ++i) {
      append_byte_array(text, fmt::format("kExampleInput{}", i), example_.inputs[i]);
    }
    for (size_t i = 0; i < example_.outputs.size(); ++i) {
      append_byte_array(text, fmt::format("kExpectedOutput{}", i), example_.outputs[i]);
    }
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    for (size_t i = 0; i < example_.inputs.size(); ++i) {
      inputs.push_back(fmt::format("kExampleInput{}", i));
    }
    for (size_t i = 0; i < example_.outputs.size(); ++i) {
      outputs.push_back(fmt::format("kExpectedOutput{}", i));
    }
    text += fmt::format(
        "\nstatic const uint8_t* const kExampleInputs[] = {{{}}};\n"
        "static const uint8_t* const kExpectedOutputs[] = {{{}}};\n\n#endif\n",
        fmt::join(inputs, ", "), fmt::join(outputs, ", "));
    return text;
  }

  std::string example_main() const {
    std::string cases;
    bool any_float = false;
    bool any_exact = false;
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      const bool is_float = tensor(graph_.outputs[i]).dtype == DType::Float32;
      any_float = any_float || is_float;
      any_exact = any_exact || !is_float;
      cases += fmt::format("    case {}:\n      return {}(tensor, expected);\n", i,
                           is_float ? "floats_match" : "bytes_match");
    }
    return fmt::format(
        R"(/* {n} example: EXAMPLE_INVOKES consecutive inferences on the embedded example inputs
 * (state carried), each checked against the outputs the PC computed; with more than one, then
 * {n}_reset() and the first inference again, which must give the first outputs. Prints PASS or
 * FAIL; exits 0 on PASS. With --dump, also prints every output as hex bytes ("invoke K output I
 * bytes:" from the second invoke on). Generated by {version}. */
{math}#include <stdio.h>
#include <string.h>

#include "{n}.h"
#include "example_data.h"

{matchers}/* Names come from the model file: anything but printable ASCII is shown as \xNN. */
static void print_name(const char* name) {{
  for (const unsigned char* p = (const unsigned char*)name; *p != 0; ++p) {{
    if (*p >= 0x20 && *p < 0x7f && *p != '\\') {{
      putchar(*p);
    }} else {{
      printf("\\x%02X", (unsigned)*p);
    }}
  }}
}}

static int output_matches(size_t index, const {n}_tensor* tensor, const uint8_t* expected) {{
  switch (index) {{
{cases}    default:
      return 0;
  }}
}}

/* Runs invoke `k` of the example; prints one line per output (with `label` in front). */
static int run_invoke(unsigned k, const char* label, int dump) {{
  for (size_t i = 0; i < {n}_input_count(); ++i) {{
    const {n}_tensor* input = {n}_input(i);
    memcpy(input->data, kExampleInputs[k * {m}_INPUT_COUNT + i], input->bytes);
  }}
  if ({n}_invoke() != {m}_OK) {{
    printf("FAIL: {n}_invoke\n");
    return 0;
  }}
  int pass = 1;
  for (size_t i = 0; i < {n}_output_count(); ++i) {{
    const {n}_tensor* output = {n}_output(i);
    const int ok = output_matches(i, output, kExpectedOutputs[k * {m}_OUTPUT_COUNT + i]);
    printf("%soutput %u '", label, (unsigned)i);
    print_name(output->name);
    printf("': %s\n", ok ? "as expected" : "DIFFERS");
    if (dump) {{
      printf("%soutput %u bytes:", label, (unsigned)i);
      for (size_t b = 0; b < output->bytes; ++b) {{
        printf("%02x", ((const uint8_t*)output->data)[b]);
      }}
      printf("\n");
    }}
    pass = pass && ok;
  }}
  return pass;
}}

int main(int argc, char** argv) {{
  const int dump = argc > 1 && strcmp(argv[1], "--dump") == 0;
  if ({n}_init() != {m}_OK) {{
    printf("FAIL: {n}_init\n");
    return 1;
  }}
  int pass = 1;
  char label[32] = "";
  for (unsigned k = 0; k < EXAMPLE_INVOKES; ++k) {{
    if (k > 0) snprintf(label, sizeof(label), "invoke %u ", k);
    pass = run_invoke(k, label, dump) && pass;
  }}
  if (EXAMPLE_INVOKES > 1) {{
    if ({n}_reset() != {m}_OK) {{
      printf("FAIL: {n}_reset\n");
      return 1;
    }}
    pass = run_invoke(0, "after reset ", dump) && pass;
  }}
  printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}}
)",
        fmt::arg("n", name_), fmt::arg("m", macro_), fmt::arg("version", kToolVersion),
        fmt::arg("cases", cases), fmt::arg("math", any_float ? "#include <math.h>\n" : ""),
        fmt::arg("matchers", fmt::format(R"({}{})", any_exact ? bytes_matcher() : "",
                                         any_float ? floats_matcher() : "")));
  }

  // The example's comparisons: exact for integer outputs, 1e-5 relative for float ones.
  std::string bytes_matcher() const {
    return fmt::format(
        R"(static int bytes_match(const {n}_tensor* tensor, const uint8_t* expected) {{
  return memcmp(tensor->data, expected, tensor->bytes) == 0;
}}

)",
        fmt::arg("n", name_));
  }

  std::string floats_matcher() const {
    return fmt::format(
        R"(/* Float kernels may round differently with another compiler or FPU: allow 1e-5 relative. */
static int floats_match(const {n}_tensor* tensor, const uint8_t* expected) {{
  for (size_t i = 0; i < tensor->bytes / sizeof(float); ++i) {{
    float got;
    float want;
    memcpy(&got, (const uint8_t*)tensor->data + i * sizeof(float), sizeof(float));
    memcpy(&want, expected + i * sizeof(float), sizeof(float));
    if (!(fabsf(got - want) <= 1e-5f + 1e-5f * fabsf(want))) return 0;
  }}
  return 1;
}}

)",
        fmt::arg("n", name_));
  }

  std::string footprint_main() const {
    return fmt::format(
        R"(/* The smallest program that runs {n}: what the library costs in an image, for the
 * memory report. Generated by {version}. */
#include "{n}.h"

int main(void) {{
  if ({n}_init() != {m}_OK) return 1;
  return {n}_invoke() == {m}_OK ? 0 : 1;
}}
)",
        fmt::arg("n", name_), fmt::arg("m", macro_), fmt::arg("version", kToolVersion));
  }

  std::string readme(const Package& package) const {
    return fmt::format(
        R"(# {n}

Generated by {version} from `{model}` (SHA-256 `{hash}`) for `{target}`.

- `{n}.h`: the C API (`{n}_init`, `{n}_invoke`, `{n}_reset`, `{n}_input`, `{n}_output`,
  `{m}_ARENA_BYTES`, `{m}_VARIABLE_BYTES`).
- `{n}_model.cc`: the arena ({arena} bytes), the variable area ({variable_bytes} bytes, state kept
  across invokes) and the kernel calls; `{n}_model_data.cc`: weights ({weights} bytes).
- `runtime/`: the tinydeploy runtime kernels this model uses ({kernels}).
- `example/main.c`: runs the embedded example inputs ({invokes} invoke(s){reset}) and prints PASS
  or FAIL.

Build: `cmake -S . -B build && cmake --build build`, then run `build/{n}_example`
(for a Cortex-M target, the example links with newlib's nosys stubs: run it through a board port).
)",
        fmt::arg("n", name_), fmt::arg("m", macro_), fmt::arg("version", kToolVersion),
        fmt::arg("model", comment_text(model_file_name())),
        fmt::arg("hash", sha256_hex(model_.file)),
        fmt::arg("target", board::core_name(options_.core)),
        fmt::arg("arena", analysis_.plan.arena_bytes), fmt::arg("weights", package.weight_bytes),
        fmt::arg("variable_bytes", analysis_.plan.variable_arena_bytes),
        fmt::arg("kernels", fmt::join(package.kernel_sources, ", ")),
        fmt::arg("invokes", example_.invokes),
        fmt::arg("reset", example_.invokes > 1
                              ? ", state carried, then `" + name_ + "_reset()` and the first again"
                              : ""));
  }

  const model::Model& model_;
  const model::Subgraph& graph_;
  const analysis::ModelAnalysis& analysis_;
  const std::vector<KernelCall>& calls_;
  const ExampleData& example_;
  const PackageOptions& options_;
  const std::string name_;
  const std::string macro_;
  std::map<int32_t, int64_t> arena_offsets_;
  std::map<int32_t, int64_t> scratch_offsets_;
  std::map<int32_t, int64_t> variable_offsets_;
  std::map<int32_t, TensorHome> homes_;
  std::vector<int32_t> constants_;  // constant tensors in order of first use
  // Arrays the calls prepared from constant tensors, written and counted with the weights.
  struct PreparedWeights {
    int32_t op_index = 0;
    size_t position = 0;  // of the argument in the call
    std::string name;
    std::string label;
    const lowering::ConstantArray* array = nullptr;
  };
  std::vector<PreparedWeights> prepared_weights_;
  std::set<std::string> sources_;
};

}  // namespace

namespace {

// Names a package must not take: NAME.h lands in the package's public include directory, ahead
// of the system headers, so `name.h` would hide the C library's header of that name from every
// file built against the package (the runtime includes <math.h>, <string.h>, <stdint.h>; the C
// library's headers include their own helpers). Compared without case for case-insensitive
// file systems.
constexpr std::string_view kHeaderNames[] = {
    // C standard library (C89 to C23)
    "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits",
    "locale", "math", "setjmp", "signal", "stdalign", "stdarg", "stdatomic", "stdbit", "stdbool",
    "stdckdint", "stddef", "stdint", "stdio", "stdlib", "stdnoreturn", "string", "tgmath",
    "threads", "time", "uchar", "wchar", "wctype",
    // POSIX
    "aio", "cpio", "dirent", "dlfcn", "endian", "fcntl", "fmtmsg", "fnmatch", "ftw", "glob", "grp",
    "iconv", "langinfo", "libgen", "libintl", "monetary", "mqueue", "ndbm", "netdb", "nl_types",
    "poll", "pthread", "pwd", "regex", "sched", "search", "semaphore", "spawn", "strings",
    "stropts", "syslog", "tar", "termios", "trace", "ulimit", "unistd", "utime", "utmpx", "wordexp",
    // glibc, newlib and compiler headers that standard headers include or programs commonly use
    "alloca", "argp", "byteswap", "cpuid", "crypt", "elf", "err", "error", "execinfo", "features",
    "fpu_control", "getopt", "ieee754", "ieeefp", "ifaddrs", "link", "malloc", "memory", "mntent",
    "newlib", "obstack", "paths", "printf", "pty", "reent", "resolv", "shadow", "syscall",
    "sysexits", "termio", "ucontext", "unwind", "utmp", "values", "wait", "cxxabi", "arm_acle",
    "arm_cmse", "arm_fp16", "arm_mve", "arm_neon", "immintrin", "x86intrin",
    // CMSIS, which firmware building a Cortex-M package usually includes
    "arm_math", "arm_nnfunctions", "arm_nn_types", "cmsis_compiler", "cmsis_gcc", "cmsis_version",
    "core_cm0", "core_cm0plus", "core_cm3", "core_cm4", "core_cm7", "core_cm33", "core_cm55",
    // the package's own example/example_data.h, which example/main.c would include instead
    "example_data"};

// Target names CMake reserves (the package's CMakeLists.txt declares a target named NAME).
constexpr std::string_view kCMakeTargetNames[] = {
    "all",     "all_build",      "clean",         "depend",        "edit_cache",
    "help",    "install",        "install_local", "install_strip", "list_install_components",
    "package", "package_source", "preinstall",    "rebuild_cache", "run_tests",
    "test",    "zero_check"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Why `name` cannot name a package, or empty when it can.
std::string name_problem(std::string_view name) {
  const bool identifier_syntax =
      !name.empty() && name.size() <= 48 &&
      (std::isalpha(static_cast<unsigned char>(name.front())) != 0 || name.front() == '_') &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
      });
  if (!identifier_syntax) {
    return "it prefixes C symbols and file names, so use letters, digits and '_' (not starting "
           "with a digit, at most 48 characters)";
  }
  if (name.front() == '_' || name.back() == '_' || name.find("__") != std::string_view::npos) {
    return "C and C++ reserve identifiers that begin with '_' or contain '__' (and the package "
           "appends '_' and a suffix to the name)";
  }
  const std::string folded = lower(name);
  for (const std::string_view header : kHeaderNames) {
    if (folded == header) {
      return fmt::format(
          "the package's {}.h would hide the system header <{}.h> from every file built with "
          "the package's include directory",
          name, header);
    }
  }
  for (const std::string_view target : kCMakeTargetNames) {
    if (folded == target) {
      return fmt::format("CMake reserves the target name '{}'", target);
    }
  }
  return {};
}

}  // namespace

namespace {

// A usable package name made from any text: its letters and digits as a C identifier, prefixed
// when it would start with a digit, suffixed when it is a reserved or header name.
std::string usable_name(std::string_view text) {
  constexpr size_t kLimit = 48;
  std::string name = identifier(text, kLimit);
  if (name.empty()) return "model";
  if (std::isdigit(static_cast<unsigned char>(name.front())) != 0) name = "model_" + name;
  if (!name_problem(name).empty()) name += "_model";
  if (name.size() > kLimit) name.resize(kLimit);
  while (name.back() == '_') name.pop_back();
  return name;
}

}  // namespace

void write_files(const std::vector<GeneratedFile>& files, const std::filesystem::path& root) {
  for (const GeneratedFile& file : files) {
    const std::filesystem::path path = root / file.path;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(file.content.data(), static_cast<std::streamsize>(file.content.size()));
    if (!out.flush()) throw Error("cannot write {}", path.string());
  }
}

std::string default_package_name(const std::filesystem::path& model) {
  // A model file named math.tflite or all.tflite gets math_model, all_model: a package that
  // builds, rather than a refusal for a name the user never chose.
  return usable_name(model.stem().string());
}

void check_package_name(std::string_view name) {
  const std::string problem = name_problem(name);
  if (!problem.empty()) {
    throw Error("--name '{}' is not usable: {}; choose another name, e.g. {}", printable(name),
                problem, usable_name(name));
  }
}

Package generate_package(const model::Model& model, const analysis::ModelAnalysis& analysis,
                         const std::vector<lowering::KernelCall>& calls, const ExampleData& example,
                         const PackageOptions& options) {
  check_package_name(options.name);
  return Generator(model, analysis, calls, example, options).generate();
}

}  // namespace tinydeploy::codegen
