// UNIDIRECTIONAL_SEQUENCE_LSTM's lowering (families/lstm.cc): the parameters it derives for a
// converted 8x8_16 model, recomputed here from the tensors' scales, the scratch it declares, and
// the refusal of each operand the kernel was not promised.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <variant>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/runtime/lstm.h"

namespace tinydeploy::lowering {
namespace {

namespace rt = tinydeploy::runtime;
using model::DType;
using ::testing::HasSubstr;

const std::string kModels = std::string(TINYDEPLOY_TEST_DATA_DIR) + "/models/";
const std::string kRefused = std::string(TINYDEPLOY_TEST_DATA_DIR) + "/lstm_refused/";

// Indices of the operator's inputs (TFLite's LSTM operand order).
constexpr size_t kInput = 0;
constexpr size_t kInputToInput = 1;
constexpr size_t kInputToForget = 2;
constexpr size_t kRecurrentToInput = 5;
constexpr size_t kHidden = 18;
constexpr size_t kCell = 19;

model::Model read(const std::string& path) { return model::read_model(path); }

OpBinding binding(const model::Model& m) {
  return OpBinding{m, m.main(), m.main().operators.front(), 0};
}

model::Tensor& operand(model::Model& m, size_t i) {
  model::Subgraph& g = m.subgraphs.front();
  return g.tensors[static_cast<size_t>(g.operators.front().inputs[i])];
}

std::string refusal(const model::Model& m) {
  try {
    lower_op(binding(m));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <typename T>
const T& argument(const KernelCall& call) {
  for (const Argument& a : call.arguments) {
    if (const T* found = std::get_if<T>(&a)) return *found;
  }
  throw Error("no argument of the expected type");
}

// A rescaling by `real` as a Q31 multiplier and a power of two, rounded half away from zero.
rt::Requantization expected(double real) {
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);
  auto q = static_cast<int64_t>(std::llround(fraction * 2147483648.0));
  if (q == int64_t{1} << 31) {
    q /= 2;
    ++exponent;
  }
  return {static_cast<int32_t>(q), exponent};
}

void expect_rescaling(const rt::Requantization& got, double real, const std::string& what) {
  const rt::Requantization want = expected(real);
  EXPECT_EQ(got.multiplier, want.multiplier) << what;
  EXPECT_EQ(got.shift, want.shift) << what;
}

TEST(LstmLoweringTest, Int8ModelDerivesTheGateAndProductRescalings) {
  const model::Model m = read(kModels + "lstm_int8.tflite");
  const OpBinding b = binding(m);
  const KernelCall call = lower_op(b);
  EXPECT_EQ(call.kernel, "unidirectional_sequence_lstm");
  EXPECT_EQ(call.source, "lstm");
  const auto& p = argument<rt::LstmQuantizedParams>(call);

  const model::Tensor& input = b.input(kInput);
  const model::Tensor& hidden = b.input(kHidden);
  const model::Tensor& cell = b.input(kCell);
  // Batch-major [batch, time, inputs]; the state [batch, units].
  EXPECT_FALSE(p.shape.time_major);
  EXPECT_EQ(p.shape.batches, input.shape[0]);
  EXPECT_EQ(p.shape.time_steps, input.shape[1]);
  EXPECT_EQ(p.shape.input_size, input.shape[2]);
  EXPECT_EQ(p.shape.state_size, hidden.shape[1]);
  EXPECT_EQ(p.input_zero_point, input.quantization.zero_point[0]);
  EXPECT_EQ(p.state_zero_point, hidden.quantization.zero_point[0]);
  EXPECT_EQ(p.state_min, -128);
  EXPECT_EQ(p.state_max, 127);

  // Each gate: input (resp. hidden) scale x weight scale over the fixed gate scale 2^-12.
  const rt::LstmGateScales* gates[4] = {&p.input_gate, &p.forget_gate, &p.cell_gate,
                                        &p.output_gate};
  const double gate_scale = std::ldexp(1.0, -12);
  for (size_t g = 0; g < 4; ++g) {
    const double w = b.input(kInputToInput + g).quantization.scale[0];
    const double r = b.input(kRecurrentToInput + g).quantization.scale[0];
    expect_rescaling(gates[g]->input, input.quantization.scale[0] * w / gate_scale,
                     "input of gate " + std::to_string(g));
    expect_rescaling(gates[g]->recurrent, hidden.quantization.scale[0] * r / gate_scale,
                     "recurrent of gate " + std::to_string(g));
  }
  // Gate outputs in Q0.15; the products rescaled to the cell and hidden state.
  const double q15 = std::ldexp(1.0, -15);
  const double s_cell = cell.quantization.scale[0];
  expect_rescaling(p.forget_times_cell, q15 * s_cell / s_cell, "forget x cell");
  expect_rescaling(p.input_times_cell, q15 * q15 / s_cell, "input x cell gate");
  expect_rescaling(p.output_times_tanh, q15 * q15 / hidden.quantization.scale[0],
                   "output x tanh(cell)");
  // The converter gives the cell state a power-of-two scale: tanh reads it with a shift onto
  // the Q3.12 grid.
  const int power = static_cast<int>(std::lround(std::log2(s_cell)));
  ASSERT_EQ(std::ldexp(1.0, power), s_cell);
  const int shift = power + 12;
  if (shift >= 0) {
    EXPECT_EQ(p.cell_tanh.input_multiplier, 3 << shift);
    EXPECT_EQ(p.cell_tanh.input_shift, 0);
  } else {
    EXPECT_EQ(p.cell_tanh.input_multiplier, 3);
    EXPECT_EQ(p.cell_tanh.input_shift, -shift);
  }
  // The converter's cell clip of 10, in cell units and within int16 (10 / s_cell is larger).
  const auto& o = std::get<model::LSTMOptions>(b.op.options);
  ASSERT_EQ(o.cell_clip, 10.0f);
  EXPECT_EQ(p.cell_clip, std::min(static_cast<int32_t>(10.0 / s_cell), 32767));
  // Four int16 gate buffers of batch x units.
  EXPECT_EQ(call.scratch_bytes, 4 * p.shape.batches * p.shape.state_size * 2);
}

TEST(LstmLoweringTest, FloatAndInt16ModelsDeclareTheirScratch) {
  const model::Model f = read(kModels + "lstm_float.tflite");
  const KernelCall fc = lower_op(binding(f));
  const auto& fp = argument<rt::LstmFloatParams>(fc);
  EXPECT_EQ(fc.scratch_bytes, 4 * fp.shape.batches * fp.shape.state_size * 4);

  const model::Model s = read(kModels + "lstm_tm_clip_int16.tflite");
  const KernelCall sc = lower_op(binding(s));
  const auto& sp = argument<rt::LstmQuantizedParams>(sc);
  EXPECT_TRUE(sp.shape.time_major);
  EXPECT_GT(sp.cell_clip, 0);
  EXPECT_EQ(sp.state_min, -32768);
  EXPECT_EQ(sp.state_max, 32767);
  EXPECT_EQ(sc.scratch_bytes, 4 * sp.shape.batches * sp.shape.state_size * 2);
}

// The variants TFLite Micro refuses (tools/testmodels/lstm.py), each by its reason.
TEST(LstmLoweringTest, VariantsTfliteMicroRefusesAreRefusedByName) {
  const std::string where = ": operator 0 (UNIDIRECTIONAL_SEQUENCE_LSTM): ";
  const struct {
    const char* file;
    const char* reason;
  } cases[] = {
      {"lstm_cifg_int8.tflite",
       "an LSTM without the input gate (CIFG) is not supported by TFLite Micro"},
      {"lstm_peephole_int8.tflite",
       "peephole (cell-to-gate) weights are not supported by TFLite Micro"},
      {"lstm_peephole_float.tflite",
       "peephole (cell-to-gate) weights are not supported by TFLite Micro"},
      {"lstm_projection_int8.tflite",
       "projection weights and bias are not supported by TFLite Micro"},
      {"lstm_layer_norm_int8.tflite", "layer norm coefficients are not supported by TFLite Micro"},
      {"lstm_relu_cell_int8.tflite",
       "cell activation RELU is not supported: TFLite Micro computes TANH only"},
  };
  for (const auto& c : cases) {
    const std::string path = kRefused + c.file;
    EXPECT_EQ(refusal(read(path)), path + where + c.reason) << c.file;
  }
}

// One change to the converted int8 model per refusal the kernel's Requires: needs.
TEST(LstmLoweringTest, OperandsTheKernelWasNotPromisedAreRefused) {
  const std::string path = kModels + "lstm_int8.tflite";
  const auto refused = [&](auto change) {
    model::Model m = read(path);
    change(m);
    return refusal(m);
  };
  EXPECT_EQ(refusal(read(path)), "");
  EXPECT_THAT(refused([](model::Model& m) { operand(m, kHidden).is_variable = false; }),
              HasSubstr("the hidden and cell state must be variable tensors"));
  EXPECT_THAT(refused([](model::Model& m) {
                auto& o = std::get<model::LSTMOptions>(m.subgraphs[0].operators[0].options);
                o.activation = model::Activation::Relu6;
              }),
              HasSubstr("cell activation RELU6 is not supported: TFLite Micro computes TANH "
                        "only"));
  EXPECT_THAT(
      refused([](model::Model& m) {
        model::Tensor& w = operand(m, kInputToForget);
        const auto units = static_cast<size_t>(w.shape[0]);
        w.quantization.scale.assign(units, w.quantization.scale[0]);
        w.quantization.zero_point.assign(units, 0);
        w.quantization.quantized_dimension = 0;
      }),
      HasSubstr("is quantized per channel (5 scales), but the kernel applies one scale to it"));
  EXPECT_THAT(
      refused([](model::Model& m) { operand(m, kInputToForget).quantization.zero_point = {3}; }),
      HasSubstr("must have zero point 0"));
  EXPECT_THAT(refused([](model::Model& m) { operand(m, kCell).quantization.zero_point = {1}; }),
              HasSubstr("the cell state must have zero point 0"));
  EXPECT_THAT(refused([](model::Model& m) { operand(m, kCell).quantization.scale = {4.0f}; }),
              HasSubstr("the cell state scale 4 is outside [2^-43, 2^1]"));
  EXPECT_THAT(refused([](model::Model& m) { operand(m, kCell).dtype = DType::Int8; }),
              HasSubstr("a quantized LSTM needs int8 activations with int8 weights, int32 biases "
                        "and an int16 cell state"));
  EXPECT_THAT(refused([](model::Model& m) { operand(m, kHidden).shape[1] += 1; }),
              HasSubstr("must have shape ["));
  EXPECT_THAT(refused([](model::Model& m) { m.subgraphs[0].operators[0].inputs.resize(20); }),
              HasSubstr("takes 24 inputs and one output"));
}

}  // namespace
}  // namespace tinydeploy::lowering
