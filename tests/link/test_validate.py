"""`tinydeploy validate` end to end: every shared model on the host and both emulated boards
against TFLite Micro, a corrupted package found and its layer named, a board on a serial line
(QEMU's UART on a pseudo-terminal), stale images, silent targets, and .npz inputs."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from qemu_pty import start_qemu_on_pty  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
MODELS = sorted((SHARED / "models").glob("*.tflite"))
# TFLite Micro cannot allocate the hybrid float KWS model (float activations, int8 weights);
# TFLite's reference kernels define it.
REFERENCE = {"kws_ref_model_float32.tflite": "litert"}


def tinydeploy(*args, check=True, timeout=900, env=None):
    binary = os.environ["TINYDEPLOY_BIN"]
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"tinydeploy {' '.join(map(str, args))} exited "
                             f"{result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def output_rows(stdout):
    """(max LSB, differing) of every output row of the table."""
    rows = []
    for line in stdout.splitlines():
        match = re.match(r"^(\d+)\s+\S.*?\s+(\S+)\s+(\S+)\s+(\d+)/(\d+)\s+\S+$", line)
        if match:
            rows.append((match.group(2), int(match.group(4))))
    return rows


@pytest.mark.parametrize("target,runs", [("host", 3), ("qemu-m4", 2), ("qemu-m55", 2)])
@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_every_shared_model_matches_the_reference(model, target, runs):
    reference = REFERENCE.get(model.name, "tflm")
    result = tinydeploy("validate", model, "--target", target, "--runs", runs, "--seed", 11,
                        "--reference", reference)
    assert f"PASS: {model.name} on {target} matches {reference}" in result.stdout
    rows = output_rows(result.stdout)
    assert rows, result.stdout
    for max_lsb, differing in rows:
        assert differing == 0, result.stdout
        assert max_lsb in ("0", "-"), result.stdout  # "-": a float output
    if target.startswith("qemu"):
        assert re.search(r"time per inference: \d+ instructions \(emulated", result.stdout)


@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m55"])
def test_int4_weights_on_the_boards(tmp_path, target):
    # Unpacked ahead of time, they reach the cores' fast kernels as int8 weights.
    sys.path.insert(0, str(REPO / "tests" / "engine"))
    from int4_models import with_int4_weights
    model = tmp_path / "conv2d_int4.tflite"
    with_int4_weights(REPO / "tests" / "data" / "models" / "conv2d_int8.tflite", model)
    result = tinydeploy("validate", model, "--target", target, "--runs", 2, "--seed", 3)
    assert f"PASS: {model.name} on {target} matches tflm" in result.stdout, result.stdout


def first_layer_weights(model_path, operator):
    """Index of the weights tensor (input 1) of `operator` in the model."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    model = schema.Model.GetRootAs(model_path.read_bytes(), 0)
    return model.Subgraphs(0).Operators(operator).Inputs(1)


