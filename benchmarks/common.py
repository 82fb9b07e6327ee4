"""Timing and reference runs shared by the benchmark scripts."""

import json
import os
import subprocess
import time

import jax
import numpy as np

from experiments.xla_flags import with_default_xla_flags

# jgen is timed as its binaries run it: with their XLA:CPU flag (CPU_XLA_FLAG) unless
# XLA_FLAGS sets that flag itself (``--xla_cpu_experimental_ynn_fusion_type=``: off).
# Read when JAX starts its backend, i.e. at the first computation, after this import.
os.environ["XLA_FLAGS"] = with_default_xla_flags(os.environ.get("XLA_FLAGS", ""))
XLA_FLAGS = os.environ["XLA_FLAGS"]


def time_step(step, state, batches, steps: int) -> dict:
  """Compile time and steady-state time of ``state, metrics = step(state, batch)``.

  Args:
    step: a jitted/pmapped step (state donated or not).
    state: the initial state (as the step expects it, e.g. replicated).
    batches: a few batches, cycled.
    steps: timed steps after compilation and three warm-up steps.

  Returns:
    ``{'compile_s', 'ms_per_step'}``.
  """
  t = time.perf_counter()
  state, metrics = step(state, batches[0])
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - t
  for i in range(3):
    state, metrics = step(state, batches[i % len(batches)])
  jax.block_until_ready(metrics)
  t = time.perf_counter()
  for i in range(steps):
    state, metrics = step(state, batches[i % len(batches)])
  jax.block_until_ready(metrics)
  return {"compile_s": round(compile_s, 2),
          "ms_per_step": round(1000 * (time.perf_counter() - t) / steps, 2)}


def run_reference(python: str, script, **flags) -> dict:
  """Runs a reference script (e.g. a PyTorch model) under ``python``: its last JSON line.

  ``flags`` become ``--name=value`` (``True``: a bare ``--name``).
  """
  argv = [f"--{k}" if v is True else f"--{k}={v}" for k, v in flags.items() if v is not False]
  proc = subprocess.run([python, str(script), *argv], capture_output=True, text=True,
                        check=True)
  return json.loads(proc.stdout.strip().splitlines()[-1])


def random_actnorm_init() -> None:
  """Lets the likelihood task initialise ActNorm on random pixels instead of loading the
  data set: the init batch is irrelevant to a step's speed, and benchmarks run offline."""
  from jgen.tasks import likelihood  # pylint: disable=g-import-not-at-top

  def init_batch(config, info):
    return np.random.default_rng(0).uniform(
        size=(config.data.batch_size, *info.shape)).astype(np.float32)
  likelihood._init_batch = init_batch  # pylint: disable=protected-access
