"""Tests for jgen.distributions.Normal against a float64 density and Monte Carlo.

One ``jax.jit`` per test (eager dispatch compiles each primitive and dominates small
tests on CPU); shapes are checked with ``jax.eval_shape``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.distributions import Normal


def _key(seed):
  # RBG keys compile faster than threefry on XLA:CPU.
  return jax.random.key(seed, impl="rbg")


def _reference_log_density(x, loc, log_var):
  """The Gaussian log-density in float64, written with σ rather than log σ²."""
  x, loc = np.asarray(x, np.float64), np.asarray(loc, np.float64)
  std = np.exp(0.5 * np.asarray(log_var, np.float64))
  return -np.log(std * np.sqrt(2 * np.pi)) - 0.5 * ((x - loc) / std) ** 2


def test_log_prob_matches_the_gaussian_density():
  rng = np.random.default_rng(0)
  loc, log_var, x = rng.normal(size=(3, 2, 3, 4, 5)).astype(np.float32)
  # One jit for the three event_ndims (a static field: each its own trace).
  got = jax.jit(lambda m, v, x: [
      Normal(m, v, event_ndims=n).log_prob(x) for n in (0, 1, 3)])(loc, log_var, x)
  want = _reference_log_density(x, loc, log_var)
  for event_ndims, value in zip((0, 1, 3), got, strict=True):
    assert value.shape == loc.shape[:4 - event_ndims]
    np.testing.assert_allclose(
        value, want.sum(axis=tuple(range(4 - event_ndims, 4))), rtol=1e-5)


def test_scalar_log_var_and_a_sample_axis_broadcast():
  loc = np.array([[0.0, 1.0, -2.0]], np.float32)
  d = Normal(loc, np.log(4.0).astype(np.float32), event_ndims=1)
  got = jax.jit(lambda d, x: d.log_prob(x))(d, np.zeros((5, 1, 3), np.float32))
  assert got.shape == (5, 1)  # a leading sample axis
  np.testing.assert_allclose(
      got[0], _reference_log_density(0.0, loc, np.log(4.0)).sum(-1), rtol=1e-6)
  assert jax.eval_shape(d.mean).shape == jax.eval_shape(d.mode).shape == (1, 3)


def test_sample_moments_mean_and_mode():
  loc, log_var = np.array([0.5, -2.0, 0.0], np.float32), np.array([0.0, 1.5, -3.0], np.float32)
  samples, mean, mode = jax.jit(lambda d, key: (d.sample(key, (50_000,)), d.mean(), d.mode()))(
      Normal(loc, log_var), _key(0))
  samples, std = np.asarray(samples, np.float64), np.exp(0.5 * log_var.astype(np.float64))
  assert samples.shape == (50_000, 3)
  assert np.all(np.abs(samples.mean(0) - loc) < 4 * std / np.sqrt(len(samples)))
  np.testing.assert_allclose(samples.std(0), std, rtol=2e-2)
  np.testing.assert_array_equal(mean, loc)
  np.testing.assert_array_equal(mode, loc)


def test_shapes_and_pytree_round_trip():
  loc, log_var = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.zeros((2, 3), np.float32)
  d = Normal(loc, log_var, event_ndims=1)
  for sample_shape, want in [((), (2, 3)), ((4,), (4, 2, 3)), ((2, 5), (2, 5, 2, 3))]:
    assert jax.eval_shape(lambda k, s=sample_shape: d.sample(k, s), _key(0)).shape == want
  made, vmapped, direct = jax.jit(lambda d, x: (
      Normal(d.loc + 1.0, d.log_var, event_ndims=1),
      jax.vmap(lambda d, x: d.log_prob(x))(d, x), d.log_prob(x)))(d, np.ones((2, 3)))
  assert isinstance(made, Normal) and made.event_ndims == 1
  np.testing.assert_array_equal(made.loc, loc + 1.0)
  np.testing.assert_allclose(vmapped, direct)


def test_bad_parameters_raise():
  with pytest.raises(ValueError, match=r"loc \(2, 3\), log_var \(3, 2\)"):
    jax.eval_shape(lambda: Normal(jnp.zeros((2, 3)), jnp.zeros((3, 2))).log_prob(0.0))
  with pytest.raises(ValueError, match=r"event_ndims must be an int in \[0, 2\].*got 3"):
    jax.eval_shape(lambda k: Normal(jnp.zeros((2, 3)), 0.0, event_ndims=3).sample(k), _key(0))
