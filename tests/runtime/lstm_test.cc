#include "tinydeploy/runtime/lstm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tinydeploy::runtime {
namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A float LSTM of one unit and one input whose weights are all zero: only the biases act.
struct FloatUnit {
  LstmFloatParams params;
  float zero = 0.0f;
  float bias[4] = {0.3f, -0.4f, 0.9f, 0.2f};  // input, forget, cell, output
  float hidden = 0.0f;
  float cell = 0.0f;
  float scratch[4] = {};

  float invoke(float x) {
    float out = 0.0f;
    unidirectional_sequence_lstm(params, &x, &zero, &zero, &zero, &zero, &zero, &zero, &zero, &zero,
                                 &bias[0], &bias[1], &bias[2], &bias[3], &hidden, &cell, &out,
                                 scratch);
    return out;
  }
};

TEST(LstmFloatTest, BiasesAloneFollowTheCellEquations) {
  FloatUnit unit;
  const double i = sigmoid(0.3), f = sigmoid(-0.4), g = std::tanh(0.9), o = sigmoid(0.2);
  double c = i * g;
  EXPECT_NEAR(unit.invoke(1.0f), o * std::tanh(c), 1e-6);
  // The state is carried into the next invoke.
  c = f * c + i * g;
  EXPECT_NEAR(unit.invoke(-1.0f), o * std::tanh(c), 1e-6);
  EXPECT_NEAR(unit.cell, c, 1e-6);
  EXPECT_NEAR(unit.hidden, o * std::tanh(c), 1e-6);
}

TEST(LstmFloatTest, CellClipBoundsTheCellState) {
  FloatUnit unit;
  unit.params.cell_clip = 0.1f;
  unit.invoke(0.0f);
  EXPECT_FLOAT_EQ(unit.cell, 0.1f);
  unit.bias[2] = -0.9f;
  unit.invoke(0.0f);
  unit.invoke(0.0f);
  EXPECT_FLOAT_EQ(unit.cell, -0.1f);
}

// int8 activations, int16 cell state with scale 2^-11, everything rescaled by 1.0 or by the
// powers of two TFLite Micro's prepare derives for these scales.
LstmQuantizedParams int8_params(const LstmShape& shape) {
  LstmQuantizedParams p;
  p.shape = shape;
  p.input_zero_point = -3;
  p.state_zero_point = 5;
  const Requantization quarter{1 << 30, -1};  // 0.25
  for (LstmGateScales* gate : {&p.input_gate, &p.forget_gate, &p.cell_gate, &p.output_gate}) {
    *gate = {quarter, quarter};
  }
  p.forget_times_cell = {1 << 30, -14};  // 2^-15
  p.input_times_cell = {1 << 30, -18};   // 2^-30 / 2^-11
  p.output_times_tanh = {1 << 30, -22};  // 2^-30 / 2^-23 (state scale 2^-7)
  p.cell_tanh = {6, 0};                  // cell scale 2^-11: twice the Q3.12 grid's multiplier 3
  return p;
}

struct Int8Lstm {
  LstmQuantizedParams params;
  std::vector<int8_t> weights[8];
  std::vector<int32_t> biases[4];
  std::vector<int8_t> hidden;
  std::vector<int16_t> cell;
  std::vector<int16_t> scratch;

  Int8Lstm(const LstmShape& shape, uint32_t seed, int8_t weight_limit)
      : params(int8_params(shape)),
        hidden(static_cast<size_t>(shape.batches * shape.state_size), 5),
        cell(static_cast<size_t>(shape.batches * shape.state_size), 0),
        scratch(static_cast<size_t>(lstm_scratch_elements(shape))) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> w(-weight_limit, weight_limit);
    std::uniform_int_distribution<int> b(-2000, 2000);
    for (int g = 0; g < 8; ++g) {
      const int32_t depth = g < 4 ? shape.input_size : shape.state_size;
      weights[g].resize(static_cast<size_t>(shape.state_size * depth));
      for (int8_t& v : weights[g]) v = static_cast<int8_t>(w(rng));
    }
    for (auto& bias : biases) {
      bias.resize(static_cast<size_t>(shape.state_size));
      for (int32_t& v : bias) v = weight_limit == 0 ? 0 : b(rng);
    }
  }

  std::vector<int8_t> invoke(const std::vector<int8_t>& input) {
    const LstmShape& s = params.shape;
    std::vector<int8_t> out(static_cast<size_t>(s.batches * s.time_steps * s.state_size));
    unidirectional_sequence_lstm(
        params, input.data(), weights[0].data(), weights[1].data(), weights[2].data(),
        weights[3].data(), weights[4].data(), weights[5].data(), weights[6].data(),
        weights[7].data(), biases[0].data(), biases[1].data(), biases[2].data(), biases[3].data(),
        hidden.data(), cell.data(), out.data(), scratch.data());
    return out;
  }
};

