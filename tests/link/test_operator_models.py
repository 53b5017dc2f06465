"""Every generated operator test model (tests/data/models) validated on an emulated board with the
kernels lowering picks for its core (the Cortex-M4 DSP and Cortex-M55 Helium variants where they
apply, the portable kernels elsewhere), against the reference its manifest entry says matches
exactly: 0 LSB on every integer output of every run (float outputs: within validate's 1e-5
relative, as the board's libm is not the PC's; the fast kernels are all integer). The host runs the same models with the portable
kernels against the same references (tests/engine/test_generated_models.py), so an exact match
on both sides means the board's bytes are the host's bytes.

The board is chosen by TINYDEPLOY_BOARD (qemu-m4 or qemu-m55): CTest runs one suite per board,
side by side."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO / "tests" / "data" / "models"
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
BOARD = os.environ.get("TINYDEPLOY_BOARD", "qemu-m4")
RUNS = 2


def exact_reference(entry):
    """The first reference the manifest expects to match to the bit, or None."""
    for reference in ("tflm", "litert"):
        rule = entry["references"][reference]
        if "not_run" not in rule and rule.get("max_lsb") == 0:
            return reference
    return None


def model_names():
    return sorted(MANIFEST)


def tinydeploy(*args):
    binary = os.environ["TINYDEPLOY_BIN"]
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=900)


def output_rows(stdout):
    """(max LSB, differing, compared) of every row of validate's output table."""
    rows = []
    for line in stdout.splitlines():
        match = re.match(r"^(\d+)\s+\S.*?\s+(\S+)\s+(\S+)\s+(\d+)/(\d+)\s+\S+$", line)
        if match:
            rows.append((match.group(2), int(match.group(4)), int(match.group(5))))
    return rows


def test_every_model_has_an_exact_reference():
    missing = [name for name, entry in MANIFEST.items() if exact_reference(entry) is None]
    assert not missing, f"no reference matches these exactly: {missing}"


@pytest.mark.parametrize("name", model_names(), ids=[n[:-len(".tflite")] for n in model_names()])
def test_operator_model_matches_its_reference_on_the_board(name):
    reference = exact_reference(MANIFEST[name])
    result = tinydeploy("validate", MODELS_DIR / name, "--target", BOARD, "--runs", RUNS,
                        "--seed", 5, "--reference", reference, "--quiet")
    context = f"{name} on {BOARD} vs {reference}:\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, context
    assert f"PASS: {name} on {BOARD} matches {reference}" in result.stdout, context
    rows = output_rows(result.stdout)
    assert rows, context
    for max_lsb, differing, compared in rows:
        assert differing == 0 and compared > 0, context
        assert max_lsb in ("0", "-"), context  # "-": a float output, compared bit for bit
    assert re.search(r"time per inference: \d+ instructions \(emulated", result.stdout), context
