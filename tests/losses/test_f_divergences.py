"""Tests for the f-divergence registry and the f-GAN losses built on it.

Every divergence of Nowozin et al. (2016, Table 1) is checked against first
principles on two 1-D Gaussians: D_f(P‖Q) = ∫ q f(p/q) by adaptive quadrature, and
the variational bound E_P[T] − E_Q[f*(T)] by quantile quadrature.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy import special
from scipy import stats

from jgen import losses

# Every divergence, with α on both sides of 0 and 1 for the α-divergence.
CASES = [(name, {}) for name in losses.F_DIVERGENCES if name != "alpha"] + [
    ("alpha", {"alpha": a}) for a in (-1.0, 0.5, 2.0, 3.0)
]
IDS = [name + "".join(f"_{k}={v}" for k, v in params.items()) for name, params in CASES]

# Data P and model Q. Equal variances keep the density ratio log-linear, so every
# D_f here is finite and every integrand has Gaussian tails (quadrature-friendly).
P, Q = stats.norm(0.6, 1.0), stats.norm(0.0, 1.0)


def _ratio(x):
  return np.exp(P.logpdf(x) - Q.logpdf(x))


def _quantile_points(dist, n=200_000):
  return dist.ppf((np.arange(n) + 0.5) / n)


def _divergence_by_quadrature(div):
  """D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx with SciPy's adaptive quadrature."""
  def integrand(x):
    return Q.pdf(x) * float(div.f(jnp.float64(_ratio(x))))
  return integrate.quad(integrand, -15, 15, limit=400, epsabs=1e-10)[0]


# Inverses of each output activation g_f, to turn the optimal critic T* = f′(p/q)
# into the optimal raw logits V* = g_f⁻¹(T*) (test-side, written independently).
def _inverse_activation(name, params, t):
  if name == "total_variation":  # ½ tanh(v) = ±½ at the optimum: saturate.
    return 60.0 * np.sign(t)
  if name in ("kl", "pearson_chi2", "jeffrey") or (name == "alpha" and params["alpha"] > 1):
    return t
  if name == "reverse_kl":  # −exp(−v)
    return -np.log(-t)
  if name in ("neyman_chi2", "squared_hellinger"):  # 1 − exp(−v)
    return -np.log1p(-t)
  # c − log(1 + e^{−v}) for c = log 2 (JS), 0 (GAN), 1/(1 − α) (α < 1).
  c = {"jensen_shannon": math.log(2.0), "gan": 0.0}.get(name)
  if c is None:
    c = 1.0 / (1.0 - params["alpha"])
  return -np.log(np.expm1(c - t))


@pytest.fixture(name="x64", autouse=True)
def _x64():
  with jax.enable_x64(True):
    yield


def test_registry_covers_the_f_gan_table():
  assert set(losses.F_DIVERGENCES) == {
      "total_variation", "kl", "reverse_kl", "pearson_chi2", "neyman_chi2",
      "squared_hellinger", "jeffrey", "jensen_shannon", "gan", "alpha"}


def test_known_closed_forms():
  """Spot checks of the registry's D_f against textbook closed forms."""
  kl = _divergence_by_quadrature(losses.get_f_divergence("kl"))
  # KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − ½.
  np.testing.assert_allclose(kl, 0.6**2 / 2, rtol=1e-7)
  # The GAN divergence is 2·JSD − log 4, and the JS entry is 2·JSD.
  js = _divergence_by_quadrature(losses.get_f_divergence("jensen_shannon"))
  gan = _divergence_by_quadrature(losses.get_f_divergence("gan"))
  np.testing.assert_allclose(gan, js - math.log(4.0), rtol=1e-7)
  # α = 2 is half the Pearson χ².
  pearson = _divergence_by_quadrature(losses.get_f_divergence("pearson_chi2"))
  alpha2 = _divergence_by_quadrature(losses.get_f_divergence("alpha", alpha=2.0))
  np.testing.assert_allclose(alpha2, pearson / 2, rtol=1e-7)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_fenchel_young_and_equality_at_f_prime(name, params):
  div = losses.get_f_divergence(name, **params)
  u = jnp.geomspace(0.05, 20.0, 41)
  t_star = div.f_prime(u)
  # Equality f*(f′(u)) = u f′(u) − f(u): the supremum is attained at u.
  np.testing.assert_allclose(
      div.conjugate(t_star), t_star * u - div.f(u), rtol=1e-9, atol=1e-9)
  # The derivative of f* at f′(u) is the maximiser u.
  if name != "total_variation":  # f′ is piecewise constant there.
    np.testing.assert_allclose(jax.vmap(jax.grad(div.conjugate))(t_star), u, rtol=1e-6)
  # Fenchel–Young f*(t) ≥ t u − f(u) for every t in dom f* (here: g_f of any logit).
  t = div.activation(jnp.linspace(-4.0, 4.0, 33))[:, None]
  assert np.all(div.conjugate(t) >= t * u[None] - div.f(u)[None] - 1e-9)
  # f(1) = 0, except for the GAN "divergence", 2·JSD − log 4, shifted by f(1) = −log 4.
  f_one = -math.log(4.0) if name == "gan" else 0.0
  np.testing.assert_allclose(div.f(jnp.float64(1.0)), f_one, atol=1e-12)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_fused_conjugate_of_activation(name, params):
  div = losses.get_f_divergence(name, **params)
  v = jnp.linspace(-6.0, 6.0, 49)
  # Table 6's activations are increasing: a larger logit means "more real".
  assert np.all(np.diff(div.activation(v)) > 0)
  np.testing.assert_allclose(
      div.conjugate_of_activation(v), div.conjugate(div.activation(v)), rtol=1e-7, atol=1e-9)


