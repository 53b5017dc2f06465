"""The generated operator test-model suite (tests/data/models, made by tools/testmodels/generate.py
with the real TensorFlow Lite converter): every model on seeded random inputs against both PC
references, as its manifest entry says, and layer by layer against one of them."""

import hashlib
import json
import re

import numpy as np
import pytest

from conftest import REPO

MODELS_DIR = REPO / "tests" / "data" / "models"
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
NAMES = sorted(MANIFEST)
SEEDS = range(4)

# The operators and types the runtime promises (issue 4); the suite must cover each pair.
INT8_FLOAT_INT16 = ("float", "int8", "int16")
REQUIRED = {
    "CONV_2D": INT8_FLOAT_INT16, "DEPTHWISE_CONV_2D": INT8_FLOAT_INT16,
    "FULLY_CONNECTED": INT8_FLOAT_INT16, "TRANSPOSE_CONV": INT8_FLOAT_INT16,
    "AVERAGE_POOL_2D": INT8_FLOAT_INT16, "MAX_POOL_2D": INT8_FLOAT_INT16,
    "ADD": INT8_FLOAT_INT16, "SUB": INT8_FLOAT_INT16, "MUL": INT8_FLOAT_INT16,
    "SOFTMAX": INT8_FLOAT_INT16, "LOGISTIC": INT8_FLOAT_INT16, "TANH": INT8_FLOAT_INT16,
    "RELU": INT8_FLOAT_INT16, "RELU6": INT8_FLOAT_INT16, "LEAKY_RELU": INT8_FLOAT_INT16,
    "HARD_SWISH": ("float", "int8"),  # the converter has no 16x8 HARD_SWISH
    "QUANTIZE": ("int8", "int16"), "DEQUANTIZE": ("int8", "int16"),
    "RESHAPE": INT8_FLOAT_INT16, "SQUEEZE": INT8_FLOAT_INT16, "EXPAND_DIMS": INT8_FLOAT_INT16,
    "PAD": INT8_FLOAT_INT16, "PADV2": ("float", "int8"),  # 16x8 PADV2 comes out invalid
    "CONCATENATION": INT8_FLOAT_INT16, "STRIDED_SLICE": INT8_FLOAT_INT16,
    "TRANSPOSE": INT8_FLOAT_INT16, "MEAN": INT8_FLOAT_INT16, "MAXIMUM": INT8_FLOAT_INT16,
    "MINIMUM": INT8_FLOAT_INT16,
    # Every type TFLite Micro's kernels take (pack.cc, unpack.cc, split.cc, split_v.cc).
    "PACK": INT8_FLOAT_INT16 + ("int32", "int64"), "UNPACK": INT8_FLOAT_INT16 + ("int32",),
    "SPLIT": INT8_FLOAT_INT16 + ("int32",), "SPLIT_V": INT8_FLOAT_INT16 + ("int32",),
    "SVDF": ("float", "int8"),  # TFLite Micro has no 16-bit SVDF
    "RESIZE_NEAREST_NEIGHBOR": INT8_FLOAT_INT16,
    "RESIZE_BILINEAR": ("float", "int8"),  # TFLite Micro has no 16-bit RESIZE_BILINEAR
    # TFLite Micro's kernels take float32 and int8 only (arg_min_max.cc, gather.cc,
    # depth_to_space.cc, space_to_depth.cc, reduce_common.cc's REDUCE_MAX/REDUCE_MIN).
    "ARG_MAX": ("float", "int8"), "ARG_MIN": ("float", "int8"),
    "GATHER": ("float", "int8"), "DEPTH_TO_SPACE": ("float", "int8"),
    "SPACE_TO_DEPTH": ("float", "int8"), "REDUCE_MAX": ("float", "int8"),
    "REDUCE_MIN": ("float", "int8"),
    "SLICE": INT8_FLOAT_INT16, "SUM": INT8_FLOAT_INT16,
    "ABS": INT8_FLOAT_INT16, "NEG": ("float",),  # TFLite Micro's NEG is float32 only
    "PRELU": ("float", "int8"),  # the converter has no 16x8 PRELU
}


