"""Tests for jgen.distributions.Bernoulli against optax's cross-entropy and Monte Carlo.

Everything runs under one ``jax.jit`` per test (eager op-by-op dispatch compiles each
primitive and dominates small tests on CPU); shapes are checked with ``jax.eval_shape``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jgen.distributions import Bernoulli


def _key(seed):
  # RBG keys compile faster than threefry on XLA:CPU.
  return jax.random.key(seed, impl="rbg")


def test_log_prob_is_minus_optax_cross_entropy_summed_over_event_dims():
  rng = np.random.default_rng(0)
  logits = rng.normal(scale=3.0, size=(2, 3, 4, 5)).astype(np.float32)
  x = rng.integers(0, 2, size=logits.shape).astype(np.float32)
  # One jit for the three event_ndims (a static field: each its own trace).
  got, optax_value = jax.jit(lambda lg, x: (
      [Bernoulli(lg, event_ndims=n).log_prob(x) for n in (0, 1, 3)],
      -optax.sigmoid_binary_cross_entropy(lg, x)))(logits, x)
  # NumPy formula x·log σ(l) + (1 − x)·log σ(−l) in float64.
  l64 = logits.astype(np.float64)
  naive = x * -np.logaddexp(0, -l64) + (1 - x) * -np.logaddexp(0, l64)
  for event_ndims, value in zip((0, 1, 3), got, strict=True):
    event_axes = tuple(range(4 - event_ndims, 4))
    assert value.shape == logits.shape[:4 - event_ndims]
    np.testing.assert_allclose(value, np.sum(optax_value, axis=event_axes), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(value, naive.sum(axis=event_axes), rtol=1e-5, atol=1e-6)


def test_gradients_are_finite_and_exact_at_huge_logits():
  logits = np.array([-1e4, 1e4, -1e4, 1e4], np.float32)
  x = np.array([0.0, 0.0, 1.0, 1.0], np.float32)
  value, grad = jax.jit(jax.value_and_grad(
      lambda lg, x: Bernoulli(lg, event_ndims=1).log_prob(x)))(logits, x)
  np.testing.assert_allclose(value, -2e4)  # the two wrong-side logits cost 1e4 nats each.
  np.testing.assert_array_equal(grad, [0.0, -1.0, 1.0, 0.0])  # x − σ(l)


def test_sample_mean_and_mode():
  logits = np.array([[-2.0, 0.0, 1.5]], np.float32)
  samples, mean, mode = jax.jit(lambda d, key: (d.sample(key, (40_000,)), d.mean(), d.mode()))(
      Bernoulli(logits, event_ndims=1), _key(0))
  assert samples.shape == (40_000, 1, 3) and samples.dtype == jnp.float32
  assert set(np.unique(samples)) <= {0.0, 1.0}
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  np.testing.assert_allclose(mean, p, rtol=1e-6)
  assert np.all(np.abs(samples.mean(0) - p) < 4 * np.sqrt(p * (1 - p) / len(samples)))
  np.testing.assert_array_equal(mode, [[0.0, 0.0, 1.0]])  # 0 on the tie at l = 0.


def test_shapes_and_pytree_round_trip():
  logits = np.linspace(-3.0, 3.0, 6, dtype=np.float32).reshape(2, 3)
  d = Bernoulli(logits, event_ndims=1)
  for sample_shape, want in [((), (2, 3)), ((4,), (4, 2, 3)), ((2, 5), (2, 5, 2, 3))]:
    assert jax.eval_shape(lambda k, s=sample_shape: d.sample(k, s), _key(0)).shape == want
  # Through jit as an argument and out of it; vmap over the batch.
  out, made, vmapped, direct = jax.jit(lambda d, x: (
      d.replace(logits=d.logits + 1.0), Bernoulli(d.logits, event_ndims=1),
      jax.vmap(lambda d, x: d.log_prob(x))(d, x), d.log_prob(x)))(d, np.ones((2, 3)))
  assert isinstance(out, Bernoulli) and out.event_ndims == 1
  assert isinstance(made, Bernoulli) and made.event_ndims == 1
  np.testing.assert_allclose(out.logits, logits + 1.0)
  np.testing.assert_allclose(vmapped, direct)


def test_bad_event_ndims_raises():
  x = jnp.zeros((2, 3))
  with pytest.raises(ValueError, match=r"event_ndims must be an int in \[0, 2\].*got 3"):
    jax.eval_shape(lambda: Bernoulli(x, event_ndims=3).log_prob(x))
  with pytest.raises(ValueError, match="event_ndims"):
    jax.eval_shape(lambda: Bernoulli(x, event_ndims=-1).mean())
