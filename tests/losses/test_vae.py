"""Tests for jgen.losses.vae: the maths of the VAE, IWAE and VQ-VAE objectives.

References are independent of the code under test: SciPy densities, Monte-Carlo
estimates with their standard errors, closed forms written out here, and brute force.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special
from scipy import stats

from jgen import losses


def _key(seed):
  # Every function takes any typed key; RBG keys compile ~3x faster than threefry on
  # XLA:CPU, which dominates the runtime of these small tests.
  return jax.random.key(seed, impl="rbg")


def _normal(seed, shape, scale=1.0):
  return np.random.default_rng(seed).normal(scale=scale, size=shape)


# --- Reparameterisation and KL. ---


def test_reparameterize_is_keyed_and_has_the_right_moments():
  mean = np.array([[0.5, -2.0, 0.0]], np.float32)
  log_var = np.array([[0.0, 1.5, -3.0]], np.float32)

  @jax.jit
  def draw(key):
    z = losses.reparameterize(key, mean, log_var, num_samples=200_000)
    return z, jax.random.normal(key, z.shape)

  z, eps = jax.device_get(draw(_key(0)))
  assert z.shape == (200_000, 1, 3)
  # No hidden RNG: z = μ + σ·ε with ε exactly jax.random.normal(key).
  np.testing.assert_allclose(z, mean + np.exp(0.5 * log_var) * eps, rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(z, draw(_key(0))[0])
  assert not np.allclose(z, draw(_key(1))[0])

  z, std = np.asarray(z, np.float64), np.exp(0.5 * log_var)
  assert np.all(np.abs(z.mean(0) - mean) < 4 * std / math.sqrt(len(z)))
  np.testing.assert_allclose(z.std(0), std, rtol=1e-2)
  # Without num_samples: the broadcast shape of the parameters.
  shape = jax.eval_shape(
      lambda k: losses.reparameterize(k, jnp.zeros((4, 1)), jnp.zeros(3)), jax.random.key(0))
  assert shape.shape == (4, 3)


def _kl_formula(mu, log_var):
  """½ Σ (σ² + μ² − 1 − log σ²), as in Kingma & Welling (2014), Appendix B."""
  return 0.5 * np.sum(np.exp(log_var) + mu**2 - 1.0 - log_var, axis=-1)


def _monte_carlo(samples):
  """Mean and standard error over the leading (sample) axis."""
  return samples.mean(0), samples.std(0) / math.sqrt(len(samples))


def test_gaussian_kl_matches_formula_and_monte_carlo():
  mu, log_var = _normal(0, (3, 4)), _normal(1, (3, 4), 0.8)
  with jax.enable_x64(True):
    kl, z = jax.device_get(jax.jit(lambda key: (
        losses.gaussian_kl(mu, log_var),
        losses.reparameterize(key, mu, log_var, num_samples=200_000)))(_key(2)))
  assert kl.shape == (3,)
  np.testing.assert_allclose(kl, _kl_formula(mu, log_var), rtol=1e-12)
  # E_q[log q(z) − log p(z)] with SciPy's densities and 200k samples of q.
  log_q = stats.norm.logpdf(z, mu, np.exp(0.5 * log_var)).sum(-1)
  log_p = stats.norm.logpdf(z).sum(-1)
  estimate, stderr = _monte_carlo(log_q - log_p)
  assert np.all(np.abs(estimate - kl) < 4 * stderr), (estimate, kl, stderr)


def test_gaussian_kl_event_ndims_and_accuracy_near_zero():
  mu, log_var = _normal(3, (2, 3, 3, 4)), _normal(4, (2, 3, 3, 4))
  lv_small = np.float32(1e-3)
  spatial, near_zero = jax.jit(lambda m, v, s: (
      losses.gaussian_kl(m, v, event_ndims=3),
      losses.gaussian_kl(jnp.zeros((1, 8)), jnp.full((1, 8), s))))(
          mu.astype(np.float32), log_var.astype(np.float32), lv_small)
  # Spatial latents: event_ndims=3 sums (h, w, c).
  np.testing.assert_allclose(
      spatial, _kl_formula(mu.reshape(2, -1), log_var.reshape(2, -1)), rtol=1e-5)
  # Unused latent dims sit at σ² ≈ 1, μ ≈ 0, where float32 σ² − 1 − log σ² is 5% off
  # for log σ² = 1e-3; expm1(log σ²) − log σ² is within 1e-3.
  exact = 8 * 0.5 * (math.expm1(float(lv_small)) - float(lv_small))  # ≈ 2.0e-6
  naive = 8 * 0.5 * (np.exp(lv_small) - np.float32(1) - lv_small)
  assert abs(naive - exact) > 1e-2 * exact
  np.testing.assert_allclose(near_zero, [exact], rtol=1e-3)


def _kl_between_formula(mq, lvq, mp, lvp):
  vq, vp = np.exp(lvq), np.exp(lvp)
  return 0.5 * np.sum(lvp - lvq + (vq + (mq - mp) ** 2) / vp - 1.0, axis=-1)


def test_gaussian_kl_between():
  params = [_normal(s, (5, 3), 0.8) for s in range(10, 14)]
  mq, lvq, mp, lvp = params

  def everything(key):
    kl = losses.gaussian_kl_between(mq, lvq, mp, lvp)
    # Changing any one of the four parameters away from q = p makes the KL > 0.
    perturbed = jnp.stack([
        losses.gaussian_kl_between(*[mq, lvq, mq, lvq][:i], [mq, lvq, mq, lvq][i] + 1e-2,
                                   *[mq, lvq, mq, lvq][i + 1:]) for i in range(4)])
    return dict(
        kl=kl,
        standard_p=losses.gaussian_kl_between(mq, lvq, 0.0, 0.0),  # scalars broadcast
        gaussian_kl=losses.gaussian_kl(mq, lvq),
        self=losses.gaussian_kl_between(mq, lvq, mq, lvq),
        perturbed=perturbed,
        reverse=losses.gaussian_kl_between(mp, lvp, mq, lvq),
        z=losses.reparameterize(key, mq, lvq, num_samples=200_000))

  with jax.enable_x64(True):
    out = jax.device_get(jax.jit(everything)(_key(3)))
  kl = out["kl"]
  np.testing.assert_allclose(kl, _kl_between_formula(mq, lvq, mp, lvp), rtol=1e-12)
  np.testing.assert_allclose(out["standard_p"], out["gaussian_kl"], rtol=1e-15)
  # KL(q‖p) ≥ 0 with equality iff q = p; asymmetric in general.
  np.testing.assert_array_equal(out["self"], 0.0)
  assert np.all(out["perturbed"] > 0) and np.all(kl > 0)
  assert not np.allclose(kl, out["reverse"])
  z = out["z"]
  log_q = stats.norm.logpdf(z, mq, np.exp(0.5 * lvq)).sum(-1)
  log_p = stats.norm.logpdf(z, mp, np.exp(0.5 * lvp)).sum(-1)
  estimate, stderr = _monte_carlo(log_q - log_p)
  assert np.all(np.abs(estimate - kl) < 4 * stderr), (estimate, kl, stderr)


# --- Log-likelihoods. ---


def test_bernoulli_log_likelihood_matches_scipy_and_formula():
  rng = np.random.default_rng(20)
  logits = rng.normal(scale=3.0, size=(4, 5, 5, 1)).astype(np.float32)
  x_bin = (rng.uniform(size=logits.shape) < 0.4).astype(np.float32)
  x = rng.uniform(size=logits.shape).astype(np.float32)
  binary, continuous, per_row, stacked = jax.device_get(jax.jit(lambda lg, xb, x: (
      losses.bernoulli_log_likelihood(lg, xb),
      losses.bernoulli_log_likelihood(lg, x),
      losses.bernoulli_log_likelihood(lg, x, event_ndims=2),
      losses.bernoulli_log_likelihood(jnp.stack([lg, -lg]), x)))(logits, x_bin, x))
  probs = special.expit(logits.astype(np.float64))
  assert binary.shape == (4,)
  np.testing.assert_allclose(
      binary, stats.bernoulli.logpmf(x_bin, probs).sum(axis=(1, 2, 3)), rtol=1e-5)
  # Continuous targets in [0, 1]: the cross-entropy formula, as written.
  naive = (x * np.log(probs) + (1 - x) * np.log(1 - probs)).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(continuous, naive, rtol=1e-5)
  # event_ndims=2 keeps (B, H); a sample axis on the logits broadcasts and is kept.
  assert per_row.shape == (4, 5)
  np.testing.assert_allclose(per_row.sum(-1), naive, rtol=1e-5)
  assert stacked.shape == (2, 4)
  np.testing.assert_allclose(stacked[0], naive, rtol=1e-5)


def test_bernoulli_log_likelihood_is_stable_at_extreme_logits():
  logits = jnp.array([[1e4, -1e4, 1e4, -1e4]])
  x = jnp.array([[1.0, 0.0, 0.0, 1.0]])
  value, grad = jax.jit(jax.value_and_grad(
      lambda lg: losses.bernoulli_log_likelihood(lg, x).sum()))(logits)
  np.testing.assert_allclose(value, -2e4)
  np.testing.assert_allclose(grad, [[0.0, 0.0, -1.0, 1.0]])  # x − σ(l), finite.


def test_gaussian_log_likelihood_matches_scipy():
  x, mean, log_var = (_normal(s, (3, 4, 2)) for s in (30, 31, 32))
  with jax.enable_x64(True):
    got, shared = jax.device_get(jax.jit(lambda x, m, v: (
        losses.gaussian_log_likelihood(x, m, v),
        losses.gaussian_log_likelihood(x, m, math.log(0.3))))(x, mean, log_var))
  np.testing.assert_allclose(
      got, stats.norm.logpdf(x, mean, np.exp(0.5 * log_var)).sum(axis=(1, 2)), rtol=1e-12)
  # One shared learned variance (a scalar log_var), against the formula as written.
  naive = -0.5 * (np.log(2 * np.pi * 0.3) + (x - mean) ** 2 / 0.3)
  np.testing.assert_allclose(shared, naive.sum(axis=(1, 2)), rtol=1e-12)

  # Finite values and gradients for extreme variances in float32.
  def total(m, v):
    return losses.gaussian_log_likelihood(jnp.ones((1, 4)), m, v).sum()

  value, grads = jax.jit(jax.value_and_grad(total, (0, 1)))(
      jnp.zeros((1, 4)), jnp.array([[-60.0, -20.0, 0.0, 40.0]]))
  assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


# --- Discretized logistic (PixelCNN++). ---


def _bin_centres(num_bins):
  return (2.0 * np.arange(num_bins) / (num_bins - 1) - 1.0)


def _ref_log_probs(x, mu, s, num_bins=256):
  """log P(bin) in float64 as a difference of logistic CDFs (survival functions right of μ)."""
  h = 1.0 / (num_bins - 1)
  lo, hi = (x - h - mu) / s, (x + h - mu) / s
  # Take the difference of whichever tail is small, so float64 does not cancel.
  left = stats.logistic.cdf(hi) - stats.logistic.cdf(lo)
  right = stats.logistic.sf(lo) - stats.logistic.sf(hi)
  with np.errstate(divide="ignore"):
    interior = np.log(np.where(x < mu, left, right))
  return np.where(x < -1 + h, stats.logistic.logcdf(hi),
                  np.where(x > 1 - h, stats.logistic.logsf(lo), interior))


_dlogistic_jit = jax.jit(
    losses.discretized_logistic_log_likelihood, static_argnames=("num_bins", "event_ndims"))


def _dlogistic(*args, **kwargs):
  return np.asarray(_dlogistic_jit(*args, **kwargs))


@pytest.mark.parametrize("num_bins", [256, 32, 2])
def test_discretized_logistic_bins_sum_to_one(num_bins):
  centres = _bin_centres(num_bins)
  mu, log_s = (a.ravel() for a in np.meshgrid(
      [-1.3, -1.0, -0.37, 0.0, 0.2, 0.999, 1.0, 2.5], [-9.0, -5.0, -2.0, 0.0, 3.0, 60.0]))
  # Last column: a tiny scale centred on a bin, which must get all the mass.
  target = num_bins // 3
  mu, log_s = np.append(mu, centres[target]), np.append(log_s, -10.0)
  log_probs = _dlogistic(centres[:, None].astype(np.float32), mu[None].astype(np.float32),
                         log_s[None].astype(np.float32), num_bins=num_bins, event_ndims=0)
  assert log_probs.shape == (num_bins, mu.size)
  np.testing.assert_allclose(special.logsumexp(log_probs, axis=0), 0.0, atol=1e-5)
  np.testing.assert_allclose(log_probs[target, -1], 0.0, atol=1e-6)
  assert np.all(np.delete(log_probs[:, -1], target) < -50)


def test_discretized_logistic_matches_float64_cdf_differences():
  k = np.array([0, 1, 2, 50, 127, 128, 200, 253, 254, 255])
  x = _bin_centres(256)[k]
  # Moderate parameters, and far tails (P ~ e^-140) where a float32
  # log(σ(a) − σ(b)) would cancel to log 0.
  for mu, s in [(0.1, 0.05), (-0.6, 0.3), (0.95, 1.7), (0.9, 0.01), (-0.9, 0.01)]:
    got = _dlogistic(x[:, None].astype(np.float32), np.float32(mu), np.float32(np.log(s)),
                     event_ndims=0)[:, 0]
    np.testing.assert_allclose(got, _ref_log_probs(x, mu, s), rtol=2e-5, atol=2e-5)


def test_discretized_logistic_tiny_bins_use_the_midpoint_density():
  # Huge scales make the bin width 2h/s tiny (underflowing in float32 at log s = 100):
  # P(bin) → pdf(centre)·2h, PixelCNN++'s fallback.
  x = _bin_centres(256)[[1, 100, 254]]
  for log_s in (20.0, 60.0, 100.0):
    got = _dlogistic(x[:, None].astype(np.float32), np.float32(0.3), np.float32(log_s),
                     event_ndims=0)[:, 0]
    midpoint = np.log(2 / 255) + stats.logistic.logpdf((x - 0.3) / np.exp(log_s)) - log_s
    np.testing.assert_allclose(got, midpoint, rtol=1e-6)


def test_discretized_logistic_is_finite_for_extreme_parameters():
  x = _bin_centres(256)[[0, 1, 128, 254, 255], None].astype(np.float32)
  mu, log_s = np.meshgrid([-1e4, -3.0, 0.0, 0.5, 3.0, 1e4], [-30.0, -7.0, 0.0, 7.0, 100.0])

  def total(m, s):
    values = losses.discretized_logistic_log_likelihood(x, m, s, event_ndims=0)
    return values.sum(), values

  (_, values), grads = jax.device_get(jax.jit(jax.value_and_grad(total, (0, 1), has_aux=True))(
      mu.ravel()[None].astype(np.float32), log_s.ravel()[None].astype(np.float32)))
  assert np.all(np.isfinite(values)) and np.all(values <= 0)
  assert all(np.all(np.isfinite(g)) for g in grads)


def test_discretized_logistic_sums_over_event_dims():
  rng = np.random.default_rng(40)
  x = _bin_centres(256)[rng.integers(0, 256, (3, 4, 4, 3))].astype(np.float32)
  mu, log_s = rng.normal(size=(2, 3, 4, 4, 3)).astype(np.float32)
  per_pixel = _dlogistic(x, mu, log_s, event_ndims=0)
  np.testing.assert_allclose(
      _dlogistic(x, mu, log_s), per_pixel.sum(axis=(1, 2, 3)), rtol=1e-6)


# --- ELBO and IWAE. ---


def test_elbo_values_and_parts():
  ll, kl = np.array([-90.0, -110.0, -70.0]), np.array([10.0, 20.0, 3.0])

  @jax.jit
  @chex.assert_max_traces(n=1)
  def fn(ll, kl, beta):
    return losses.elbo(ll, kl, beta=beta)

  for beta in (1.0, 0.25, 0.0):  # A traced β: a KL warm-up schedule does not retrace.
    objective, parts = fn(ll, kl, beta)
    np.testing.assert_allclose(objective, np.mean(ll - beta * kl), rtol=1e-6)
    np.testing.assert_allclose(parts["reconstruction"], ll.mean(), rtol=1e-6)
    np.testing.assert_allclose(parts["kl"], kl.mean(), rtol=1e-6)
    np.testing.assert_allclose(parts["elbo"], np.mean(ll - kl), rtol=1e-6)  # β-free.
  with pytest.raises(ValueError, match="same per-example shape"):
    losses.elbo(ll, np.ones((3, 4)))


# Linear-Gaussian latent model: z ~ N(0, I₂), x | z ~ N(Wz + b, σ²I₃), so
# x ~ N(b, WWᵀ + σ²I) and the exact posterior is N(m, S) with S = (I + WᵀW/σ²)⁻¹,
# m = S Wᵀ(x − b)/σ². The diagonal q below is deliberately off (shifted mean, inflated
# and diagonalised covariance).
_W = np.array([[1.0, 0.5], [-0.3, 0.8], [0.6, -0.7]])
_B = np.array([0.2, -0.1, 0.3])
_SIGMA2 = 0.25
_X = np.array([[0.5, 0.2, -0.4], [1.5, -1.0, 0.8], [-0.8, 0.6, 1.2]])
_S = np.linalg.inv(np.eye(2) + _W.T @ _W / _SIGMA2)
_M = (_X - _B) @ _W @ _S.T / _SIGMA2
_MEAN_Q = _M + np.array([0.3, -0.2])
_LOG_VAR_Q = np.log(np.diag(_S) * 1.5) * np.ones((3, 1))
_LOG_PX = stats.multivariate_normal(_B, _W @ _W.T + _SIGMA2 * np.eye(3)).logpdf(_X)


def _log_weights(z, mean_q, log_var_q):
  """log p(x|z) + log p(z) − log q(z|x) for z of shape (..., B, 2)."""
  log_lik = losses.gaussian_log_likelihood(_X, z @ _W.T + _B, math.log(_SIGMA2), event_ndims=1)
  log_prior = losses.gaussian_log_likelihood(z, 0.0, 0.0, event_ndims=1)
  log_q = losses.gaussian_log_likelihood(z, mean_q, log_var_q, event_ndims=1)
  return log_lik + log_prior - log_q


def _expected_log_lik(mean_q, log_var_q):
  """E_q[log p(x|z)] in closed form: −½ d log 2πσ² − ½ (‖x − b − Wμ‖² + tr(W V Wᵀ))/σ²."""
  resid = _X - _B - mean_q @ _W.T
  trace = (jnp.exp(log_var_q) * jnp.sum(_W**2, axis=0)).sum(-1)
  return -1.5 * math.log(2 * math.pi * _SIGMA2) - 0.5 * ((resid**2).sum(-1) + trace) / _SIGMA2


def test_iwae_bound_tightens_to_log_evidence():
  @jax.jit
  def bounds(key):
    # The analytic ELBO: E_q log p(x|z) − KL(q‖prior), with gaussian_kl.
    out = {"elbo": _expected_log_lik(_MEAN_Q, _LOG_VAR_Q)
                   - losses.gaussian_kl(_MEAN_Q, _LOG_VAR_Q)}
    # One draw, split into disjoint groups: 20000 bounds with k = 1, 10000 with k = 10
    # and 100 with k = 1000.
    z = losses.reparameterize(key, _MEAN_Q, _LOG_VAR_Q, num_samples=220_000)
    log_w = _log_weights(z, _MEAN_Q, _LOG_VAR_Q)  # (220000, B)
    start = 0
    for k, reps in [(1, 20_000), (10, 10_000), (1000, 100)]:
      out[f"k={k}"] = losses.iwae_bound(log_w[start:start + k * reps].reshape(k, reps, 3))
      start += k * reps
    return out

  with jax.enable_x64(True):
    out = jax.device_get(bounds(_key(5)))
  # The same ELBO as log p(x) − KL(q‖exact posterior) (diagonal vs full-covariance).
  s_inv, var_q, d = np.linalg.inv(_S), np.exp(_LOG_VAR_Q), _M - _MEAN_Q
  kl_post = 0.5 * ((np.diag(s_inv) * var_q).sum(-1) + np.einsum("bi,ij,bj->b", d, s_inv, d)
                   - 2 + np.log(np.linalg.det(_S)) - _LOG_VAR_Q.sum(-1))
  np.testing.assert_allclose(out["elbo"], _LOG_PX - kl_post, rtol=1e-12)

  (l1, se1), (l10, se10), (l1000, se1000) = (_monte_carlo(out[f"k={k}"])
                                            for k in (1, 10, 1000))
  # k = 1 is the ELBO: its Monte-Carlo mean matches the closed form.
  assert np.all(np.abs(l1 - out["elbo"]) < 4 * se1)
  assert np.all(_LOG_PX - l1 > 0.5)  # q is far enough off for the test to mean something.
  # Increasing in k (by more than 4 standard errors), and → log p(x).
  assert np.all(l10 - l1 > 4 * np.hypot(se1, se10))
  assert np.all(l1000 - l10 > 4 * np.hypot(se10, se1000))
  assert np.all(l10 < _LOG_PX - 0.02)
  np.testing.assert_allclose(l1000, _LOG_PX, atol=0.012)


def test_iwae_bound_basic_properties():
  w = _normal(50, (7, 5), 2.0).astype(np.float32)
  w_k1 = w[:1]
  fns = jax.jit(lambda w, w_k1: (
      losses.iwae_bound(w), losses.iwae_bound(w.T, axis=-1), losses.iwae_bound(w_k1),
      losses.iwae_bound(jnp.full((4, 2), 3.0)), losses.iwae_bound(jnp.log(jnp.array([[1.0, 3.0]])),
                                                                axis=1),
      losses.iwae_bound(jnp.array([[1e4], [1e4]]))))
  got, transposed, k1, constant, hand, huge = jax.device_get(fns(w, w_k1))
  np.testing.assert_allclose(got, special.logsumexp(w, axis=0) - math.log(7), rtol=1e-5)
  assert np.all(got >= w.mean(0))  # Jensen: log E[e^w] ≥ E[w].
  np.testing.assert_allclose(transposed, got)
  np.testing.assert_allclose(k1, w[0])  # k = 1: the weight itself.
  np.testing.assert_allclose(constant, [3.0, 3.0], rtol=1e-6)
  np.testing.assert_allclose(hand, [math.log(2.0)], rtol=1e-6)  # log((1 + 3)/2)
  np.testing.assert_allclose(huge, [1e4])  # logsumexp: no overflow.


def test_reparameterized_elbo_gradient_matches_the_analytic_gradient():
  """∇ of the Monte-Carlo ELBO (through reparameterize) vs ∇ of its closed form."""

  def mc_objective(m, v, key):
    z = losses.reparameterize(key, m, v, num_samples=5_000)  # (n, B, 2)
    ll = losses.gaussian_log_likelihood(_X, z @ _W.T + _B, math.log(_SIGMA2), event_ndims=1)
    return losses.elbo(ll, jnp.broadcast_to(losses.gaussian_kl(m, v), ll.shape))[0]

  def analytic_objective(m, v):
    return losses.elbo(_expected_log_lik(m, v), losses.gaussian_kl(m, v))[0]

  @jax.jit
  def grads(m, v, keys):
    kl_grads = jax.grad(lambda m, v: losses.gaussian_kl(m, v).sum(), (0, 1))(m, v)
    mc = jax.vmap(jax.grad(mc_objective, (0, 1)), (None, None, 0))(m, v, keys)
    return kl_grads, mc, jax.grad(analytic_objective, (0, 1))(m, v)

  with jax.enable_x64(True):
    kl_grads, mc, want = jax.device_get(
        grads(_MEAN_Q, _LOG_VAR_Q, jax.random.split(_key(6), 20)))
  # The closed-form KL's gradient is (μ, ½(σ² − 1)).
  np.testing.assert_allclose(kl_grads[0], _MEAN_Q, rtol=1e-12)
  np.testing.assert_allclose(kl_grads[1], 0.5 * np.expm1(_LOG_VAR_Q), rtol=1e-12)
  # The reparameterised gradient is unbiased: 20 independent estimates average to it.
  for g, w in zip(mc, want, strict=True):
    assert np.all(np.isfinite(g))
    mean, stderr = _monte_carlo(g)
    assert np.all(np.abs(mean - w) < 4 * stderr + 1e-9), (mean, w, stderr)


# --- Argument checking. ---


def test_errors():
  with pytest.raises(ValueError, match="num_samples"):
    losses.reparameterize(_key(0), np.zeros(2), np.zeros(2), num_samples=0)
  with pytest.raises(ValueError, match="event_ndims"):
    losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)), event_ndims=3)
  with pytest.raises(ValueError, match="do not broadcast"):
    losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 4)))
  with pytest.raises(ValueError, match="batch dimension"):
    losses.bernoulli_log_likelihood(np.zeros(()), np.zeros(()))
  with pytest.raises(ValueError, match="num_bins"):
    losses.discretized_logistic_log_likelihood(np.zeros((2, 3)), 0.0, 0.0, num_bins=1)
  with pytest.raises(ValueError, match="out of range"):
    losses.iwae_bound(np.zeros((3, 2)), axis=2)
