// Lowering of UNIDIRECTIONAL_SEQUENCE_LSTM (runtime/kernels/lstm.cc). The hidden and cell
// state are variable tensors the kernel updates in place (OpBinding::state_slot); the four gate
// buffers are the operator's scratch.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/lstm.h"

namespace tinydeploy::lowering {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

namespace {

// UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro prepares it (unidirectional_sequence_lstm.cc,
// lstm_eval_common.cc): the standard LSTM only, every gate present, a tanh cell activation and
// variable state tensors; gate pre-activations rescaled to a fixed 2^-12.
enum Input : size_t {
  kInput = 0,
  kInputToInput = 1,      // 1-4: input weights of the input, forget, cell and output gates
  kRecurrentToInput = 5,  // 5-8: recurrent weights
  kCellToInput = 9,       // 9-11: peephole
  kInputBias = 12,        // 12-15: gate biases
  kProjectionWeights = 16,
  kProjectionBias = 17,
  kHiddenState = 18,
  kCellState = 19,
  kInputLayerNorm = 20,  // 20-23
};

// TFLite's CheckedLog2 (its result is not checked by TFLite Micro): log2 of the scale rounded
// to an integer, in single precision.
int cell_scale_power(float scale) {
  const float log2_scale = std::log(scale) * (1.0f / std::log(2.0f));
  return static_cast<int>(std::round(log2_scale));
}

void require_shape(const OpBinding& b, size_t index, std::initializer_list<int32_t> shape,
                   std::string_view what) {
  const Tensor& t = b.input(index);
  require(t.shape == std::vector<int32_t>(shape), b,
          fmt::format("{} '{}' must have shape [{}]", what, t.name, fmt::join(shape, ", ")));
}

KernelCall prepare_sequence_lstm(const OpBinding& b) {
  require(b.op.inputs.size() == 24 && b.op.outputs.size() == 1, b,
          "takes 24 inputs and one output");
  // The variants of the standard LSTM that TFLite Micro refuses, each by name.
  for (size_t i : {kInputToInput, kRecurrentToInput, kInputBias}) {
    require(b.has_input(i), b,
            "an LSTM without the input gate (CIFG) is not supported by TFLite Micro");
  }
  for (size_t i = kCellToInput; i < kCellToInput + 3; ++i) {
    require(!b.has_input(i), b,
            "peephole (cell-to-gate) weights are not supported by TFLite Micro");
  }
  require(!b.has_input(kProjectionWeights) && !b.has_input(kProjectionBias), b,
          "projection weights and bias are not supported by TFLite Micro");
  for (size_t i = kInputLayerNorm; i < kInputLayerNorm + 4; ++i) {
    require(!b.has_input(i), b, "layer norm coefficients are not supported by TFLite Micro");
  }
  for (size_t i = 0; i < kCellToInput; ++i) {
    require(b.has_input(i), b, "the input, its weights and every gate's weights are required");
  }
  for (size_t i = kInputBias; i < kInputBias + 4; ++i) {
    require(b.has_input(i), b, "every gate's bias is required");
  }
  require(b.has_input(kHiddenState) && b.has_input(kCellState), b,
          "the hidden and cell state inputs are required");
  require_inputs(b, 9);
  const auto& o = options<model::LSTMOptions>(b);
  // TFLite Micro computes the cell gate with tanh only (other activations fail its assertion,
  // and a release build then skips the activation altogether).
  require(o.activation == Activation::Tanh, b,
          fmt::format("cell activation {} is not supported: TFLite Micro computes TANH only",
                      model::activation_name(o.activation)));
  const Tensor& input = b.input(kInput);
  const Tensor& hidden = b.input(kHiddenState);
  const Tensor& cell = b.input(kCellState);
  const Tensor& output = b.output(0);
  require(hidden.is_variable && cell.is_variable, b,
          "the hidden and cell state must be variable tensors");

  // Sizes, as TFLite Micro derives and checks them.
  require(input.shape.size() == 3, b, "the input must have rank 3");
  require(hidden.shape.size() >= 2, b, "the hidden state must have rank 2");
  rt::LstmShape shape;
  shape.time_major = o.time_major;
  shape.batches = o.time_major ? input.shape[1] : input.shape[0];
  shape.time_steps = o.time_major ? input.shape[0] : input.shape[1];
  shape.input_size = input.shape[2];
  shape.state_size = hidden.shape[1];
  require(shape.batches > 0 && shape.time_steps > 0 && shape.input_size > 0 && shape.state_size > 0,
          b, "every dimension of the input and state must be at least 1");
  const int32_t units = shape.state_size;
  for (size_t g = 0; g < 4; ++g) {
    require_shape(b, kInputToInput + g, {units, shape.input_size}, "input weights");
    require_shape(b, kRecurrentToInput + g, {units, units}, "recurrent weights");
    require_shape(b, kInputBias + g, {units}, "bias");
  }
  const int64_t state_elements = int64_t{shape.batches} * units;
  require(hidden.elements() == state_elements && cell.elements() == state_elements, b,
          "the hidden and cell state must hold batch x units elements");
  require(output.shape.size() == 3 && output.shape[0] == input.shape[0] &&
              output.shape[1] == input.shape[1] && output.shape[2] == units,
          b, "the output must have the input's first two dimensions and one entry per unit");
  narrow(int64_t{shape.batches} * shape.time_steps *
             std::max(int64_t{shape.input_size}, int64_t{units}) * 4,
         b);

  const DType act = input.dtype;
  const DType weights = b.input(kInputToInput).dtype;
  const DType bias = b.input(kInputBias).dtype;
  for (size_t i = kInputToInput; i < kCellToInput; ++i) {
    require(b.input(i).dtype == weights, b, "every gate's weights must have the same type");
  }
  for (size_t i = kInputBias; i < kInputBias + 4; ++i) {
    require(b.input(i).dtype == bias, b, "every gate's bias must have the same type");
  }
  require(hidden.dtype == act && output.dtype == act, b,
          "the hidden state and output must have the input's type");

  const Slot hidden_slot = b.state_slot(kHiddenState);
  const Slot cell_slot = b.state_slot(kCellState);
  const Slot scratch = b.scratch_slot();
  auto in = [&](size_t i) { return b.input_slot(i); };
  // The four gate buffers: float cells for a float LSTM, int16 for the quantized ones.
  const int64_t scratch_bytes =
      int64_t{rt::lstm_scratch_elements(shape)} * (act == DType::Float32 ? int64_t{4} : int64_t{2});

  if (act == DType::Float32) {
    require(weights == DType::Float32 && bias == DType::Float32 && cell.dtype == DType::Float32, b,
            "a float LSTM needs float weights, biases and cell state");
    rt::LstmFloatParams params;
    params.shape = shape;
    require(!std::isnan(o.cell_clip), b, "the cell clip must be a number");
    // An infinite clip clips nothing, as no clip does.
    params.cell_clip = o.cell_clip > 0.0f && std::isfinite(o.cell_clip) ? o.cell_clip : 0.0f;
    return with_scratch(
        call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
             typed<float>(in(0)), typed<float>(in(1)), typed<float>(in(2)), typed<float>(in(3)),
             typed<float>(in(4)), typed<float>(in(5)), typed<float>(in(6)), typed<float>(in(7)),
             typed<float>(in(8)), typed<float>(in(12)), typed<float>(in(13)), typed<float>(in(14)),
             typed<float>(in(15)), typed<float>(hidden_slot), typed<float>(cell_slot),
             typed<float>(b.output_slot(0)), typed<float>(scratch)),
        scratch_bytes);
  }

