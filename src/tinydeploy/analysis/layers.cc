// MACs per operator, from each operator's definition.
#include <fmt/format.h>

#include "tinydeploy/analysis/layers.h"

namespace tinydeploy::analysis {

using model::BuiltinOp;

const model::Tensor& OpContext::input(size_t i) const {
  return graph.tensors[static_cast<size_t>(op.inputs[i])];
}

bool OpContext::has_input(size_t i) const {
  return i < op.inputs.size() && op.inputs[i] != model::kNoTensor;
}

const model::Tensor& OpContext::output(size_t i) const {
  return graph.tensors[static_cast<size_t>(op.outputs[i])];
}

std::string OpContext::where() const {
  return fmt::format("{}: operator {} ({})", model.path, index, op.name());
}

namespace {

int64_t dim(const model::Tensor& tensor, size_t axis) {
  return axis < tensor.shape.size() ? tensor.shape[axis] : 0;
}

// Weights of the LSTM gates: input-to-gate matrices are inputs 1..4 ([cells, inputs]),
// recurrent matrices inputs 5..8 ([cells, outputs]); the projection is input 16
// ([outputs, cells]). Coupled input-forget (CIFG) models omit the input gate's matrices.
int64_t lstm_macs(const OpContext& c, bool sequence) {
  const model::Tensor& input = c.input(0);
  int64_t steps_times_batch = 1;
  if (sequence) {
    if (input.shape.size() != 3) return 0;
    steps_times_batch = dim(input, 0) * dim(input, 1);
  } else {
    if (input.shape.size() != 2) return 0;
    steps_times_batch = dim(input, 0);
  }
  int64_t per_step = 0;
  for (size_t gate = 1; gate <= 4; ++gate) {
    if (c.has_input(gate)) per_step += dim(c.input(gate), 0) * dim(c.input(gate), 1);
    if (c.has_input(gate + 4)) per_step += dim(c.input(gate + 4), 0) * dim(c.input(gate + 4), 1);
  }
  if (c.has_input(16)) per_step += dim(c.input(16), 0) * dim(c.input(16), 1);
  return steps_times_batch * per_step;
}

}  // namespace

int64_t estimate_macs(const OpContext& c) {
  if (c.op.outputs.empty()) return 0;
  const int64_t out_elements = c.output(0).elements();
  switch (c.op.op) {
    // Each output element sums kernel_h x kernel_w x (input channels per group) products;
    // filters are [out_channels, kernel_h, kernel_w, in_channels].
    case BuiltinOp::CONV_2D:
      return out_elements * dim(c.input(1), 1) * dim(c.input(1), 2) * dim(c.input(1), 3);
    // Each output element sums one channel's kernel_h x kernel_w window.
    case BuiltinOp::DEPTHWISE_CONV_2D:
      return out_elements * dim(c.input(1), 1) * dim(c.input(1), 2);
    // Each output element is a dot product over the weights' in_features ([units, features]).
    case BuiltinOp::FULLY_CONNECTED:
      return out_elements * dim(c.input(1), 1);
    // Every input element is scattered through the whole kernel into every output channel:
    // input elements x kernel_h x kernel_w x out_channels (filter [out, kh, kw, in]).
    case BuiltinOp::TRANSPOSE_CONV:
      return c.input(2).elements() * dim(c.input(1), 0) * dim(c.input(1), 1) * dim(c.input(1), 2);
    // Each output element is a dot product over the contracted dimension K.
    case BuiltinOp::BATCH_MATMUL: {
      const model::Tensor& lhs = c.input(0);
      if (lhs.shape.size() < 2) return 0;
      const bool adj_x = std::get_if<model::BatchMatMulOptions>(&c.op.options) != nullptr &&
                         std::get<model::BatchMatMulOptions>(c.op.options).adj_x;
      return out_elements * dim(lhs, lhs.shape.size() - (adj_x ? 2 : 1));
    }
    // Feature matmul (batch x filters x input_size) then the time matmul over the memory
    // (batch x filters x memory_size); filters = units x rank.
    case BuiltinOp::SVDF: {
      const int64_t batch = dim(c.input(0), 0);
      const model::Tensor& features = c.input(1);
      const model::Tensor& time = c.input(2);
      return batch * dim(features, 0) * dim(features, 1) + batch * dim(time, 0) * dim(time, 1);
    }
    case BuiltinOp::LSTM:
      return lstm_macs(c, false);
    case BuiltinOp::UNIDIRECTIONAL_SEQUENCE_LSTM:
      return lstm_macs(c, true);
    default:
      return 0;
  }
}

}  // namespace tinydeploy::analysis
