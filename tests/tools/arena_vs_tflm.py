#!/usr/bin/env python3
"""Asserts that tinydeploy's planned arena is smaller than TFLite Micro's for every model given.

Usage: arena_vs_tflm.py TINYDEPLOY MODEL.tflite [...]
Models TFLite Micro itself cannot load are reported and not compared.
"""

import json
import subprocess
import sys
from pathlib import Path

TFLM_ARENA = Path(__file__).resolve().parents[2] / "tools" / "reference" / "tflm_arena.py"


def tinydeploy_arena(tool, model):
    report = json.loads(subprocess.run([tool, "inspect", "--json", model], check=True,
                                       capture_output=True, text=True).stdout)
    return report["memory"]["arena_bytes"] + report["memory"]["variable_arena_bytes"]


def tflm_arenas(models):
    result = subprocess.run([sys.executable, str(TFLM_ARENA), *models], capture_output=True,
                            text=True)
    return {entry["model"]: entry for entry in map(json.loads, result.stdout.splitlines())}


def main(argv):
    tool, models = argv[1], argv[2:]
    failures, compared = [], 0
    for model, tflm in tflm_arenas(models).items():
        ours = tinydeploy_arena(tool, model)
        if "error" in tflm:
            print(f"{Path(model).name}: tinydeploy {ours} B; TFLite Micro cannot load it "
                  f"({tflm['error']})")
            continue
        compared += 1
        verdict = "ok" if ours < tflm["total"] else "NOT SMALLER"
        print(f"{Path(model).name}: tinydeploy {ours} B, TFLite Micro {tflm['total']} B "
              f"(planned tensors {tflm['head']} B) {verdict}")
        if ours >= tflm["total"]:
            failures.append(model)
    print(f"arena comparison: {compared - len(failures)} smaller than TFLite Micro, {len(failures)} not")
    return 1 if failures or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
