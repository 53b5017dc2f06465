// A model operator lowered to one call of a runtime kernel: the kernel's name and its arguments
// as values (prepared parameter structs, scalars, constant tables) and as references to tensor
// storage. The same description is run on the host by the engine and printed as C++ by codegen,
// so the two cannot disagree on a parameter.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tinydeploy/runtime/activation.h"
#include "tinydeploy/runtime/common.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/elementwise.h"
#include "tinydeploy/runtime/layout.h"
#include "tinydeploy/runtime/lstm.h"
#include "tinydeploy/runtime/pooling.h"
#include "tinydeploy/runtime/reduce.h"
#include "tinydeploy/runtime/svdf.h"

namespace tinydeploy::lowering {

namespace rt = tinydeploy::runtime;

// C element types of pointer arguments.
enum class CType { Int8, UInt8, Int16, Int32, Int64, Float32, Void };
const char* c_type_name(CType type);

// A pointer to a tensor's data (arena or constant). `tensor` is model::kNoTensor for an omitted
// optional input, which the kernel receives as a null pointer.
struct TensorPointer {
  int32_t tensor = -1;
  CType type = CType::Void;
  bool writable = false;
};

// A pointer to the operator's planned scratch buffer.
struct ScratchPointer {
  CType type = CType::Void;
};

// Constant data derived at prepare time (a pad value, per-channel float scales, chunk sizes),
// passed as a pointer to its first element. `role` names it in generated code. `weights` marks
// data prepared from the model's constant tensors in place of them (a bias with the input zero
// point folded in): a package links it with the weights and counts it as weights.
struct ConstantArray {
  std::string role;
  std::variant<std::vector<uint8_t>, std::vector<int8_t>, std::vector<int32_t>, std::vector<float>>
      values;
  bool weights = false;
};

// Per-channel (or one per-tensor) requantization multipliers, passed as rt::PerChannelScale.
struct ChannelScales {
  std::vector<int32_t> multiplier;
  std::vector<int32_t> shift;
};

// int16 SOFTMAX's parameters with its lookup tables, passed as rt::SoftmaxInt16Params.
struct SoftmaxInt16Tables {
  rt::Requantization input_beta;
  std::vector<int16_t> exp_table;
  std::vector<int16_t> reciprocal_table;
};

// Several tensors' data pointers, passed as `const void* const*` (CONCATENATION's inputs), or
// as `void* const*` when writable (SPLIT's outputs).
struct TensorPointerList {
  std::vector<int32_t> tensors;
  bool writable = false;
};

using Argument =
    std::variant<int32_t, float, bool, rt::Dims4, rt::QuantizedActivation, rt::FloatActivation,
                 rt::ConvGeometry, rt::FullyConnectedShape, rt::PoolGeometry, rt::PoolClamp,
                 rt::BroadcastShape, rt::AddParams, rt::MulParams, rt::RequantizeParams,
                 rt::LeakyReluParams, rt::HardSwishParams, rt::SigmoidParams,
                 rt::SigmoidInt16Params, rt::SoftmaxParams, rt::AffineQuantization, rt::StridedView,
                 rt::PadShape, rt::ReduceShape, rt::MeanParams, rt::SvdfShape, rt::SvdfQuantization,
                 rt::LstmFloatParams, rt::LstmQuantizedParams, TensorPointer, ScratchPointer,
                 ConstantArray, ChannelScales, SoftmaxInt16Tables, TensorPointerList>;

// Where the host finds tensor data and an operator's scratch buffer.
struct HostStorage {
  std::function<void*(int32_t tensor)> tensor;
  void* scratch = nullptr;
};

struct KernelCall {
  int32_t op_index = 0;
  std::string kernel;  // function in tinydeploy::runtime, e.g. "conv"
  std::string source;  // the runtime kernel file that defines it, e.g. "conv" (kernels/conv.cc)
  std::vector<Argument> arguments;
  int64_t scratch_bytes = 0;  // working memory the kernel needs (its ScratchPointer argument)
  // Runs on the first invoke after a reset only (an operator of an inlined CALL_ONCE subgraph).
  bool once = false;

  // The call bound to host storage, ready to run. Tables and scales are read from `arguments`,
  // so the KernelCall must outlive the returned function.
  std::function<std::function<void()>(const KernelCall&, const HostStorage&)> bind;
};

}  // namespace tinydeploy::lowering
