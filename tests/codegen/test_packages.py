"""`tinydeploy generate` and `tinydeploy library` end to end: every shared model's package builds
warning-free for the host, Cortex-M4 and Cortex-M55; the host build is bit-exact with
`tinydeploy run` on seeded random inputs; the host example prints PASS; generation is
deterministic; errors leave no half-written output."""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
MODELS = sorted((SHARED / "models").glob("*.tflite"))
# The generated operator test models: every operator, type and option the runtime supports.
OPERATOR_MODELS = sorted((REPO / "tests" / "data" / "models").glob("*.tflite"))
SEEDS = (5, 23)
# In the sanitizer configuration (ctest sets TINYDEPLOY_PACKAGE_SANITIZE, e.g.
# "address,undefined"), host packages are built and run with those sanitizers: the generated
# code and the runtime kernels as compiled for the device, not only the tool. Each build and run
# is then several times slower, so the shared models run on one seed and the operator models
# without the float ones (the float kernels share their loops and indexing with the integer
# ones, which add the fixed-point arithmetic).
SANITIZE = os.environ.get("TINYDEPLOY_PACKAGE_SANITIZE", "")
HOST_SEEDS = SEEDS[:1] if SANITIZE else SEEDS
HOST_OPERATOR_MODELS = [m for m in OPERATOR_MODELS
                        if not (SANITIZE and m.stem.endswith("_float"))]


def tinydeploy(*args, check=True, env=None):
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                            timeout=900, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"tinydeploy {' '.join(map(str, args))} exited "
                             f"{result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def sanitizer_flags():
    flags = f"-fsanitize={SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer"
    return [f"-DCMAKE_C_FLAGS={flags}", f"-DCMAKE_CXX_FLAGS={flags}",
            f"-DCMAKE_EXE_LINKER_FLAGS=-fsanitize={SANITIZE}"]


def build(package, build_dir, sanitize=False):
    """Configures and builds a generated package, with the sanitizers of
    TINYDEPLOY_PACKAGE_SANITIZE when `sanitize` is set and that is; returns the build log
    (warnings are errors in the package's CMake, so a warning fails here)."""
    options = sanitizer_flags() if sanitize and SANITIZE else []
    configure = subprocess.run(["cmake", "-S", package, "-B", build_dir, "-G", "Ninja", *options],
                               capture_output=True, text=True, timeout=600)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    result = subprocess.run(["cmake", "--build", build_dir], capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout.lower() + result.stderr.lower(), result.stdout
    return result.stdout


def package_name(model):
    return re.sub(r"[^0-9a-z]+", "_", model.stem.lower()).strip("_")


def check_host_package(model, tmp_path, seeds):
    """Builds the host package once per seed and compares the example's outputs, byte for byte,
    with `tinydeploy run --random SEED`."""
    name = package_name(model)
    for seed in seeds:
        package = tmp_path / f"package_{seed}"
        tinydeploy("generate", model, "--target", "host", "-o", package, "--example-seed", seed)
        build(package, tmp_path / f"build_{seed}", sanitize=True)
        if SANITIZE:
            cache = (tmp_path / f"build_{seed}" / "CMakeCache.txt").read_text()
            assert f"-fsanitize={SANITIZE}" in cache
        example = subprocess.run([tmp_path / f"build_{seed}" / f"{name}_example", "--dump"],
                                 capture_output=True, text=True, timeout=300)
        assert example.returncode == 0, example.stdout + example.stderr
        assert example.stdout.strip().splitlines()[-1] == "PASS", example.stdout
        dumped = dict(re.findall(r"^output (\d+) bytes:([0-9a-f]*)$", example.stdout, re.M))

        run_dir = tmp_path / f"run_{seed}"
        tinydeploy("run", model, "--random", seed, "-o", run_dir)
        outputs = sorted(run_dir.glob("output_*.npy"))
        assert outputs and len(outputs) == len(dumped)
        for i, path in enumerate(outputs):
            expected = np.load(path).tobytes()
            assert bytes.fromhex(dumped[str(i)]) == expected, f"{model.name} output {i} seed {seed}"


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_host_package_is_bit_exact_with_run(model, tmp_path):
    check_host_package(model, tmp_path, HOST_SEEDS)


@pytest.mark.parametrize("model", HOST_OPERATOR_MODELS, ids=[m.stem for m in HOST_OPERATOR_MODELS])
def test_operator_model_package_is_bit_exact_with_run(model, tmp_path):
    check_host_package(model, tmp_path, SEEDS[:1])


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_cortex_m_package_builds_warning_free(model, target, tmp_path):
    package = tmp_path / "package"
    tinydeploy("generate", model, "--target", target, "-o", package)
    log = build(package, tmp_path / "build")
    assert "arm-none-eabi" in (tmp_path / "build" / "CMakeCache.txt").read_text()
    name = package_name(model)
    library = tmp_path / "build" / f"lib{name}.a"
    header = subprocess.run(["arm-none-eabi-readelf", "-h", library], capture_output=True,
                            text=True, check=True).stdout
    assert "ARM" in header, log


def test_generation_is_deterministic(tmp_path):
    model = SHARED / "models" / "kws_ref_model.tflite"
    for out in ("a", "b"):
        tinydeploy("generate", model, "--target", "cortex-m4", "-o", tmp_path / out)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                     if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                     if p.is_file())
    assert files_a == files_b
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()


