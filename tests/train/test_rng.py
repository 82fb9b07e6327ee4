"""Tests for jgen.train.rng: the run's random streams."""

import jax
import numpy as np
import pytest

from jgen.train import rng


def _data(key):
  return np.asarray(jax.random.key_data(key))


def test_streams_are_fold_ins_far_from_every_step_and_distinct():
  base = jax.random.key(0)
  np.testing.assert_array_equal(_data(rng.step_key(base, 7)),
                                _data(jax.random.fold_in(base, 7)))
  keys = {name: _data(rng.stream_key(base, name)).tobytes() for name in rng.STREAMS}
  assert len(set(keys.values())) == len(rng.STREAMS)
  # Tags sit above every int32 step, so no stream equals a training step's key.
  assert min(rng.STREAMS.values()) > 2**31
  assert len(set(rng.STREAMS.values())) == len(rng.STREAMS)


def test_unknown_stream_is_named():
  with pytest.raises(ValueError, match="Unknown random stream 'sampels'; valid: samples"):
    rng.stream_key(jax.random.key(0), "sampels")
