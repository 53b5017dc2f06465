"""`tinydeploy deploy`: the whole flow on every shared model, on qemu-m4 and qemu-m55.

Each deploy must leave under DIR/NAME/ the CSV (one row per operator), the summary, the metadata,
the report and the library, with a passing validation. Then, on the KWS model: a re-run reuses
the builds, --from-metadata rebuilds the library and the report without QEMU, a failing stage
stops the flow and keeps what earlier stages wrote, and a directory tinydeploy did not write is
left alone.

Runs are kept few (2 validation runs, 2 profiled inferences) to keep the suite short."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
TOOL = os.environ.get("TINYDEPLOY_BIN", str(REPO / "build/release/src/tinydeploy"))
MODELS = sorted((SHARED / "models").glob("*.tflite"))
KWS = SHARED / "models" / "kws_ref_model.tflite"
QUICK = ["--validate-runs", "2", "--runs", "2", "-q"]
STAGES = ["inspect", "generate", "build", "validate", "profile", "library", "report"]


def reference_for(model):
    # The hybrid float KWS model (int8 weights, float activations) cannot be allocated by
    # TFLite Micro; TFLite's reference kernels are its reference.
    return "litert" if model.name == "kws_ref_model_float32.tflite" else "tflm"


def deploy(model, out_dir, *args, env=None):
    return subprocess.run([TOOL, "deploy", str(model), "-o", str(out_dir), *args],
                          capture_output=True, text=True, timeout=1200, env=env)


def operator_count(model):
    result = subprocess.run([TOOL, "inspect", str(model), "--json"], capture_output=True,
                            text=True, timeout=120, check=True)
    return json.loads(result.stdout)["operator_count"]


@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m55"])
@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_deploy_writes_every_artifact(model, target, tmp_path):
    result = deploy(model, tmp_path, "--target", target, "--reference", reference_for(model),
                    *QUICK)
    assert result.returncode == 0, result.stdout + result.stderr
    # NAME is the model's stem as a C identifier; the one directory deploy made under DIR.
    (out,) = [p for p in tmp_path.iterdir()]
    name = out.name
    for i, stage in enumerate(STAGES):
        assert f"[{i + 1}/7] {stage}" in result.stdout
    assert "skipped" not in result.stdout

    layers = operator_count(model)
    with open(out / f"{name}_stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["Event", "Tag", "uSeconds", "Est MACs", "cycles"]
    assert len(rows) - 1 == layers
    assert all(int(row[rows[0].index("instructions")]) > 0 for row in rows[1:])

    summary = (out / f"{name}_summary.txt").read_text()
    for line in ("inference time", "total MACs", "instructions", "layers", "arena", "flash"):
        assert line in summary, summary

    meta = json.loads((out / f"{name}.meta.json").read_text())
    assert meta["format"] == "tinydeploy-metadata" and meta["version"] == 1
    assert meta["target"] == target
    assert len(meta["layers"]) == layers
    assert meta["validation"]["pass"] is True
    assert meta["validation"]["runs"] == 2
    assert len(meta["profile"]["layers"]) == layers
    assert meta["profile"]["total"]["median"]["instructions"] > 0
    assert meta["library"]["flash_total"] > 0
    # The CSV's layers and the profile's tail add up to the metadata's total.
    column = rows[0].index("instructions")
    tail = meta["profile"]["tail"]["median"]["instructions"]
    total = meta["profile"]["total"]["median"]["instructions"]
    assert sum(int(row[column]) for row in rows[1:]) + tail == total

    report = (out / "report.html").read_text()
    assert report.startswith("<!-- tinydeploy report -->")
    assert (out / "library" / "lib" / f"lib{name}.a").stat().st_size > 0
    assert (out / "library" / "include" / f"{name}.h").is_file()
    assert (out / "package" / f"{name}.h").is_file()
    assert "PASS" in (out / "validation.txt").read_text()
    for artifact in (f"{name}.meta.json", f"{name}_stats.csv", "report.html", "library"):
        assert str(out / artifact) in result.stdout  # the final summary names each artifact


@pytest.fixture(scope="module")
def kws_deployed(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("kws")
    first = deploy(KWS, out_dir, "--target", "qemu-m4", *QUICK)
    assert first.returncode == 0, first.stderr
    return out_dir


def test_rerun_reuses_the_builds(kws_deployed):
    again = deploy(KWS, kws_deployed, "--target", "qemu-m4", *QUICK)
    assert again.returncode == 0, again.stderr
    build = next(line for line in again.stdout.splitlines() if line.startswith("[3/7] build"))
    library = next(line for line in again.stdout.splitlines() if line.startswith("[6/7] library"))
    assert "reused" in build
    assert "reused" in library


def path_without_qemu(tmp_path):
    """A PATH with every program of the current one but QEMU."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = set()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.listdir(directory):
            if entry.startswith("qemu-system") or entry in seen:
                continue
            seen.add(entry)
            os.symlink(os.path.join(directory, entry), bin_dir / entry)
    return str(bin_dir)


