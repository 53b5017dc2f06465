#!/usr/bin/env python3
"""Reports how many arena bytes TensorFlow Lite Micro needs for each model.

TFLite Micro's recording allocator prints its arena usage (planned tensors in the head,
interpreter bookkeeping and persistent kernel data in the tail) to the C stderr stream, so
the report is captured at the file-descriptor level.

Usage: tflm_arena.py MODEL.tflite [...]   -> one JSON object per line:
  {"model": path, "total": bytes, "head": bytes, "tail": bytes}
or {"model": path, "error": message} when TFLite Micro cannot load the model.
"""

import json
import os
import re
import sys
import tempfile

_ARENA_BYTES = 64 * 1024 * 1024
_FIELD = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def _recorded_allocations(model_path):
    from tflite_micro.python.tflite_micro import runtime  # imported late: optional dependency

    with tempfile.TemporaryFile(mode="w+") as capture:
        saved_out, saved_err = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            interpreter = runtime.Interpreter.from_file(model_path, arena_size=_ARENA_BYTES)
            interpreter.print_allocations()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
        capture.seek(0)
        return capture.read()


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        print("error: the Python package 'tflite-micro' is missing; install it with "
              "'pip install --pre -r tools/reference/requirements.txt'", file=sys.stderr)
        return 1
    status = 0
    for path in argv[1:]:
        try:
            fields = {name: int(value) for name, value in _FIELD.findall(_recorded_allocations(path))}
            if "total" not in fields:
                raise RuntimeError("TFLite Micro printed no arena usage")
            print(json.dumps({"model": path, **fields}), flush=True)
        except Exception as error:  # report per model, keep going
            print(json.dumps({"model": path, "error": str(error)}), flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
