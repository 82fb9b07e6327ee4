"""Tests for jgen.distributions.DiscretizedLogistic against SciPy and brute force over bins.

The reference bin probabilities are float64 differences of the logistic CDF (SciPy's ``expit``;
of the survival function above the location, where the CDF is near 1 and would cancel). One
``jax.jit`` per test: eager dispatch compiles each primitive and dominates on CPU.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jgen.distributions import DiscretizedLogistic


def _key(seed):
  # RBG keys compile faster than threefry on XLA:CPU.
  return jax.random.key(seed, impl="rbg")


def _centres(num_bins):
  return 2.0 * np.arange(num_bins) / (num_bins - 1) - 1.0


def _reference_probs(x, loc, log_scale, num_bins):
  """P(bin of x) in float64: CDF differences, the edge bins taking the tails."""
  x, loc, scale = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (x, loc, np.exp(
      np.asarray(log_scale, np.float64)))))
  h = 1.0 / (num_bins - 1)
  upper, lower = x + h, x - h
  upper = np.where(x > 1 - h, np.inf, upper)
  lower = np.where(x < -1 + h, -np.inf, lower)
  # The logistic CDF σ((t − μ)/s), and its survival function σ(−(t − μ)/s).
  by_cdf = special.expit((upper - loc) / scale) - special.expit((lower - loc) / scale)
  by_sf = special.expit((loc - lower) / scale) - special.expit((loc - upper) / scale)
  return np.where(x > loc, by_sf, by_cdf)


# (loc, log_scale) pairs: locations far outside [−1, 1], scales from tiny to huge, and
# wide logistics inside [−1, 1] whose mode is an edge bin (its tail mass wins).
_LOCS = np.array([-6.5, -6.5, 0.3, 0.3, 0.62, 5.0, 1.3, -0.97, 0.1, 0.37, -0.2], np.float32)
_LOG_SCALES = np.array([-2.0, 1.0, 2.0, -3.0, -1.0, -5.0, 0.5, -4.0, 6.0, -9.0, -0.3],
                       np.float32)


def test_log_prob_matches_cdf_differences():
  rng = np.random.default_rng(0)
  shape = (2, 3, 4, 5)
  loc = rng.uniform(-1.2, 1.2, shape).astype(np.float32)
  log_scale = rng.uniform(-4.0, 0.0, shape).astype(np.float32)
  x = _centres(256)[rng.integers(0, 256, shape)].astype(np.float32)
  x[0, 0, 0, :2] = [-1.0, 1.0]  # both edge bins
  # One jit for the three event_ndims (a static field: each its own trace).
  got = jax.jit(lambda m, s, x: [
      DiscretizedLogistic(m, s, event_ndims=n).log_prob(x) for n in (0, 1, 3)])(
          loc, log_scale, x)
  want = np.log(_reference_probs(x, loc, log_scale, 256))
  for event_ndims, value in zip((0, 1, 3), got, strict=True):
    assert value.shape == shape[:4 - event_ndims]
    np.testing.assert_allclose(
        value, want.sum(axis=tuple(range(4 - event_ndims, 4))), rtol=2e-5)


def test_bins_sum_to_one_and_mean_and_mode_match_brute_force():
  @jax.jit
  def everything(loc, log_scale):
    out = {}
    for num_bins in (2, 256):  # 2: no interior bin.
      d = DiscretizedLogistic(loc, log_scale, num_bins=num_bins)
      x = _centres(num_bins)[:, None].astype(np.float32)
      out[num_bins] = jnp.exp(d.log_prob(x)), d.mean(), d.mode()
    return out

  for num_bins, (probs, mean, mode) in jax.device_get(everything(_LOCS, _LOG_SCALES)).items():
    centres = _centres(num_bins)
    want = _reference_probs(centres[:, None], _LOCS, _LOG_SCALES, num_bins)  # (bins, M)
    np.testing.assert_allclose(want.sum(0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probs.sum(0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, want, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(mean, (centres[:, None] * want).sum(0), rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(mean) <= 1.0)
    np.testing.assert_allclose(mode, centres[np.argmax(want, axis=0)], atol=1e-6)
  np.testing.assert_allclose(mean[0], -1.0, atol=1e-6)  # loc −6.5: a black pixel.
  # A wide logistic: its edge bin beats the bin nearest the location.
  nearest = centres[np.argmin(np.abs(centres[:, None] - np.clip(_LOCS, -1, 1)), axis=0)]
  assert mode[2] == 1.0 and abs(nearest[2] - 0.3) < 0.01


def test_samples_lie_on_bins_with_the_bin_probabilities():
  num_samples = 20_000

  @jax.jit
  def draw(coarse, fine, coarse_key, fine_key):
    return (coarse.sample(coarse_key, (num_samples,)), fine.sample(fine_key, (num_samples,)),
            fine.mean())

  coarse = DiscretizedLogistic(_LOCS, _LOG_SCALES, num_bins=5)
  fine = DiscretizedLogistic(_LOCS, _LOG_SCALES)
  coarse_samples, fine_samples, fine_mean = jax.device_get(draw(coarse, fine, _key(0), _key(1)))
  assert coarse_samples.shape == fine_samples.shape == (num_samples, len(_LOCS))
  for samples, num_bins in [(coarse_samples, 5), (fine_samples, 256)]:
    samples = np.asarray(samples, np.float64)
    index = (samples + 1.0) * (num_bins - 1) / 2
    np.testing.assert_allclose(index, np.round(index), atol=1e-3)
    assert np.all(np.abs(samples) <= 1.0)
  # Each bin's frequency agrees with its probability (an off-by-half rounding would not).
  probs = _reference_probs(_centres(5)[:, None], _LOCS, _LOG_SCALES, 5)
  index = np.round((np.asarray(coarse_samples) + 1.0) * 2).astype(int)
  freqs = np.stack([np.mean(index == k, axis=0) for k in range(5)])
  assert np.all(np.abs(freqs - probs) <= 4 * np.sqrt(probs * (1 - probs) / num_samples) + 1e-9)
  # Monte Carlo mean of the 256-level samples agrees with the exact mean.
  fine_samples = np.asarray(fine_samples, np.float64)
  stderr = fine_samples.std(0) / np.sqrt(num_samples)
  assert np.all(np.abs(fine_samples.mean(0) - fine_mean) <= 4 * stderr + 1e-6)


def test_shapes_and_pytree_round_trip():
  d = DiscretizedLogistic(np.zeros((2, 4, 4, 3), np.float32),
                          np.full((2, 4, 4, 3), -2.0, np.float32), num_bins=16, event_ndims=3)
  for sample_shape, want in [((), (2, 4, 4, 3)), ((5,), (5, 2, 4, 4, 3))]:
    assert jax.eval_shape(lambda k, s=sample_shape: d.sample(k, s), _key(0)).shape == want
  assert jax.eval_shape(d.mean).shape == jax.eval_shape(d.mode).shape == (2, 4, 4, 3)
  x = np.zeros((2, 4, 4, 3), np.float32)
  out, vmapped = jax.device_get(jax.jit(lambda d, x: (
      d.replace(loc=d.loc + 1.0), jax.vmap(lambda d, x: d.log_prob(x))(d, x)))(d, x))
  assert isinstance(out, DiscretizedLogistic) and (out.num_bins, out.event_ndims) == (16, 3)
  np.testing.assert_array_equal(out.loc, 1.0)
  want = np.log(_reference_probs(x, 0.0, -2.0, 16)).sum(axis=(1, 2, 3))
  assert vmapped.shape == (2,)
  np.testing.assert_allclose(vmapped, want, rtol=1e-5)


def test_bad_parameters_raise():
  zeros = jnp.zeros((2, 3))
  with pytest.raises(ValueError, match="num_bins must be an int ≥ 2; got 1"):
    jax.eval_shape(lambda: DiscretizedLogistic(zeros, zeros, num_bins=1).log_prob(zeros))
  with pytest.raises(ValueError, match=r"event_ndims must be an int in \[0, 2\].*got 3"):
    jax.eval_shape(lambda: DiscretizedLogistic(zeros, zeros, event_ndims=3).mean())
  with pytest.raises(ValueError, match=r"loc \(2, 3\), log_scale \(2, 2\)"):
    jax.eval_shape(lambda: DiscretizedLogistic(zeros, jnp.zeros((2, 2))).mode())
