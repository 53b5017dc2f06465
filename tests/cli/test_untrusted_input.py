"""The command line on hostile input, each case the input a security review found: names in a
model that are not UTF-8 or hold terminal escapes and C comment terminators, package names that
shadow system headers, negative and out-of-range seeds, malformed .npy/CSV inputs, and 1 KB
models whose shapes ask for gigabytes. Every case must end in valid output or one clear error,
never an internal error, a raw control byte on the terminal, a package that does not build, or
gigabytes allocated."""

import json
import os
import re
import subprocess
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "data" / "models"
RELU6 = MODELS / "relu6_int8.tflite"  # input 0 -> RELU6 (tensor 2), -> RELU_N1_TO_1 (tensor 3)

# The review's names: bytes that are not UTF-8, an ANSI escape, newlines, a C comment
# terminator, a preprocessor line, quotes, a backslash, and a trigraph for a backslash.
HOSTILE_INPUT = b'in\xff\xfe\x1b[31mred\n*/ "q" \\ ??/'
HOSTILE_OUTPUT = b'out*/\n#error x\n"\\'

USAGE_ERROR_VALIDATION = 105  # CLI11: a value that fails its check


def tinydeploy(*args, check=True, env=None):
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    result = subprocess.run([binary, *map(str, args)], capture_output=True, timeout=600, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"tinydeploy {' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout.decode(errors='replace')}"
                             f"{result.stderr.decode(errors='replace')}")
    return result


def assert_printable(data: bytes):
    """No control byte but line breaks, and well-formed UTF-8: what a terminal shows as text."""
    text = data.decode("utf-8")  # raises on bytes that are not UTF-8
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) < 0xA0]
    assert not bad, f"control characters {bad!r} in {text!r}"


def edit_model(source, path, edit):
    model = schema.ModelT.InitFromPackedBuf(Path(source).read_bytes(), 0)
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    Path(path).write_bytes(bytes(builder.Output()))
    return path


def hostile_names(model):
    tensors = model.subgraphs[0].tensors
    tensors[0].name = HOSTILE_INPUT
    tensors[3].name = HOSTILE_OUTPUT


def reshape(shape, tensors=(0, 2, 3)):
    def edit(model):
        for t in tensors:
            model.subgraphs[0].tensors[t].shape = np.array(shape, dtype=np.int32)
    return edit


def tinydeploy_peak_mb(*args):
    """Runs tinydeploy; returns its exit code, stderr and peak resident memory in MB."""
    process = subprocess.Popen([os.environ["TINYDEPLOY_BIN"], *map(str, args)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, stderr, usage.ru_maxrss / 1024


# --- 1. names from the model ----------------------------------------------------------------

def test_inspect_json_is_valid_with_names_that_are_not_utf8(tmp_path):
    model = edit_model(RELU6, tmp_path / "names.tflite", hostile_names)
    result = tinydeploy("inspect", "--json", "--layers", model)
    doc = json.loads(result.stdout.decode("utf-8"))
    # Bytes that are not UTF-8 become U+FFFD; JSON escapes the control characters itself.
    assert doc["inputs"][0]["name"] == 'in\ufffd\ufffd\x1b[31mred\n*/ "q" \\ ??/'
    assert doc["outputs"][1]["name"] == HOSTILE_OUTPUT.decode()
    assert b"\x1b" not in result.stdout and doc["total_macs"] == 0


def test_inspect_text_escapes_control_and_invalid_bytes(tmp_path):
    model = edit_model(RELU6, tmp_path / "names.tflite", hostile_names)
    result = tinydeploy("inspect", model)
    assert_printable(result.stdout)
    text = result.stdout.decode()
    assert r'in\xFF\xFE\x1B[31mred\x0A*/ "q" \\ ??/' in text
    assert r'out*/\x0A#error x\x0A"\\' in text
    # One line per tensor: a newline in a name no longer fakes a line.
    assert len(re.findall(r"^  \S", text, re.M)) == 3


def test_run_output_lines_and_errors_escape_names(tmp_path):
    model = edit_model(RELU6, tmp_path / "names.tflite", hostile_names)
    result = tinydeploy("run", model)
    assert_printable(result.stdout)
    assert r"""output 1 'out*/\x0A#error x\x0A"\\' int8 [1,4,4,8]""" in result.stdout.decode()
    # An error that quotes the input's name.
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros(128, dtype=np.float32))
    result = tinydeploy("run", model, "--input", wrong, check=False)
    assert result.returncode == 1
    assert_printable(result.stderr)
    assert len(result.stderr.splitlines()) == 1
    assert r"but input 'in\xFF\xFE\x1B[31mred\x0A*/" in result.stderr.decode()


def test_custom_operator_names_are_escaped(tmp_path):
    def custom(model):
        model.operatorCodes[0].builtinCode = 32  # CUSTOM
        model.operatorCodes[0].deprecatedBuiltinCode = 32
        model.operatorCodes[0].customCode = b"Evil\x1b]0;pwned\x07\n\xc3"
    model = edit_model(RELU6, tmp_path / "custom.tflite", custom)
    text = tinydeploy("inspect", model)
    assert_printable(text.stdout)
    assert r"Evil\x1B]0;pwned\x07\x0A\xC3 x1" in text.stdout.decode()
    doc = json.loads(tinydeploy("inspect", "--json", model).stdout)
    assert r"Evil\x1B]0;pwned\x07\x0A\xC3" in doc["op_histogram"]
    result = tinydeploy("generate", model, "-o", tmp_path / "pkg", check=False)
    assert result.returncode == 1
    assert_printable(result.stderr)
    assert len(result.stderr.splitlines()) == 1 and b"nothing generated" in result.stderr


def test_generated_package_builds_with_hostile_names(tmp_path):
    model = edit_model(RELU6, tmp_path / "names.tflite", hostile_names)
    package = tmp_path / "pkg"
    tinydeploy("generate", model, "-o", package)
    source = (package / "names_model.cc").read_text()
    # String literals carry the exact bytes; comments carry a harmless spelling.
    assert r'{"in\377\376\033[31mred\012*/ \"q\" \\ \?\?/", arena + 0' in source
    assert r"""//   out: tensor 3 'out* /<0A>#error x<0A>"<5C>' int8 [1,4,4,8]""" in source
    for generated in package.rglob("*"):
        if generated.is_file() and generated.suffix in (".h", ".cc", ".c", ".txt"):
            assert_printable(generated.read_bytes())
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", package, "-B", build, "-G", "Ninja"], check=True,
                   capture_output=True, timeout=600)
    built = subprocess.run(["cmake", "--build", build], capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "warning" not in built.stdout.lower()
    example = subprocess.run([build / "names_example"], capture_output=True, timeout=60)
    assert example.returncode == 0, example.stdout
    assert_printable(example.stdout)
    assert rb"""output 1 'out*/\x0A#error x\x0A"\x5C': as expected""" in example.stdout
    assert example.stdout.strip().endswith(b"PASS")


# --- 2. package names -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["stdint", "math", "string", "stdio", "features", "all",
                                  "_kws", "kws__x", "kws_"])
