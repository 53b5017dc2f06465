// A model built in memory for the lowering tests: tensors (constant data goes into the model's
// file bytes) and one operator, or several for tests that go through lowering::lower.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/kernel_call.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::lowering {

class OneOp {
 public:
  OneOp() {
    model_.path = "test.tflite";
    model_.subgraphs.emplace_back();
  }

  int32_t tensor(const std::string& name, std::vector<int32_t> shape, model::DType type,
                 std::vector<float> scale = {}, std::vector<int64_t> zero_point = {}) {
    model::Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.dtype = type;
    t.quantization.scale = std::move(scale);
    t.quantization.zero_point = zero_point.empty()
                                    ? std::vector<int64_t>(t.quantization.scale.size(), 0)
                                    : std::move(zero_point);
    graph().tensors.push_back(std::move(t));
    return static_cast<int32_t>(graph().tensors.size() - 1);
  }

  template <typename T>
  int32_t constant(const std::string& name, std::vector<int32_t> shape, model::DType type,
                   const std::vector<T>& values, std::vector<float> scale = {}) {
    const int32_t index = tensor(name, std::move(shape), type, std::move(scale));
    const size_t offset = model_.file.size();
    model_.file.resize(offset + values.size() * sizeof(T));
    std::memcpy(model_.file.data() + offset, values.data(), values.size() * sizeof(T));
    graph().tensors.back().data = model::ByteRange{offset, values.size() * sizeof(T)};
    return index;
  }

  // Tensor `index`, to set what tensor() does not (is_variable, a quantized dimension).
  model::Tensor& at(int32_t index) { return graph().tensors[static_cast<size_t>(index)]; }

  // Marks tensor `index` as a variable tensor (state kept across invokes).
  void make_variable(int32_t index) { at(index).is_variable = true; }

  // The model's one operator (replaces any other).
  void op(model::BuiltinOp code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          model::Options options = {}) {
    graph().operators.clear();
    add_op(code, std::move(inputs), std::move(outputs), std::move(options));
  }

  // One more operator, after those already there.
  void add_op(model::BuiltinOp code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
              model::Options options = {}) {
    model::Operator op;
    op.op = code;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.options = std::move(options);
    graph().operators.push_back(std::move(op));
  }

  // The subgraph's inputs and outputs (the memory plan keeps them live throughout).
  void io(std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
    graph().inputs = std::move(inputs);
    graph().outputs = std::move(outputs);
  }

  const model::Model& model() const { return model_; }

  OpBinding binding(board::Core core = board::Core::Host) const {
    return OpBinding{model_, model_.main(), model_.main().operators.front(), 0, core};
  }

  // The first operator's kernel call for `core`; throws the refusal when lowering refuses it.
  KernelCall lowered(board::Core core = board::Core::Host) const { return lower_op(binding(core)); }

  // The refusal lower_op throws, or "" when the operator lowers.
  std::string error() const {
    try {
      lower_op(binding());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

 private:
  model::Subgraph& graph() { return model_.subgraphs.front(); }
  model::Model model_;
};

}  // namespace tinydeploy::lowering
