"""What a task is, and the config checks and data loading every task shares.

A *task* is a model family on the one trainer (`jgen.train.trainer`): the few pure
pieces that differ between families, and nothing loop-like. The trainer calls them as

.. code-block:: python

  task.validate(config, info)                   # raises ValueError for bad values
  state = task.init_state(config, info)         # the initial (host) train state
  step = task.train_step(config, info)          # (state, batch, axis_name, norms)
                                                #   -> (state, metrics)
  batches = task.batches(config, iterator)      # e.g. groups n_critic batches
  evaluators = task.evaluators(config, info)    # [(state, final) -> metrics]
  figures = task.figures(config, info)          # state -> {name: uint8 image}
  draw = task.sampler(config, info)             # (state, key, n) -> samples, or None
  labels = task.sample_labels(config, info, n)  # their classes, if conditional
  arrays = task.train_arrays(config, info)      # the training split (default: as stored)

where ``info`` is the dataset's `jgen.data.DatasetInfo`. Batches are dicts of
(devices, B, ...) arrays: ``{'image': uint8, 'label': int}`` for stored datasets
(labels whenever the dataset has them) and ``{'x': float32 points}`` for the 2-D toys.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import ml_collections
import numpy as np
import optax

from jgen import data
from jgen.data import DatasetInfo
from jgen.train import rng
from jgen.train.evaluate import Evaluator
from jgen.train.evaluate import FigureFn
from jgen.typing import PRNGKey
from jgen.typing import PyTree

Config = ml_collections.ConfigDict
# ``(state, key, num) -> samples``: uint8 NHWC images, or float32 points for a toy.
SampleFn = Callable[[PyTree, PRNGKey, int], np.ndarray]


class Task(NamedTuple):
  """A model family, as the functions the trainer calls (see the module docstring)."""

  name: str
  validate: Callable[[Config, DatasetInfo], None]
  init_state: Callable[[Config, DatasetInfo], PyTree]
  train_step: Callable[[Config, DatasetInfo], Callable[..., tuple[PyTree, dict]]]
  evaluators: Callable[[Config, DatasetInfo], Sequence[Evaluator]]
  figures: Callable[[Config, DatasetInfo], FigureFn | None]
  # None: the task draws no samples; a sampler returning None: not for this config.
  sampler: Callable[[Config, DatasetInfo], SampleFn | None] | None
  batches: Callable[[Config, Iterator], Iterator] = lambda config, batches: batches
  sample_labels: Callable[[Config, DatasetInfo, int], np.ndarray | None] = (
      lambda config, info, num: None)
  train_arrays: Callable[[Config, DatasetInfo], dict[str, np.ndarray]] = (
      lambda config, info: load_arrays(config, "train"))


def check_choices(choices: Mapping[str, tuple[Any, Sequence[Any]]]) -> None:
  """Raises ``ValueError`` naming the first ``field=value`` not among its choices.

  Args:
    choices: ``{'section.field': (value, valid_values)}``.
  """
  for name, (value, valid) in choices.items():
    if value not in valid:
      raise ValueError(f"{name}={value!r} is not valid; choose from {tuple(valid)}.")


def check_positive(config: Config, *names: str) -> None:
  """Raises ``ValueError`` unless each dotted config field is a positive int."""
  for name in names:
    value = config
    for part in name.split("."):
      value = value[part]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
      raise ValueError(f"{name}={value!r} is not valid; it must be a positive integer.")


SCHEDULES = ("constant", "cosine")


def learning_rate(config: Config) -> float | optax.Schedule:
  """``optim.lr``, constant or with cosine decay to 0 at ``training.num_steps``.

  Raises:
    ValueError: for an unknown ``optim.schedule``.
  """
  check_choices({"optim.schedule": (config.optim.schedule, SCHEDULES)})
  if not config.optim.lr > 0:
    raise ValueError(f"optim.lr={config.optim.lr!r} must be > 0.")
  if config.optim.schedule == "cosine":
    return optax.cosine_decay_schedule(config.optim.lr, config.training.num_steps)
  return config.optim.lr


def load_arrays(config: Config, split: str) -> dict[str, np.ndarray]:
  """A stored dataset's split in RAM, ``{'image': uint8, 'label': int32}`` (see load_split)."""
  return data.load_split(config.data.name, split, data_dir=config.data.data_dir or None,
                         npz_dir=config.data.npz_dir or None)


def load_eval_data(config: Config, num_examples: int = -1) -> dict[str, np.ndarray]:
  """The preprocessed evaluation split ``eval.split``: ``{'x': float, 'label': int32}``.

  ``x`` is the first ``num_examples`` images (all when ≤ 0) as model data; a random
  (dynamic) binarization is one fixed draw, from the ``'binarize'`` stream of the seed,
  so every evaluation of a run sees the same test set. ``label`` only when the dataset
  has labels.
  """
  split = load_arrays(config, config.eval.split)
  n = num_examples if num_examples > 0 else split["image"].shape[0]
  keys = jax.random.split(rng.stream_key(jax.random.key(config.seed), "binarize"), n)
  out = {"x": np.asarray(data.preprocess_images(split["image"][:n],
                                                config.data.preprocess, keys))}
  if "label" in split:
    out["label"] = split["label"][:n].astype(np.int32)
  return out


def batched(fn: Callable[..., Mapping[str, Any]], arrays: Mapping[str, np.ndarray],
            batch_size: int, key: PRNGKey) -> dict[str, np.ndarray]:
  """Applies ``fn(batch, key_i)`` to consecutive batches; concatenates its outputs.

  ``key_i = fold_in(key, i)`` for batch ``i``; every output is flattened per batch.
  """
  n = next(iter(arrays.values())).shape[0]
  parts = [jax.device_get(fn({k: v[start:start + batch_size] for k, v in arrays.items()},
                             jax.random.fold_in(key, i)))
           for i, start in enumerate(range(0, n, batch_size))]
  return {k: np.concatenate([np.ravel(p[k]) for p in parts]) for k in parts[0]}


__all__ = ["Config", "Task", "batched", "check_choices", "check_positive", "learning_rate",
           "load_arrays", "load_eval_data"]
