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


profiled_dirs = {}  # target -> the fixture's output directory


@pytest.fixture(scope="module", params=[("qemu-m4", 40.0), ("qemu-m55", 31.25)],
                ids=["qemu-m4", "qemu-m55"])
def profiled(request, tmp_path_factory):
    target, per_tick = request.param
    out_dir = tmp_path_factory.mktemp(target)
    profiled_dirs[target] = out_dir
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
        macs = int(row[col["Est MACs"]])
        if macs > 0:
            assert float(row[col["cycles per MAC"]]) == pytest.approx(
                int(row[col["cycles"]]) / macs, abs=0.0005)
        else:
            assert row[col["cycles per MAC"]] == ""
        daccess = int(row[col["daccess"]])
        assert daccess == int(row[col["dtaglookup"]]) + int(row[col["dhitsline"]])
        assert int(row[col["dhitslookup"]]) <= int(row[col["dtaglookup"]])
    assert sum(int(r[col["Est MACs"]]) for r in body) > 0
    # The CSV shows one whole inference (the median run): its rows and the tail make its total.
    median = data["inferences"][data["median_run"]]
    for name, f in (("instructions", 0), ("cycles", data["fields"].index("est_cycles"))):
        assert sum(int(r[col[name]]) for r in body) + median["tail"][f] == median["total"][f]
    assert "estimated" in stdout and "counted" in stdout and "simulated" in stdout


def test_metadata_holds_the_profile(profiled):
    _, _, _, data, rows = profiled
    # profile -o DIR also writes DIR/NAME.meta.json, with the CSV's median figures per layer.
    target = data["target"]
    meta_files = list(Path(profiled_dirs[target]).glob("*.meta.json"))
    assert len(meta_files) == 1
    meta = json.loads(meta_files[0].read_text())
    header, body = rows[0], rows[1:]
    col = header.index("instructions")
    assert [layer["median"]["instructions"] for layer in meta["profile"]["layers"]] == \
        [int(row[col]) for row in body]
    assert meta["profile"]["runs"] == RUNS
    assert meta["profile"]["method"] == "qemu-plugin"


def profile(*args):
    return subprocess.run([TOOL, "profile", str(MODEL), "--target", "qemu-m4", "--runs", "1",
                           "--quiet", *args], capture_output=True, text=True, timeout=900)


def test_baseline_catches_a_deliberately_slowed_layer(tmp_path):
    """Layer 3 of a generated package gets a busy loop; profiling that package against the
    unmodified model's metadata fails and names layer 3, and only it."""
    base = profile("-o", str(tmp_path / "base"))
    assert base.returncode == 0, base.stderr
    baseline = tmp_path / "base" / "kws_ref_model.meta.json"

    same = profile("-o", str(tmp_path / "same"), "--baseline", str(baseline))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no regression" in same.stdout

    package = tmp_path / "package"
    generated = subprocess.run([TOOL, "generate", str(MODEL), "--target", "cortex-m4", "-o",
                                str(package)], capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stderr
    source = package / "kws_ref_model_model.cc"
    text = source.read_text()
    # The layer hook call after layer 3: code placed before it counts to layer 3.
    mark = "if (hook != nullptr) hook(context, 3, 0,"
    assert text.count(mark) == 1
    spin = "for (volatile unsigned spin = 0; spin < 300000u; ++spin) {\n  }\n  "
    source.write_text(text.replace(mark, spin + mark))

    slowed = profile("-o", str(tmp_path / "slowed"), "--package", str(package), "--baseline",
                     str(baseline), "--max-regression", "5")
    assert slowed.returncode == 1, slowed.stdout + slowed.stderr
    regressions = [line for line in slowed.stdout.splitlines() if "REGRESSION" in line]
    assert any(line.strip().startswith("REGRESSION layer 3 DEPTHWISE_CONV_2D") for line in
               regressions), slowed.stdout
    assert not any("REGRESSION layer" in line and "layer 3 " not in line for line in regressions)
    assert "FAIL: slower than the baseline" in slowed.stdout
    # The figures of the slowed run are still written, for a look at what changed.
    slowed_meta = json.loads((tmp_path / "slowed" / "kws_ref_model.meta.json").read_text())
    base_meta = json.loads(baseline.read_text())
    grown = slowed_meta["profile"]["layers"][3]["median"]["instructions"] - \
        base_meta["profile"]["layers"][3]["median"]["instructions"]
    assert grown > 300000  # at least one instruction per iteration of the busy loop
