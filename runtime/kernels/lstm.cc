#include "tinydeploy/runtime/lstm.h"

#include <math.h>

#include "tinydeploy/runtime/fixed_point.h"

namespace tinydeploy::runtime {
namespace {

// The rows one step reads and writes: every batch row at once (time-major), or a single row
// of one batch's sequence (batch-major).
struct Step {
  int32_t rows = 1;
  int32_t input_offset = 0;
  int32_t state_offset = 0;
  int32_t output_offset = 0;
};

template <typename StepFn>
void for_each_step(const LstmShape& shape, StepFn&& step_fn) {
  if (shape.time_major) {
    for (int32_t t = 0; t < shape.time_steps; ++t) {
      step_fn(Step{shape.batches, t * shape.batches * shape.input_size, 0,
                   t * shape.batches * shape.state_size});
    }
    return;
  }
  for (int32_t b = 0; b < shape.batches; ++b) {
    for (int32_t t = 0; t < shape.time_steps; ++t) {
      const int32_t row = b * shape.time_steps + t;
      step_fn(Step{1, row * shape.input_size, b * shape.state_size, row * shape.state_size});
    }
  }
}

template <typename Weight, typename Bias>
struct Gate {
  const Weight* input_weights;
  const Weight* recurrent_weights;
  const Bias* bias;
};

enum { kInput = 0, kForget = 1, kCell = 2, kOutput = 3 };

// ---- float ----

// TFLite's reference logistic: exact limits beyond which exp would only lose precision.
float sigmoid(float x) {
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return expf(x);
  return 1.0f / (1.0f + expf(-x));
}

// out[r][u] = sum_d x[r][d] * w[u][d] (+ bias[u]), summed in TFLite's order.
void float_product(const float* x, const float* w, const float* bias, int32_t rows, int32_t depth,
                   int32_t units, float* out) {
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t u = 0; u < units; ++u) {
      float total = 0.0f;
      for (int32_t d = 0; d < depth; ++d) total += x[r * depth + d] * w[u * depth + d];
      out[r * units + u] = total + (bias != nullptr ? bias[u] : 0.0f);
    }
  }
}

void float_gate(const Gate<float, float>& gate, const LstmShape& shape, const Step& step,
                const float* input, const float* hidden, bool cell_gate, float* out,
                float* recurrent) {
  const int32_t count = step.rows * shape.state_size;
  float_product(input + step.input_offset, gate.input_weights, gate.bias, step.rows,
                shape.input_size, shape.state_size, out);
  float_product(hidden + step.state_offset, gate.recurrent_weights, nullptr, step.rows,
                shape.state_size, shape.state_size, recurrent);
  for (int32_t i = 0; i < count; ++i) {
    const float sum = out[i] + recurrent[i];
    out[i] = cell_gate ? tanhf(sum) : sigmoid(sum);
  }
}

// ---- integer ----

// int8 activations accumulate in int32 as TFLite's do (lowering's bound keeps the sum there; the
// saturation only keeps an out-of-contract sum defined).
int32_t rescale(int64_t acc, const Requantization& scale, const int32_t* /*bias type*/) {
  const int32_t narrow =
      static_cast<int32_t>(acc > INT32_MAX ? INT32_MAX : (acc < INT32_MIN ? INT32_MIN : acc));
  return multiply_by_quantized_multiplier(narrow, scale.multiplier, scale.shift);
}
int32_t rescale(int64_t acc, const Requantization& scale, const int64_t* /*bias type*/) {
  return multiply_by_quantized_multiplier(acc, scale.multiplier, scale.shift);
}

// out[r][u] = clamp16(rescale(sum_d w[u][d] * (x[r][d] - zp) + bias[u])).
template <typename Act, typename Bias>
void quantized_product(const Act* x, int32_t zero_point, const int8_t* w, const Bias* bias,
                       const Requantization& scale, int32_t rows, int32_t depth, int32_t units,
                       int16_t* out) {
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t u = 0; u < units; ++u) {
      int64_t acc = 0;
      for (int32_t d = 0; d < depth; ++d) {
        acc += int64_t{w[u * depth + d]} * (int64_t{x[r * depth + d]} - zero_point);
      }
      if (bias != nullptr) acc += bias[u];
      const int32_t scaled = rescale(acc, scale, bias);
      out[r * units + u] = static_cast<int16_t>(clamp(scaled, INT16_MIN, INT16_MAX));
    }
  }
}