def test_package_contains_only_used_kernels_and_constants(tmp_path):
    # kws: convolutions, average pooling, reshape, softmax; no element-wise or reduction kernels.
    model = SHARED / "models" / "kws_ref_model.tflite"
    tinydeploy("generate", model, "-o", tmp_path / "p")
    kernels = sorted(p.name for p in (tmp_path / "p" / "runtime" / "kernels").iterdir())
    assert kernels == ["activation.cc", "conv.cc", "fixed_point.cc", "layout.cc", "pooling.cc",
                       "sigmoid_table.cc"]
    data = (tmp_path / "p" / "kws_ref_model_model_data.cc").read_text()
    # Weights and biases of the 9 convolutions (1 standard, 4 depthwise, 4 pointwise) and the
    # fully connected layer. The RESHAPE's shape operand (int32[2], 8 bytes) is consumed at
    # generation time and not emitted.
    assert len(re.findall(r"^alignas\(16\) const", data, re.M)) == 20
    inspect = json.loads(tinydeploy("inspect", "--json", model).stdout)
    generated = tinydeploy("generate", model, "-o", tmp_path / "p").stdout
    assert f"weights {inspect['parameter_bytes'] - 8} bytes" in generated
    header = (tmp_path / "p" / "kws_ref_model.h").read_text()
    assert f"#define KWS_REF_MODEL_ARENA_BYTES {inspect['memory']['arena_bytes']}\n" in header
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert f'#define KWS_REF_MODEL_MODEL_SHA256 "{digest}"' in header


def test_arrays_prepared_from_weights_are_weights(tmp_path):
    # On a Cortex-M4 the convolutions (the first through im2col, the four 1x1) and the fully
    # connected layer of kws take a bias with the input zero point folded in, prepared from the
    # weights in place of the bias tensor: it lives in the model data and counts as weights, byte
    # for byte what it replaces.
    model = SHARED / "models" / "kws_ref_model.tflite"
    host = tinydeploy("generate", model, "-o", tmp_path / "host").stdout
    m4 = tinydeploy("generate", model, "--target", "cortex-m4", "-o", tmp_path / "m4").stdout
    inspect = json.loads(tinydeploy("inspect", "--json", model).stdout)
    for output in (host, m4):
        assert f"weights {inspect['parameter_bytes'] - 8} bytes" in output
    header = (tmp_path / "m4" / "kws_ref_model_model_data.h").read_text()
    declared = re.findall(r"extern const int32_t (op\d+_folded_bias)\[(\d+)\];", header)
    assert declared == [("op0_folded_bias", "64"), ("op2_folded_bias", "64"),
                        ("op4_folded_bias", "64"), ("op6_folded_bias", "64"),
                        ("op8_folded_bias", "64"), ("op11_folded_bias", "12")]
    # The depthwise weights, packed by tap, and the fully connected layer's (12 x 64), packed four
    # units by word, replace the model's tensors byte for byte too.
    packed = re.findall(r"extern const int8_t (op\d+_packed_weights)\[(\d+)\];", header)
    assert packed == [("op1_packed_weights", "576"), ("op3_packed_weights", "576"),
                      ("op5_packed_weights", "576"), ("op7_packed_weights", "576"),
                      ("op11_packed_weights", "768")]
    source = (tmp_path / "m4" / "kws_ref_model_model.cc").read_text()
    assert source.count("data::op") == 11 and "folded_bias[" not in source
    # The prepared output stages are parameters in the model code, as the scales they replace.
    assert "output_stage[" in source
    assert "folded_bias" not in (tmp_path / "host" / "kws_ref_model_model_data.h").read_text()


