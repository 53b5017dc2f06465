"""An installed tinydeploy (cmake --install) works from any directory: it carries the runtime,
firmware, board and reference runner sources, and reads nothing from the source checkout."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))


def test_installed_tool_validates_from_another_directory(tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", os.environ["TINYDEPLOY_BUILD_DIR"], "--prefix", prefix],
                   check=True, capture_output=True)
    tool = prefix / "bin" / "tinydeploy"
    assert tool.is_file()
    # No path in the binary leads to what it carries (the reference runner, board ports,
    # firmware, toolchain files). Source paths of compiled code may appear in a debug or
    # sanitizer build's diagnostics; they are never opened.
    strings = subprocess.run(["strings", tool], capture_output=True, text=True).stdout
    for carried in ("tools/reference", "boards", "firmware", "toolchains"):
        assert str(REPO / carried) not in strings, carried
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYDEPLOY_")}
    env["TINYDEPLOY_CACHE_DIR"] = str(tmp_path / "cache")
    model = SHARED / "models" / "ad01_int8.tflite"
    result = subprocess.run([tool, "validate", model, "--target", "host", "--runs", "2"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: ad01_int8.tflite on host matches tflm" in result.stdout
    result = subprocess.run([tool, "run", model, "--reference", "tflm"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "PASS: matches tflm" in result.stdout, result.stderr


def test_python_packages_live_in_the_project_environment():
    """scripts/setup.sh keeps the reference packages in .venv, made from Debian's own python3
    (which refuses system-wide pip installs), and the build uses that interpreter."""
    config = (REPO / ".venv" / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in config, config
    python = os.environ["TINYDEPLOY_PYTHON"]
    assert Path(python).parent == REPO / ".venv" / "bin", python
    result = subprocess.run([python, "-c", "import tflite_micro, ai_edge_litert, numpy"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