def test_jeffrey_conjugate_against_scipy_lambertw():
  div = losses.get_f_divergence("jeffrey")
  t = np.linspace(-30.0, 8.0, 77)
  w = special.lambertw(np.exp(1.0 - t)).real
  np.testing.assert_allclose(div.conjugate(jnp.asarray(t)), w + 1 / w + t - 2, rtol=1e-9)
  # Stays finite where e^{1−t} overflows.
  assert np.isfinite(div.conjugate(jnp.float64(-1e4)))


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_optimal_critic_attains_the_divergence(name, params):
  div = losses.get_f_divergence(name, **params)
  d_f = _divergence_by_quadrature(div)
  x_p, x_q = _quantile_points(P), _quantile_points(Q)
  t_p, t_q = div.f_prime(jnp.asarray(_ratio(x_p))), div.f_prime(jnp.asarray(_ratio(x_q)))
  bound = float(t_p.mean() - div.conjugate(t_q).mean())
  np.testing.assert_allclose(bound, d_f, rtol=2e-3, atol=2e-4)

  # The same through the public loss, from the optimal raw logits V* = g_f⁻¹(T*).
  v_p = jnp.asarray(_inverse_activation(name, params, np.asarray(t_p)))
  v_q = jnp.asarray(_inverse_activation(name, params, np.asarray(t_q)))
  loss_at_optimum = float(losses.f_gan_discriminator_loss(v_p, v_q, name, **params))
  np.testing.assert_allclose(-loss_at_optimum, d_f, rtol=2e-3, atol=2e-4)
  np.testing.assert_allclose(
      losses.f_gan_generator_loss(v_q, name, **params), -div.conjugate(t_q).mean(), rtol=1e-6)

  # Any other critic is a strictly lower bound: T* mixed with g_f(V) for other V
  # (dom f* is an interval, so the mixture stays in it), and other logits directly.
  for k, v_fn in enumerate((np.sin, lambda x: 0.5 * x - 0.2, lambda x: -np.cos(2 * x))):
    t_other_p = div.activation(jnp.asarray(v_fn(x_p)))
    t_other_q = div.activation(jnp.asarray(v_fn(x_q)))
    for lam in (0.2, 1.0):
      mix_p = (1 - lam) * t_p + lam * t_other_p
      mix_q = (1 - lam) * t_q + lam * t_other_q
      assert float(mix_p.mean() - div.conjugate(mix_q).mean()) < d_f - 1e-4, (k, lam)
    other_loss = losses.f_gan_discriminator_loss(
        jnp.asarray(v_fn(x_p)), jnp.asarray(v_fn(x_q)), name, **params)
    assert -float(other_loss) < d_f - 1e-4


def test_get_f_divergence_errors():
  with pytest.raises(ValueError, match="valid names: total_variation, kl"):
    losses.get_f_divergence("hellinger")
  with pytest.raises(ValueError, match=r"alpha=0.0"):
    losses.get_f_divergence("alpha", alpha=0.0)
  with pytest.raises(ValueError, match="takes alpha="):
    losses.get_f_divergence("alpha", beta=2.0)
