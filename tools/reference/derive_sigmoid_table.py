#!/usr/bin/env python3
"""Derives the 256-entry sigmoid table behind TFLite's int16 LOGISTIC and TANH from TFLite Micro's
observable behaviour, and writes it as runtime/kernels/sigmoid_table.cc.

TFLite's int16 LOGISTIC and TANH interpolate linearly between samples of sigmoid(i / 24), i = 0..255,
held as unsigned Q0.16 values. The samples are tuned for interpolation, so no closed formula
reproduces them exactly; to be bit-exact tinydeploy needs the very same numbers. This script runs
TFLite Micro's LOGISTIC on every int16 input at several input scales, solves the interpolation
equations for each table entry, and checks that the table reproduces TFLite Micro's LOGISTIC and
TANH outputs on every input.

  python3 tools/reference/derive_sigmoid_table.py [-o runtime/kernels/sigmoid_table.cc]
"""

import argparse
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    return schema_py_generated


def _model(builtin, input_scale):
    """A one-operator int16 model over a [65536] tensor: input scale as given, output 2^-15."""
    import flatbuffers
    schema = _schema()
    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = builtin
    code.version = 3
    model.operatorCodes = [code]
    model.buffers = [schema.BufferT()]
    graph = schema.SubGraphT()
    graph.tensors = []
    for name, scale in (("x", input_scale), ("y", 1.0 / 32768)):
        tensor = schema.TensorT()
        tensor.name = name
        tensor.shape = [ALL_INT16.size]
        tensor.type = schema.TensorType.INT16
        tensor.buffer = 0
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale = [scale]
        tensor.quantization.zeroPoint = [0]
        graph.tensors.append(tensor)
    op = schema.OperatorT()
    op.opcodeIndex = 0
    op.inputs = [0]
    op.outputs = [1]
    graph.operators = [op]
    graph.inputs = [0]
    graph.outputs = [1]
    model.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _tflm(model_bytes):
    from tflite_micro.python.tflite_micro import runtime
    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 20)
    interpreter.set_input(ALL_INT16, 0)
    interpreter.invoke()
    return interpreter.get_output(0).astype(np.int64)


def _rescale(scale, kind):
    """The fixed-point input rescaling TFLite's int16 LOGISTIC / TANH prepare step derives from
    the input scale (float32 scale, as stored in the model): returns (multiplier, shift)."""
    scale = float(np.float32(scale))
    log2 = float(np.float32(np.log(np.float32(scale))) *
                 (np.float32(1.0) / np.float32(np.log(np.float32(2.0)))))
    rounded = int(math.copysign(math.floor(abs(log2) + 0.5), log2))  # halves away from zero
    power_of_two = abs(log2 - rounded) < 1e-3
    shift = 12 + rounded
    power_of_two &= shift == 0 or (kind == "tanh" and shift == 1)
    if power_of_two:
        return 3 << shift, 0
    multiplier, shift = scale * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def _scaled_inputs(scale, kind):
    multiplier, shift = _rescale(scale, kind)
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    return (ALL_INT16.astype(np.int64) * multiplier + rounding) >> shift


def logistic(table, scale):
    x = _scaled_inputs(scale, "logistic")
    magnitude = np.abs(x)
    index = np.minimum(magnitude >> 9, 254)
    fraction = magnitude & 0x1FF
    below, above = table[index], table[index + 1]
    result = np.where(magnitude >> 9 >= 255, 0x7FFF << 10, (below << 9) + fraction * (above - below))
    result = np.where(x >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1)
    return result >> 10


def tanh(table, scale):
    x = _scaled_inputs(scale, "tanh")
    magnitude = np.abs(x)
    index = np.minimum(magnitude >> 8, 254)
    fraction = magnitude & 0xFF
    below, above = table[index], table[index + 1]
    result = np.where(magnitude >> 8 >= 255, 0xFFFF << 8, (below << 8) + fraction * (above - below))
    result = np.where(x >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1)
    return result >> 8


# Input scales whose rescaled inputs, together, land on every residue of every table interval.
PROBE_SCALES = [f / 12288.0 for f in (1.0, 1.37, 1.81, 2.0, 2.63, 3.3, 3.97, 5.1, 7.7)]
CHECK_SCALES = [2.0 ** -12, 2.0 ** -11, 1.0 / 9000, 1.0 / 3000, 3.1e-4, 1.0 / 32768]


