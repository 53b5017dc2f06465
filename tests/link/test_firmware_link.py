"""The validator firmware under malformed traffic, on the host build and on an emulated board:
garbage, corrupted and truncated frames, absurd lengths, requests out of range, repeated
requests. After each, the firmware must still answer and compute exactly what it computed on
clean traffic. The PC side here is link_client.py, written apart from the C++ client."""

import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

import link_client as lc

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))
MODEL = SHARED / "models" / "kws_ref_model.tflite"
INPUT = bytes(random.Random(3).randrange(256) for _ in range(490))


def build(target, out):
    subprocess.run([os.environ["TINYDEPLOY_BIN"], "firmware", MODEL, "--target", target, "-o",
                    out, "--quiet"], check=True, capture_output=True, timeout=900)
    return out / "build" / "validator"


@pytest.fixture(scope="module", params=["host", "qemu-m4"])
def firmware(request, tmp_path_factory):
    image = build(request.param, tmp_path_factory.mktemp(request.param) / "fw")
    if request.param == "host":
        argv = [str(image)]
    else:
        argv = ["qemu-system-arm", "-M", "mps2-an386", "-display", "none", "-monitor", "none",
                "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
                "-chardev", "stdio,id=link,signal=off", "-serial", "chardev:link", "-kernel",
                str(image)]
    return argv


@pytest.fixture
def target(firmware):
    t = lc.Target(firmware)
    yield t
    t.close()


def inference(t):
    """Output bytes of one clean inference on INPUT."""
    t.write_input(0, INPUT)
    status, _, _ = t.invoke()
    assert status == 0
    return t.read_output(0, 12)


def test_clean_session(target):
    info = target.hello()
    assert info["version"] == 2 and info["inputs"] == 1 and info["layers"] == 13
    first = inference(target)
    assert inference(target) == first


def test_a_counted_invoke_reports_every_layer_and_the_tail(target):
    target.hello()
    expected = inference(target)
    target.write_input(0, INPUT)
    counts = []
    status, ticks, _ = target.invoke(flags=lc.INVOKE_COUNT, counts=counts)
    assert status == 0
    assert [c[0] for c in counts] == list(range(13)) + [lc.TAIL_LAYER]
    # Neither the host process nor QEMU has a DWT: no counter is read, every value is 0.
    assert all(mask == 0 and values == [0] * 6 for _, _, mask, values in counts)
    # The layers' ticks leave the link's time out: less than the invoke as a whole.
    assert 0 < sum(c[1] for c in counts) <= ticks
    assert target.read_output(0, 12) == expected
    # Tracing wins over counting: output chunks, no counters.
    target.write_input(0, INPUT)
    status, _, layers = target.invoke(flags=lc.INVOKE_TRACE | lc.INVOKE_COUNT, counts=None)
    assert status == 0 and len(layers) == 13


def test_garbage_between_requests(target):
    target.hello()
    expected = inference(target)
    rng = random.Random(7)
    for size in (1, 17, 600, 5000):
        target.send_raw(bytes(rng.choice([0xA5, 0x5A, rng.randrange(256)]) for _ in range(size)))
        # A frame the garbage may have swallowed is abandoned after the firmware's quiet time.
        assert target.hello()["board"] in ("host", "qemu-m4")
        assert inference(target) == expected


def test_corrupted_truncated_and_absurd_frames_are_dropped(target):
    target.hello()
    expected = inference(target)
    good = lc.frame(lc.READ_OUTPUT, 200, struct.pack("<HIH", 0, 0, 12))
    corrupted = bytearray(good)
    corrupted[8] ^= 0x10
    absurd = b"\xa5\x5a" + struct.pack("<BBH", lc.WRITE_INPUT, 201, 0xFFFF) + b"\x00" * 40
    truncated = lc.frame(lc.WRITE_INPUT, 202, struct.pack("<HI", 0, 0) + bytes(400))[:30]
    for bad in (bytes(corrupted), absurd, truncated):
        target.send_raw(bad)
        # Nothing answers the bad frame itself.
        reply = target.read_frame(0.3)
        assert reply is None or reply[1] not in (200, 201, 202), reply
        assert inference(target) == expected


def test_requests_out_of_range_are_refused(target):
    target.hello()
    expected = inference(target)
    cases = [
        (lc.WRITE_INPUT, struct.pack("<HI", 1, 0) + b"x"),        # no input 1
        (lc.WRITE_INPUT, struct.pack("<HI", 0, 489) + b"xy"),     # past the end
        (lc.WRITE_INPUT, struct.pack("<HI", 0, 0xFFFFFFFF) + b"x"),
        (lc.WRITE_INPUT, b"\x00"),                                # too short
        (lc.READ_OUTPUT, struct.pack("<HIH", 0, 10, 3)),          # past the end
        (lc.READ_OUTPUT, struct.pack("<HIH", 5, 0, 1)),           # no output 5
        (lc.READ_OUTPUT, struct.pack("<HIH", 0, 0, 1) + b"x"),    # trailing bytes
        (lc.INVOKE, b""),                                         # no flags
        (0x33, b"what"),                                          # unknown type
    ]
    for msg_type, payload in cases:
        reply = target.request(msg_type, payload)
        assert reply is not None and reply[0] == lc.ERROR, (msg_type, payload, reply)
    assert inference(target) == expected


def test_a_repeated_invoke_is_answered_not_rerun(target):
    target.hello()
    expected = inference(target)
    target.write_input(0, INPUT)
    seq = target.next_seq()
    request = lc.frame(lc.INVOKE, seq, b"\x00")
    target.send_raw(request)
    first = target.expect(seq)
    target.send_raw(request)  # as if the reply had been lost
    second = target.expect(seq)
    assert first == second and first[0] == lc.INVOKE_DONE
    # Had it run twice, the second run would have read inputs the first one overwrote.
    assert target.read_output(0, 12) == expected