TEST(LstmInt8Test, ZeroWeightsKeepTheStateAtZero) {
  Int8Lstm lstm({2, 3, 4, 5, false}, 1, 0);
  const std::vector<int8_t> out = lstm.invoke(std::vector<int8_t>(24, 77));
  // sigmoid(0) * tanh(0): the cell stays 0 and every output is the state's zero point.
  EXPECT_EQ(out, std::vector<int8_t>(30, 5));
  EXPECT_EQ(lstm.cell, std::vector<int16_t>(10, 0));
}

TEST(LstmInt8Test, CellClipBoundsTheQuantizedCellState) {
  Int8Lstm lstm({1, 3, 2, 2, false}, 2, 0);
  lstm.biases[0] = {200000, 200000};   // input gate pre-activation saturated at +8: open
  lstm.biases[2] = {200000, -200000};  // cell gate at tanh(+-8)
  lstm.params.cell_clip = 100;
  lstm.invoke(std::vector<int8_t>(6, 0));
  EXPECT_EQ(lstm.cell, (std::vector<int16_t>{100, -100}));
  // Without the clip, one step adds about 1.0 (2048 in 2^-11 units) to the cell.
  Int8Lstm unclipped({1, 1, 2, 2, false}, 2, 0);
  unclipped.biases[0] = lstm.biases[0];
  unclipped.biases[2] = lstm.biases[2];
  unclipped.invoke(std::vector<int8_t>(2, 0));
  EXPECT_NEAR(unclipped.cell[0], 2047, 2);
  EXPECT_NEAR(unclipped.cell[1], -2047, 2);
}

TEST(LstmInt8Test, TimeMajorAndBatchMajorAgreeRowByRow) {
  const int32_t batches = 3, steps = 4, inputs = 2, units = 5;
  Int8Lstm batch_major({batches, steps, inputs, units, false}, 7, 90);
  Int8Lstm time_major({batches, steps, inputs, units, true}, 7, 90);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> value(-128, 127);
  std::vector<int8_t> by_batch(batches * steps * inputs), by_time(by_batch.size());
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t t = 0; t < steps; ++t) {
      for (int32_t i = 0; i < inputs; ++i) {
        const auto v = static_cast<int8_t>(value(rng));
        by_batch[static_cast<size_t>((b * steps + t) * inputs + i)] = v;
        by_time[static_cast<size_t>((t * batches + b) * inputs + i)] = v;
      }
    }
  }
  for (int invoke = 0; invoke < 3; ++invoke) {
    const std::vector<int8_t> a = batch_major.invoke(by_batch);
    const std::vector<int8_t> b = time_major.invoke(by_time);
    int differing = 0, distinct = 0;
    for (int32_t bt = 0; bt < batches; ++bt) {
      for (int32_t t = 0; t < steps; ++t) {
        for (int32_t u = 0; u < units; ++u) {
          const int8_t x = a[static_cast<size_t>((bt * steps + t) * units + u)];
          differing += x != b[static_cast<size_t>((t * batches + bt) * units + u)];
          distinct += x != 5;
        }
      }
    }
    EXPECT_EQ(differing, 0) << "invoke " << invoke;
    EXPECT_GT(distinct, 30) << "invoke " << invoke;
  }
  EXPECT_EQ(batch_major.cell, time_major.cell);
  EXPECT_EQ(batch_major.hidden, time_major.hidden);
}

}  // namespace
}  // namespace tinydeploy::runtime