def derive():
    schema = _schema()
    # Equations (operator, fraction, sign, output) per table interval, from the outputs of
    # LOGISTIC (which reads the table in steps of 1/512) and TANH (steps of 1/256, and twice the
    # output resolution).
    equations = [[] for _ in range(255)]
    for scale in PROBE_SCALES:
        for kind, builtin, bits in (("logistic", schema.BuiltinOperator.LOGISTIC, 9),
                                    ("tanh", schema.BuiltinOperator.TANH, 8)):
            out = _tflm(_model(builtin, scale))
            x = _scaled_inputs(scale, kind)
            for value, y in zip(x.tolist(), out.tolist()):
                magnitude = abs(value)
                if (magnitude >> bits) < 255:
                    equations[magnitude >> bits].append(
                        (bits, magnitude & ((1 << bits) - 1), value >= 0, y))
    table = np.zeros(256, np.int64)
    candidates = []
    for i, eqs in enumerate(equations):
        eqs = sorted(set(eqs))
        if not eqs:
            raise SystemExit(f"no probe reached table interval {i}: add probe scales")
        found = []
        # sigmoid(i/24) in Q0.16 is within a few units of 65536 / (1 + exp(-i / 24)).
        guess = int(round(65536.0 / (1.0 + np.exp(-i / 24.0))))
        for below in range(max(0, guess - 8), min(65535, guess + 8) + 1):
            for slope in range(0, 800):
                ok = True
                for bits, fraction, positive, y in eqs:
                    r = (below << bits) + fraction * slope
                    if bits == 9:  # LOGISTIC
                        got = (r + 512) >> 10 if positive else ((1 << 25) - r + 511) >> 10
                    else:  # TANH
                        got = (r - (1 << 23) + 128) >> 8 if positive else (
                            (1 << 23) - r + 127) >> 8
                    if got != y:
                        ok = False
                        break
                if ok:
                    found.append((below, below + slope))
        candidates.append(found)
    # Pick the chain in which each interval's upper sample is the next interval's lower one.
    for i in range(255):
        options = candidates[i]
        if i > 0:
            options = [c for c in options if c[0] == table[i]]
        if i + 1 < 255:
            nxt = {c[0] for c in candidates[i + 1]}
            options = [c for c in options if c[1] in nxt]
        if len(options) != 1:
            raise SystemExit(f"table entry {i}: {len(options)} solutions {options[:4]}")
        table[i], table[i + 1] = options[0]
    return table


def check(table):
    schema = _schema()
    for scale in CHECK_SCALES + PROBE_SCALES:
        for name, fn, builtin in (("LOGISTIC", logistic, schema.BuiltinOperator.LOGISTIC),
                                  ("TANH", tanh, schema.BuiltinOperator.TANH)):
            expected = _tflm(_model(builtin, scale))
            got = fn(table, scale)
            bad = int(np.count_nonzero(expected != got))
            if bad:
                raise SystemExit(f"{name} at input scale {scale:g}: {bad} of 65536 outputs differ")
            print(f"{name:8} input scale {scale:.6g}: all 65536 int16 inputs match TFLite Micro")


def write(table, path):
    rows = [", ".join(str(int(v)) for v in table[r:r + 10]) for r in range(0, 256, 10)]
    body = ",\n    ".join(rows)
    path.write_text(f"""// Generated by tools/reference/derive_sigmoid_table.py: do not edit.
//
// sigmoid(i / 24) for i = 0..255 in unsigned Q0.16, as TFLite's int16 LOGISTIC and TANH
// interpolate it. The values were solved from TFLite Micro's outputs and reproduce them on every
// int16 input.
#include "tinydeploy/runtime/activation.h"

namespace tinydeploy::runtime {{

const uint16_t kSigmoidTableQ16[256] = {{
    {body}}};

}}  // namespace tinydeploy::runtime
""")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(REPO / "runtime/kernels/sigmoid_table.cc"))
    args = parser.parse_args(argv[1:])
    table = derive()
    check(table)
    write(table, Path(args.output))
    if shutil.which("clang-format"):  # the repository's layout for the array
        subprocess.run(["clang-format", "-i", args.output], check=True)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
