"""Untrusted paths and interruptions must never cost data: `-o` of `run`, `generate` and `library`
creates a new directory or replaces one tinydeploy wrote, and refuses everything else; the PC
reference times out; SIGINT/SIGTERM leave no temporary directory behind."""

import glob
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
KWS = SHARED / "models" / "kws_ref_model.tflite"
# The slowest package to build (large weight arrays): time enough to interrupt the build.
VWW = SHARED / "models" / "vww_96_int8.tflite"
MARKER = ".tinydeploy-output"


def binary():
    path = os.environ.get("TINYDEPLOY_BIN")
    if not path:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")
    return path


def tinydeploy(*args, cwd=None, env=None, timeout=600):
    return subprocess.run([binary(), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def refused(result, *fragments):
    """The command failed with one `error: output directory ...` line naming `fragments`."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(root):
    """Every entry under `root` (not following links) with its kind and content."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                entries[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                entries[str(path)] = ("file", path.read_bytes())
            else:
                entries[str(path)] = ("other", stat.S_IFMT(mode))
    return entries


COMMANDS = {
    "generate": lambda model, out, *extra: ("generate", model, "-o", out, *extra),
    "library": lambda model, out, *extra: ("library", model, "-o", out, "--quiet", *extra),
    "run": lambda model, out, *extra: ("run", model, "-o", out, *extra),
}


@pytest.fixture
def place(tmp_path):
    """A directory with a model, a user's file and a user's directory of notes."""
    shutil.copy(KWS, tmp_path / "m.tflite")
    (tmp_path / "notes.txt").write_text("a user's file\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("a user's notes\n")
    (tmp_path / "notes" / "sub").mkdir()
    (tmp_path / "notes" / "sub" / "more.txt").write_text("more notes\n")
    return tmp_path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_existing_file_is_never_replaced(place, command):
    for extra in ((), ("--force",)):
        before = snapshot(place)
        result = tinydeploy(*COMMANDS[command](place / "m.tflite", place / "notes.txt", *extra))
        refused(result, "is an existing file (14 bytes)", "never replaces a file, even with --force")
        assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_directory_with_user_content_is_refused_unchanged(place, command):
    before = snapshot(place)
    result = tinydeploy(*COMMANDS[command](place / "m.tflite", place / "notes"))
    refused(result, "already exists and was not written by tinydeploy", "2 entries",
            "add --force to replace it")
    assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_input_model_itself_is_refused(place, command):
    before = snapshot(place)
    for out in ("m.tflite", "m.tflite/", "./m.tflite"):
        result = tinydeploy(*COMMANDS[command]("m.tflite", out, "--force"), cwd=place)
        refused(result, "is the input model itself")
    assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_models_own_folder_is_refused_even_with_force(place, command):
    before = snapshot(place)
    result = tinydeploy(*COMMANDS[command](place / "m.tflite", place, "--force"))
    refused(result, "contains the input model", "even with --force")
    # Named relatively, from inside it.
    result = tinydeploy(*COMMANDS[command]("m.tflite", f"../{place.name}", "--force"), cwd=place)
    refused(result, "contains the input model")
    assert snapshot(place) == before


def test_a_folder_holding_an_input_file_is_refused(place):
    first = tinydeploy("run", place / "m.tflite", "--random", "1", "-o", place / "inputs")
    assert first.returncode == 0, first.stderr
    before = snapshot(place)
    # inputs/ is tinydeploy's own output, but it now holds the input of this run.
    result = tinydeploy("run", place / "m.tflite", "--input", place / "inputs" / "input_0.npy",
                        "-o", place / "inputs", "--force")
    refused(result, "contains the input file")
    assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_dev_null_stays_a_character_device(command):
    for extra in ((), ("--force",)):
        result = tinydeploy(*COMMANDS[command](KWS, "/dev/null", *extra))
        refused(result, "'/dev/null' is a character device")
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    with open("/dev/null", "w") as null:
        null.write("still works\n")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_symlink_to_a_directory_is_refused_and_its_target_untouched(place, command):
    (place / "link").symlink_to(place / "notes", target_is_directory=True)
    before = snapshot(place)
    for out in ("link", "link/"):
        result = tinydeploy(*COMMANDS[command]("m.tflite", out, "--force"), cwd=place)
        refused(result, "is a symbolic link", "never writes through or replaces a link")
    assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("out,message", [
    (".", "is the current directory"),
    ("./", "is the current directory"),
    ("..", "is the parent of the current directory"),
    ("/", "is the root directory"),
    ("", "is an empty path"),
    ("notes/.", "ends in '.'"),
])
def test_paths_that_name_no_new_directory_are_refused(place, command, out, message):
    (place / "work").mkdir()
    shutil.copy(KWS, place / "work" / "w.tflite")
    before = snapshot(place)
    for extra in ((), ("--force",)):
        result = tinydeploy(*COMMANDS[command]("w.tflite", out, *extra), cwd=place / "work")
        refused(result, message)
    assert snapshot(place) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_path_under_a_plain_file_or_missing_parent_is_refused(place, command):
    before = snapshot(place)
    result = tinydeploy(*COMMANDS[command](place / "m.tflite", place / "notes.txt" / "out"))
    refused(result, f"'{place / 'notes.txt'}' is a file, not a directory")
    result = tinydeploy(*COMMANDS[command](place / "m.tflite", place / "missing" / "out"))
    refused(result, f"its parent directory '{place / 'missing'}' does not exist")
    assert snapshot(place) == before


def test_working_directory_and_its_ancestors_are_refused_even_with_force(place):
    (place / "a" / "b").mkdir(parents=True)
    (place / "a" / "b" / "keep.txt").write_text("keep")
    before = snapshot(place)
    for out in (place / "a", place / "a" / "b", "../b", "../../a"):
        result = tinydeploy("generate", place / "m.tflite", "-o", out, "--force",
                            cwd=place / "a" / "b")
        refused(result, "the current directory", "even with --force")
    assert snapshot(place) == before


def test_fresh_path_trailing_slash_and_rerun_into_own_directory(place):
    out = place / "out"
    result = tinydeploy("generate", "m.tflite", "-o", "out/", cwd=place)
    assert result.returncode == 0, result.stderr
    assert "wrote out (" in result.stdout
    assert (out / "m.h").is_file()
    assert (out / MARKER).read_text().startswith("tinydeploy output directory\n")
    assert stat.S_IMODE(out.stat().st_mode) & 0o055, "the output kept mkdtemp's 0700"
    # Written by tinydeploy: replaced whole on the next run, with or without the slash.
    (out / "stale.txt").write_text("from an earlier run")
    for name in ("out", "out/"):
        result = tinydeploy("generate", "m.tflite", "-o", name, "--name", "pkg", cwd=place)
        assert result.returncode == 0, result.stderr
        assert (out / "pkg.h").is_file()
        assert not (out / "m.h").exists() and not (out / "stale.txt").exists()
    assert sorted(p.name for p in place.iterdir()) == ["m.tflite", "notes", "notes.txt", "out"]


def test_run_and_library_write_and_rewrite_tinydeploy_directories(place):
    for _ in range(2):
        result = tinydeploy("run", place / "m.tflite", "-o", place / "out", "--csv")
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (place / "out").iterdir()) == [
            MARKER, "input_0.npy", "output_0.csv", "output_0.npy"]
    # Any command's output is tinydeploy's, replaced whole by the next one.
    result = tinydeploy("library", place / "m.tflite", "-o", place / "out", "--quiet",
                        "--target", "cortex-m4")
    assert result.returncode == 0, result.stderr
    assert (place / "out" / "lib" / "libm.a").is_file()
    assert not (place / "out" / "output_0.npy").exists()
    assert (place / "out" / MARKER).read_text().count("`tinydeploy library`") == 1
    assert sorted(p.name for p in place.iterdir()) == ["m.tflite", "notes", "notes.txt", "out"]


def test_empty_directory_is_used(place):
    (place / "empty").mkdir()
    result = tinydeploy("generate", place / "m.tflite", "-o", place / "empty")
    assert result.returncode == 0, result.stderr
    assert (place / "empty" / "m.h").is_file()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_force_replaces_a_user_directory(place, command):
    result = tinydeploy(*COMMANDS[command](place / "m.tflite", place / "notes", "--force"))
    assert result.returncode == 0, result.stderr
    assert not (place / "notes" / "todo.txt").exists()
    assert (place / "notes" / MARKER).is_file()
    assert sorted(p.name for p in place.iterdir()) == ["m.tflite", "notes", "notes.txt"]


# --- the PC reference's timeout and interruptions -------------------------------------------

FAKE_RUNNER = """\
import os, sys, time
# A PC reference that never answers: records its process id, then sleeps.
with open(os.environ["FAKE_RUNNER_PID"], "w") as f:
    f.write(str(os.getpid()))
time.sleep(300)
"""


def process_ended(pid):
    """Gone, or a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next(line for line in f if line.startswith("State:"))
    except FileNotFoundError:
        return True
    return "Z" in state


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def sandbox(tmp_path):
    """A fresh TMPDIR, a fake reference runner that sleeps, and a parent for -o."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (tmp_path / "parent").mkdir()
    runner = tmp_path / "sleepy_runner.py"
    runner.write_text(FAKE_RUNNER)
    env = dict(os.environ, TMPDIR=str(temporary), TINYDEPLOY_REFERENCE_RUNNER=str(runner),
               TINYDEPLOY_PYTHON=sys.executable, FAKE_RUNNER_PID=str(tmp_path / "runner.pid"))
    return tmp_path, env


def runner_pid(tmp_path):
    return int((tmp_path / "runner.pid").read_text())


def test_reference_timeout_stops_the_runner_quickly(sandbox):
    tmp_path, env = sandbox
    env["TINYDEPLOY_REFERENCE_TIMEOUT"] = "1.5"
    start = time.monotonic()
    result = tinydeploy("run", KWS, "--reference", "tflm", "-o", tmp_path / "parent" / "out",
                        env=env, timeout=60)
    took = time.monotonic() - start
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: PC reference (tflm) did not finish within 1.5 s and was stopped; set "
        "TINYDEPLOY_REFERENCE_TIMEOUT (seconds, 0 for no limit) to allow longer"]
    assert 1.5 <= took < 10, took
    assert process_ended(runner_pid(tmp_path))
    assert os.listdir(tmp_path / "tmp") == [] and os.listdir(tmp_path / "parent") == []


def test_reference_timeout_setting_is_checked(sandbox):
    tmp_path, env = sandbox
    for bad in ("soon", "-1", "1e9", "5s"):
        env["TINYDEPLOY_REFERENCE_TIMEOUT"] = bad
        result = tinydeploy("run", KWS, "--reference", "tflm", env=env, timeout=60)
        assert result.returncode == 1
        assert f"TINYDEPLOY_REFERENCE_TIMEOUT='{bad}' is not a number of seconds" in result.stderr
    assert not (tmp_path / "runner.pid").exists()
    assert os.listdir(tmp_path / "tmp") == []


def start(args, env):
    # SIGINT at its default action, whatever the test runner's is: a program started with SIGINT
    # ignored (nohup, a background job) keeps ignoring it.
    return subprocess.Popen([binary(), *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupt_and_check(process, signum, tmp_path):
    assert process.poll() is None, "finished before it could be interrupted"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert stderr.strip().splitlines() == [f"error: interrupted by {name}; temporary files removed"]
    assert os.listdir(tmp_path / "tmp") == []
    assert os.listdir(tmp_path / "parent") == []


def processes_using(path):
    """Processes whose command line names `path` (a build step or the reference left running)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if str(path).encode() in f.read() and not process_ended(int(entry)):
                        found.append(entry)
            except OSError:
                pass
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_reference_leaves_nothing(sandbox, signum):
    tmp_path, env = sandbox
    for output in ([], ["-o", tmp_path / "parent" / "out"]):
        (tmp_path / "runner.pid").unlink(missing_ok=True)
        process = start(["run", KWS, "--reference", "litert", *output], env)
        # The file appears before its content: wait for the number.
        wait_for(lambda: (tmp_path / "runner.pid").exists() and
                 (tmp_path / "runner.pid").read_text().strip(), 30, "the fake reference runner")
        # A scratch directory exists while the reference runs.
        assert glob.glob(str(tmp_path / ("parent" if output else "tmp") / "tinydeploy-*"))
        interrupt_and_check(process, signum, tmp_path)
        wait_for(lambda: process_ended(runner_pid(tmp_path)), 5, "the runner to end")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_library_build_leaves_nothing(sandbox, signum):
    tmp_path, env = sandbox
    process = start(["library", VWW, "-o", tmp_path / "parent" / "lib", "--quiet"], env)
    # Interrupted while the package builds: its build tree is there, the compilers run.
    wait_for(lambda: glob.glob(str(tmp_path / "tmp" / "tinydeploy-*" / "build" / "build.ninja"))
             or glob.glob(str(tmp_path / "tmp" / "tinydeploy-*" / "build" / "Makefile")),
             120, "the package build")
    time.sleep(0.5)
    interrupt_and_check(process, signum, tmp_path)
    wait_for(lambda: not processes_using(tmp_path / "tmp"), 5, "the build processes to end")
