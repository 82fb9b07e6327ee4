"""Logit preprocessing (values, log-det vs jacfwd, edges) and dequantized bits/dim."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.distributions import Normal
from jgen.flows import Inverse
from jgen.flows import Logit
from jgen.flows import Transformed
from jgen.flows import dequantized_bits_per_dim


def _pure(method):
  return lambda b, x: getattr(b, method)(x)


def test_logit_values_log_det_and_contract(checker):
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(3, 2, 2, 2)).astype(np.float32)
  alpha = 0.05
  p = alpha + (1 - 2 * alpha) * x.astype(np.float64)
  y, log_det = Logit().inverse_and_log_det(x)
  np.testing.assert_allclose(y, np.log(p / (1 - p)), rtol=1e-5, atol=1e-6)
  expected = (np.log(1 - 2 * alpha) - np.log(p) - np.log1p(-p)).reshape(3, -1).sum(1)
  np.testing.assert_allclose(log_det, expected, rtol=1e-5)
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  # Inverse(Logit()).forward is the preprocessing x ∈ (0, 1) → ℝ: jacfwd of the logit.
  out = check.assert_contract(Inverse(Logit()), x)
  np.testing.assert_allclose(out["log_det"], expected, rtol=1e-5)
  check.assert_contract(Inverse(Logit(alpha=0.2)), x)
  assert check.traces == 2  # alpha is static: one trace per value.
  logit_check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  logit_check.assert_contract(Logit(), 4.0 * rng.normal(size=(3, 2, 2, 2)))


def test_logit_finite_at_the_data_edges():
  x = np.array([[0.0, np.nextafter(np.float32(1.0), np.float32(0.0))]], np.float32)
  grad = jax.grad(lambda x: jnp.sum(Logit(event_ndims=1).inverse_and_log_det(x)[1]))(x)
  y, log_det = Logit(event_ndims=1).inverse_and_log_det(x)
  for value in (y, log_det, grad):
    assert np.isfinite(np.asarray(value)).all()
  np.testing.assert_allclose(y, [[-math.log(19.0), math.log(19.0)]], rtol=1e-5)
  x_far, far_log_det = Logit(event_ndims=1).forward_and_log_det(np.array([[-100.0, 100.0]]))
  np.testing.assert_allclose(x_far, [[-0.05 / 0.9, 0.95 / 0.9]], rtol=1e-6)
  assert np.isfinite(np.asarray(far_log_det)).all()


def test_bad_arguments_raise():
  with pytest.raises(ValueError, match=r"alpha must be in \(0, 0.5\); got 0.5"):
    Logit(alpha=0.5).inverse(np.zeros((1, 2, 2, 1)))
  with pytest.raises(ValueError, match=r"Logit expects inputs of rank 4.*got shape \(2, 3\)"):
    Logit().inverse(np.zeros((2, 3)))


def test_dequantized_bits_per_dim():
  """bpd = (−log p(y) + D·log 256)/(D·log 2), with Logit's log-det inside log p(y)."""
  np.testing.assert_allclose(dequantized_bits_per_dim(np.array([-10.0, 0.0]), 5),
                             [(10.0 + 5 * math.log(256)) / (5 * math.log(2)), 8.0])
  assert float(dequantized_bits_per_dim(0.0, 5, num_bins=2)) == pytest.approx(1.0)
  x = np.random.default_rng(1).integers(0, 256, size=(4, 2, 2, 1))
  y = (x + 0.5) / 256.0
  dist = Transformed(Normal(np.zeros((2, 2, 1), np.float32), 0.0, event_ndims=3), Logit())
  log_p = dist.log_prob(y)
  z, log_det = Logit().inverse_and_log_det(y)
  manual = -(Normal(np.zeros((2, 2, 1)), 0.0, event_ndims=3).log_prob(z) + log_det)
  np.testing.assert_allclose(dequantized_bits_per_dim(log_p, 4),
                             (manual + 4 * math.log(256)) / (4 * math.log(2)), rtol=1e-5)