def test_library_writes_library_header_example_and_memory_report(tmp_path):
    model = SHARED / "models" / "vww_96_int8.tflite"
    out = tmp_path / "lib"
    result = tinydeploy("library", model, "--target", "cortex-m4", "-o", out, "--name", "vww")
    assert (out / "lib" / "libvww.a").stat().st_size > 0
    assert (out / "include" / "vww.h").read_text().startswith("/* vww: generated by tinydeploy")
    assert (out / "example" / "main.c").exists() and (out / "example" / "vww_example").exists()
    report = json.loads((out / "memory_report.json").read_text())
    inspect = json.loads(tinydeploy("inspect", "--json", model).stdout)
    # The library's arena is the Cortex-M4 plan: the tensors inspect plans (for the portable
    # kernels) plus the scratch of the DSP kernels, where it raises the peak.
    package = tinydeploy("generate", model, "--target", "cortex-m4", "-o", tmp_path / "m4").stdout
    m4_arena = int(re.search(r"arena (\d+) bytes", package).group(1))
    assert report["ram"]["arena"] == m4_arena
    assert m4_arena >= inspect["memory"]["arena_bytes"]
    flash = report["flash"]
    assert flash["library_code"] > 0 and flash["parameters"] > 0
    # Every constant tensor the kernels read is linked in, byte for byte, but for the first
    # convolution's 27-byte filter rows, padded with zero weights to 32 for the M4's loops (8
    # output channels: 40 bytes).
    assert inspect["parameter_bytes"] - 1024 <= flash["weights"] <= inspect["parameter_bytes"] + 40
    assert flash["total"] == (flash["library_code"] + flash["parameters"] + flash["weights"] +
                              flash["c_library_and_startup"])
    assert flash["c_library_and_startup"] >= 0 and report["ram"]["other_static"] >= 0
    assert "flash" in result.stdout and "arena" in result.stdout


def test_library_for_host_runs_the_example(tmp_path):
    out = tmp_path / "lib"
    result = tinydeploy("library", SHARED / "models" / "ad01_int8.tflite", "-o", out)
    assert "example: PASS" in result.stdout
    assert subprocess.run([out / "example" / "ad01_int8_example"], capture_output=True,
                          text=True).stdout.strip().endswith("PASS")


def _patch_first_opcode(model_bytes, builtin):
    """Rewrites the first operator code of a TFLite flatbuffer to `builtin` (both the int8
    deprecated field and the int32 field), in place of a schema library."""
    data = bytearray(model_bytes)

    def table_field(table, field):
        vtable = table - struct.unpack_from("<i", data, table)[0]
        vtable_size = struct.unpack_from("<H", data, vtable)[0]
        if 4 + 2 * field >= vtable_size:
            return None
        offset = struct.unpack_from("<H", data, vtable + 4 + 2 * field)[0]
        return table + offset if offset else None

    model = struct.unpack_from("<I", data, 0)[0]
    codes_field = table_field(model, 1)
    codes = codes_field + struct.unpack_from("<I", data, codes_field)[0]
    first = codes + 4 + struct.unpack_from("<I", data, codes + 4)[0]
    deprecated = table_field(first, 0)
    modern = table_field(first, 3)
    assert deprecated is not None
    data[deprecated] = builtin
    if modern is not None:
        struct.pack_into("<i", data, modern, builtin)
    return bytes(data)


def test_unsupported_operator_is_reported_before_anything_is_written(tmp_path):
    source = REPO / "tests" / "data" / "models" / "relu6_float.tflite"
    model = tmp_path / "floor.tflite"
    model.write_bytes(_patch_first_opcode(source.read_bytes(), 8))  # FLOOR
    out = tmp_path / "out"
    tinydeploy("generate", SHARED / "models" / "kws_ref_model.tflite", "-o", out)
    previous = sorted(p.name for p in out.iterdir())
    result = tinydeploy("generate", model, "-o", out, check=False)
    assert result.returncode == 1
    assert "nothing generated" in result.stderr and "FLOOR" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == previous
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tinydeploy-")]


def test_existing_package_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    tinydeploy("generate", SHARED / "models" / "ad01_int8.tflite", "-o", out)
    (out / "stale.txt").write_text("from an earlier run")
    tinydeploy("generate", SHARED / "models" / "kws_ref_model.tflite", "-o", out)
    assert not (out / "stale.txt").exists() and not (out / "ad01_int8.h").exists()
    assert (out / "kws_ref_model.h").exists()
    # A directory tinydeploy did not write is replaced only with --force
    # (tests/cli/test_output_safety.py covers every kind of path).
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    result = tinydeploy("generate", SHARED / "models" / "kws_ref_model.tflite", "-o",
                        tmp_path / "mine", check=False)
    assert result.returncode == 1 and "not written by tinydeploy" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


def test_bad_name_and_target_are_refused(tmp_path):
    model = SHARED / "models" / "kws_ref_model.tflite"
    result = tinydeploy("generate", model, "-o", tmp_path / "o", "--name", "9lives", check=False)
    assert result.returncode == 1 and "--name '9lives' is not usable" in result.stderr
    result = tinydeploy("generate", model, "-o", tmp_path / "o", "--target", "esp32",
                        check=False)
    assert result.returncode != 0 and "esp32" in result.stderr
    assert not (tmp_path / "o").exists()


