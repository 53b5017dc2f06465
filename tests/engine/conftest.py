"""Shared fixtures for the end-to-end `tinydeploy run` tests."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TINYDEPLOY_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def tinydeploy():
    binary = os.environ.get("TINYDEPLOY_BIN")
    if not binary:
        pytest.fail("set TINYDEPLOY_BIN to the tinydeploy executable (ctest does)")

    def run(*args, check=True):
        result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                                timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"tinydeploy {' '.join(map(str, args))} exited "
                                 f"{result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    return run