def test_a_corrupted_weight_fails_and_the_trace_names_its_layer(tmp_path):
    model = SHARED / "models" / "kws_ref_model.tflite"
    package = tmp_path / "package"
    tinydeploy("generate", model, "--target", "cortex-m4", "-o", package)
    layer = 4  # a CONV_2D in the middle of the network
    weights = first_layer_weights(model, layer)
    data = package / "kws_ref_model_model_data.cc"
    text = data.read_text()
    # The array of that tensor: its first value moves to the far end of the int8 range.
    match = re.search(rf"t{weights}_\w*\[\d+\] = \{{\s*(-?\d+)", text)
    assert match, f"no array for tensor {weights}"
    value = int(match.group(1))
    new_value = 127 if value < 0 else -128  # as far from the original as int8 goes
    text = text[:match.start(1)] + str(new_value) + text[match.end(1):]
    data.write_text(text)
    result = tinydeploy("validate", model, "--target", "qemu-m4", "--runs", 2, "--package",
                        package, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL: kws_ref_model.tflite on qemu-m4 differs from tflm" in result.stdout
    assert f"first divergence: layer {layer} (CONV_2D)" in result.stdout, result.stdout


@pytest.fixture(scope="module")
def kws_image(tmp_path_factory):
    out = tmp_path_factory.mktemp("firmware") / "kws"
    tinydeploy("firmware", SHARED / "models" / "kws_ref_model.tflite", "--target", "qemu-m4",
               "-o", out, "--quiet")
    image = out / "build" / "validator"
    assert image.is_file()
    return image


def compile_flags(build_ninja, source_suffix):
    """The FLAGS line of the build statement that compiles the source ending in `source_suffix`."""
    lines = build_ninja.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("build ") and f"{source_suffix} " in line.split(":", 1)[1] + " ":
            for follow in lines[i + 1:i + 8]:
                if follow.strip().startswith("FLAGS = "):
                    return follow.split("=", 1)[1].split()
    raise AssertionError(f"no build statement for {source_suffix}")


def test_the_board_runs_the_package_as_it_ships(kws_image):
    # The validator builds the package with the package's own default: -Os for a Cortex-M, with
    # the per-core kernel files at -O3. What validate and profile measure is what ships.
    build_ninja = kws_image.parent / "build.ninja"
    hot = compile_flags(build_ninja, "runtime/kernels/cortex-m4/conv_s8_dsp.cc")
    assert hot.index("-O3") > hot.index("-Os"), hot  # the later option wins
    model = compile_flags(build_ninja, "kws_ref_model_model.cc")
    assert "-Os" in model and "-O3" not in model and "-O2" not in model, model
    portable = compile_flags(build_ninja, "runtime/kernels/activation.cc")
    assert "-Os" in portable and "-O3" not in portable, portable


def test_serial_target_on_a_pseudo_terminal(kws_image):
    qemu, pty = start_qemu_on_pty(kws_image)
    try:
        result = tinydeploy("validate", SHARED / "models" / "kws_ref_model.tflite", "--target",
                            f"serial:{pty}@115200", "--runs", 3, "--trace")
        assert f"PASS: kws_ref_model.tflite on serial:{pty}@115200 matches tflm" in result.stdout
        assert "trace of run 0: all 13 layer outputs match" in result.stdout
        assert re.search(r"ticks at 25000000 Hz", result.stdout)
    finally:
        qemu.kill()
        qemu.wait()


def test_a_stale_image_is_named(kws_image):
    qemu, pty = start_qemu_on_pty(kws_image)
    try:
        result = tinydeploy("validate", SHARED / "models" / "ad01_int8.tflite", "--target",
                            f"serial:{pty}", "--runs", 1, check=False)
        assert result.returncode == 1
        assert "runs another model" in result.stderr and "stale" in result.stderr, result.stderr
    finally:
        qemu.kill()
        qemu.wait()


def test_a_silent_target_times_out_with_a_clear_message():
    master, slave = os.openpty()
    try:
        start = time.monotonic()
        result = tinydeploy("validate", SHARED / "models" / "kws_ref_model.tflite", "--target",
                            f"serial:{os.ttyname(slave)}", "--runs", 1, check=False, timeout=60)
        assert result.returncode == 1
        assert "did not answer hello" in result.stderr, result.stderr
        assert time.monotonic() - start < 30
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_inputs_with_a_run_axis(tmp_path, compressed):
    model = SHARED / "models" / "ad01_int8.tflite"
    rng = np.random.default_rng(5)
    batch = rng.integers(-128, 128, size=(3, 1, 640), dtype=np.int8)
    path = tmp_path / "inputs.npz"
    (np.savez_compressed if compressed else np.savez)(path, arr_0=batch)
    result = tinydeploy("validate", model, "--target", "host", "--inputs", path)
    assert "against tflm, 3 run(s)" in result.stdout
    assert "PASS" in result.stdout


def test_npz_inputs_that_do_not_fit_are_refused(tmp_path):
    model = SHARED / "models" / "ad01_int8.tflite"
    path = tmp_path / "inputs.npz"
    np.savez(path, arr_0=np.zeros((1, 641), dtype=np.int8))
    result = tinydeploy("validate", model, "--inputs", path, check=False)
    assert result.returncode == 1
    assert "has shape [1,641]; model input 0 needs [1,640]" in result.stderr
    path.write_bytes(b"PK\x03\x04 not really a zip")
    result = tinydeploy("validate", model, "--inputs", path, check=False)
    assert result.returncode == 1 and "not a zip archive" in result.stderr


def test_a_missing_emulator_names_its_package(tmp_path):
    # PATH with the build tools but without qemu-system-arm.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cmake", "ninja", "c++", "cc", "arm-none-eabi-gcc", "arm-none-eabi-g++",
                 "arm-none-eabi-ar", "arm-none-eabi-ranlib", "python3"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (bin_dir / tool).symlink_to(found)
    env = dict(os.environ, PATH=str(bin_dir))
    result = tinydeploy("validate", SHARED / "models" / "kws_ref_model.tflite", "--target",
                        "qemu-m4", "--runs", 1, check=False, env=env)
    assert result.returncode == 1
    assert "'qemu-system-arm' is not installed: install qemu-system-arm" in result.stderr, \
        result.stderr