int16_t add_saturating16(int16_t a, int16_t b) {
  return static_cast<int16_t>(clamp(int32_t{a} + int32_t{b}, INT16_MIN, INT16_MAX));
}

// a * b (both Q0.15 gate outputs, or a gate and the cell state) rescaled to the output.
int32_t product(int16_t a, int16_t b, const Requantization& scale, int32_t offset) {
  return add_saturating(
      multiply_by_quantized_multiplier(int32_t{a} * int32_t{b}, scale.multiplier, scale.shift),
      offset);
}

template <typename Act, typename Bias>
struct QuantizedLstm {
  const LstmQuantizedParams& params;
  const Act* input;
  Gate<int8_t, Bias> gates[4];
  Act* hidden;
  int16_t* cell;
  Act* output;
  int16_t* scratch;

  // A gate's pre-activation (Q3.12) through its activation (Q0.15).
  void gate(int which, const LstmGateScales& scales, const Step& step, int16_t* out,
            int16_t* recurrent) const {
    const LstmShape& shape = params.shape;
    const int32_t count = step.rows * shape.state_size;
    const Gate<int8_t, Bias>& g = gates[which];
    quantized_product(input + step.input_offset, params.input_zero_point, g.input_weights, g.bias,
                      scales.input, step.rows, shape.input_size, shape.state_size, out);
    quantized_product(hidden + step.state_offset, params.state_zero_point, g.recurrent_weights,
                      static_cast<const Bias*>(nullptr), scales.recurrent, step.rows,
                      shape.state_size, shape.state_size, recurrent);
    for (int32_t i = 0; i < count; ++i) out[i] = add_saturating16(out[i], recurrent[i]);
    // Q3.12 to the sigmoid table's grid is a multiplication by 3 (see activation.h).
    const SigmoidInt16Params grid{3, 0};
    if (which == kCell) {
      tanh(grid, count, out, out);
    } else {
      logistic(grid, count, out, out);
    }
  }

  void step(const Step& step) const {
    const LstmShape& shape = params.shape;
    const int32_t count = step.rows * shape.state_size;
    const int32_t stride = shape.batches * shape.state_size;
    int16_t* forget = scratch;
    int16_t* in = scratch + stride;
    int16_t* candidate = scratch + 2 * stride;
    int16_t* work = scratch + 3 * stride;
    gate(kForget, params.forget_gate, step, forget, work);
    gate(kInput, params.input_gate, step, in, work);
    gate(kCell, params.cell_gate, step, candidate, work);

    int16_t* c = cell + step.state_offset;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t kept =
          clamp(product(forget[i], c[i], params.forget_times_cell, 0), INT16_MIN, INT16_MAX);
      const int32_t added =
          clamp(product(in[i], candidate[i], params.input_times_cell, 0), INT16_MIN, INT16_MAX);
      int32_t updated = clamp(kept + added, INT16_MIN, INT16_MAX);
      if (params.cell_clip > 0) updated = clamp(updated, -params.cell_clip, params.cell_clip);
      c[i] = static_cast<int16_t>(updated);
    }

    // The output gate reads the hidden state of the previous step, not yet updated.
    int16_t* out_gate = in;
    gate(kOutput, params.output_gate, step, out_gate, work);
    int16_t* cell_tanh = forget;
    tanh(params.cell_tanh, count, c, cell_tanh);
    Act* h = hidden + step.state_offset;
    Act* o = output + step.output_offset;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t value =
          product(cell_tanh[i], out_gate[i], params.output_times_tanh, params.state_zero_point);
      h[i] = static_cast<Act>(clamp(value, params.state_min, params.state_max));
      o[i] = h[i];
    }
  }
};

template <typename Act, typename Bias>
void run_quantized(const LstmQuantizedParams& params, const Act* input,
                   const int8_t* const weights[8], const Bias* const biases[4], Act* hidden_state,
                   int16_t* cell_state, Act* output, int16_t* scratch) {
  QuantizedLstm<Act, Bias> lstm{params, input, {}, hidden_state, cell_state, output, scratch};
  for (int g = 0; g < 4; ++g) lstm.gates[g] = {weights[g], weights[4 + g], biases[g]};
  for_each_step(params.shape, [&](const Step& step) { lstm.step(step); });
}

}  // namespace