  const bool int8 = act == DType::Int8;
  require((int8 || act == DType::Int16) && weights == DType::Int8 &&
              bias == (int8 ? DType::Int32 : DType::Int64) && cell.dtype == DType::Int16,
          b,
          "a quantized LSTM needs int8 activations with int8 weights, int32 biases and an int16 "
          "cell state, or int16 activations with int8 weights, int64 biases and an int16 cell "
          "state");
  for (const Tensor* t : {&input, &hidden, &cell}) require_quantized(b, *t);
  for (size_t i = kInputToInput; i < kCellToInput; ++i) {
    const Tensor& w = b.input(i);
    require_quantized(b, w);
    // One scale per weight tensor: require_inputs refuses per-channel weights outside the
    // convolution family (TFLite Micro leaves a per-channel LSTM's rescaling unset).
    require(zero_point_of(w) == 0, b, fmt::format("weights '{}' must have zero point 0", w.name));
  }
  require(zero_point_of(cell) == 0, b, "the cell state must have zero point 0");

  const Accumulator accumulator = int8 ? Accumulator::Int32 : Accumulator::Int64;
  constexpr float kGateInputScale = 0x1p-12f;   // pre-activations in Q3.12
  constexpr float kGateOutputScale = 0x1p-15f;  // gate outputs in Q0.15
  // Each gate's input and recurrent rescaling: the two scales' product over 2^-12, in double.
  auto gate_rescaling = [&](const Tensor& x, const Tensor& w) {
    const double product = static_cast<double>(scale_of(x)) * static_cast<double>(scale_of(w));
    return requantization(b, product / static_cast<double>(kGateInputScale), accumulator,
                          fmt::format("the rescaling of '{}' x weights '{}' to the gate scale "
                                      "2^-12",
                                      x.name, w.name));
  };
  rt::LstmQuantizedParams params;
  params.shape = shape;
  params.input_zero_point = zero_point_of(input);
  params.state_zero_point = zero_point_of(hidden);
  rt::LstmGateScales* gates[4] = {&params.input_gate, &params.forget_gate, &params.cell_gate,
                                  &params.output_gate};
  for (size_t g = 0; g < 4; ++g) {
    const Tensor& w = b.input(kInputToInput + g);
    const Tensor& r = b.input(kRecurrentToInput + g);
    require_accumulator_fits(b, accumulator, input_magnitude(input), w, 0, 0,
                             &b.input(kInputBias + g));
    require_accumulator_fits(b, accumulator, input_magnitude(hidden), r, 0, 0, nullptr);
    gates[g]->input = gate_rescaling(input, w);
    gates[g]->recurrent = gate_rescaling(hidden, r);
  }
  // The element-wise products: the scales' product over the output scale, in double.
  auto product_rescaling = [&](float a, float c, float out, std::string_view what) {
    const double real = static_cast<double>(a) * static_cast<double>(c) / static_cast<double>(out);
    return requantization(b, real, Accumulator::Int32, what);
  };
  const float cell_scale = scale_of(cell);
  params.forget_times_cell = product_rescaling(kGateOutputScale, cell_scale, cell_scale,
                                               "the rescaling of forget gate x cell state");
  params.input_times_cell = product_rescaling(kGateOutputScale, kGateOutputScale, cell_scale,
                                              "the rescaling of input gate x cell gate");
  params.output_times_tanh =
      product_rescaling(kGateOutputScale, kGateOutputScale, scale_of(hidden),
                        "the rescaling of output gate x tanh(cell) to the hidden state");
  // tanh of the cell state: its power-of-two scale moved onto the Q3.12 grid by a shift.
  const int shift = cell_scale_power(cell_scale) + 12;
  require(shift >= -31 && shift <= 13, b,
          fmt::format("the cell state scale {} is outside [2^-43, 2^1]", cell_scale));
  params.cell_tanh =
      shift >= 0 ? rt::SigmoidInt16Params{3 << shift, 0} : rt::SigmoidInt16Params{3, -shift};
  if (o.cell_clip > 0.0f) {
    const double clip = static_cast<double>(o.cell_clip) / static_cast<double>(cell_scale);
    params.cell_clip = static_cast<int16_t>(std::clamp(clip, -32768.0, 32767.0));
  }
  params.state_min = type_min(hidden.dtype);
  params.state_max = type_max(hidden.dtype);
  if (int8) {
    return with_scratch(
        call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
             typed<int8_t>(in(0)), typed<int8_t>(in(1)), typed<int8_t>(in(2)), typed<int8_t>(in(3)),
             typed<int8_t>(in(4)), typed<int8_t>(in(5)), typed<int8_t>(in(6)), typed<int8_t>(in(7)),
             typed<int8_t>(in(8)), typed<int32_t>(in(12)), typed<int32_t>(in(13)),
             typed<int32_t>(in(14)), typed<int32_t>(in(15)), typed<int8_t>(hidden_slot),
             typed<int16_t>(cell_slot), typed<int8_t>(b.output_slot(0)), typed<int16_t>(scratch)),
        scratch_bytes);
  }
  return with_scratch(
      call(b, TINYDEPLOY_RUNTIME_KERNEL(unidirectional_sequence_lstm), params,
           typed<int16_t>(in(0)), typed<int8_t>(in(1)), typed<int8_t>(in(2)), typed<int8_t>(in(3)),
           typed<int8_t>(in(4)), typed<int8_t>(in(5)), typed<int8_t>(in(6)), typed<int8_t>(in(7)),
           typed<int8_t>(in(8)), typed<int64_t>(in(12)), typed<int64_t>(in(13)),
           typed<int64_t>(in(14)), typed<int64_t>(in(15)), typed<int16_t>(hidden_slot),
           typed<int16_t>(cell_slot), typed<int16_t>(b.output_slot(0)), typed<int16_t>(scratch)),
      scratch_bytes);
}

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::UNIDIRECTIONAL_SEQUENCE_LSTM, prepare_sequence_lstm},
};

}  // namespace

Family lstm_family() { return {"lstm", "lstm", kOperators}; }

}  // namespace tinydeploy::lowering
