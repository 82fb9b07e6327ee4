"""The invertible 1×1 convolution: rotation at init, W and its log-det, contract, errors."""

import jax
import numpy as np
import pytest

from jgen.flows import Conv1x1

SHAPE = (3, 2, 3, 4)  # (B, H, W, C)


def _weight(lu):
  """W = L (U + diag(exp(log s))) from the packed parameter, in NumPy float64."""
  lu = np.asarray(lu, np.float64)
  lower = np.tril(lu, -1) + np.eye(len(lu))
  upper = np.triu(lu, 1) + np.diag(np.exp(np.diag(lu)))
  return lower @ upper


def test_init_is_a_random_rotation(key):
  x = np.zeros(SHAPE, np.float32)
  w0 = _weight(Conv1x1().init(key(0), x)["params"]["lu"])
  w1 = _weight(Conv1x1().init(key(1), x)["params"]["lu"])
  for w in (w0, w1):
    np.testing.assert_allclose(w @ w.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(w), 1.0, atol=1e-5)
  assert np.abs(w0 - w1).max() > 0.1
  assert np.abs(w0 - np.eye(4)).max() > 0.1


def test_matches_w_and_its_log_det(module_checker, perturb, key):
  layer = Conv1x1()
  x = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
  check = module_checker(layer)
  variables = jax.jit(layer.init)(key(), x)
  for params in (variables, perturb(variables, scale=1.0)):
    w = _weight(params["params"]["lu"])
    out = check.assert_contract(params, x)
    # forward applies W⁻¹, inverse (data → noise) applies W, log-det H·W·log|det W|.
    _, log_abs_det = np.linalg.slogdet(w)
    np.testing.assert_allclose(out["inv_log_det"], 2 * 3 * log_abs_det, atol=1e-4)
    np.testing.assert_allclose(out["y"], x @ np.linalg.inv(w).T, atol=1e-4)
    z, inv_log_det = jax.jit(layer.apply)(params, x)
    np.testing.assert_allclose(z, x @ w.T, atol=1e-5)
    np.testing.assert_allclose(inv_log_det, 2 * 3 * log_abs_det, atol=1e-4)
  assert check.traces == 1


def test_bad_shapes_raise(key):
  with pytest.raises(ValueError, match=r"Conv1x1 expects inputs of rank 4, \(B, H, W, C\)"
                                       r".*got shape \(3, 4\)"):
    Conv1x1().init(key(), np.zeros((3, 4), np.float32))
  variables = Conv1x1().init(key(), np.zeros(SHAPE, np.float32))
  with pytest.raises(ValueError, match=r"initialised for 4 channels; got input of shape "
                                       r"\(3, 2, 3, 5\)"):
    Conv1x1().apply(variables, np.zeros((3, 2, 3, 5), np.float32))