void unidirectional_sequence_lstm(const LstmFloatParams& params, const float* input,
                                  const float* input_to_input, const float* input_to_forget,
                                  const float* input_to_cell, const float* input_to_output,
                                  const float* recurrent_to_input, const float* recurrent_to_forget,
                                  const float* recurrent_to_cell, const float* recurrent_to_output,
                                  const float* input_bias, const float* forget_bias,
                                  const float* cell_bias, const float* output_bias,
                                  float* hidden_state, float* cell_state, float* output,
                                  float* scratch) {
  const LstmShape& shape = params.shape;
  const Gate<float, float> gates[4] = {{input_to_input, recurrent_to_input, input_bias},
                                       {input_to_forget, recurrent_to_forget, forget_bias},
                                       {input_to_cell, recurrent_to_cell, cell_bias},
                                       {input_to_output, recurrent_to_output, output_bias}};
  const int32_t stride = shape.batches * shape.state_size;
  float* forget = scratch;
  float* in = scratch + stride;
  float* candidate = scratch + 2 * stride;
  float* work = scratch + 3 * stride;
  for_each_step(shape, [&](const Step& step) {
    const int32_t count = step.rows * shape.state_size;
    float_gate(gates[kForget], shape, step, input, hidden_state, false, forget, work);
    float_gate(gates[kInput], shape, step, input, hidden_state, false, in, work);
    float_gate(gates[kCell], shape, step, input, hidden_state, true, candidate, work);
    float* c = cell_state + step.state_offset;
    for (int32_t i = 0; i < count; ++i) {
      float updated = forget[i] * c[i] + in[i] * candidate[i];
      if (params.cell_clip > 0.0f) {
        updated = updated < params.cell_clip ? updated : params.cell_clip;
        updated = updated > -params.cell_clip ? updated : -params.cell_clip;
      }
      c[i] = updated;
    }
    float* out_gate = in;
    float_gate(gates[kOutput], shape, step, input, hidden_state, false, out_gate, work);
    float* h = hidden_state + step.state_offset;
    float* o = output + step.output_offset;
    for (int32_t i = 0; i < count; ++i) {
      h[i] = tanhf(c[i]) * out_gate[i];
      o[i] = h[i];
    }
  });
}

void unidirectional_sequence_lstm(
    const LstmQuantizedParams& params, const int8_t* input, const int8_t* input_to_input,
    const int8_t* input_to_forget, const int8_t* input_to_cell, const int8_t* input_to_output,
    const int8_t* recurrent_to_input, const int8_t* recurrent_to_forget,
    const int8_t* recurrent_to_cell, const int8_t* recurrent_to_output, const int32_t* input_bias,
    const int32_t* forget_bias, const int32_t* cell_bias, const int32_t* output_bias,
    int8_t* hidden_state, int16_t* cell_state, int8_t* output, int16_t* scratch) {
  const int8_t* const weights[8] = {input_to_input,    input_to_forget,    input_to_cell,
                                    input_to_output,   recurrent_to_input, recurrent_to_forget,
                                    recurrent_to_cell, recurrent_to_output};
  const int32_t* const biases[4] = {input_bias, forget_bias, cell_bias, output_bias};
  run_quantized(params, input, weights, biases, hidden_state, cell_state, output, scratch);
}

void unidirectional_sequence_lstm(
    const LstmQuantizedParams& params, const int16_t* input, const int8_t* input_to_input,
    const int8_t* input_to_forget, const int8_t* input_to_cell, const int8_t* input_to_output,
    const int8_t* recurrent_to_input, const int8_t* recurrent_to_forget,
    const int8_t* recurrent_to_cell, const int8_t* recurrent_to_output, const int64_t* input_bias,
    const int64_t* forget_bias, const int64_t* cell_bias, const int64_t* output_bias,
    int16_t* hidden_state, int16_t* cell_state, int16_t* output, int16_t* scratch) {
  const int8_t* const weights[8] = {input_to_input,    input_to_forget,    input_to_cell,
                                    input_to_output,   recurrent_to_input, recurrent_to_forget,
                                    recurrent_to_cell, recurrent_to_output};
  const int64_t* const biases[4] = {input_bias, forget_bias, cell_bias, output_bias};
  run_quantized(params, input, weights, biases, hidden_state, cell_state, output, scratch);
}

}  // namespace tinydeploy::runtime
