"""Tests for jgen.distributions.Categorical against SciPy's log-softmax and Monte Carlo.

One ``jax.jit`` per test: eager dispatch compiles each primitive and dominates on CPU.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jgen.distributions import Categorical


def _key(seed):
  # RBG keys compile faster than threefry on XLA:CPU.
  return jax.random.key(seed, impl="rbg")


def test_log_prob_matches_scipy_log_softmax():
  rng = np.random.default_rng(0)
  shape, num_classes = (2, 3, 4, 5), 7
  logits = rng.normal(scale=2.0, size=shape + (num_classes,)).astype(np.float32)
  x = rng.integers(0, num_classes, shape)
  # One jit for the three event_ndims (a static field: each its own trace).
  got = jax.jit(lambda lg, x: [
      Categorical(lg, event_ndims=n).log_prob(x) for n in (0, 1, 3)])(logits, x)
  log_probs = special.log_softmax(logits.astype(np.float64), axis=-1)
  want = np.take_along_axis(log_probs, x[..., None], axis=-1)[..., 0]
  for event_ndims, value in zip((0, 1, 3), got, strict=True):
    assert value.shape == shape[:4 - event_ndims]
    np.testing.assert_allclose(
        value, want.sum(axis=tuple(range(4 - event_ndims, 4))), rtol=1e-5)


def test_out_of_range_classes_sample_axes_and_normalisation():
  logits = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.0]], np.float32)
  d = Categorical(logits)
  x = np.array([[0, 2], [-1, 3]])  # (sample, batch)
  got, every_class = jax.device_get(jax.jit(lambda d, x: (
      d.log_prob(x), d.log_prob(jnp.arange(3)[:, None])))(d, x))
  assert got.shape == (2, 2) and every_class.shape == (3, 2)
  np.testing.assert_allclose(got[0], special.log_softmax(logits, -1)[[0, 1], [0, 2]], rtol=1e-6)
  np.testing.assert_array_equal(got[1, 0], [-np.inf, -np.inf])  # probability 0, not wrapped
  np.testing.assert_allclose(np.exp(every_class).sum(0), 1.0, rtol=1e-6)


def test_sample_mean_and_mode():
  logits = np.array([[0.0, 1.0, 2.0, -1.0], [3.0, 3.0, 0.0, 1.0]], np.float32)
  num_samples = 40_000
  samples, mean, mode = jax.device_get(jax.jit(lambda d, key: (
      d.sample(key, (num_samples,)), d.mean(), d.mode()))(Categorical(logits), _key(0)))
  assert samples.shape == (num_samples, 2) and samples.dtype == np.int32
  probs = special.softmax(logits.astype(np.float64), axis=-1)
  freqs = np.stack([np.mean(samples == k, axis=0) for k in range(4)], axis=-1)
  assert np.all(np.abs(freqs - probs) <= 4 * np.sqrt(probs * (1 - probs) / num_samples))
  np.testing.assert_allclose(mean, probs @ np.arange(4), rtol=1e-6)  # mean class index
  np.testing.assert_array_equal(mode, [2, 0])  # the first on the tie
  assert mode.dtype == np.int32


def test_shapes_and_pytree_round_trip():
  logits = np.zeros((2, 4, 4, 256), np.float32)
  d = Categorical(logits, event_ndims=2)
  for sample_shape, want in [((), (2, 4, 4)), ((3, 2), (3, 2, 2, 4, 4))]:
    assert jax.eval_shape(lambda k, s=sample_shape: d.sample(k, s), _key(0)).shape == want
  assert jax.eval_shape(d.mean).shape == jax.eval_shape(d.mode).shape == (2, 4, 4)
  x = np.zeros((2, 4, 4), np.int32)
  out, vmapped, direct = jax.device_get(jax.jit(lambda d, x: (
      d.replace(logits=d.logits + 1.0), jax.vmap(lambda d, x: d.log_prob(x))(d, x),
      d.log_prob(x)))(d, x))
  assert isinstance(out, Categorical) and out.event_ndims == 2
  np.testing.assert_array_equal(out.logits, 1.0)
  np.testing.assert_allclose(direct, 16 * np.log(1 / 256), rtol=1e-6)
  np.testing.assert_allclose(vmapped, direct, rtol=1e-6)


def test_bad_inputs_raise():
  logits = jnp.zeros((2, 3, 5))
  with pytest.raises(ValueError, match=r"event_ndims must be an int in \[0, 2\].*got 3"):
    jax.eval_shape(lambda: Categorical(logits, event_ndims=3).mode())
  with pytest.raises(ValueError, match="classes on a last axis"):
    jax.eval_shape(lambda: Categorical(0.0).mean())
  with pytest.raises(ValueError, match="integer class indices; got dtype float32"):
    jax.eval_shape(lambda: Categorical(logits).log_prob(jnp.zeros((2, 3))))
  with pytest.raises(ValueError, match=r"x \(4,\) does not broadcast .* \(2, 3\)"):
    jax.eval_shape(lambda: Categorical(logits).log_prob(jnp.zeros(4, jnp.int32)))
