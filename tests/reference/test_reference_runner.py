"""The PC reference runner reproduces the golden vectors and exposes intermediate tensors."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tools" / "reference"))

import reference_runner  # noqa: E402

GOLDEN = sorted((SHARED / "golden" / "seanet").glob("*/*.tflite"))


def _csv(path, dtype):
    values = path.read_text().strip().split(",")
    return np.array([int(v) for v in values], dtype=dtype)


def _inputs(model, tmp_path):
    """The model's input CSVs as .npy files shaped like the model's inputs."""
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(model)).get_input_details()
    paths = []
    for index, detail in enumerate(details):
        (csv,) = model.parent.glob(f"{model.stem}_input{index}_*.csv")
        value = _csv(csv, detail["dtype"]).reshape(detail["shape"])
        path = tmp_path / f"input{index}.npy"
        np.save(path, value)
        paths.append(path)
    return paths


@pytest.mark.parametrize("engine", ["litert", "tflm"])
@pytest.mark.parametrize("model", GOLDEN, ids=lambda p: p.stem)
def test_golden_vectors_are_reproduced(model, engine, tmp_path):
    (golden_csv,) = model.parent.glob(f"{model.stem}_golden_*.csv")
    manifest = reference_runner.run(model, engine, _inputs(model, tmp_path), tmp_path / "out")
    output = np.load(tmp_path / "out" / manifest["outputs"][0])
    golden = _csv(golden_csv, output.dtype)
    np.testing.assert_array_equal(output.reshape(-1), golden)


@pytest.mark.parametrize("engine", ["litert", "tflm"])
def test_intermediates_of_keyword_spotting(engine, tmp_path):
    model = SHARED / "models" / "kws_ref_model.tflite"
    value = np.random.default_rng(5).integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "in.npy", value)
    plain = reference_runner.run(model, engine, [tmp_path / "in.npy"], tmp_path / "plain")
    full = reference_runner.run(model, engine, [tmp_path / "in.npy"], tmp_path / "full",
                                intermediates=True)
    # 13 operators; the last one's output is already the model output.
    assert [entry["operator"] for entry in full["intermediates"]] == list(range(12))
    first = np.load(tmp_path / "full" / full["intermediates"][0]["file"])
    assert first.shape == (1, 25, 5, 64) and first.dtype == np.int8
    np.testing.assert_array_equal(np.load(tmp_path / "plain" / "output_0.npy"),
                                  np.load(tmp_path / "full" / "output_0.npy"))
    assert json.loads((tmp_path / "full" / "manifest.json").read_text())["engine"] == engine


def test_engines_agree_on_int8_intermediates(tmp_path):
    model = SHARED / "models" / "kws_ref_model.tflite"
    value = np.random.default_rng(9).integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "in.npy", value)
    runs = {engine: reference_runner.run(model, engine, [tmp_path / "in.npy"], tmp_path / engine,
                                         intermediates=True) for engine in ("litert", "tflm")}
    for entry in runs["litert"]["intermediates"]:
        np.testing.assert_array_equal(np.load(tmp_path / "litert" / entry["file"]),
                                      np.load(tmp_path / "tflm" / entry["file"]))


def test_wrong_input_shape_is_one_clear_error(tmp_path, capsys):
    model = SHARED / "models" / "kws_ref_model.tflite"
    np.save(tmp_path / "in.npy", np.zeros((1, 10), dtype=np.int8))
    status = reference_runner.main(["reference_runner.py", str(model), "--input",
                                    str(tmp_path / "in.npy"), "--output-dir", str(tmp_path)])
    assert status == 1
    assert "input 0 is int8[1, 10], the model expects int8[1, 49, 10, 1]" in capsys.readouterr().err


def test_unreadable_npy_is_one_clear_error(tmp_path, capsys):
    model = SHARED / "models" / "kws_ref_model.tflite"
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    status = reference_runner.main(["reference_runner.py", str(model), "--input",
                                    str(tmp_path / "bad.npy"), "--output-dir", str(tmp_path)])
    assert status == 1
    assert "not a readable .npy file" in capsys.readouterr().err
