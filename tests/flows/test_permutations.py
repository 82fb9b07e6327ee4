"""Reverse and Permute: contract checks, the permutation itself, bad shapes."""

import jax
import numpy as np
import pytest

from jgen.flows import Permute
from jgen.flows import Reverse


def _pure(bijector_method):
  return lambda b, x: getattr(b, bijector_method)(x)


@pytest.mark.parametrize("event_shape", [(5,), (2, 3, 4)])
def test_reverse_contract(checker, event_shape):
  x = np.random.default_rng(0).normal(size=(3,) + event_shape).astype(np.float32)
  bijector = Reverse(event_ndims=len(event_shape))
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  out = check.assert_contract(bijector, x)
  np.testing.assert_array_equal(out["y"], x[..., ::-1])
  np.testing.assert_array_equal(out["log_det"], 0.0)
  check.assert_contract(bijector, x + 1.0)
  assert check.traces == 1


def test_permute_contract_and_values(checker):
  bijector = Permute.random(jax.random.key(3), 6)
  perm = np.asarray(bijector.permutation)
  assert sorted(perm.tolist()) == list(range(6)) and (perm != np.arange(6)).any()
  assert Permute.random(jax.random.key(3), 6) == bijector  # Fixed by the key.
  x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  out = check.assert_contract(bijector, x)
  np.testing.assert_array_equal(out["y"], x[:, perm])
  check.assert_contract(bijector, 2.0 * x)
  assert check.traces == 1


def test_permute_on_image_channels():
  x = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
  y = Permute((1, 2, 0), event_ndims=3).forward(x)
  np.testing.assert_array_equal(y, x[..., [1, 2, 0]])


@pytest.mark.parametrize("bijector, shape, match", [
    (Reverse(), (5,), r"rank 2, \(B, D\).*got shape \(5,\)"),
    (Reverse(event_ndims=3), (2, 4, 4), r"rank 4, \(B, H, W, C\).*got shape \(2, 4, 4\)"),
    (Permute((0, 2, 1)), (2, 4), r"last axis .* size 3; got shape \(2, 4\)"),
    (Permute((0, 0, 1)), (2, 3), r"permutation of 0..2"),
])
def test_bad_shapes_raise(bijector, shape, match):
  with pytest.raises(ValueError, match=match):
    bijector.forward(np.zeros(shape, np.float32))
  with pytest.raises(ValueError, match=match):
    bijector.inverse(np.zeros(shape, np.float32))
