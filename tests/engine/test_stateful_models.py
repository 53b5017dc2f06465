"""The stateful models of the generated suite (manifest entries with "invokes": variable tensors,
resource variables with CALL_ONCE) through `tinydeploy run --invokes N`: every invoke against the
PC reference running the same invokes on one interpreter, state carried: bit-exact, or within the
manifest's documented bound for that reference (every invoke's every output compared)."""

import json
import re

import numpy as np
import pytest

from conftest import REPO

MODELS_DIR = REPO / "tests" / "data" / "models"
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
STATEFUL = sorted(name for name, entry in MANIFEST.items() if "invokes" in entry)
CASES = [(name, reference) for name in STATEFUL for reference in ("tflm", "litert")
         if "not_run" not in MANIFEST[name]["references"][reference]]
_COMPARED = re.compile(r"^(match   |MISMATCH) invoke (\d+) output (\d+) (.*)$", re.MULTILINE)
_LSB = re.compile(r"max diff (\d+) LSB")


def test_the_suite_has_stateful_models_of_each_kind():
    families = {MANIFEST[name]["family"] for name in STATEFUL}
    assert {"variable_tensor", "resource_variables"} <= families
    assert all(MANIFEST[name]["invokes"] >= 4 for name in STATEFUL)


@pytest.mark.parametrize("name,reference", CASES, ids=[f"{n[:-7]}-{r}" for n, r in CASES])
def test_every_invoke_matches_reference(tinydeploy, name, reference):
    rule = MANIFEST[name]["references"][reference]
    invokes = MANIFEST[name]["invokes"]
    for seed in (0, 7):
        result = tinydeploy("run", MODELS_DIR / name, "--invokes", invokes, "--random", seed,
                            "--reference", reference, check=False)
        context = f"{name} vs {reference}, seed {seed}:\n{result.stdout}{result.stderr}"
        outputs = len(re.findall(r"^output \d+ '", result.stdout, re.MULTILINE))
        compared = {(int(k), int(o)): (kind, rest)
                    for kind, k, o, rest in _COMPARED.findall(result.stdout)}
        assert outputs > 0, context
        assert set(compared) == {(k, o) for k in range(invokes) for o in range(outputs)}, context
        if rule["max_lsb"] == 0:
            assert result.returncode == 0, context
            assert f"PASS: matches {reference} over {invokes} invokes" in result.stdout, context
            assert all(kind.startswith("match") for kind, _ in compared.values()), context
        else:
            # A documented bound between integer outputs, on every invoke.
            assert result.returncode in (0, 2), context
            lsbs = [_LSB.search(rest) for _, rest in compared.values()]
            assert all(lsbs), context
            assert max(int(m.group(1)) for m in lsbs) <= rule["max_lsb"], context


@pytest.mark.parametrize("name", STATEFUL, ids=[n[:-7] for n in STATEFUL])
def test_every_layer_of_every_invoke_matches_tflm(tinydeploy, name):
    invokes = MANIFEST[name]["invokes"]
    result = tinydeploy("run", MODELS_DIR / name, "--invokes", invokes, "--random", 3,
                        "--reference", "tflm", "--layers", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("operators match layer by layer") == invokes, result.stdout


@pytest.mark.parametrize("name", STATEFUL, ids=[n[:-7] for n in STATEFUL])
def test_state_changes_the_output_of_the_same_input(tinydeploy, tmp_path, name):
    """The same input on every invoke: the outputs differ from one invoke to the next only
    through the state, and each matches TFLite Micro."""
    first = tmp_path / "first"
    tinydeploy("run", MODELS_DIR / name, "--random", 5, "-o", first)
    invokes = MANIFEST[name]["invokes"]
    inputs = sorted(first.glob("input_*.npy"))
    files = [arg for _ in range(invokes) for path in inputs for arg in ("--input", path)]
    out = tmp_path / "repeated"
    result = tinydeploy("run", MODELS_DIR / name, *files, "--invokes", invokes,
                        "--reference", "tflm", "-o", out, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASS: matches tflm over {invokes} invokes" in result.stdout
    outputs = [np.load(out / "invoke_0" / "output_0.npy"), np.load(out / "invoke_1" / "output_0.npy")]
    assert np.array_equal(outputs[0], np.load(first / "output_0.npy"))
    assert not np.array_equal(outputs[0], outputs[1]), "the state did not change the output"


def test_npz_with_an_invoke_axis_gives_each_invoke_its_input(tinydeploy, tmp_path):
    name = "resource_variables_int8.tflite"
    rng = np.random.default_rng(4)
    values = rng.integers(-128, 128, (4, 1, 4)).astype(np.int8)
    archive = tmp_path / "inputs.npz"
    np.savez(archive, values)
    out = tmp_path / "out"
    result = tinydeploy("run", MODELS_DIR / name, "--input", archive, "--invokes", 4,
                        "--reference", "tflm", "-o", out, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: matches tflm over 4 invokes" in result.stdout
    for k in range(4):
        assert np.array_equal(np.load(out / f"invoke_{k}" / "input_0.npy"), values[k])
    wrong = tinydeploy("run", MODELS_DIR / name, "--input", archive, "--invokes", 3, check=False)
    assert wrong.returncode == 1
    assert "holds inputs for 4 invoke(s), but --invokes is 3" in wrong.stderr


def test_input_files_must_cover_every_invoke(tinydeploy, tmp_path):
    name = "variable_tensor_float.tflite"
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((1, 2, 3), np.float32))
    result = tinydeploy("run", MODELS_DIR / name, "--input", path, "--input", path,
                        "--invokes", 3, check=False)
    assert result.returncode == 1
    assert "--invokes 3 takes 3 --input files" in result.stderr
    assert "2 files were given" in result.stderr


def test_random_invokes_draw_different_inputs_and_invoke_0_is_the_single_run(tinydeploy,
                                                                              tmp_path):
    name = "variable_tensor_int8.tflite"
    tinydeploy("run", MODELS_DIR / name, "--random", 9, "-o", tmp_path / "one")
    tinydeploy("run", MODELS_DIR / name, "--random", 9, "--invokes", 3, "-o", tmp_path / "three")
    single = np.load(tmp_path / "one" / "input_0.npy")
    drawn = [np.load(tmp_path / "three" / f"invoke_{k}" / "input_0.npy") for k in range(3)]
    assert np.array_equal(single, drawn[0])
    assert not np.array_equal(drawn[0], drawn[1]) and not np.array_equal(drawn[1], drawn[2])


def _without_assignments(model_bytes):
    """The model with every ASSIGN_VARIABLE and CALL_ONCE removed: its resources are read but
    never assigned."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    dropped = (schema.BuiltinOperator.ASSIGN_VARIABLE, schema.BuiltinOperator.CALL_ONCE)
    graph = model.subgraphs[0]
    graph.operators = [op for op in graph.operators if codes[op.opcodeIndex] not in dropped]
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_a_resource_never_assigned_is_refused_with_the_reason(tinydeploy, tmp_path):
    model = tmp_path / "never_assigned.tflite"
    model.write_bytes(_without_assignments(
        (MODELS_DIR / "resource_variables_float.tflite").read_bytes()))
    result = tinydeploy("run", model, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "resource variables are not supported in this model" in result.stderr
    assert "is read but never assigned" in result.stderr
    inspect = tinydeploy("inspect", model).stdout
    assert "VAR_HANDLE" in inspect and "unsupported" in inspect
