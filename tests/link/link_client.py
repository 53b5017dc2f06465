"""A small Python implementation of the PC side of tinydeploy's link (runtime/include/tinydeploy/
link/frame.h), independent of the C++ one, for testing the validator firmware with well-formed
and deliberately malformed traffic."""
import select
import struct
import subprocess
import time
import zlib

SYNC = b"\xa5\x5a"
HELLO, WRITE_INPUT, INVOKE, READ_OUTPUT = 0x01, 0x02, 0x03, 0x04
HELLO_REPLY, OK, INVOKE_DONE, DATA, LAYER_DATA, LAYER_COUNTERS, ERROR = (
    0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x7F)
INVOKE_TRACE, INVOKE_PROFILE, INVOKE_COUNT = 0x01, 0x02, 0x04
TAIL_LAYER = 0xFFFF
MAX_PAYLOAD = 1024


def frame(msg_type, seq, payload=b""):
    body = struct.pack("<BBH", msg_type, seq, len(payload)) + payload
    return SYNC + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


class Target:
    """A validator firmware behind two pipes (a host build, or QEMU with its UART on stdio)."""

    def __init__(self, argv):
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL)
        self.buffer = b""
        self.seq = 0

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:  # a host build ends with its input; QEMU does not, and is stopped
                self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def send_raw(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def next_seq(self):
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def read_frame(self, timeout):
        """The next well-formed frame, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            start = self.buffer.find(SYNC)
            if start >= 0 and len(self.buffer) >= start + 6:
                msg_type, seq, size = struct.unpack_from("<BBH", self.buffer, start + 2)
                end = start + 6 + size + 4
                if len(self.buffer) >= end:
                    body = self.buffer[start + 2:start + 6 + size]
                    (crc,) = struct.unpack_from("<I", self.buffer, start + 6 + size)
                    if crc == zlib.crc32(body) & 0xFFFFFFFF:
                        self.buffer = self.buffer[end:]
                        return msg_type, seq, body[4:]
                    self.buffer = self.buffer[start + 1:]
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = self.process.stdout.read1(65536)
                if not chunk:
                    return None
                self.buffer += chunk

    def request(self, msg_type, payload=b"", timeout=10.0):
        seq = self.next_seq()
        self.send_raw(frame(msg_type, seq, payload))
        return self.expect(seq, timeout)

    def expect(self, seq, timeout=10.0):
        while True:
            reply = self.read_frame(timeout)
            if reply is None or reply[1] == seq:
                return reply

    def hello(self):
        msg_type, _, payload = self.request(HELLO)
        assert msg_type == HELLO_REPLY
        version = struct.unpack_from("<H", payload)[0]
        sha = payload[2:66].decode()
        inputs, outputs, layers, max_payload, tick_hz = struct.unpack_from("<HHHII", payload, 66)
        board = payload[80:].decode()
        return dict(version=version, sha256=sha, inputs=inputs, outputs=outputs, layers=layers,
                    max_payload=max_payload, tick_hz=tick_hz, board=board)

    def write_input(self, index, data):
        chunk = MAX_PAYLOAD - 6
        for offset in range(0, max(len(data), 1), chunk):
            reply = self.request(WRITE_INPUT, struct.pack("<HI", index, offset) +
                                 data[offset:offset + chunk])
            assert reply is not None and reply[0] == OK, reply

    def invoke(self, trace=False, flags=None, counts=None):
        """Status, ticks and traced layer outputs; a counted invoke's LayerCounters go into
        `counts` as (layer, ticks, mask, [6 values]) in the order received."""
        seq = self.next_seq()
        self.send_raw(frame(INVOKE, seq, bytes([flags if flags is not None else
                                                (INVOKE_TRACE if trace else 0)])))
        layers = {}
        while True:
            reply = self.read_frame(60.0)
            assert reply is not None, "no answer to invoke"
            msg_type, got_seq, payload = reply
            if got_seq != seq:
                continue
            if msg_type == LAYER_DATA:
                layer, output, offset, total = struct.unpack_from("<HBII", payload)
                data = layers.setdefault((layer, output), bytearray(total))
                data[offset:offset + len(payload) - 11] = payload[11:]
                continue
            if msg_type == LAYER_COUNTERS:
                assert len(payload) == 2 + 8 + 1 + 6 * 4, payload
                layer, ticks, mask = struct.unpack_from("<HQB", payload)
                values = list(struct.unpack_from("<6I", payload, 11))
                assert counts is not None, "counters of an invoke that did not ask for them"
                counts.append((layer, ticks, mask, values))
                continue
            assert msg_type == INVOKE_DONE, reply
            status, ticks = struct.unpack("<IQ", payload)
            return status, ticks, layers

    def read_output(self, index, size):
        out = b""
        while len(out) < size:
            length = min(MAX_PAYLOAD, size - len(out))
            reply = self.request(READ_OUTPUT, struct.pack("<HIH", index, len(out), length))
            assert reply is not None and reply[0] == DATA, reply
            out += reply[2]
        return out
