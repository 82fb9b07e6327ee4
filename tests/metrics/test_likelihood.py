"""IWAE log-likelihood estimates on a linear-Gaussian model with a closed-form log p(x)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special
from scipy import stats

from jgen.metrics import bits_per_dim
from jgen.metrics import importance_weighted_log_likelihood

# z ~ N(0, I₂), x | z ~ N(W z + b, s² I₃)  ⇒  x ~ N(b, W Wᵀ + s² I).
W = np.array([[1.0, 0.5], [-0.3, 0.8], [0.2, -1.0]])
B_VEC, S2 = np.array([0.1, -0.2, 0.3]), 0.25


def _log_likelihood(z, x):
  mean = z @ W.T + B_VEC
  return -0.5 * jnp.sum(jnp.log(2 * jnp.pi * S2) + jnp.square(x - mean) / S2, axis=-1)


def _exact_posterior(x):
  precision = np.eye(2) + W.T @ W / S2
  cov = np.linalg.inv(precision)
  mean = (x - B_VEC) @ W @ cov.T / S2
  return jnp.asarray(mean), jnp.broadcast_to(jnp.log(jnp.diag(cov)), mean.shape)


@pytest.fixture(name="x")
def _x():
  return np.random.default_rng(0).normal(size=(5, 3))


def _true_log_px(x):
  return stats.multivariate_normal(B_VEC, W @ W.T + S2 * np.eye(3)).logpdf(x)


def test_exact_when_q_is_a_good_posterior(x):
  """With a (near-)exact posterior every weight is ≈ log p(x): the estimate is tight."""
  with jax.enable_x64(True):
    log_px, elbo = importance_weighted_log_likelihood(
        _exact_posterior, _log_likelihood, jnp.asarray(x), jax.random.key(0),
        num_samples=200, chunk_size=50)
  # The mean-field q differs from the full-covariance posterior only slightly.
  np.testing.assert_allclose(log_px, _true_log_px(x), atol=0.01)
  assert np.all(np.asarray(elbo) <= np.asarray(log_px) + 1e-9)


def test_converges_to_log_px_as_k_grows_with_a_poor_posterior(x):
  def poor_q(x):
    mean, log_var = _exact_posterior(x)
    return 0.5 * mean, log_var + 1.0  # Shrunk means, inflated variances.

  with jax.enable_x64(True):
    run = functools.partial(importance_weighted_log_likelihood, poor_q, _log_likelihood,
                            jnp.asarray(x), jax.random.key(1))
    gaps = [float(np.mean(_true_log_px(x) - np.asarray(run(num_samples=k, chunk_size=c)[0])))
            for k, c in ((1, 1), (10, 5), (5000, 500))]
  assert gaps[0] > gaps[1] > gaps[2] >= -0.01, gaps
  assert gaps[2] < 0.02, gaps


def test_streaming_logsumexp_over_chunks_equals_the_direct_one(x):
  """Four chunks of 25 give exactly log-mean-exp of the same 100 weights."""
  x = jnp.asarray(x)
  with jax.enable_x64(True):
    key = jax.random.key(2)
    log_px, elbo = importance_weighted_log_likelihood(
        _exact_posterior, _log_likelihood, x, key, num_samples=100, chunk_size=25)
    mean, log_var = _exact_posterior(x)
    weights = []
    for chunk_key in jax.random.split(key, 4):  # The function's own key schedule.
      z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(chunk_key, (25, *mean.shape))
      log_prior = stats.norm.logpdf(np.asarray(z)).sum(-1)
      log_q = stats.norm.logpdf(np.asarray(z), np.asarray(mean),
                                np.exp(0.5 * np.asarray(log_var))).sum(-1)
      weights.append(np.asarray(jax.vmap(lambda zc: _log_likelihood(zc, x))(z))
                     + log_prior - log_q)
    w = np.concatenate(weights)
  np.testing.assert_allclose(log_px, special.logsumexp(w, axis=0) - np.log(100), rtol=1e-10)
  np.testing.assert_allclose(elbo, w.mean(axis=0), rtol=1e-10)
  with pytest.raises(ValueError, match="chunk_size=30 must divide num_samples=100"):
    importance_weighted_log_likelihood(_exact_posterior, _log_likelihood, x, key,
                                       num_samples=100, chunk_size=30)


def test_bits_per_dim():
  np.testing.assert_allclose(bits_per_dim(784 * np.log(2.0), 784), 1.0)
