"""Int4 weights: operator test models with their weights rewritten as int4 run bit-exact against
TensorFlow Lite Micro where it runs them (CONV_2D and DEPTHWISE_CONV_2D with int8 activations,
FULLY_CONNECTED with int8 activations and per-tensor weights), and are refused with the reason
where it refuses them."""

import pytest
from tflite_micro.python.tflite_micro import runtime

from conftest import REPO
from int4_models import with_int4_weights

MODELS = REPO / "tests" / "data" / "models"

RUN = [("conv2d_int8", False), ("conv2d_int8", True), ("conv2d_int8pt", False),
       ("depthwise_conv2d_int8", False), ("fully_connected_int8pt", False)]
REFUSED = ["conv2d_int16", "depthwise_conv2d_int16", "fully_connected_int8",
           "fully_connected_int16"]


@pytest.mark.parametrize("name,one_per_byte", RUN,
                         ids=[f"{n}{'-one-per-byte' if b else ''}" for n, b in RUN])
def test_int4_weights_match_tflite_micro(tinydeploy, tmp_path, name, one_per_byte):
    model = tmp_path / f"{name}_int4.tflite"
    rewritten = with_int4_weights(MODELS / f"{name}.tflite", model, one_per_byte)
    assert rewritten >= 3
    inspect = tinydeploy("inspect", model)
    assert inspect.stdout.count("int4 weights unpacked to int8") == rewritten, inspect.stdout
    for seed in range(3):
        result = tinydeploy("run", model, "--random", seed, "--reference", "tflm", check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PASS: matches tflm" in result.stdout, result.stdout


@pytest.mark.parametrize("name", REFUSED)
def test_int4_weights_refused_where_tflite_micro_refuses_them(tinydeploy, tmp_path, name):
    model = tmp_path / f"{name}_int4.tflite"
    with_int4_weights(MODELS / f"{name}.tflite", model)
    with pytest.raises(RuntimeError, match="failed to allocate"):
        runtime.Interpreter.from_bytes(model.read_bytes())
    result = tinydeploy("run", model, "--random", 0, check=False)
    assert result.returncode != 0
    assert "int4" in result.stderr and "TensorFlow Lite Micro takes int4 only" in result.stderr, \
        result.stderr