def test_from_metadata_rebuilds_library_and_report_without_the_target(kws_deployed, tmp_path):
    recorded = kws_deployed / "kws_ref_model" / "kws_ref_model.meta.json"
    env = dict(os.environ, PATH=path_without_qemu(tmp_path))
    out_dir = tmp_path / "from-meta"
    # A board without a debug link, characterized earlier on the emulated one: same core.
    result = deploy(KWS, out_dir, "--target", "cortex-m4", "--from-metadata", str(recorded), "-q",
                    env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[4/7] validate  skipped: from" in result.stdout
    assert "[5/7] profile   skipped: from" in result.stdout
    out = out_dir / "kws_ref_model"
    old = json.loads(recorded.read_text())
    new = json.loads((out / "kws_ref_model.meta.json").read_text())
    assert new["profile"] == old["profile"]
    assert new["validation"] == old["validation"]
    assert new["target"] == "cortex-m4"
    assert new["library"]["flash_total"] > 0
    assert (out / "report.html").read_text().startswith("<!-- tinydeploy report -->")
    assert (out / "library" / "lib" / "libkws_ref_model.a").is_file()
    assert (out / "kws_ref_model_stats.csv").read_text() == \
        (kws_deployed / "kws_ref_model" / "kws_ref_model_stats.csv").read_text()
    # Without --from-metadata the same PATH cannot validate: QEMU really was not run above.
    without = deploy(KWS, tmp_path / "plain", "--target", "qemu-m4", "-q", env=env)
    assert without.returncode != 0
    assert "qemu-system-arm" in without.stderr


def test_from_metadata_of_another_model_is_refused(kws_deployed, tmp_path):
    recorded = kws_deployed / "kws_ref_model" / "kws_ref_model.meta.json"
    other = SHARED / "models" / "ad01_int8.tflite"
    result = deploy(other, tmp_path, "--from-metadata", str(recorded), "-q")
    assert result.returncode == 1
    assert "describes another model" in result.stderr
    assert not (tmp_path / "ad01_int8").exists()


def test_failing_stage_stops_and_keeps_earlier_artifacts(tmp_path):
    env = dict(os.environ, TINYDEPLOY_QEMU_PLUGIN=str(tmp_path / "missing_plugin.so"))
    result = deploy(KWS, tmp_path, "--target", "qemu-m4", *QUICK, env=env)
    assert result.returncode == 1
    assert "deploy stopped at profile (stage 5 of 7)" in result.stderr
    assert "missing_plugin.so" in result.stderr
    out = tmp_path / "kws_ref_model"
    assert (out / "package" / "kws_ref_model.h").is_file()
    assert "PASS" in (out / "validation.txt").read_text()
    meta = json.loads((out / "kws_ref_model.meta.json").read_text())
    assert meta["validation"]["pass"] is True
    assert meta["profile"] is None and meta["library"] is None
    assert not (out / "library").exists() and not (out / "report.html").exists()
    # The same directory then takes a complete run.
    fixed = deploy(KWS, tmp_path, "--target", "qemu-m4", *QUICK)
    assert fixed.returncode == 0, fixed.stderr
    assert (out / "report.html").is_file() and (out / "library").is_dir()


def test_a_stage_left_out_leaves_no_stale_artifact(kws_deployed, tmp_path):
    out_dir = tmp_path / "partial"
    first = deploy(KWS, out_dir, "--target", "qemu-m4", *QUICK)
    assert first.returncode == 0, first.stderr
    second = deploy(KWS, out_dir, "--target", "qemu-m4", "--no-profile", "--no-library", "-q")
    assert second.returncode == 0, second.stderr
    assert "[5/7] profile   skipped: --no-profile" in second.stdout
    out = out_dir / "kws_ref_model"
    assert not (out / "kws_ref_model_stats.csv").exists()
    assert not (out / "library").exists()
    assert json.loads((out / "kws_ref_model.meta.json").read_text())["profile"] is None


def test_a_directory_tinydeploy_did_not_write_is_left_alone(tmp_path):
    mine = tmp_path / "kws_ref_model"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = deploy(KWS, tmp_path, "--target", "qemu-m4", *QUICK)
    assert result.returncode == 1
    assert "was not written by tinydeploy" in result.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"