def test_names_that_break_the_package_are_refused(name, tmp_path):
    result = tinydeploy("generate", RELU6, "-o", tmp_path / "pkg", "--name", name, check=False)
    assert result.returncode == 1
    assert f"--name '{name}' is not usable".encode() in result.stderr
    assert not (tmp_path / "pkg").exists()


def test_a_model_named_like_a_header_gets_a_name_that_builds(tmp_path):
    model = tmp_path / "math.tflite"
    model.write_bytes(RELU6.read_bytes())
    package = tmp_path / "pkg"
    tinydeploy("generate", model, "-o", package)
    assert (package / "math_model.h").exists() and not (package / "math.h").exists()
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", package, "-B", build, "-G", "Ninja"], check=True,
                   capture_output=True, timeout=600)
    built = subprocess.run(["cmake", "--build", build], capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    example = subprocess.run([build / "math_model_example"], capture_output=True, text=True)
    assert example.stdout.strip().endswith("PASS")


# --- 3. seeds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", "18446744073709551616", "99999999999999999999", "0x10",
                                  "1e3", "", "+5"])
def test_negative_and_out_of_range_seeds_are_usage_errors(seed, tmp_path):
    result = tinydeploy("run", RELU6, "--random", seed, check=False)
    assert result.returncode == USAGE_ERROR_VALIDATION
    assert b"a seed is a decimal integer from 0 to 18446744073709551615" in result.stderr
    result = tinydeploy("generate", RELU6, "-o", tmp_path / "p", "--example-seed", seed,
                        check=False)
    assert result.returncode == USAGE_ERROR_VALIDATION
    assert b"--example-seed: a seed is a decimal integer" in result.stderr
    assert not (tmp_path / "p").exists()


def test_seeds_are_decimal_over_the_whole_range(tmp_path):
    def outputs(seed):
        out = tmp_path / f"run_{seed}"
        tinydeploy("run", RELU6, "--random", seed, "-o", out)
        return np.load(out / "input_0.npy")
    # 010 is ten, as written (strtoull read it as octal 8).
    assert np.array_equal(outputs("010"), outputs("10"))
    assert not np.array_equal(outputs("10"), outputs("8"))
    largest = outputs("18446744073709551615")
    assert largest.shape == (1, 4, 4, 8)


# --- 4. input files: covered in depth by tests/validate; here through `run` ----------------

def test_npy_with_negative_shape_is_refused(tmp_path):
    path = tmp_path / "neg.npy"
    header = b"{'descr': '|i1', 'fortran_order': False, 'shape': (-1, 4, 4, 8), }"
    header += b" " * (118 - len(header)) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header +
                     bytes(128))
    result = tinydeploy("run", RELU6, "--input", path, check=False)
    assert result.returncode == 1
    assert b"malformed .npy header: 'shape' has a negative dimension" in result.stderr


