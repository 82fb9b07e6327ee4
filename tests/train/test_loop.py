"""Unit tests for the shared loop's bookkeeping (end-to-end runs: tests/experiments)."""

import json

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen import data
from jgen.train import loop
from jgen.train.summaries import MetricWriter


def test_non_finite_metrics_name_the_step_and_the_checkpoint():
  loop._check_finite(5, {"loss": np.float32(1.0)}, "/w", 4)  # Finite: no error.
  with pytest.raises(loop.NonFiniteLossError,
                     match=r"step 7: \{'loss': nan\}.*step 5\) is kept in /w"):
    loop._check_finite(7, {"loss": np.float32(np.nan), "ok": 1.0}, "/w", 5)
  with pytest.raises(loop.NonFiniteLossError, match="no checkpoint had been written"):
    loop._check_finite(1, {"loss": np.inf}, "/w", None)


class _State(flax.struct.PyTreeNode):
  step: jax.Array
  w: jax.Array
  quiet: jax.Array  # Steps run with norms=False.


def test_the_loop_computes_norms_on_the_steps_it_logs_only(tmp_path):
  def step_fn(state, batch, axis_name=None, norms=True):
    del axis_name
    w = state.w + batch["x"].sum()
    return (state.replace(step=state.step + 1, w=w, quiet=state.quiet + (not norms)),
            {"loss": w, "norms": float(norms)})

  state = _State(step=jnp.zeros((), jnp.int32), w=jnp.zeros(()), quiet=jnp.zeros((), jnp.int32))
  batches = data.BatchIterator({"x": np.ones((40, 1), np.float32)}, global_batch_size=4,
                               seed=0)
  writer = MetricWriter(str(tmp_path))
  final = loop.train_loop(state, step_fn, batches, workdir=str(tmp_path), num_steps=7,
                          log_every=3, checkpoint_every=100, writer=writer,
                          skip_norms=True)
  writer.close()
  assert int(final.step) == 7 and float(final.w) == 28.0  # Every step updated the state.
  assert int(final.quiet) == 4  # Steps 1, 2, 4, 5.
  with open(tmp_path / "metrics.jsonl") as f:
    logged = {r["step"]: r["train_norms"] for r in map(json.loads, f) if "train_norms" in r}
  assert logged == {3: 1.0, 6: 1.0, 7: 1.0}


def test_runs_skip_norms_only_when_enough_steps_pay_for_the_second_compile():
  assert not loop.skips_norms(20, 2)
  assert not loop.skips_norms(loop.MIN_QUIET_STEPS, 1000)  # 499 unlogged steps.
  assert loop.skips_norms(loop.MIN_QUIET_STEPS + 1, 1000)
  assert not loop.skips_norms(10_000, 1)  # Every step logged.
