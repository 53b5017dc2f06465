"""`tinydeploy report` rendered by headless Chromium (Debian's `chromium`):

- the page runs to its end (the script at its end marks <body data-rendered="4">) without a
  JavaScript error (the page's window.onerror records errors on <html data-js-errors>) and
  without any console message (Chromium's log: an uncaught error, a resource refused by the
  page's Content-Security-Policy);
- the four charts are in the DOM with their content: a bar per layer, a point per profiled
  layer, a rectangle per placement of the arena plan;
- the page references nothing outside itself;
- a screenshot decodes to a 1280x2400 image that is not blank;
- a page with an error and a blocked request is caught by the same checks (so they can fail).

The metadata is built here by hand: a small DS-CNN-like model with an unprofiled layer, layer
scratch and a tensor whose name is markup. Three Chromium runs of about a second each."""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = os.environ.get("TINYDEPLOY_BIN", str(REPO / "build/release/src/tinydeploy"))
CHARTS = ["layer-time", "macs-vs-time", "cycles-per-mac", "memory-plan"]
WIDTH, HEIGHT = 1280, 2400
TIMEOUT = 120
HOSTILE = "<script>window.pwned = 1</script>"

FIELDS = ["instructions", "loads", "stores", "branches", "taken_branches", "est_cycles", "iaccess",
          "itaglookup", "ihitslookup", "ihitsline", "daccess", "dtaglookup", "dhitslookup",
          "dhitsline"]


