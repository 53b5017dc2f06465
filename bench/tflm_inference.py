#!/usr/bin/env python3
"""Host inference time of TFLite Micro (the tflite-micro Python package) per model: the median
of N invokes after one warm-up, on seeded random input. Prints "<model> <ms>" lines."""

import sys
import time
from pathlib import Path

import numpy as np
from tflite_micro.python.tflite_micro import runtime


def time_model(path, repeats):
    interpreter = runtime.Interpreter.from_bytes(Path(path).read_bytes(),
                                                 arena_size=64 * 1024 * 1024)
    rng = np.random.default_rng(0)
    details = [interpreter.get_input_details(k) for k in range(_input_count(path))]
    for i, detail in enumerate(details):
        dtype = np.dtype(detail["dtype"])
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max + 1, size=detail["shape"], dtype=dtype)
        else:
            data = rng.uniform(-1, 1, size=detail["shape"]).astype(dtype)
        interpreter.set_input(data, i)
    interpreter.invoke()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter.invoke()
        samples.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(samples))


def _input_count(path):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    return model.Subgraphs(0).InputsLength()


def main(argv):
    repeats = 20
    for path in argv[1:]:
        try:
            print(f"{Path(path).stem} {time_model(path, repeats):.3f}")
        except Exception as error:  # noqa: BLE001 - report and go on with the other models
            print(f"{Path(path).stem} n/a ({str(error).splitlines()[0][:60]})")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
