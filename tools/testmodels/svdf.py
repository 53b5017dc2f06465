#!/usr/bin/env python3
"""Writes the SVDF test models into tests/data/models and their entries into its manifest.json.

The TensorFlow converter does not emit SVDF, so these models are written directly in the TFLite
schema: float32; int8 input and output with an int16 activation state and int16 time weights;
int8 with an int8 state and int8 time weights (with a non-zero state zero point); rank 1 and 2;
batch 1 and 2; every fused activation float SVDF has (the integer kernels of TFLite Micro ignore
the activation and saturate to int8, which the RELU models show). Each SVDF's activation state
(input 4) is a variable tensor that the operator updates on every invoke.

Needs only numpy, flatbuffers and ai-edge-litert's schema module (the project's virtual
environment):

    .venv/bin/python3 tools/testmodels/svdf.py [-o tests/data/models]

Deterministic: the same bytes on every run. Only the manifest's svdf_* entries are replaced.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

REPO = Path(__file__).resolve().parents[2]
T = schema.TensorType
ACT = schema.ActivationFunctionType
GENERATOR = "tools/testmodels/svdf.py"
# Consecutive invokes each model is compared over, state carried (the manifest's "invokes").
INVOKES = 5


class SchemaModel:
    """One subgraph written directly in the TFLite schema."""

    def __init__(self, description):
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.description = description
        self.model.buffers = [schema.BufferT()]
        self.model.operatorCodes = []
        self.graph = schema.SubGraphT()
        self.graph.name = "main"
        self.graph.tensors = []
        self.graph.operators = []
        self.model.subgraphs = [self.graph]

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

    def svdf(self, inputs, output, rank, activation):
        if not self.model.operatorCodes:
            code = schema.OperatorCodeT()
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SVDF
            # Version 3 is the int8 SVDF (input, state and time weights quantized).
            code.version = 3
            self.model.operatorCodes.append(code)
        options = schema.SVDFOptionsT()
        options.rank = rank
        options.fusedActivationFunction = activation
        op = schema.OperatorT()
        op.opcodeIndex = 0
        op.inputs = list(inputs)
        op.outputs = [output]
        op.builtinOptionsType = schema.BuiltinOptions.SVDFOptions
        op.builtinOptions = options
        self.graph.operators.append(op)

    def finish(self, inputs, outputs):
        self.graph.inputs = list(inputs)
        self.graph.outputs = list(outputs)
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def add_float_svdf(m, x, batch, input_size, units, rank, memory, activation, seed, tag=""):
    rng = np.random.default_rng(seed)
    filters = units * rank
    wf = (rng.uniform(-1, 1, (filters, input_size)) / np.sqrt(input_size)).astype(np.float32)
    wt = rng.uniform(-1, 1, (filters, memory)).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, units).astype(np.float32)
    w1 = m.tensor(f"weights_feature{tag}", wf.shape, T.FLOAT32, wf)
    w2 = m.tensor(f"weights_time{tag}", wt.shape, T.FLOAT32, wt)
    b = m.tensor(f"bias{tag}", bias.shape, T.FLOAT32, bias)
    s = m.tensor(f"state{tag}", [batch, memory * filters], T.FLOAT32, variable=True)
    y = m.tensor(f"output{tag}", [batch, units], T.FLOAT32)
    m.svdf([x, w1, w2, b, s], y, rank, activation)
    return y


def float_model(batch, input_size, units, rank, memory, activation, seed):
    m = SchemaModel("tinydeploy test model: SVDF float32")
    x = m.tensor("input", [batch, input_size], T.FLOAT32)
    y = add_float_svdf(m, x, batch, input_size, units, rank, memory, activation, seed)
    return m.finish([x], [y])


def float_activations_model():
    """One input into four SVDFs, one per remaining fused activation, each with its own state."""
    m = SchemaModel("tinydeploy test model: SVDF float32, every fused activation")
    batch, input_size, units, rank, memory = 1, 4, 2, 2, 3
    x = m.tensor("input", [batch, input_size], T.FLOAT32)
    outputs = [add_float_svdf(m, x, batch, input_size, units, rank, memory, activation, 40 + i,
                              tag=f"_{name}")
               for i, (name, activation) in enumerate((("relu_n1_to_1", ACT.RELU_N1_TO_1),
                                                       ("relu6", ACT.RELU6), ("tanh", ACT.TANH),
                                                       ("sign_bit", ACT.SIGN_BIT)))]
    return m.finish([x], outputs)


def int8_model(batch, input_size, units, rank, memory, activation, state_bits, seed):
    """int8 input and output; state and time weights of `state_bits` (16 or 8)."""
    rng = np.random.default_rng(seed)
    filters = units * rank
    state_type, state_np = (T.INT16, np.int16) if state_bits == 16 else (T.INT8, np.int8)
    state_max = 2 ** (state_bits - 1) - 1
    # The feature values reach a few units, the time sums some more: scales that use the range
    # without saturating most of the time.
    state_scale = 6.0 / state_max
    state_zero_point = 0 if state_bits == 16 else 3
    time_scale = 1.0 / state_max
    bias_scale = state_scale * time_scale

    m = SchemaModel(f"tinydeploy test model: SVDF int8 with int{state_bits} state")
    x = m.tensor("input", [batch, input_size], T.INT8, scale=0.03, zero_point=-5)
    wf = rng.integers(-127, 128, (filters, input_size), dtype=np.int8)
    wt = rng.integers(-state_max, state_max + 1, (filters, memory)).astype(state_np)
    bias = np.round(rng.uniform(-0.5, 0.5, units) / bias_scale).astype(np.int32)
    w1 = m.tensor("weights_feature", wf.shape, T.INT8, wf, scale=0.01)
    w2 = m.tensor("weights_time", wt.shape, state_type, wt, scale=time_scale)
    b = m.tensor("bias", bias.shape, T.INT32, bias, scale=bias_scale)
    s = m.tensor("state", [batch, memory * filters], state_type, scale=state_scale,
                 zero_point=state_zero_point, variable=True)
    y = m.tensor("output", [batch, units], T.INT8, scale=0.06, zero_point=3)
    m.svdf([x, w1, w2, b, s], y, rank, activation)
    return m.finish([x], [y])


# name suffix -> (builder, what it covers)
MODELS = {
    "float_rank1": (lambda: float_model(1, 6, 4, 1, 5, ACT.RELU, 1),
                    "float32, rank 1, batch 1, RELU"),
    "float_rank2": (lambda: float_model(2, 5, 3, 2, 4, ACT.NONE, 2),
                    "float32, rank 2, batch 2, no activation"),
    "float_activations": (float_activations_model,
                          "float32, rank 2: RELU_N1_TO_1, RELU6, TANH, SIGN_BIT"),
    "int8_state16_rank1": (lambda: int8_model(1, 6, 4, 1, 5, ACT.RELU, 16, 3),
                           "int8 with int16 state, rank 1, batch 1, RELU (ignored by the "
                           "integer kernel, as in TFLite Micro)"),
    "int8_state16_rank2": (lambda: int8_model(2, 5, 3, 2, 4, ACT.NONE, 16, 4),
                           "int8 with int16 state, rank 2, batch 2, no activation"),
    "int8_state8_rank1": (lambda: int8_model(1, 6, 4, 1, 5, ACT.RELU, 8, 5),
                          "int8 with int8 state (zero point 3), rank 1, batch 1, RELU (ignored)"),
    "int8_state8_rank2": (lambda: int8_model(2, 5, 3, 2, 4, ACT.NONE, 8, 6),
                          "int8 with int8 state (zero point 3), rank 2, batch 2, no activation"),
}

# Measured exceptions to "both references, integer outputs bit-exact".
_LITERT_INT8_STATE = ("TFLite's SVDF has no int8-state form: it reads the int8 state and time "
                      "weights as int16 (measured: outputs up to 198 LSB away from TFLite "
                      "Micro's); the int8-state form is TFLite Micro's alone")
_LITERT_INT8_NOT_RELU = ("TFLite refuses an int8 SVDF whose activation flag is not RELU (and "
                         "does not apply the RELU either); TFLite Micro accepts any flag")


REFERENCE_RULES = {
    "int8_state16_rank2": {"litert": {"not_run": _LITERT_INT8_NOT_RELU}},
    "int8_state8": {"litert": {"not_run": _LITERT_INT8_STATE}},
}


def references_for(suffix):
    checks = {"tflm": {"max_lsb": 0}, "litert": {"max_lsb": 0}}
    for prefix, rules in REFERENCE_RULES.items():
        if suffix.startswith(prefix):
            checks.update(rules)
    return checks


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", default=str(REPO / "tests/data/models"))
    args = parser.parse_args(argv[1:])
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {
        "generator": "tools/testmodels/generate.py", "models": {}}
    entries = {name: entry for name, entry in manifest["models"].items()
               if entry.get("generator") != GENERATOR}
    for suffix, (build, covers) in MODELS.items():
        data = build()
        name = f"svdf_{suffix}.tflite"
        (out / name).write_bytes(data)
        entries[name] = {"family": "svdf", "mode": suffix,
                         "covers": covers + " (written in the TFLite schema, not by the converter)",
                         "generator": GENERATOR, "operators": ["SVDF"], "invokes": INVOKES,
                         "references": references_for(suffix),
                         "sha256": hashlib.sha256(data).hexdigest()}
        print(f"{name}: {len(data)} bytes")
    manifest["models"] = dict(sorted(entries.items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
