"""Tests for jgen.distributions.DiscretizedLogisticMixture against SciPy and brute force.

The reference is ``Σ_k π_k P_k(x)`` in float64, with ``P_k`` differences of the logistic
CDF (SciPy's ``expit``; of the survival function above the location). One ``jax.jit`` per test:
eager dispatch compiles each primitive and dominates on CPU.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jgen.distributions import DiscretizedLogistic
from jgen.distributions import DiscretizedLogisticMixture


def _key(seed):
  # RBG keys compile faster than threefry on XLA:CPU.
  return jax.random.key(seed, impl="rbg")


def _centres(num_bins):
  return 2.0 * np.arange(num_bins) / (num_bins - 1) - 1.0


def _component_probs(x, loc, log_scale, num_bins):
  """P(bin of x) under one discretised logistic, float64, the edge bins taking the tails."""
  x, loc, scale = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (x, loc, np.exp(
      np.asarray(log_scale, np.float64)))))
  h = 1.0 / (num_bins - 1)
  upper = np.where(x > 1 - h, np.inf, x + h)
  lower = np.where(x < -1 + h, -np.inf, x - h)
  # The logistic CDF σ((t − μ)/s), and its survival function σ(−(t − μ)/s).
  by_cdf = special.expit((upper - loc) / scale) - special.expit((lower - loc) / scale)
  by_sf = special.expit((loc - lower) / scale) - special.expit((loc - upper) / scale)
  return np.where(x > loc, by_sf, by_cdf)


def _mixture_probs(x, logits, locs, log_scales, num_bins):
  """``Σ_k softmax(logits)_k P_k(x)``; ``x`` broadcasts against the parameters' ``(..., K)``."""
  weights = special.softmax(np.asarray(logits, np.float64), axis=-1)
  return np.sum(weights * _component_probs(
      np.asarray(x)[..., None], locs, log_scales, num_bins), axis=-1)


# M = 5 mixtures of K = 3: a component far outside [−1, 1] on either side, a bimodal
# mixture, one dominated by a wide component, and one sharp component.
_LOGITS = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5], [0.0, 0.3, -5.0], [-1.0, 3.0, 0.0],
                    [4.0, 0.0, 0.0]], np.float32)
_LOCS = np.array([[-6.5, 0.0, 7.0], [-0.5, 0.6, 0.2], [-0.81, 0.7, 0.0], [0.1, 0.4, -0.3],
                  [0.25, -1.5, 1.5]], np.float32)
_LOG_SCALES = np.array([[-2.0, -1.0, -3.0], [-3.0, -2.5, 0.0], [-3.5, -3.5, -3.5],
                        [1.0, 2.0, -1.0], [-8.0, -1.0, -1.0]], np.float32)


def test_log_prob_matches_reference():
  rng = np.random.default_rng(0)
  shape = (2, 3, 2, 2)
  logits = rng.normal(size=shape + (3,)).astype(np.float32)
  locs = rng.uniform(-1.2, 1.2, shape + (3,)).astype(np.float32)
  log_scales = rng.uniform(-4.0, 0.0, shape + (3,)).astype(np.float32)
  x = _centres(256)[rng.integers(0, 256, shape)].astype(np.float32)
  x[0, 0, 0, :] = [-1.0, 1.0]  # both edge bins
  # One jit for the three event_ndims (a static field: each its own trace).
  got = jax.jit(lambda a, m, s, x: [
      DiscretizedLogisticMixture(a, m, s, event_ndims=n).log_prob(x) for n in (0, 1, 3)])(
          logits, locs, log_scales, x)
  want = np.log(_mixture_probs(x, logits, locs, log_scales, 256))
  for event_ndims, value in zip((0, 1, 3), got, strict=True):
    assert value.shape == shape[:4 - event_ndims]
    np.testing.assert_allclose(
        value, want.sum(axis=tuple(range(4 - event_ndims, 4))), rtol=2e-5)


def test_bins_sum_to_one_mean_and_mode_match_brute_force():
  centres = _centres(256)

  @jax.jit
  def everything(logits, locs, log_scales):
    x = centres[:, None].astype(np.float32)
    d = DiscretizedLogisticMixture(logits, locs, log_scales)
    # K = 1 is the discretised logistic itself.
    single = DiscretizedLogisticMixture(logits[:, :1], locs[:, :1], log_scales[:, :1])
    plain = DiscretizedLogistic(locs[:, 0], log_scales[:, 0])
    return jnp.exp(d.log_prob(x)), d.mean(), d.mode(), single.log_prob(x), plain.log_prob(x)

  probs, mean, mode, single, plain = jax.device_get(everything(_LOGITS, _LOCS, _LOG_SCALES))
  want = _mixture_probs(centres[:, None], _LOGITS, _LOCS, _LOG_SCALES, 256)  # (bins, M)
  np.testing.assert_allclose(want.sum(0), 1.0, rtol=1e-12)
  np.testing.assert_allclose(probs.sum(0), 1.0, rtol=1e-5)
  np.testing.assert_allclose(probs, want, rtol=1e-4, atol=1e-7)
  np.testing.assert_allclose(mean, (centres[:, None] * want).sum(0), rtol=1e-5, atol=1e-6)
  assert np.all(np.abs(mean) <= 1.0)
  np.testing.assert_allclose(mode, centres[np.argmax(want, axis=0)], atol=1e-6)
  np.testing.assert_allclose(single, plain, rtol=1e-6)