def counters(instructions, cycles):
    values = {"instructions": instructions, "loads": instructions * 37 // 100,
              "stores": instructions // 20, "branches": instructions // 7,
              "taken_branches": instructions // 12, "est_cycles": cycles,
              "iaccess": instructions, "itaglookup": instructions // 12,
              "ihitslookup": instructions // 12, "ihitsline": instructions - instructions // 12}
    daccess = values["loads"] + values["stores"]
    values.update(daccess=daccess, dtaglookup=daccess * 9 // 10, dhitslookup=max(daccess * 9 // 10 - 3, 0),
                  dhitsline=daccess // 10)
    return {f: values[f] for f in FIELDS}


def aggregate(instructions, cycles):
    return {"cold": counters(instructions + 40, cycles + 60), "min": counters(instructions, cycles),
            "median": counters(instructions, cycles)}


def build_metadata():
    """Layers, plan and profile of an 8-layer keyword-spotting-like model on qemu-m4."""
    # op, kernel, MACs, output bytes, scratch bytes, instructions, estimated cycles
    spec = [("CONV_2D", "conv", 320000, 8000, 0, 13745805, 18866562),
            ("DEPTHWISE_CONV_2D", "depthwise_conv", 72000, 8000, 0, 3144725, 4217752),
            ("CONV_2D", "conv", 512000, 8000, 640, 4884799, 7445532),
            ("DEPTHWISE_CONV_2D", "depthwise_conv", 72000, 8000, 0, 3145832, 4219071),
            ("AVERAGE_POOL_2D", "average_pool", 0, 64, 0, 87163, 126966),
            ("RESHAPE", "copy_bytes", 0, 64, 0, 106, 178),
            ("FULLY_CONNECTED", "fully_connected", 768, 12, 0, 8829, 12239),
            ("SOFTMAX", "softmax", 0, 12, 0, 2839, 3589)]
    layers, plan, profiled = [], [], []
    offsets = [0, 8000]
    plan.append({"tensor": 0, "scratch_of_layer": -1, "name": "input_1", "offset": 8000,
                 "bytes": 490, "first_layer": 0, "last_layer": 0})
    for i, (op, kernel, macs, out_bytes, scratch, instructions, cycles) in enumerate(spec):
        tag = HOSTILE if i == 3 else f"functional_1/{op.lower()}_{i}/output"
        layers.append({"op": op, "tag": tag, "kernel": kernel, "macs": macs,
                       "output_bytes": out_bytes, "scratch_bytes": scratch})
        plan.append({"tensor": 20 + i, "scratch_of_layer": -1, "name": tag,
                     "offset": offsets[i % 2], "bytes": out_bytes, "first_layer": i,
                     "last_layer": min(i + 1, len(spec) - 1)})
        if scratch:
            plan.append({"tensor": -1, "scratch_of_layer": i, "name": f"scratch of layer {i}",
                         "offset": 16000, "bytes": scratch, "first_layer": i, "last_layer": i})
        # Layer 5 saw no profiling marks (null), as the format allows.
        profiled.append(None if i == 5 else aggregate(instructions, cycles))
    total_instructions = sum(s[5] for s in spec) + 8
    total_cycles = sum(s[6] for s in spec) + 11
    quantized = {"scales": [0.5847029], "zero_points": [83], "quantized_dimension": 0}
    return {
        "format": "tinydeploy-metadata", "version": 1, "tool": "tinydeploy 0.1.0",
        "model": {"file": "kws_like.tflite", "sha256": "ab" * 32, "bytes": 53936},
        "name": "kws_like", "package": {"sha256": "cd" * 32},
        "target": "qemu-m4", "core": "cortex-m4",
        "memory": {"arena_bytes": 16640, "variable_bytes": 0, "weight_bytes": 24376},
        "total_macs": sum(s[2] for s in spec),
        "inputs": [{"index": 0, "name": "input_1", "dtype": "int8", "shape": [1, 49, 10, 1],
                    "bytes": 490, "quantization": quantized}],
        "outputs": [{"index": 27, "name": "Identity", "dtype": "int8", "shape": [1, 12],
                     "bytes": 12, "quantization": quantized}],
        "layers": layers, "plan": plan,
        "kernel_sources": ["activation", "conv", "fixed_point", "layout", "pooling"],
        "example": {"inputs": [], "outputs": []},
        "profile": {"target": "qemu-m4", "board": "mps2-an386", "core": "cortex-m4",
                    "method": "qemu-plugin",
                    "plugin": "tinydeploy_profile 1 core=m4 icache=32768:2:32 dcache=32768:4:32",
                    "icache": "32768:2:32", "dcache": "32768:4:32", "clock_hz": 25e6, "runs": 3,
                    "seed": 0, "layers": profiled,
                    "total": aggregate(total_instructions, total_cycles),
                    "tail": aggregate(8, 11), "systick_ticks": total_instructions // 40,
                    "instructions_per_tick": 40.0, "flash_bytes": 42140},
        "validation": {"target": "qemu-m4", "reference": "tflm", "runs": 5, "seed": 0,
                       "tolerance": 0, "pass": True,
                       "outputs": [{"name": "Identity", "max_lsb": 0, "max_real": 0,
                                    "differing": 0, "elements": 60, "classifier": True,
                                    "top1_agree": 5}],
                       "first_divergence": "", "timing": ""},
        "library": {"core": "cortex-m4", "library_code": 3148, "parameters": 5620,
                    "weights": 24368, "flash_total": 35268, "arena": 16640, "variables": 0,
                    "ram_total": 17756, "archive_bytes": 110370},
    }


@pytest.fixture(scope="module")
def chromium():
    path = os.environ.get("TINYDEPLOY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chromium is missing ({path}): run scripts/setup.sh, which installs Debian's "
                    "chromium package, or set TINYDEPLOY_CHROMIUM to a Chromium executable")
    return path


def run_chromium(chromium, page, work, *arguments):
    """One headless run (its own throwaway profile, no background traffic); (stdout, stderr)."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--disable-sync",
               "--disable-background-networking", "--disable-component-update",
               "--hide-scrollbars", f"--user-data-dir={work / 'chromium-profile'}",
               "--enable-logging=stderr", "--v=0", *arguments, page.as_uri()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace", start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group this test started, nothing else
        process.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT} s: {' '.join(command)}")
    assert process.returncode == 0, f"chromium exited with {process.returncode}:\n{stderr[-3000:]}"
    return stdout, stderr


def console_messages(stderr):
    """What the page wrote to the console (Chromium logs it as INFO:CONSOLE lines)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


class ChartCensus(HTMLParser):
    """Per data-chart SVG: how many of each element, and rect.placement; plus attributes of
    <html> and <body>, the scripts and the text."""

    def __init__(self):
        super().__init__()
        self.charts = {}
        self.root = {}
        self.body = {}
        self.scripts = 0
        self.text = []
        self._chart = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        elif tag == "body":
            self.body = attributes
        elif tag == "script":
            self.scripts += 1
        if self._chart is None and tag == "svg" and "data-chart" in attributes:
            self._chart = attributes["data-chart"]
            self._depth = 0
            self.charts[self._chart] = {}
        if self._chart is not None:
            if tag == "svg":
                self._depth += 1
            census = self.charts[self._chart]
            census[tag] = census.get(tag, 0) + 1
            if tag == "rect" and "placement" in attributes.get("class", "").split():
                census["placement"] = census.get("placement", 0) + 1
                kind = "placement:" + attributes.get("data-kind", "")
                census[kind] = census.get(kind, 0) + 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg" and self._chart is not None:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self._chart is not None and tag == "svg":
            self._depth -= 1
            if self._depth == 0:
                self._chart = None

    def handle_data(self, data):
        self.text.append(data)


def census_of(dom):
    parser = ChartCensus()
    parser.feed(dom)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    work = tmp_path_factory.mktemp("report")
    metadata = build_metadata()
    (work / "kws_like.meta.json").write_text(json.dumps(metadata, indent=1))
    result = subprocess.run([TOOL, "report", str(work / "kws_like.meta.json"), "-o",
                             str(work / "report.html")], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {work / 'report.html'} ("), result.stdout
    return work, metadata, work / "report.html"


def test_page_references_nothing_outside_itself(report):
    _, _, page = report
    html = page.read_text()
    assert html.splitlines()[0] == "<!-- tinydeploy report -->"
    for reference in ["http://", "https://", "src=", "href=", "url(", "@import", "//cdn"]:
        assert reference not in html, reference
    assert "default-src 'none'" in html


def test_chromium_renders_the_page_without_errors(chromium, report):
    work, metadata, page = report
    dom, stderr = run_chromium(chromium, page, work, "--dump-dom")
    assert console_messages(stderr) == [], "\n".join(console_messages(stderr))
    census = census_of(dom)
    assert "data-js-errors" not in census.root, census.root["data-js-errors"]
    assert census.body.get("data-rendered") == str(len(CHARTS)), census.body
    assert sorted(census.charts) == sorted(CHARTS)

    layers = len(metadata["layers"])
    profiled = sum(layer is not None for layer in metadata["profile"]["layers"])
    with_macs = sum(layer["macs"] > 0 for layer in metadata["layers"])
    scratch = sum(p["tensor"] < 0 for p in metadata["plan"])
    assert census.charts["layer-time"].get("rect") == profiled
    assert census.charts["layer-time"].get("text", 0) > layers
    assert census.charts["macs-vs-time"].get("circle") == profiled
    assert census.charts["cycles-per-mac"].get("rect") == with_macs
    assert census.charts["memory-plan"].get("placement") == len(metadata["plan"])
    assert census.charts["memory-plan"].get("placement:scratch") == scratch == 1

    # The tensor named as markup is text on the page, never a script.
    text = "".join(census.text)
    assert HOSTILE in text
    assert census.scripts == 2
    assert "PASS" in text and "not profiled" in text
    assert "18,866,562" in text  # layer 0's estimated cycles in the table


def test_screenshot_is_a_real_image(chromium, report):
    work, _, page = report
    shot = work / "report.png"
    run_chromium(chromium, page, work, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20 * 1024, f"{len(data)} bytes: blank?"
    # Walk the chunks; inflate the image data and check it is whole for the size in IHDR.
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, _ = header
    assert (width, height, depth) == (WIDTH, HEIGHT, 8)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(idat)
    stride = 1 + width * channels
    assert len(pixels) == height * stride
    # Not one colour: rows without a filter show many distinct bytes; filtered ones differ.
    distinct_rows = {pixels[row * stride:(row + 1) * stride] for row in range(height)}
    assert len(distinct_rows) > height // 10


def test_the_checks_catch_an_error_and_a_blocked_request(chromium, report):
    """The same page with a throwing script and an image from a (local) URL: the page records the
    error, Chromium logs it, and the Content-Security-Policy refuses the image."""
    work, _, page = report
    broken = work / "broken.html"
    html = page.read_text().replace(
        "</main>", '<img src="http://127.0.0.1:9/x.png"><script>null.f();</script></main>')
    broken.write_text(html)
    dom, stderr = run_chromium(chromium, broken, work, "--dump-dom")
    census = census_of(dom)
    assert "TypeError" in census.root.get("data-js-errors", "")
    messages = "\n".join(console_messages(stderr))
    assert "Uncaught TypeError" in messages
    assert re.search(r"Refused to load the image|Content Security Policy", messages), messages


def test_report_refuses_a_file_it_did_not_write(report):
    work, _, _ = report
    notes = work / "notes.html"
    notes.write_text("<p>mine</p>\n")
    result = subprocess.run([TOOL, "report", str(work / "kws_like.meta.json"), "-o", str(notes)],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 1
    assert "is not a report tinydeploy wrote" in result.stderr and "--force" in result.stderr
    assert notes.read_text() == "<p>mine</p>\n"
    result = subprocess.run([TOOL, "report", str(work / "kws_like.meta.json"), "-o", str(notes),
                             "--force"], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert notes.read_text().startswith("<!-- tinydeploy report -->\n")
