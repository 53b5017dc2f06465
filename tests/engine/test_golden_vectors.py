"""Every golden vector of ../shared/golden (TFLite Micro's integration vectors, produced by
TFLite's reference kernels) is reproduced bit-exactly by `tinydeploy run`."""

import numpy as np
import pytest

from conftest import SHARED

GOLDEN = SHARED / "golden"
MODELS = sorted(GOLDEN.glob("*/*/*.tflite"))


def _csv_values(path):
    text = path.read_text().replace("\n", ",")
    return np.array([int(v) for v in text.split(",") if v.strip()], dtype=np.int64)


def test_golden_vectors_present():
    assert len(MODELS) >= 60


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_golden_vector_bit_exact(tinydeploy, model, tmp_path):
    inputs = sorted(model.parent.glob(f"{model.stem}_input*_*.csv"),
                    key=lambda p: int(p.name[len(model.stem) + 6:].split("_")[0]))
    goldens = sorted(model.parent.glob(f"{model.stem}_golden_*.csv"))
    assert inputs and len(goldens) == 1
    args = [model]
    for path in inputs:
        args += ["--input", path]
    tinydeploy("run", *args, "-o", tmp_path / "out", "--csv")
    ours = _csv_values(tmp_path / "out" / "output_0.csv")
    expected = _csv_values(goldens[0])
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)
