"""`tinydeploy profile` on targets that time themselves: the host process (its monotonic clock)
and a board on a serial line (its tick counter and, where the port has them, the DWT counters).
The serial board here is QEMU's mps2-an386 on a pseudo-terminal running the validator image of
`tinydeploy firmware`: QEMU models no DWT, so the port finds no cycle counter and the profile is
its SysTick ticks, which under -icount shift=0 are 40 instructions each. That gives a check with
teeth: each layer's ticks x 40 must agree with the instructions QEMU's plugin counts for it."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from qemu_pty import start_qemu_on_pty  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
TOOL = os.environ.get("TINYDEPLOY_BIN", str(REPO / "build/release/src/tinydeploy"))
MODEL = SHARED / "models" / "kws_ref_model.tflite"
LAYERS = 13  # kws_ref_model's operators
RUNS = 3
MEASURED_ONLY = ["cycles", "cpi", "exc", "sleep", "lsu", "fold", "daccess", "iaccess",
                 "instructions", "loads", "stores"]


def tinydeploy(*args, check=True, timeout=900):
    result = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True,
                            timeout=timeout)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def read_profile(out_dir):
    data = json.loads((out_dir / "kws_ref_model_profile.json").read_text())
    meta = json.loads((out_dir / "kws_ref_model.meta.json").read_text())
    with open(out_dir / "kws_ref_model_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return data, meta, rows


def check_layers_add_up(data):
    assert len(data["inferences"]) == RUNS
    for inference in data["inferences"]:
        assert len(inference["layers"]) == LAYERS
        for field in range(len(data["fields"])):
            parts = [layer[field] for layer in inference["layers"]] + [inference["tail"][field]]
            assert sum(parts) == inference["total"][field]
        # The invoke as the board timed it holds the link's time between layers as well.
        assert inference["total"][0] <= inference["systick_ticks"]


def test_host_profile_is_the_clock_per_layer(tmp_path):
    out = tmp_path / "host"
    result = tinydeploy("profile", MODEL, "--target", "host", "--runs", RUNS, "-o", out)
    data, meta, rows = read_profile(out)
    assert data["method"] == "host-clock" and data["fields"] == ["ticks"]
    check_layers_add_up(data)
    profile = meta["profile"]
    assert profile["method"] == "host-clock"
    assert profile["counters"] == ["ticks"]
    assert profile["tick_hz"] == 1e9
    assert len(rows) == LAYERS
    for row in rows:
        assert float(row["uSeconds"]) > 0
        assert float(row["min uSeconds"]) <= float(row["uSeconds"])
        for column in MEASURED_ONLY:
            assert row[column] == "", (column, row)  # never invented
    assert "measured by the board's tick counter at 1,000,000,000 Hz" in result.stdout
    assert "cycles             not measured" in result.stdout

    # The report draws the measured time.
    html = tmp_path / "report.html"
    tinydeploy("report", out / "kws_ref_model.meta.json", "-o", html)
    page = html.read_text()
    assert "Measured ticks per layer" in page
    assert "host-clock" in page


def test_serial_board_ticks_per_layer_agree_with_the_plugin(tmp_path):
    firmware = tmp_path / "fw"
    tinydeploy("firmware", MODEL, "--target", "qemu-m4", "-o", firmware, "--quiet")
    qemu, pty = start_qemu_on_pty(firmware / "build" / "validator")
    try:
        out = tmp_path / "serial"
        result = tinydeploy("profile", MODEL, "--target", f"serial:{pty}", "--core", "cortex-m4",
                            "--runs", RUNS, "-o", out)
    finally:
        qemu.kill()
        qemu.wait()
    data, meta, rows = read_profile(out)
    # QEMU reads the DWT as zeros: the port's check finds no counter rather than reporting 0s.
    assert data["method"] == "ticks" and data["fields"] == ["ticks"]
    assert meta["profile"]["board"] == "qemu-m4"
    assert meta["profile"]["core"] == "cortex-m4"
    check_layers_add_up(data)
    assert "on serial:" in result.stdout

    plugin = tmp_path / "plugin"
    tinydeploy("profile", MODEL, "--target", "qemu-m4", "--runs", 1, "-o", plugin, "--quiet")
    counted = json.loads((plugin / "kws_ref_model_profile.json").read_text())
    instructions = [layer[0] for layer in counted["inferences"][0]["layers"]]
    # The same inputs: both runs start from seed 0 (the time of a layer depends on its data).
    ticks = [layer[0] for layer in data["inferences"][0]["layers"]]
    for layer, (n, t) in enumerate(zip(instructions, ticks)):
        # 40 instructions per tick: a tick of quantisation at each end, and the hook's own reads
        # of the counters between layers (measured: at most 46 instructions apart on KWS).
        assert abs(t * 40 - n) <= 3 * 40, (layer, t * 40, n)


def test_a_core_without_a_board_is_refused_with_the_targets_that_run(tmp_path):
    result = tinydeploy("profile", MODEL, "--target", "cortex-m4", "-o", tmp_path / "x",
                        check=False)
    assert result.returncode != 0
    assert "core without a board" in result.stderr
    assert "serial:DEVICE" in result.stderr
    assert not (tmp_path / "x").exists()
