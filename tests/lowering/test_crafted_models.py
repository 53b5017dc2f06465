"""Crafted models (tests/data/crafted, written by tools/testmodels/crafted.py): well-formed
TFLite files whose contents lie. `tinydeploy run` and `tinydeploy generate` must refuse every lie
before any kernel runs, with exit code 1 and one `error:` line naming the model, the operator
index and op, and the reason; no crash and no sanitizer report (the asan configuration runs this
file against its instrumented binary). The honest model each lie was made from must run and
generate."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRAFTED = REPO / "tests" / "data" / "crafted"
MANIFEST = json.loads((CRAFTED / "manifest.json").read_text())
LIES = sorted(name for name, entry in MANIFEST.items() if entry["refusal"] is not None)
HONEST = sorted(name for name, entry in MANIFEST.items() if entry["refusal"] is None)
# Signs of a crash or undefined behaviour that an exit code of 1 alone would not show (ASan and
# UBSan exit with 1 too).
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "Segmentation fault", "Aborted")


def tinydeploy(*args):
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=600)


def assert_refused(result, name):
    entry = MANIFEST[name]
    model = CRAFTED / f"{name}.tflite"
    for mark in SANITIZER_MARKS:
        assert mark not in result.stderr, result.stderr
    assert result.returncode == 1, f"exit {result.returncode}:\n{result.stdout}{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected = f"error: {model}: operator 0 ({entry['op']}): "
    assert lines[0].startswith(expected), lines[0]
    assert entry["refusal"] in lines[0], lines[0]


def test_the_manifest_covers_every_finding():
    findings = {entry["finding"] for entry in MANIFEST.values()}
    assert findings == {"base", "1", "2", "3", "4"}
    assert len(LIES) == 26 and len(HONEST) == 16
    # Finding 2 on every operator that reads a bias, the hybrid CONV_2D included.
    short_bias = [name for name in LIES if name.endswith("bias_short")]
    assert sorted(short_bias) == ["conv_bias_short", "conv_hybrid_bias_short",
                                  "depthwise_conv_bias_short", "fully_connected_bias_short",
                                  "transpose_conv_bias_short"]


def test_committed_models_are_what_the_script_writes(tmp_path):
    """The .tflite files are the script's deterministic output, byte for byte."""
    result = subprocess.run([sys.executable, REPO / "tools" / "testmodels" / "crafted.py",
                             "--out", tmp_path], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, entry in MANIFEST.items():
        data = (tmp_path / f"{name}.tflite").read_bytes()
        assert data == (CRAFTED / f"{name}.tflite").read_bytes(), name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    assert (tmp_path / "manifest.json").read_text() == (CRAFTED / "manifest.json").read_text()


@pytest.mark.parametrize("name", LIES)
def test_run_refuses(name):
    assert_refused(tinydeploy("run", CRAFTED / f"{name}.tflite", "--random", 0), name)


@pytest.mark.parametrize("name", LIES)
def test_generate_refuses_and_writes_nothing(name, tmp_path):
    package = tmp_path / "package"
    result = tinydeploy("generate", CRAFTED / f"{name}.tflite", "--target", "host", "-o", package)
    assert_refused(result, name)
    assert not package.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", HONEST)
def test_honest_model_runs_and_generates(name, tmp_path):
    model = CRAFTED / f"{name}.tflite"
    # Bit-exact with TFLite Micro (TFLite for the hybrid CONV_2D, which TFLite Micro refuses).
    reference = "litert" if name == "conv_hybrid" else "tflm"
    for seed in (0, 7):
        result = tinydeploy("run", model, "--random", seed, "--reference", reference)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"PASS: matches {reference}" in result.stdout, result.stdout
    result = tinydeploy("generate", model, "--target", "host", "-o", tmp_path / "package")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "package" / "CMakeLists.txt").is_file()