def test_csv_over_several_lines_is_refused(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(",".join(["1"] * 64) + "\n" + ",".join(["2"] * 64) + "\n")
    result = tinydeploy("run", RELU6, "--input", path, check=False)
    assert result.returncode == 1
    assert b"has more than one line; a CSV input is one line" in result.stderr
    path.write_text(",".join(["1"] * 128) + "\r\n")
    tinydeploy("run", RELU6, "--input", path)


# --- 5. memory a model asks for --------------------------------------------------------------

def test_huge_arena_is_refused_before_allocating(tmp_path):
    # 1.3 KB of model asking for 768 MiB of arena.
    model = edit_model(RELU6, tmp_path / "huge.tflite", reshape([1, 4096, 4096, 16]))
    assert model.stat().st_size < 2048
    for command in (["run", model], ["generate", model, "-o", tmp_path / "pkg"]):
        status, stderr, peak_mb = tinydeploy_peak_mb(*command)
        assert status == 1
        assert (b"the model's tensors need an arena of 805306368 bytes (768.0 MiB), over the "
                b"limit of 268435456 bytes (256.0 MiB); nothing was allocated") in stderr
        assert b"--max-arena 768M" in stderr
        # Before the fix `run` peaked at 1.5 GB here (arena plus a copy of each output).
        assert peak_mb < 300, f"{command[0]} used {peak_mb:.0f} MB to refuse"
    assert not (tmp_path / "pkg").exists()


def test_max_arena_is_configurable(tmp_path):
    result = tinydeploy("run", RELU6, "--max-arena", "383", check=False)
    assert result.returncode == 1 and b"arena of 384 bytes" in result.stderr
    assert b"over the limit of 383 bytes" in result.stderr
    tinydeploy("run", RELU6, "--max-arena", "384")
    tinydeploy("generate", RELU6, "-o", tmp_path / "p", "--max-arena", "1K")
    for bad in ("-1", "1T", "abc", "5000000000G"):
        result = tinydeploy("run", RELU6, "--max-arena", bad, check=False)
        assert result.returncode == USAGE_ERROR_VALIDATION
        assert b"--max-arena: a size is a number of bytes" in result.stderr


def test_layer_copies_are_bounded_too(tmp_path):
    # Nine 128-byte operator outputs in a 1,024-byte arena: the copies need 1,152 bytes.
    model = MODELS / "activations_int8.tflite"
    result = tinydeploy("run", model, "--reference", "tflm", "--layers", "--max-arena", "1100",
                        check=False)
    assert result.returncode == 1
    assert b"--layers keeps a copy of every operator output, more than the limit of 1100" \
        in result.stderr


def test_example_data_is_bounded(tmp_path):
    # 1.3 KB of model whose example would embed 24 MiB (150 MB of C source).
    model = edit_model(RELU6, tmp_path / "bigio.tflite", reshape([1, 1024, 1024, 8]))
    result = tinydeploy("generate", model, "-o", tmp_path / "pkg", check=False)
    assert result.returncode == 1
    assert (b"the example would embed 25165824 bytes of inputs and expected outputs (24.0 MiB, "
            b"about six times that as C source), over the limit of 16777216 bytes") in result.stderr
    assert not (tmp_path / "pkg").exists()
    # Configurable: relu6_int8's example is 384 bytes.
    result = tinydeploy("generate", RELU6, "-o", tmp_path / "small", "--max-example-data", "383",
                        check=False)
    assert result.returncode == 1 and b"embed 384 bytes" in result.stderr
    tinydeploy("generate", RELU6, "-o", tmp_path / "small", "--max-example-data", "384")
    assert (tmp_path / "small" / "example" / "example_data.h").exists()


# --- 6. what the README says about exit codes ------------------------------------------------

def test_usage_errors_exit_with_cli11_codes():
    assert tinydeploy("inspect", check=False).returncode == 106  # a required argument missing
    assert tinydeploy("inspect", RELU6, "--bogus", check=False).returncode == 109  # extra argument
    assert tinydeploy("run", RELU6, "--reference", "tf", check=False).returncode == 105
    assert tinydeploy("run", RELU6, "--random", "x", check=False).returncode == 105


def test_an_input_without_elements_runs_and_generates(tmp_path):
    """A model input with a 0 dimension has no storage: `run` and `generate` must not hand a null
    pointer to memcpy (UBSan's nonnull check in the asan configuration)."""
    model = REPO / "tests" / "data" / "fuzz-regressions" / "zero_element_input.tflite"
    for args in (["run", model, "--random", "1"], ["generate", model, "-o", tmp_path / "pkg"]):
        result = tinydeploy(*args, check=False)
        stderr = result.stderr.decode(errors="replace")
        assert "runtime error" not in stderr and "Sanitizer" not in stderr, stderr
        assert result.returncode in (0, 1), stderr
        if result.returncode == 1:
            assert stderr.startswith("error: "), stderr
