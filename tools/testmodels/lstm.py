#!/usr/bin/env python3
"""Writes the UNIDIRECTIONAL_SEQUENCE_LSTM test models (issue 13, item 4).

Into tests/data/models (entries merged into its manifest.json, marked with this generator):
  lstm_float, lstm_int8          Keras LSTM (unroll=False, fixed batch: batch-major) through the
                                 real converter, float and int8 (representative dataset).
  lstm_tm_clip_{float,int8,int16}  time-major, cell clip that engages: written in the schema.
  lstm_16x8_int16                batch-major 16x8 (int16 activations, int8 weights, int64
                                 biases): written in the schema, as the converter refuses 16x8
                                 for this operator ("not yet supported").
Into tests/data/lstm_refused (+ manifest.json): honest LSTM variants that TFLite Micro refuses
(peephole, projection, layer norm, CIFG, a non-tanh cell activation, state that is not a
variable tensor), each with the text tinydeploy's refusal must contain.

Needs TensorFlow with the Keras 2 package `tf_keras` (Keras 3 lowers LSTM to a WHILE loop
instead of the fused operator), e.g. the tools environment:

    /work/tfvenv/bin/python tools/testmodels/lstm.py

The schema models are deterministic bytes; the converted ones are deterministic for a given
TensorFlow version (the manifest's sha256 pins what is committed).
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import flatbuffers  # noqa: E402
import numpy as np  # noqa: E402
from ai_edge_litert import schema_py_generated as schema  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "tools/testmodels/lstm.py"
T = schema.TensorType
Act = schema.ActivationFunctionType

# Batch, time steps, input features, units.
B, STEPS, FEATURES, UNITS = 2, 4, 3, 5


def _pack(model_t):
    builder = flatbuffers.Builder(4096)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _op_names(data):
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return sorted({names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes})


# --- the real converter ------------------------------------------------------------------------


def keras_weights(rng):
    # Gate order in Keras: input, forget, cell, output. Large enough that gates saturate now
    # and then and the cell state leaves [-1, 1].
    kernel = rng.uniform(-0.9, 0.9, (FEATURES, 4 * UNITS)).astype(np.float32)
    recurrent = rng.uniform(-0.7, 0.7, (UNITS, 4 * UNITS)).astype(np.float32)
    bias = rng.uniform(-0.6, 0.6, (4 * UNITS,)).astype(np.float32)
    return [kernel, recurrent, bias]


def converted_models():
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(13)
    inputs = tf_keras.Input(shape=(STEPS, FEATURES), batch_size=B, name="sequence")
    lstm = tf_keras.layers.LSTM(UNITS, return_sequences=True, unroll=False)
    model = tf_keras.Model(inputs, lstm(inputs))
    lstm.set_weights(keras_weights(np.random.default_rng(13)))

    def convert(mode):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "int8":
            rng = np.random.default_rng(7)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
            # Uniform in [-1, 1): the range `tinydeploy run --random` draws float inputs from.
            converter.representative_dataset = lambda: (
                [rng.uniform(-1, 1, (B, STEPS, FEATURES)).astype(np.float32)] for _ in range(64))
        return converter.convert()

    note = "Keras LSTM through the converter (batch-major, the converter's cell clip of 10)"
    return [("lstm_float.tflite", "float", convert("float"), note),
            ("lstm_int8.tflite", "int8", convert("int8"), note + ", 8x8_16")]


# --- models written in the schema --------------------------------------------------------------


class LstmModel:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM in the schema, quantized the way the converter does
    (per-tensor symmetric int8 weights, biases at input x weight scale, an int16 cell state with
    a power-of-two scale)."""

    def __init__(self, mode, time_major, cell_clip, seed, cell_scale_power=-11):
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.description = "tinydeploy LSTM test model"
        self.model.buffers = [schema.BufferT()]
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
        code.version = 1
        self.model.operatorCodes = [code]
        self.graph = schema.SubGraphT()
        self.graph.tensors = []
        self.model.subgraphs = [self.graph]
        self.time_major = time_major
        self.cell_clip = cell_clip
        self.activation = Act.TANH
        shape = (STEPS, B, FEATURES) if time_major else (B, STEPS, FEATURES)
        out_shape = shape[:2] + (UNITS,)
        act_type = {"float": T.FLOAT32, "int8": T.INT8, "int16": T.INT16}[mode]
        self.inputs = [-1] * 24
        # Activation scales: inputs in [-1, 1), hidden state in (-1, 1).
        if mode == "int8":
            in_q, state_q = (2.0 / 255, -1), (2.0 / 255, 2)
        elif mode == "int16":
            in_q, state_q = (1.0 / 32767, 0), (1.0 / 32767, 0)
        else:
            in_q = state_q = (None, None)
        self.in_scale, self.state_scale = in_q[0], state_q[0]
        self.inputs[0] = self.tensor("input", shape, act_type, scale=in_q[0], zero_point=in_q[1])
        for gate in range(4):
            self.inputs[1 + gate], w_scale = self.weights(f"input_to_gate{gate}",
                                                          (UNITS, FEATURES), 0.9)
            self.inputs[5 + gate], _ = self.weights(f"recurrent_to_gate{gate}", (UNITS, UNITS),
                                                    0.7)
            self.inputs[12 + gate] = self.bias(f"gate{gate}_bias", w_scale)
        self.inputs[18] = self.tensor("hidden_state", (B, UNITS), act_type, scale=state_q[0],
                                      zero_point=state_q[1], variable=True)
        cell_type = T.FLOAT32 if mode == "float" else T.INT16
        cell_scale = None if mode == "float" else 2.0 ** cell_scale_power
        self.inputs[19] = self.tensor("cell_state", (B, UNITS), cell_type, scale=cell_scale,
                                      zero_point=0, variable=True)
        self.outputs = [self.tensor("output", out_shape, act_type, scale=state_q[0],
                                    zero_point=state_q[1])]
        self.graph.inputs = [self.inputs[0]]
        self.graph.outputs = list(self.outputs)

    def tensor(self, name, shape, dtype, data=None, scale=None, zero_point=0, variable=False):
        t = schema.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = dtype
        t.buffer = 0
        t.isVariable = variable
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = list(np.ascontiguousarray(data).tobytes())
            self.model.buffers.append(buffer)
            t.buffer = len(self.model.buffers) - 1
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(scale)]
            q.zeroPoint = [int(zero_point)]
            t.quantization = q
        self.graph.tensors.append(t)
        return len(self.graph.tensors) - 1

    def weights(self, name, shape, limit):
        real = self.rng.uniform(-limit, limit, shape).astype(np.float32)
        if self.mode == "float":
            return self.tensor(name, shape, T.FLOAT32, real), None
        scale = float(np.abs(real).max()) / 127
        q = np.clip(np.round(real / scale), -127, 127).astype(np.int8)
        return self.tensor(name, shape, T.INT8, q, scale=scale), scale

    def bias(self, name, weight_scale):
        real = self.rng.uniform(-0.6, 0.6, (UNITS,)).astype(np.float32)
        if self.mode == "float":
            return self.tensor(name, (UNITS,), T.FLOAT32, real)
        scale = self.in_scale * weight_scale
        dtype, np_type = (T.INT32, np.int32) if self.mode == "int8" else (T.INT64, np.int64)
        return self.tensor(name, (UNITS,), dtype, np.round(real / scale).astype(np_type),
                           scale=scale)

    def add_optional(self, index, name, shape, dtype, data, scale=None):
        self.inputs[index] = self.tensor(name, shape, dtype, data, scale=scale)

    def build(self):
        op = schema.OperatorT()
        op.opcodeIndex = 0
        op.inputs = list(self.inputs)
        op.outputs = list(self.outputs)
        op.builtinOptionsType = schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions
        options = schema.UnidirectionalSequenceLSTMOptionsT()
        options.fusedActivationFunction = self.activation
        options.cellClip = float(self.cell_clip)
        options.projClip = 0.0
        options.timeMajor = self.time_major
        options.asymmetricQuantizeInputs = False
        options.diagonalRecurrentTensors = False
        op.builtinOptions = options
        self.graph.operators = [op]
        return _pack(self.model)


