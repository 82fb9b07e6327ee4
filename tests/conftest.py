"""Shared test fixtures."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# CI clones the repo with ../shared beside it.
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(name="run_on_fake_devices")
def _run_on_fake_devices():
  """Runs Python code in a subprocess with N fake CPU devices; returns its last JSON line.

  XLA_FLAGS must be set before JAX initialises, hence the subprocess.
  """
  def run(code: str, devices: int = 8, timeout: float = 600) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
      raise AssertionError(f"subprocess failed:\n{proc.stderr[-5000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
  return run