def test_samples_lie_on_bins_with_the_mixture_probabilities():
  num_samples = 20_000
  d = DiscretizedLogisticMixture(_LOGITS, _LOCS, _LOG_SCALES, num_bins=5)
  samples, mean = jax.device_get(
      jax.jit(lambda d, key: (d.sample(key, (num_samples,)), d.mean()))(d, _key(0)))
  assert samples.shape == (num_samples, len(_LOGITS))
  samples = np.asarray(samples, np.float64)
  index = (samples + 1.0) * 2.0
  np.testing.assert_allclose(index, np.round(index), atol=1e-5)
  # Each bin's frequency agrees with its mixture probability: a component drawn from the
  # wrong axis or gathered wrongly would not.
  probs = _mixture_probs(_centres(5)[:, None], _LOGITS, _LOCS, _LOG_SCALES, 5)
  freqs = np.stack([np.mean(np.round(index) == k, axis=0) for k in range(5)])
  assert np.all(np.abs(freqs - probs) <= 4 * np.sqrt(probs * (1 - probs) / num_samples) + 1e-9)
  stderr = samples.std(0) / np.sqrt(num_samples)
  assert np.all(np.abs(samples.mean(0) - mean) <= 4 * stderr + 1e-6)


def test_shapes_and_pytree_round_trip():
  logits = np.zeros((2, 4, 4, 3, 5), np.float32)
  d = DiscretizedLogisticMixture(logits, logits, logits - 2.0, num_bins=16, event_ndims=3)
  for sample_shape, want in [((), (2, 4, 4, 3)), ((5,), (5, 2, 4, 4, 3))]:
    assert jax.eval_shape(lambda k, s=sample_shape: d.sample(k, s), _key(0)).shape == want
  assert jax.eval_shape(d.mean).shape == jax.eval_shape(d.mode).shape == (2, 4, 4, 3)
  # A scalar log-scale shared by all components broadcasts.
  shared = DiscretizedLogisticMixture(logits, logits, -2.0, num_bins=16, event_ndims=3)
  x = np.zeros((2, 4, 4, 3), np.float32)
  out, vmapped, shared_value = jax.device_get(jax.jit(lambda d, shared, x: (
      d.replace(locs=d.locs + 1.0), jax.vmap(lambda d, x: d.log_prob(x))(d, x),
      shared.log_prob(x)))(d, shared, x))
  assert isinstance(out, DiscretizedLogisticMixture)
  assert (out.num_bins, out.event_ndims) == (16, 3)
  np.testing.assert_array_equal(out.locs, 1.0)
  want = np.log(_mixture_probs(x, logits, logits, logits - 2.0, 16)).sum(axis=(1, 2, 3))
  assert vmapped.shape == shared_value.shape == (2,)
  np.testing.assert_allclose(vmapped, want, rtol=1e-5)
  np.testing.assert_allclose(shared_value, want, rtol=1e-5)


def test_bad_parameters_raise():
  params = jnp.zeros((2, 3, 4))
  with pytest.raises(ValueError, match="num_bins must be an int ≥ 2; got 1"):
    jax.eval_shape(lambda: DiscretizedLogisticMixture(params, params, params, num_bins=1).mean())
  # The component axis is not a parameter dim: event_ndims ≤ 2 here.
  with pytest.raises(ValueError, match=r"event_ndims must be an int in \[0, 2\].*got 3"):
    jax.eval_shape(lambda: DiscretizedLogisticMixture(
        params, params, params, event_ndims=3).log_prob(jnp.zeros((2, 3))))
  with pytest.raises(ValueError, match=r"logits \(2, 3, 4\), locs \(2, 3, 5\)"):
    jax.eval_shape(lambda: DiscretizedLogisticMixture(params, jnp.zeros((2, 3, 5)), params).mode())
  with pytest.raises(ValueError, match="last axis of size K"):
    jax.eval_shape(lambda: DiscretizedLogisticMixture(0.0, 0.0, 0.0).log_prob(0.0))
