"""`tinydeploy profile` under tinydeploy's QEMU plugin, on the shared KWS model:

- the plugin's instruction count of a whole inference equals the SysTick-based count (QEMU
  -icount shift=0: one instruction per ns, so 40 instructions per tick at 25 MHz on mps2-an386
  and 31.25 at 32 MHz on mps3-an547) within TOLERANCE;
- its per-layer counts add up to its total but for the tail after the last layer mark;
- NAME_stats.csv has one row per operator, the vendor columns in order, and leaves empty what
  QEMU cannot measure (the DWT event counters).
One QEMU run of three inferences per board."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
TOOL = os.environ.get("TINYDEPLOY_BIN", str(REPO / "build/release/src/tinydeploy"))
MODEL = SHARED / "models" / "kws_ref_model.tflite"
RUNS = 3

# SysTick is read once before and once after the invoke; the plugin's marks sit just inside
# those reads. The difference is the reads' own instructions (a few dozen) plus one tick of
# quantisation (40 or 31.25 instructions).
TOLERANCE = 100
# After the last layer's mark: the hook's return and invoke's epilogue.
MAX_TAIL = 64

VENDOR_COLUMNS = ["Event", "Tag", "uSeconds", "Est MACs", "cycles", "cpi", "exc", "sleep", "lsu",
                  "fold", "daccess", "dtaglookup", "dhitslookup", "dhitsline", "iaccess",
                  "itaglookup", "ihitslookup", "ihitsline"]
OUR_COLUMNS = ["instructions", "loads", "stores", "branches", "taken branches", "output bytes"]


@pytest.fixture(scope="module", params=[("qemu-m4", 40.0), ("qemu-m55", 31.25)],
                ids=["qemu-m4", "qemu-m55"])
def profiled(request, tmp_path_factory):
    target, per_tick = request.param
    out_dir = tmp_path_factory.mktemp(target)
    result = subprocess.run([TOOL, "profile", str(MODEL), "--target", target, "--runs", str(RUNS),
                             "-o", str(out_dir), "--quiet"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads((out_dir / "kws_ref_model_profile.json").read_text())
    with open(out_dir / "kws_ref_model_stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    return target, per_tick, result.stdout, data, rows


def test_instructions_match_systick(profiled):
    target, per_tick, _, data, _ = profiled
    assert data["instructions_per_tick"] == per_tick
    assert len(data["inferences"]) == RUNS
    for inference in data["inferences"]:
        counted = inference["total"][0]
        systick = inference["systick_ticks"] * per_tick
        assert counted > 100000
        assert abs(counted - systick) <= TOLERANCE, (target, counted, systick)


def test_layers_add_up_to_the_total(profiled):
    _, _, _, data, _ = profiled
    fields = len(data["fields"])
    for inference in data["inferences"]:
        layers = inference["layers"]
        assert all(layer is not None for layer in layers)
        for f in range(fields):
            assert sum(layer[f] for layer in layers) + inference["tail"][f] == inference["total"][f]
        assert inference["tail"][0] <= MAX_TAIL
        # Every layer runs code; the caches see every instruction fetch.
        assert all(layer[0] > 0 for layer in layers)
        assert inference["total"][data["fields"].index("iaccess")] == inference["total"][0]


def test_csv_has_one_row_per_operator(profiled):
    _, _, stdout, data, rows = profiled
    header, body = rows[0], rows[1:]
    assert header[:len(VENDOR_COLUMNS)] == VENDOR_COLUMNS
    for column in OUR_COLUMNS:
        assert column in header
    assert len(body) == len(data["inferences"][0]["layers"])
    col = {name: i for i, name in enumerate(header)}
    for row in body:
        for empty in ("exc", "sleep", "lsu", "fold"):
            assert row[col[empty]] == ""  # no DWT under QEMU: left empty, never invented
        assert int(row[col["instructions"]]) > 0
        assert int(row[col["cycles"]]) >= int(row[col["instructions"]])  # 1 cycle at least each
        assert row[col["cycles kind"]] == "estimated"
        assert row[col["cache kind"]] == "simulated"
        daccess = int(row[col["daccess"]])
        assert daccess == int(row[col["dtaglookup"]]) + int(row[col["dhitsline"]])
        assert int(row[col["dhitslookup"]]) <= int(row[col["dtaglookup"]])
    assert sum(int(r[col["Est MACs"]]) for r in body) > 0
    # The CSV shows one whole inference (the median run): its rows and the tail make its total.
    median = data["inferences"][data["median_run"]]
    for name, f in (("instructions", 0), ("cycles", data["fields"].index("est_cycles"))):
        assert sum(int(r[col[name]]) for r in body) + median["tail"][f] == median["total"][f]
    assert "estimated" in stdout and "counted" in stdout and "simulated" in stdout