def test_build_failure_shows_the_compiler_message(tmp_path):
    # Breaks the generated sources but not CMake's compiler check.
    env = dict(os.environ, CXXFLAGS="-Dalignas=tinydeploy_broken_alignas")
    out = tmp_path / "lib"
    result = tinydeploy("library", SHARED / "models" / "kws_ref_model.tflite", "-o", out,
                        check=False, env=env)
    assert result.returncode == 1
    assert "building the package failed" in result.stderr
    assert "error:" in result.stderr and "tinydeploy_broken_alignas" in result.stderr
    kept = re.search(r"full log are kept in (\S+):", result.stderr).group(1)
    assert "tinydeploy_broken_alignas" in (Path(kept) / "build.log").read_text()
    shutil.rmtree(kept)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tinydeploy-")]


# The stateful models of the generated suite (manifest entries with "invokes").
STATEFUL_MANIFEST = json.loads((REPO / "tests" / "data" / "models" / "manifest.json").read_text())
STATEFUL_MODELS = sorted(REPO / "tests" / "data" / "models" / name
                         for name, entry in STATEFUL_MANIFEST["models"].items()
                         if "invokes" in entry)


def test_stateful_packages_cover_variables_resources_and_lstm():
    families = {STATEFUL_MANIFEST["models"][m.name]["family"] for m in STATEFUL_MODELS}
    assert {"variable_tensor", "resource_variables", "lstm"} <= families
    lstm = [m for m in STATEFUL_MODELS if STATEFUL_MANIFEST["models"][m.name]["family"] == "lstm"]
    modes = {STATEFUL_MANIFEST["models"][m.name]["mode"] for m in lstm}
    assert len(lstm) >= 6 and {"float", "int8", "int16"} <= modes, modes
    assert all(STATEFUL_MANIFEST["models"][m.name]["invokes"] >= 5 for m in lstm)


@pytest.mark.parametrize("model", STATEFUL_MODELS, ids=[m.stem for m in STATEFUL_MODELS])
def test_stateful_package_carries_state_and_resets(model, tmp_path):
    """The host package runs several invokes with state carried, bit-exact with `run --invokes`
    (itself bit-exact with TFLite Micro); NAME_reset() gives the first invoke's outputs again."""
    invokes = STATEFUL_MANIFEST["models"][model.name]["invokes"]
    name = package_name(model)
    package = tmp_path / "package"
    tinydeploy("generate", model, "-o", package, "--example-seed", 8, "--example-invokes",
               invokes)
    header = (package / f"{name}.h").read_text()
    inspect = json.loads(tinydeploy("inspect", "--json", model).stdout)
    variable_bytes = inspect["memory"]["variable_arena_bytes"]
    assert variable_bytes > 0
    assert f"#define {name.upper()}_VARIABLE_BYTES {variable_bytes}\n" in header
    assert f"{name}_status {name}_reset(void);" in header
    build(package, tmp_path / "build", sanitize=True)
    example = subprocess.run([tmp_path / "build" / f"{name}_example", "--dump"],
                             capture_output=True, text=True, timeout=300)
    assert example.returncode == 0, example.stdout + example.stderr
    assert example.stdout.strip().splitlines()[-1] == "PASS", example.stdout
    dumped = {(int(k or 0), int(i)): bytes.fromhex(data) for k, i, data in re.findall(
        r"^(?:invoke (\d+) )?output (\d+) bytes:([0-9a-f]*)$", example.stdout, re.M)}
    after_reset = {int(i): bytes.fromhex(data) for i, data in re.findall(
        r"^after reset output (\d+) bytes:([0-9a-f]*)$", example.stdout, re.M)}

    run_dir = tmp_path / "run"
    result = tinydeploy("run", model, "--random", 8, "--invokes", invokes, "--reference", "tflm",
                        "-o", run_dir)
    assert f"PASS: matches tflm over {invokes} invokes" in result.stdout
    outputs = len(list((run_dir / "invoke_0").glob("output_*.npy")))
    assert outputs > 0 and len(dumped) == invokes * outputs and len(after_reset) == outputs
    for k in range(invokes):
        for i in range(outputs):
            expected = np.load(run_dir / f"invoke_{k}" / f"output_{i}.npy").tobytes()
            assert dumped[(k, i)] == expected, f"{model.name} invoke {k} output {i}"
    for i in range(outputs):
        assert after_reset[i] == dumped[(0, i)]
    assert any(dumped[(1, i)] != dumped[(0, i)] for i in range(outputs)), "no state carried"
