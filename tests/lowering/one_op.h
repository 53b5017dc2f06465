// A one-operator model built in memory, for the lowering tests: tensors, constants whose data
// goes into the model's file bytes, and the operator's lowering or its refusal.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"

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

  model::Tensor& at(int32_t index) { return graph().tensors[static_cast<size_t>(index)]; }

  // Marks tensor `index` as a variable tensor (state kept across invokes).
  void make_variable(int32_t index) {
    graph().tensors[static_cast<size_t>(index)].is_variable = true;
  }

  void op(model::BuiltinOp code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          model::Options options = {}) {
    model::Operator op;
    op.op = code;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.options = std::move(options);
    graph().operators = {op};
  }

  OpBinding binding() const {
    return OpBinding{model_, model_.main(), model_.main().operators.front(), 0};
  }

  KernelCall lower() const { return lower_op(binding()); }

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
