"""Every model of ../shared/models on 20 seeded random inputs: integer models bit-exact against
TFLite Micro, float models within the stated tolerance of TFLite's reference kernels; the
intermediate tensors of every model compared layer by layer on one input."""

import pytest

from conftest import SHARED

MODELS = sorted((SHARED / "models").glob("*.tflite"))
SEEDS = range(20)


def _reference_for(model):
    # Float models are checked against TFLite (TFLite Micro cannot allocate every float model);
    # integer models against TFLite Micro.
    name = model.name
    return "litert" if ("fp32" in name or "float" in name or name == "pretrainedResnet.tflite") \
        else "tflm"


def test_shared_models_present():
    assert len(MODELS) >= 10


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_random_inputs_match_reference(tinydeploy, model):
    reference = _reference_for(model)
    for seed in SEEDS:
        result = tinydeploy("run", model, "--random", seed, "--reference", reference, check=False)
        assert result.returncode == 0, f"seed {seed}:\n{result.stdout}{result.stderr}"
        assert f"PASS: matches {reference}" in result.stdout


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_every_layer_matches_reference(tinydeploy, model):
    reference = _reference_for(model)
    result = tinydeploy("run", model, "--random", 7, "--reference", reference, "--layers",
                        check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "operators match layer by layer" in result.stdout
