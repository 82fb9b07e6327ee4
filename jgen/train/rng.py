"""The run's random streams, derived in one place.

Every random number of a run comes from its base key (``state.base_key``) by
``fold_in``:

- training step ``t`` uses ``step_key(base, t) = fold_in(base, t)``; a step folds in
  further indices for its own draws (per example: ``parallel.example_keys``);
- every named draw outside the step — samples, figures, evaluation, the fixed
  binarization of a test set — uses ``stream_key(base, name)``; inside a step,
  ``stream_key(step_key, name)`` separates a named draw (e.g. dynamic binarization)
  from the step's own.

Stream tags are fixed integers at the top of the uint32 range, far above any step
(steps are int32), so no stream ever collides with a training step. Because every
key is a pure function of (base key, step or name), a resumed run replays exactly the
random numbers of an uninterrupted one, and keys never depend on how many devices
or processes run the step.
"""

import types

import jax

from jgen.typing import PRNGKey

# name → fold-in tag. Append new streams; never renumber (it would change results).
STREAMS = types.MappingProxyType({
    "samples": 2**32 - 1,  # samples.npz.
    "eval": 2**32 - 2,  # Evaluation draws (importance samples, masks, generated sets).
    "figures": 2**32 - 3,  # Sample and interpolation figures.
    "binarize": 2**32 - 4,  # Binarization or dequantization noise (a batch, a test set).
    "masks": 2**32 - 5,  # MADE's set of connectivity masks.
    "augment": 2**32 - 6,  # Data augmentation (random shifts and flips).
    "truncation": 2**32 - 7,  # The truncation curve's samples (experiments.truncation).
})


def step_key(key: PRNGKey, step) -> PRNGKey:
  """The key of training step ``step``: ``fold_in(key, step)``."""
  return jax.random.fold_in(key, step)


def stream_key(key: PRNGKey, name: str) -> PRNGKey:
  """The key of the named stream ``name`` (one of ``STREAMS``) under ``key``.

  Raises:
    ValueError: for an unknown stream name.
  """
  if name not in STREAMS:
    raise ValueError(f"Unknown random stream {name!r}; valid: {', '.join(STREAMS)}.")
  return jax.random.fold_in(key, STREAMS[name])


__all__ = ["STREAMS", "step_key", "stream_key"]
