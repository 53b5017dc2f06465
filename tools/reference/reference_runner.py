#!/usr/bin/env python3
"""The PC reference: runs a .tflite model with TensorFlow Lite or TensorFlow Lite Micro.

TensorFlow Lite runs with its reference kernels (no XNNPACK), which define the semantics
tinydeploy must reproduce; TensorFlow Lite Micro runs its own (reference) kernels.

  reference_runner.py MODEL --engine litert|tflm --input IN0.npy [--input IN1.npy ...]
                      --output-dir DIR [--intermediates]

Writes DIR/output_<i>.npy for each model output and DIR/manifest.json. With --intermediates the
model is rewritten so that every operator output of the entry subgraph is also a model output,
and each is written as DIR/tensor_<t>.npy (t = tensor index), listed in the manifest with the
operator that produced it. Exit code 0 on success; 1 with one "error:" line otherwise.

  reference_runner.py MODEL --engine litert|tflm --batch DIR [--intermediates]

runs every DIR/run_<r>/input_<i>.npy set (r = 0, 1, ...) on one interpreter and writes each
run's outputs and manifest.json into its own DIR/run_<r>/, as above. The runs are consecutive
invokes of that interpreter, never reset in between: a model's state (variable tensors, resource
variables) carries from run r to run r + 1.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

_TFLM_ARENA_BYTES = 64 * 1024 * 1024


class ReferenceError(Exception):
    """A problem the user can fix; printed as one line."""


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    except ImportError as error:
        raise ReferenceError("the Python package 'tflite-micro' is missing; install it with "
                             "'pip install --pre -r tools/reference/requirements.txt'") from error
    return schema_py_generated


def expose_intermediates(model_bytes):
    """Returns the model with every operator output of subgraph 0 appended to its outputs, and
    the list of (operator index, tensor index) in the order they were appended."""
    import flatbuffers

    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    graph = model.subgraphs[0]
    outputs = [int(t) for t in (graph.outputs if graph.outputs is not None else [])]
    added = []
    # Handles (VAR_HANDLE's resource), strings and variants are no tensor data to compare, and
    # TFLite Micro refuses them as outputs.
    no_data = (schema.TensorType.STRING, schema.TensorType.RESOURCE, schema.TensorType.VARIANT)
    for index, op in enumerate(graph.operators or []):
        for tensor in (op.outputs if op.outputs is not None else []):
            tensor = int(tensor)
            if tensor >= 0 and tensor not in outputs and graph.tensors[tensor].type not in no_data:
                outputs.append(tensor)
                added.append((index, tensor))
    graph.outputs = outputs
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), added


def _litert_runner(model_bytes):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as error:
        raise ReferenceError("the Python package 'ai-edge-litert' is missing; install it with "
                             "'pip install --pre -r tools/reference/requirements.txt'") from error
    interpreter = Interpreter(model_content=model_bytes,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()

    def run_once(inputs):
        _check_inputs(inputs, [(d["shape"], d["dtype"]) for d in details])
        for detail, value in zip(details, inputs):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]

    return run_once


def _tflm_runner(model_bytes, output_count):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as error:
        raise ReferenceError("the Python package 'tflite-micro' is missing; install it with "
                             "'pip install --pre -r tools/reference/requirements.txt'") from error
    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=_TFLM_ARENA_BYTES)

    def run_once(inputs):
        expected = [interpreter.get_input_details(i) for i in range(len(inputs))]
        _check_inputs(inputs, [(d["shape"], d["dtype"]) for d in expected])
        for index, value in enumerate(inputs):
            interpreter.set_input(value, index)
        interpreter.invoke()
        return [interpreter.get_output(i) for i in range(output_count)]

    return run_once


def _check_inputs(inputs, expected):
    if len(inputs) != len(expected):
        raise ReferenceError(f"the model takes {len(expected)} input(s), {len(inputs)} given")
    for index, (value, (shape, dtype)) in enumerate(zip(inputs, expected)):
        if tuple(value.shape) != tuple(int(d) for d in shape) or value.dtype != np.dtype(dtype):
            raise ReferenceError(
                f"input {index} is {value.dtype}{list(value.shape)}, the model expects "
                f"{np.dtype(dtype)}{[int(d) for d in shape]}")


def _load_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ReferenceError(f"{path}: not a readable .npy file ({error})") from error


def _output_count(model_bytes):
    schema = _schema()
    model = schema.Model.GetRootAs(model_bytes, 0)
    return model.Subgraphs(0).OutputsLength()


def _runner(model_path, engine, intermediates):
    """(run_once, original output count, added intermediates) for the model."""
    model_bytes = Path(model_path).read_bytes()
    original_outputs = _output_count(model_bytes)
    added = []
    if intermediates:
        model_bytes, added = expose_intermediates(model_bytes)
    if engine == "litert":
        run_once = _litert_runner(model_bytes)
    elif engine == "tflm":
        run_once = _tflm_runner(model_bytes, original_outputs + len(added))
    else:
        raise ReferenceError(f"unknown engine '{engine}' (use litert or tflm)")
    return run_once, original_outputs, added


def _write_results(model_path, engine, results, original_outputs, added, output_dir):
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"model": str(model_path), "engine": engine, "outputs": [], "intermediates": []}
    for index in range(original_outputs):
        name = f"output_{index}.npy"
        np.save(output_dir / name, results[index])
        manifest["outputs"].append(name)
    for (operator, tensor), value in zip(added, results[original_outputs:]):
        name = f"tensor_{tensor}.npy"
        np.save(output_dir / name, value)
        manifest["intermediates"].append({"operator": operator, "tensor": tensor, "file": name})
    (output_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def run(model_path, engine, input_paths, output_dir, intermediates=False):
    run_once, original_outputs, added = _runner(model_path, engine, intermediates)
    results = run_once([_load_npy(path) for path in input_paths])
    return _write_results(model_path, engine, results, original_outputs, added, output_dir)


def run_batch(model_path, engine, batch_dir, intermediates=False):
    """Runs every batch_dir/run_<r>/ input set; returns the number of runs."""
    batch_dir = Path(batch_dir)
    runs = 0
    while (batch_dir / f"run_{runs}").is_dir():
        runs += 1
    if runs == 0:
        raise ReferenceError(f"{batch_dir}: no run_0/ directory with inputs")
    run_once, original_outputs, added = _runner(model_path, engine, intermediates)
    for r in range(runs):
        run_dir = batch_dir / f"run_{r}"
        paths = sorted(run_dir.glob("input_*.npy"), key=lambda p: int(p.stem.split("_")[1]))
        results = run_once([_load_npy(path) for path in paths])
        _write_results(model_path, engine, results, original_outputs, added, run_dir)
    return runs


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--engine", choices=["litert", "tflm"], default="litert")
    parser.add_argument("--input", action="append", default=[], help=".npy file, one per input")
    parser.add_argument("--output-dir")
    parser.add_argument("--batch", help="run every BATCH/run_<r>/input_<i>.npy set")
    parser.add_argument("--intermediates", action="store_true",
                        help="also write every operator output of the entry subgraph")
    args = parser.parse_args(argv[1:])
    if (args.batch is None) == (args.output_dir is None):
        parser.error("give either --output-dir (with --input files) or --batch")
    try:
        if args.batch is not None:
            run_batch(args.model, args.engine, args.batch, args.intermediates)
        else:
            run(args.model, args.engine, args.input, args.output_dir, args.intermediates)
    except (ReferenceError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, ValueError) as error:  # raised by the interpreters
        print(f"error: {args.engine} could not run {args.model}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
