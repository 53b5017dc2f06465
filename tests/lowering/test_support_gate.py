"""One gate decides support: lowering. On every model the suite has (the generated operator
models, the crafted ones, the shared ones, and small models with operators the runtime lacks),
`inspect` lists exactly the operators that `run` and `generate` refuse, each with the reason
they give; a model `inspect` calls supported runs and generates."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
import flatbuffers

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
MODELS = sorted((REPO / "tests" / "data" / "models").glob("*.tflite")) + \
    sorted((REPO / "tests" / "data" / "crafted").glob("*.tflite")) + \
    sorted((SHARED / "models").glob("*.tflite"))


def tinydeploy(*args):
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=600)


def check_agreement(model, tmp_path):
    inspected = tinydeploy("inspect", "--json", model)
    ran = tinydeploy("run", model, "--random", "1")
    generated = tinydeploy("generate", model, "-o", tmp_path / "package")
    if inspected.returncode != 0:
        # A model that contradicts itself (a stored shape its inputs cannot give) is refused by
        # the analysis, before lowering, with the same message everywhere.
        assert inspected.returncode == ran.returncode == generated.returncode == 1
        assert inspected.stderr == ran.stderr == generated.stderr, model.name
        return
    refusals = json.loads(inspected.stdout)["refusals"]
    context = f"{model.name}:\ninspect {refusals}\nrun {ran.stderr}\ngenerate {generated.stderr}"
    if not refusals:
        assert ran.returncode == 0 and generated.returncode == 0, context
        return
    assert ran.returncode == 1 and generated.returncode == 1, context
    assert not (tmp_path / "package").exists(), context
    for refusal in refusals:
        for result in (ran, generated):
            assert f"operator {refusal['index']} ({refusal['op']})" in result.stderr, context
            assert refusal["reason"] in result.stderr, context


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_inspect_run_and_generate_agree(model, tmp_path):
    check_agreement(model, tmp_path)


def _model_with_unsupported_ops(path):
    """ADD (supported), then FLOOR and CEIL (no kernels): float [4] all through."""
    m = schema.ModelT()
    m.version = 3
    m.buffers = [schema.BufferT()]
    codes = []
    for op in (schema.BuiltinOperator.ADD, schema.BuiltinOperator.FLOOR,
               schema.BuiltinOperator.CEIL):
        code = schema.OperatorCodeT()
        code.builtinCode = op
        code.deprecatedBuiltinCode = min(op, 127)
        code.version = 1
        codes.append(code)
    m.operatorCodes = codes
    g = schema.SubGraphT()
    g.tensors = []
    for name in ("x", "sum", "floor", "ceil"):
        t = schema.TensorT()
        t.name = name
        t.shape = np.array([4], dtype=np.int32)
        t.type = schema.TensorType.FLOAT32
        t.buffer = 0
        g.tensors.append(t)
    ops = []
    for index, (inputs, outputs) in enumerate((([0, 0], [1]), ([1], [2]), ([2], [3]))):
        op = schema.OperatorT()
        op.opcodeIndex = index
        op.inputs = np.array(inputs, dtype=np.int32)
        op.outputs = np.array(outputs, dtype=np.int32)
        if index == 0:
            op.builtinOptionsType = schema.BuiltinOptions.AddOptions
            op.builtinOptions = schema.AddOptionsT()
        ops.append(op)
    g.operators = ops
    g.inputs = np.array([0], dtype=np.int32)
    g.outputs = np.array([3], dtype=np.int32)
    m.subgraphs = [g]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))


def test_every_refusal_is_listed_not_only_the_first(tmp_path):
    model = tmp_path / "two_unsupported.tflite"
    _model_with_unsupported_ops(model)
    text = tinydeploy("inspect", model)
    assert text.returncode == 0, text.stderr
    assert "unsupported 2 of 3 operators cannot run:" in text.stdout, text.stdout
    assert "operator 1 FLOOR (float32 -> float32): the runtime has no kernel" in text.stdout
    assert "operator 2 CEIL (float32 -> float32): the runtime has no kernel" in text.stdout
    doc = json.loads(tinydeploy("inspect", "--json", model).stdout)
    assert [(r["index"], r["op"]) for r in doc["refusals"]] == [(1, "FLOOR"), (2, "CEIL")]
    generated = tinydeploy("generate", model, "-o", tmp_path / "out")
    assert generated.returncode == 1
    assert "2 operators cannot run (nothing generated):" in generated.stderr
    assert "operator 1 (FLOOR)" in generated.stderr and "operator 2 (CEIL)" in generated.stderr
    check_agreement(model, tmp_path)