SCHEMA_MODELS = [
    # name, mode, time_major, cell clip, seed, note
    ("lstm_tm_clip_float.tflite", "float", True, 0.8, 21,
     "time-major, cell clip 0.8 (written in the TFLite schema)"),
    ("lstm_tm_clip_int8.tflite", "int8", True, 0.8, 22,
     "time-major 8x8_16, asymmetric input and state, cell clip 0.8 (written in the TFLite "
     "schema)"),
    ("lstm_tm_clip_int16.tflite", "int16", True, 0.8, 23,
     "time-major 16x8, cell clip 0.8 (written in the TFLite schema; the converter has no 16x8 "
     "LSTM)"),
    ("lstm_16x8_int16.tflite", "int16", False, 0.0, 24,
     "batch-major 16x8, no clip (written in the TFLite schema; the converter has no 16x8 LSTM)"),
]


def schema_model(mode, time_major, clip, seed):
    return LstmModel(mode, time_major, clip, seed).build()


# Variants TFLite Micro refuses (lstm_eval.cc: no peephole, projection or layer norm; every
# gate present; tanh cell activation; variable state tensors), with what tinydeploy says.
def refused_models():
    out = []

    def variant(name, mode, edit, refusal, tflm_refuses=True):
        m = LstmModel(mode, True, 0.0, 31)
        edit(m)
        out.append((name, m.build(), refusal, tflm_refuses))

    def peephole(m):
        for i in (9, 10, 11):
            m.add_optional(i, f"cell_to_gate{i}", (UNITS,), T.INT16,
                           np.arange(UNITS, dtype=np.int16), scale=1.0 / 1024)

    def projection(m):
        m.add_optional(16, "projection", (UNITS, UNITS), T.INT8,
                       np.eye(UNITS, dtype=np.int8) * 64, scale=1.0 / 64)

    def layer_norm(m):
        for i in (20, 21, 22, 23):
            m.add_optional(i, f"layer_norm{i}", (UNITS,), T.INT16,
                           np.full(UNITS, 1024, np.int16), scale=1.0 / 1024)

    def cifg(m):
        m.inputs[1] = m.inputs[5] = m.inputs[12] = -1

    def relu_cell(m):
        m.activation = Act.RELU

    def constant_state(m):
        m.graph.tensors[m.inputs[19]].isVariable = False

    variant("lstm_peephole_int8.tflite", "int8", peephole, "peephole")
    variant("lstm_projection_int8.tflite", "int8", projection, "projection")
    variant("lstm_layer_norm_int8.tflite", "int8", layer_norm, "layer norm")
    variant("lstm_cifg_int8.tflite", "int8", cifg, "input gate")
    # TFLite Micro asserts on it; its release build skips the cell activation instead.
    variant("lstm_relu_cell_int8.tflite", "int8", relu_cell, "TANH", tflm_refuses=False)
    # Refused by the reader already: nothing writes a state that is not a variable.
    variant("lstm_constant_state_int8.tflite", "int8", constant_state, "before any")
    variant("lstm_peephole_float.tflite", "float", peephole, "peephole")
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(REPO / "tests/data/models"))
    parser.add_argument("--refused", default=str(REPO / "tests/data/lstm_refused"))
    parser.add_argument("--schema-only", action="store_true",
                        help="keep the committed converter models (no TensorFlow needed)")
    args = parser.parse_args(argv[1:])
    models_dir, refused_dir = Path(args.models), Path(args.refused)
    manifest_path = models_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())

    written = []
    if not args.schema_only:
        written += converted_models()
    written += [(name, mode, schema_model(mode, tm, clip, seed), note)
                for name, mode, tm, clip, seed, note in SCHEMA_MODELS]
    for name, mode, data, note in written:
        (models_dir / name).write_bytes(data)
        litert = {"not_run": "TFLite's LSTM kernels rescale with the converter's intermediate "
                             "tensors and need them; TFLite Micro, the definition, does not"}
        if mode == "float":
            litert = {"max_lsb": 0}
        elif name == "lstm_int8.tflite":
            litert = {"max_lsb": 1, "why": "TFLite rescales the gates through the converter's "
                      "intermediate scales, TFLite Micro through a fixed 2^-12: 1 LSB measured"}
        manifest["models"][name] = {
            "family": "lstm", "mode": mode, "covers": note, "operators": _op_names(data),
            "generator": GENERATOR,
            "references": {"tflm": {"max_lsb": 0}, "litert": litert},
            "invokes": 5, "sha256": hashlib.sha256(data).hexdigest()}
        print(f"{name}: {len(data)} bytes")
    manifest["models"] = dict(sorted(manifest["models"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    refused_dir.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, data, refusal, tflm_refuses in refused_models():
        (refused_dir / name).write_bytes(data)
        entries[name] = {"refusal": refusal, "tflm_refuses": tflm_refuses,
                         "sha256": hashlib.sha256(data).hexdigest()}
        print(f"{name}: {len(data)} bytes (refused)")
    (refused_dir / "manifest.json").write_text(
        json.dumps({"generator": GENERATOR, "models": entries}, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv)
