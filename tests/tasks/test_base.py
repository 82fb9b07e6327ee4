"""Tests for jgen.tasks.base: the config checks and helpers every task shares."""

import jax
import ml_collections
import numpy as np
import pytest

from jgen.tasks import base


def _config(**optim):
  config = ml_collections.ConfigDict({"optim": {"lr": 1e-3, "schedule": "cosine", **optim},
                                      "training": {"num_steps": 10}, "data": {"n": 3}})
  return config


def test_checks_name_the_value_and_the_choices():
  base.check_choices({"model.arch": ("mlp", ("mlp", "conv"))})
  with pytest.raises(ValueError, match=r"model.arch='cnn' is not valid; choose from \('mlp',"):
    base.check_choices({"model.arch": ("cnn", ("mlp", "conv"))})
  base.check_positive(_config(), "data.n")
  for bad in (0, -1, 2.0, True):
    config = _config()
    config.data = ml_collections.ConfigDict({"n": bad})
    with pytest.raises(ValueError, match=f"data.n={bad!r} is not valid"):
      base.check_positive(config, "data.n")


def test_learning_rate_constant_or_cosine_to_zero():
  assert base.learning_rate(_config(schedule="constant")) == 1e-3
  schedule = base.learning_rate(_config())
  np.testing.assert_allclose([schedule(0), schedule(5), schedule(10)], [1e-3, 5e-4, 0.0],
                             atol=1e-9)
  with pytest.raises(ValueError, match="optim.lr=0.0 must be > 0"):
    base.learning_rate(_config(lr=0.0))


def test_batched_folds_the_batch_index_into_the_key_and_concatenates():
  arrays = {"x": np.arange(10.0)}
  seen = []

  def fn(batch, key):
    seen.append(np.asarray(jax.random.key_data(key)))
    return {"double": 2 * batch["x"]}

  out = base.batched(fn, arrays, 4, jax.random.key(1))
  np.testing.assert_array_equal(out["double"], 2 * np.arange(10.0))  # Batches 4, 4, 2.
  for i, key in enumerate(seen):
    np.testing.assert_array_equal(key, jax.random.key_data(
        jax.random.fold_in(jax.random.key(1), i)))
