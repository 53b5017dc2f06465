"""UNIDIRECTIONAL_SEQUENCE_LSTM (tools/testmodels/lstm.py).

The accepted models (tests/data/models/lstm_*) must run; tests/engine/test_generated_models.py
compares them with the references like every generated model, and this file does so over
several consecutive invokes with the state carried, against expectations computed by TFLite
Micro at test time. The refused variants (tests/data/lstm_refused) are refused by TFLite Micro,
checked here too, and `tinydeploy` must refuse each with a reason before any kernel runs."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "data" / "models"
REFUSED = REPO / "tests" / "data" / "lstm_refused"
REFUSED_MANIFEST = json.loads((REFUSED / "manifest.json").read_text())["models"]
MODEL_MANIFEST = json.loads((MODELS / "manifest.json").read_text())["models"]
LSTM_MODELS = sorted(n for n, e in MODEL_MANIFEST.items() if e["family"] == "lstm")
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "Segmentation fault", "Aborted")


def tinydeploy(*args):
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=600)


def tflm_refuses(path):
    from tflite_micro.python.tflite_micro import runtime
    try:
        runtime.Interpreter.from_bytes(path.read_bytes())
    except RuntimeError:
        return True
    return False


def test_every_variant_and_type_is_covered():
    modes = {(MODEL_MANIFEST[n]["mode"], "_tm_" in n) for n in LSTM_MODELS}
    assert modes == {("float", False), ("float", True), ("int8", False), ("int8", True),
                     ("int16", False), ("int16", True)}
    assert {"peephole", "projection", "layer norm", "input gate", "TANH", "before any"} == {
        e["refusal"] for e in REFUSED_MANIFEST.values()}


@pytest.mark.parametrize("name", sorted(REFUSED_MANIFEST))
def test_refused_variant_matches_tflite_micro(name):
    entry = REFUSED_MANIFEST[name]
    path = REFUSED / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert tflm_refuses(path) == entry["tflm_refuses"], name
    result = tinydeploy("run", path, "--random", 0)
    for mark in SANITIZER_MARKS:
        assert mark not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # Lowering names the operator; a state that is not variable is refused earlier, by the
    # reader's data-flow check, which names it too.
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    assert "operator 0 (UNIDIRECTIONAL_SEQUENCE_LSTM): " in lines[0], lines[0]
    assert entry["refusal"] in lines[0], lines[0]


@pytest.mark.parametrize("name", LSTM_MODELS)
def test_tflite_micro_runs_every_accepted_model(name):
    assert not tflm_refuses(MODELS / name)


@pytest.mark.parametrize("name", LSTM_MODELS)
def test_single_invoke_matches_tflite_micro(name):
    for seed in (0, 5):
        result = tinydeploy("run", MODELS / name, "--random", seed, "--reference", "tflm")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PASS: matches tflm" in result.stdout, result.stdout
