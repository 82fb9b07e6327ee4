"""The training loop shared by every model family.

The trainer (`jgen.train.trainer`) supplies a task's state, its pure step
``step(state, batch, axis_name=None, norms=True) -> (state, metrics)`` and a batch
iterator; the loop pmaps the step over the local devices, feeds it prefetched device
batches, logs metrics, runs periodic hooks (evaluation, figures), checkpoints on a
cadence and resumes from the newest checkpoint in the workdir. It knows nothing of any
model family: what a batch holds, and how many iterator batches one step takes, is the
task's business (see ``jgen.data.GroupedBatches``).
"""

from collections.abc import Callable, Sequence
import functools
import logging as pylogging
import os
import time
from typing import Any, NamedTuple

from absl import logging
import jax
import numpy as np

from jgen.data.pipeline import prefetch_to_device
from jgen.train import parallel
from jgen.train.checkpoint import Checkpointer
from jgen.train.summaries import MetricWriter
from jgen.typing import PyTree


def _quiet_orbax_info_logs() -> None:
  """Drops orbax's per-save INFO lines (dozens per checkpoint) from the absl log."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _OrbaxInfoFilter) for f in handler.filters):
    handler.addFilter(_OrbaxInfoFilter())


class _OrbaxInfoFilter(pylogging.Filter):

  def filter(self, record: pylogging.LogRecord) -> bool:
    return record.levelno > pylogging.INFO or "/orbax/" not in record.pathname


class PeriodicHook(NamedTuple):
  """Calls ``fn(step, state)`` after every step that is a multiple of ``every``.

  ``state`` is the unreplicated host copy of the train state.
  """

  every: int
  fn: Callable[[int, PyTree], None]


class NonFiniteLossError(FloatingPointError):
  """A loss became NaN or infinite; the message names the step."""


# Unlogged steps a run must have before the loop compiles a second, norm-free variant
# of its step: that compile costs seconds, the norms 1–20 ms per step (the MLP models).
MIN_QUIET_STEPS = 500


def skips_norms(num_steps: int, log_every: int) -> bool:
  """Whether a run of ``num_steps`` (in all, resumed or not: every step of a run uses
  the same variant) takes its unlogged steps with ``norms=False``."""
  logged = num_steps // log_every + (num_steps % log_every != 0)
  return num_steps - logged >= MIN_QUIET_STEPS


def _check_finite(step: int, metrics: dict[str, Any], workdir: str, last_saved: int | None):
  bad = {k: float(v) for k, v in metrics.items() if not np.isfinite(v)}
  if bad:
    kept = (f"the last good checkpoint (step {last_saved}) is kept in {workdir}"
            if last_saved is not None else "no checkpoint had been written")
    raise NonFiniteLossError(
        f"Non-finite metrics at step {step}: {bad}. Training stopped; {kept}. "
        "Try a lower learning rate or a different loss.")


def train_loop(
    state: PyTree,
    step_fn: Callable[..., tuple[PyTree, dict]],
    batches: Any,
    *,
    workdir: str,
    num_steps: int,
    log_every: int = 100,
    checkpoint_every: int = 1000,
    max_to_keep: int = 3,
    hooks: Sequence[PeriodicHook] = (),
    writer: MetricWriter | None = None,
    skip_norms: bool | None = None,
) -> PyTree:
  """Trains ``state`` for ``num_steps`` steps, resuming from ``workdir`` if possible.

  Args:
    state: the initial (host, unreplicated) state, with an int ``step`` field; used
      as is when ``workdir`` has no checkpoint.
    step_fn: the pure step, ``step_fn(state, batch, axis_name=None, norms=True)``,
      returning the new state and a flat dict of scalar metrics; with ``norms=False``
      (the steps whose metrics are not logged) it may skip costly metrics such as the
      gradient and parameter norms (reporting 0), never changing the new state.
    batches: an iterator of host batches (pytrees of (devices, ...) arrays) with
      ``get_state``/``set_state``, e.g. a ``jgen.data.BatchIterator``.
    workdir: checkpoints go to ``workdir/checkpoints``.
    num_steps: total number of steps of the run (not of this invocation).
    log_every: steps between metric logs and progress lines.
    checkpoint_every: steps between checkpoints (one is also written at the end).
    max_to_keep: checkpoints kept.
    hooks: periodic evaluation/sampling hooks.
    writer: where metrics go (``train_`` prefix); None to only log.
    skip_norms: run the steps that are not logged with ``norms=False``; None (default):
      when the run has enough of them to pay for a second compile (`skips_norms`).

  Returns:
    The final state, unreplicated on the host.

  Raises:
    NonFiniteLossError: when a metric becomes NaN/inf; nothing is saved after it.
  """
  _quiet_orbax_info_logs()
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=max_to_keep)
  restored = ckpt.restore_latest(state)
  if restored is not None:
    state, data_state = restored
    batches.set_state(data_state)
  start = int(state.step)
  last_saved = start if restored is not None else None
  logging.info("Training from step %d to %d (%d local devices).", start, num_steps,
               jax.local_device_count())

  device_step = parallel.data_parallel(step_fn)
  # Steps whose metrics are not logged skip the gradient and parameter norms: on a CPU
  # they cost 10–25% of a small model's step (benchmarks/steps.py).
  if skip_norms is None:
    skip_norms = skips_norms(num_steps, log_every)
  quiet_step = (parallel.data_parallel(functools.partial(step_fn, norms=False))
                if skip_norms else device_step)
  # Its get_state() is the iterator's position after the last batch it handed out.
  device_batches = prefetch_to_device(batches)
  rstate = device_step.put(state)
  pending = None  # (step, metrics) of the previous step, checked one step late.
  t0, t0_step = time.perf_counter(), start
  try:
    for step in range(start + 1, num_steps + 1):
      last = step == num_steps
      need_log = last or step % log_every == 0
      stepper = device_step if need_log else quiet_step
      rstate, metrics = stepper.step(rstate, next(device_batches))
      # The previous step's metrics are fetched only now, after this step has been
      # dispatched, so the device stays one step ahead of the host.
      if pending is not None:
        _check_finite(pending[0], device_step.get(pending[1]), workdir, last_saved)
      pending = (step, metrics)
      need_state = last or step % checkpoint_every == 0 or any(
          step % h.every == 0 for h in hooks)
      if need_log or need_state:
        # Logging, saving or a hook: this step must be known to be finite now.
        host_metrics = device_step.get(metrics)
        _check_finite(step, host_metrics, workdir, last_saved)
        pending = None
      if need_log:
        rate = (step - t0_step) / (time.perf_counter() - t0)
        scalars = {k: float(v) for k, v in host_metrics.items()}
        logging.info("step %d/%d  %.1f steps/s  %s", step, num_steps, rate,
                     "  ".join(f"{k}={v:.4g}" for k, v in sorted(scalars.items())
                               if k.endswith("loss")))
        if writer is not None:
          writer.write_scalars(step, {"train_" + k: v for k, v in scalars.items()}
                               | {"train_steps_per_sec": rate})
        t0, t0_step = time.perf_counter(), step
      if need_state:
        host_state = device_step.get(rstate)
        if last or step % checkpoint_every == 0:
          ckpt.save(step, host_state, device_batches.get_state())
          last_saved = step
        for hook in hooks:
          if step % hook.every == 0:
            hook.fn(step, host_state)
    return device_step.get(rstate)
  finally:
    device_batches.close()
    ckpt.wait_until_finished()
    ckpt.close()
    if writer is not None:
      writer.flush()


__all__ = ["NonFiniteLossError", "PeriodicHook", "train_loop"]