def _type_of(mode):
    for wide in ("int64", "int32", "int16"):
        if wide in mode:
            return wide
    return "float" if mode.startswith("float") else "int8"


def test_suite_covers_every_operator_and_type():
    covered = {(op, _type_of(entry["mode"])) for entry in MANIFEST.values()
               for op in entry["operators"]}
    missing = [f"{op} {dtype}" for op, types in REQUIRED.items() for dtype in types
               if (op, dtype) not in covered]
    assert not missing, f"no generated model covers: {', '.join(missing)}"


def test_per_tensor_and_per_channel_weights_are_both_covered():
    modes = {entry["mode"] for entry in MANIFEST.values() if entry["family"] == "conv2d"}
    assert {"int8", "int8pt"} <= modes


@pytest.mark.parametrize("name", NAMES)
def test_model_file_matches_manifest(name):
    data = (MODELS_DIR / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == MANIFEST[name]["sha256"]


_DIFF = re.compile(r"^(match   |MISMATCH) output (\d+) .*max diff (\d+) LSB", re.MULTILINE)


def _check(tinydeploy, model, reference, rule, seed):
    result = tinydeploy("run", model, "--random", seed, "--reference", reference, check=False)
    context = f"{model.name} vs {reference}, seed {seed}:\n{result.stdout}{result.stderr}"
    if rule["max_lsb"] == 0:
        assert result.returncode == 0, context
        assert f"PASS: matches {reference}" in result.stdout, context
        return
    # A documented bound between integer outputs: every output is compared and within it.
    assert result.returncode in (0, 2), context
    outputs = len(re.findall(r"^output \d+ '", result.stdout, re.MULTILINE))
    diffs = [int(m.group(3)) for m in _DIFF.finditer(result.stdout)]
    assert outputs > 0 and len(diffs) == outputs, context
    assert max(diffs) <= rule["max_lsb"], context


# A reference that cannot run a model (the manifest says why) is left out of its cases.
CASES = [(name, reference) for name in NAMES for reference in ("tflm", "litert")
         if "not_run" not in MANIFEST[name]["references"][reference]]


def test_every_model_runs_against_a_reference_and_exceptions_say_why():
    for name, references in ((n, MANIFEST[n]["references"]) for n in NAMES):
        assert any("not_run" not in r for r in references.values()), name
        for rule in references.values():
            if "not_run" in rule:
                assert len(rule["not_run"]) > 20, name
            elif rule["max_lsb"] > 0:
                assert len(rule["why"]) > 20, name


@pytest.mark.parametrize("name,reference", CASES, ids=[f"{n[:-7]}-{r}" for n, r in CASES])
def test_random_inputs_match_reference(tinydeploy, name, reference):
    rule = MANIFEST[name]["references"][reference]
    for seed in SEEDS:
        _check(tinydeploy, MODELS_DIR / name, reference, rule, seed)


@pytest.mark.parametrize("name", NAMES, ids=[n[:-7] for n in NAMES])
def test_every_layer_matches_reference(tinydeploy, name):
    references = MANIFEST[name]["references"]
    exact = [r for r in ("tflm", "litert") if references[r].get("max_lsb") == 0]
    assert exact, f"{name}: no reference is expected to match exactly"
    result = tinydeploy("run", MODELS_DIR / name, "--random", 11, "--reference", exact[0],
                        "--layers", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "operators match layer by layer" in result.stdout


@pytest.mark.parametrize("reference", ["tflm", "litert"])
def test_int16_logistic_and_tanh_on_every_input(tinydeploy, tmp_path, reference):
    every_value = tmp_path / "every_int16.npy"
    np.save(every_value, np.arange(-32768, 32768, dtype=np.int16))
    model = MODELS_DIR / "sigmoid_sweep_int16.tflite"
    inputs = [arg for _ in range(4) for arg in ("--input", every_value)]
    result = tinydeploy("run", model, *inputs, "--reference", reference, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("match    output") == 8
