// UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro defines it: the standard (Keras) LSTM cell with
// input, forget, cell and output gates, no peephole, projection or layer normalisation, an
// optional cell clip, run over every time step of the input and carrying its hidden and cell
// state (variable tensors) from one step, and one invoke, to the next.
//
// For each step, with x the step's input rows and h, c the state:
//   gate  = act(x W_gate^T + bias_gate + h R_gate^T)    act: sigmoid, tanh for the cell gate
//   c     = clip(forget * c + input * cell)
//   h     = output * tanh(c);  the step's output rows are h
// Time-major input is [time, batch, input] and each step covers every batch row; batch-major
// input is [batch, time, input] and each batch row runs its own sequence of steps.
//
// Integer variants: int8 activations with int8 weights, int32 biases and an int16 cell state
// ("8x8_16"), and int16 activations with int8 weights and int64 biases ("16x8"). Gate
// pre-activations are int16 with scale 2^-12, gate outputs int16 with scale 2^-15, the cell state
// int16 with a power-of-two scale 2^cell_scale_power.
//
// Buffers: `input` and `output` as above, weights [state, input] and [state, state] row-major,
// biases [state], `hidden_state` and `cell_state` [batch, state], written in place. `scratch` holds
// lstm_scratch_elements(shape) elements of the cell type (float, or int16 for both integer
// variants). Optional tensors are not accepted: lowering refuses models that have them.
#pragma once

#include "tinydeploy/runtime/activation.h"
#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// Requires: every extent >= 1; batches * time_steps * max(input_size, state_size) < 2^31.
struct LstmShape {
  int32_t batches = 1;
  int32_t time_steps = 1;
  int32_t input_size = 1;
  int32_t state_size = 1;
  bool time_major = false;
};

// Four gate buffers of batches x state_size cell values.
inline int32_t lstm_scratch_elements(const LstmShape& shape) {
  return 4 * shape.batches * shape.state_size;
}

// Requires: cell_clip >= 0 and finite (0: no clipping).
struct LstmFloatParams {
  LstmShape shape;
  float cell_clip = 0.0f;
};

// The input and recurrent products of one gate, rescaled to the pre-activation scale 2^-12.
struct LstmGateScales {
  Requantization input;
  Requantization recurrent;
};

// Requires: shifts in [-31, 30]; the accumulator bound below; cell_tanh with input_multiplier in
// [0, 32767] and input_shift in [0, 31]; 0 <= cell_clip <= 32767; state_min <= state_max within
// the activation type; input and state zero points within the activation type.
// Accumulator bound (checked by lowering): for each gate, input_size * max|w| * max|x - zp| plus
// max|bias| (and state_size * max|r| * max|h - zp|) below 2^31 for int8 activations and below
// 2^47 for int16 ones.
struct LstmQuantizedParams {
  LstmShape shape;
  int32_t input_zero_point = 0;
  int32_t state_zero_point = 0;  // of the hidden state and the output
  LstmGateScales input_gate;
  LstmGateScales forget_gate;
  LstmGateScales cell_gate;
  LstmGateScales output_gate;
  Requantization forget_times_cell;  // 2^-15 * s_cell / s_cell
  Requantization input_times_cell;   // 2^-15 * 2^-15 / s_cell
  Requantization output_times_tanh;  // 2^-15 * 2^-15 / s_hidden
  SigmoidInt16Params cell_tanh;      // the cell state's scale to the tanh grid
  int32_t cell_clip = 0;             // > 0: |c| <= cell_clip, in cell units
  int32_t state_min = -128;
  int32_t state_max = 127;
};

void unidirectional_sequence_lstm(const LstmFloatParams& params, const float* input,
                                  const float* input_to_input, const float* input_to_forget,
                                  const float* input_to_cell, const float* input_to_output,
                                  const float* recurrent_to_input, const float* recurrent_to_forget,
                                  const float* recurrent_to_cell, const float* recurrent_to_output,
                                  const float* input_bias, const float* forget_bias,
                                  const float* cell_bias, const float* output_bias,
                                  float* hidden_state, float* cell_state, float* output,
                                  float* scratch);

void unidirectional_sequence_lstm(
    const LstmQuantizedParams& params, const int8_t* input, const int8_t* input_to_input,
    const int8_t* input_to_forget, const int8_t* input_to_cell, const int8_t* input_to_output,
    const int8_t* recurrent_to_input, const int8_t* recurrent_to_forget,
    const int8_t* recurrent_to_cell, const int8_t* recurrent_to_output, const int32_t* input_bias,
    const int32_t* forget_bias, const int32_t* cell_bias, const int32_t* output_bias,
    int8_t* hidden_state, int16_t* cell_state, int8_t* output, int16_t* scratch);

void unidirectional_sequence_lstm(
    const LstmQuantizedParams& params, const int16_t* input, const int8_t* input_to_input,
    const int8_t* input_to_forget, const int8_t* input_to_cell, const int8_t* input_to_output,
    const int8_t* recurrent_to_input, const int8_t* recurrent_to_forget,
    const int8_t* recurrent_to_cell, const int8_t* recurrent_to_output, const int64_t* input_bias,
    const int64_t* forget_bias, const int64_t* cell_bias, const int64_t* output_bias,
    int16_t* hidden_state, int16_t* cell_state, int16_t* output, int16_t* scratch);

}  // namespace tinydeploy::runtime
