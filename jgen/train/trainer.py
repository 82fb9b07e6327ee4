"""One trainer for every model family: config → task → the shared loop → evaluation.

``train_and_evaluate(config, workdir)`` is what ``python -m experiments.main`` runs for
every family; ``config.task`` names the task (`jgen.tasks.TASKS`: ``'gan'``,
``'vae'``, ``'likelihood'``, ``'classifier'``) and the task supplies the family's
pieces. The trainer validates the config, loads the training split once, builds the
batch iterator, trains on `jgen.train.loop.train_loop` (checkpoints, exact resume,
progress), runs the task's evaluators and figures every ``eval.every`` steps and once
more, in full, at the end, and writes ``samples.npz`` and ``summary.json``. For image
tasks it adds the sample-quality evaluator (`jgen.tasks.sample_quality`:
``eval.sample_metrics`` on the samples of ``samples.npz``,
``eval.periodic_sample_metrics`` during training).
"""

import os
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from jgen import data

# Module imports, not names: jgen.tasks imports jgen.train, whose __init__ imports this.
from jgen import tasks
from jgen.tasks import base as task_base
from jgen.tasks import sample_quality
from jgen.train import rng
from jgen.train.checkpoint import restore_newest_state
from jgen.train.evaluate import evaluate_and_draw
from jgen.train.loop import PeriodicHook
from jgen.train.loop import train_loop
from jgen.train.summaries import open_run
from jgen.train.summaries import write_summary


def validate_config(config: ml_collections.ConfigDict) -> "tasks.Task":
  """Checks every user-facing choice before any work starts; returns the task.

  Raises:
    ValueError: naming the bad value and the valid choices.
  """
  task = tasks.get_task(config.get("task"))
  info = data.dataset_info(config.data.name)
  task_base.check_positive(config, "data.batch_size", "training.num_steps", "training.log_every",
                 "training.checkpoint_every", "training.max_to_keep", "eval.every")
  if task.sampler is not None:
    task_base.check_positive(config, "eval.num_samples")
  if not isinstance(config.seed, int) or config.seed < 0:
    raise ValueError(f"seed={config.seed!r} is not valid; it must be a non-negative integer.")
  if config.data.batch_size % jax.device_count():
    raise ValueError(f"data.batch_size={config.data.batch_size} must be divisible by the "
                     f"{jax.device_count()} devices.")
  task.validate(config, info)
  if task.sampler is not None:
    sample_quality.validate(config, info)
  return task


def _batches(config, task, info):
  """The training batch iterator: the task's training split in RAM, or a toy stream."""
  source = config.data.name if info.is_toy else task.train_arrays(config, info)
  return data.BatchIterator(source, global_batch_size=config.data.batch_size,
                            seed=config.seed)


def _sampler(config, task, info):
  """``draw(state, stream, num) -> (samples, labels or None)``, drawn once per step; None
  when the task draws nothing for this config (a classifier; a VQ-VAE-2 top prior).

  The final evaluation scores exactly the samples ``samples.npz`` holds, without
  drawing them twice (a MADE sample takes 784 network passes).
  """
  sample = task.sampler(config, info) if task.sampler is not None else None
  if sample is None:  # Built (and jitted) once per run.
    return None
  cache = {}

  def draw(state, stream: str, num: int):
    signature = (int(state.step), stream, num)
    if signature not in cache:
      cache.clear()
      key = rng.stream_key(state.base_key, stream)
      cache[signature] = (np.asarray(sample(state, key, num)),
                          task.sample_labels(config, info, num))
    return cache[signature]
  return draw


def write_samples(config, task, info, workdir: str, state, draw=None) -> np.ndarray:
  """Writes ``samples.npz``: ``samples`` (``eval.num_samples`` of them, from the
  ``'samples'`` stream) and, for a conditional model, their ``labels``."""
  draw = draw or _sampler(config, task, info)
  if draw is None:
    raise ValueError(f"task={task.name!r} draws no samples for this config.")
  samples, labels = draw(state, "samples", config.eval.num_samples)
  if jax.process_index() == 0:
    extra = {} if labels is None else {"labels": labels}
    np.savez(os.path.join(workdir, "samples.npz"), samples=samples, **extra)
  return samples


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the configured task in ``workdir`` (resuming if it holds checkpoints).

  Writes checkpoints, ``config.json``, ``metrics.jsonl`` and TensorBoard events
  (``train_``/``eval_`` scalars), figures, ``samples.npz`` and ``summary.json``.

  Returns:
    The summary written to ``summary.json``: the step, the final evaluation's
    metrics, the number of samples and the seconds spent.

  Raises:
    ValueError: for a bad config value (before anything is written).
    jgen.data.DatasetNotAvailableError: when the dataset is not prepared.
    jgen.train.NonFiniteLossError: when training diverges.
  """
  task = validate_config(config)
  info = data.dataset_info(config.data.name)
  writer = open_run(workdir, config.to_dict())
  batches = task.batches(config, _batches(config, task, info))
  draw = _sampler(config, task, info)
  quality = draw and sample_quality.make_evaluator(config, info, draw, workdir)
  evaluators = [*task.evaluators(config, info), *([quality] if quality else [])]
  figures = task.figures(config, info)
  num_steps = config.training.num_steps

  def evaluate(step, state, final=False):
    return evaluate_and_draw(step, state, evaluators=evaluators, figures=figures,
                             final=final, workdir=workdir, writer=writer)

  def periodic(step, state):
    if step < num_steps:  # The last step gets the full, final evaluation below.
      evaluate(step, state)

  t0 = time.perf_counter()
  state = train_loop(
      task.init_state(config, info), task.train_step(config, info), batches,
      workdir=workdir, num_steps=num_steps, log_every=config.training.log_every,
      checkpoint_every=config.training.checkpoint_every,
      max_to_keep=config.training.max_to_keep,
      hooks=[PeriodicHook(config.eval.every, periodic)], writer=writer)
  train_seconds = time.perf_counter() - t0
  step = int(state.step)
  summary = {"step": step}
  if draw is not None:  # A classifier has nothing to sample.
    summary["num_samples"] = int(
        write_samples(config, task, info, workdir, state, draw).shape[0])
  summary |= evaluate(step, state, final=True)
  summary["train_seconds_this_run"] = train_seconds
  write_summary(workdir, summary)
  writer.close()
  return summary


def sample(config: ml_collections.ConfigDict, workdir: str) -> np.ndarray:
  """Regenerates ``samples.npz`` from the newest checkpoint in ``workdir``.

  Raises:
    FileNotFoundError: when ``workdir`` holds no checkpoint.
  """
  task = validate_config(config)
  info = data.dataset_info(config.data.name)
  draw = _sampler(config, task, info)
  if draw is None:
    raise ValueError(f"task={task.name!r} draws no samples for this config (a classifier; a "
                     "VQ-VAE-2 top prior, whose maps decode only with a bottom map: sample "
                     "the bottom prior's run, data.top_prior_workdir naming this one).")
  state = restore_state(config, workdir)
  return write_samples(config, task, info, workdir, state, draw)


def restore_state(config: ml_collections.ConfigDict, workdir: str):
  """The newest checkpointed train state of ``workdir`` for ``config`` (host arrays).

  Raises:
    FileNotFoundError: when ``workdir`` holds no checkpoint.
  """
  task = validate_config(config)
  return restore_newest_state(os.path.join(workdir, "checkpoints"),
                              task.init_state(config, data.dataset_info(config.data.name)))


__all__ = ["restore_state", "sample", "train_and_evaluate", "validate_config",
           "write_samples"]
