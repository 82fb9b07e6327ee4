"""Tests for jgen.losses.gan: formulas, reductions, stability and GAN theory."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy import special
from scipy import stats

from jgen import losses

_SIGMOID = special.expit


def _np_log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


# Direct NumPy formulas, elementwise, as written in the papers. Each entry:
# name -> (loss fn, number of inputs, elementwise reference).
_TWO_SIDED = {
    "minimax_d": (
        losses.minimax_discriminator_loss,
        lambda r, f: (-np.log(_SIGMOID(r)), -np.log(1.0 - _SIGMOID(f)))),
    "wasserstein_critic": (losses.wasserstein_critic_loss, lambda r, f: (-r, f)),
    "hinge_d": (
        losses.hinge_discriminator_loss,
        lambda r, f: (np.maximum(0.0, 1.0 - r), np.maximum(0.0, 1.0 + f))),
    "least_squares_d": (
        losses.least_squares_discriminator_loss,
        lambda r, f: (0.5 * (r - 1.0) ** 2, 0.5 * f**2)),
    "f_gan_js_d": (
        lambda r, f, **kw: losses.f_gan_discriminator_loss(r, f, "jensen_shannon", **kw),
        lambda r, f: (-(math.log(2.0) - np.log1p(np.exp(-r))),
                      -np.log(2.0 - np.exp(math.log(2.0) - np.log1p(np.exp(-f)))))),
}
_ONE_SIDED = {
    "minimax_g": (losses.minimax_generator_loss, lambda f: np.log(1.0 - _SIGMOID(f))),
    "non_saturating_g": (losses.non_saturating_generator_loss,
                         lambda f: -np.log(_SIGMOID(f))),
    "wasserstein_g": (losses.wasserstein_generator_loss, lambda f: -f),
    "hinge_g": (losses.hinge_generator_loss, lambda f: -f),
    "least_squares_g": (losses.least_squares_generator_loss, lambda f: 0.5 * (f - 1.0) ** 2),
    "f_gan_kl_g": (lambda f, **kw: losses.f_gan_generator_loss(f, "kl", **kw),
                   lambda f: -np.exp(f - 1.0)),
}


def _logits(seed, shape, scale=3.0):
  return np.random.default_rng(seed).normal(scale=scale, size=shape).astype(np.float32)


@pytest.mark.parametrize("name", sorted(_TWO_SIDED))
def test_two_sided_losses_match_formula(name):
  loss_fn, ref = _TWO_SIDED[name]
  real, fake = _logits(0, (8, 3, 3)), _logits(1, (8, 3, 3))
  ref_real, ref_fake = ref(real.astype(np.float64), fake.astype(np.float64))
  per_example = ref_real.mean(axis=(1, 2)) + ref_fake.mean(axis=(1, 2))

  got_none = jax.jit(lambda r, f: loss_fn(r, f, reduction="none"))(real, fake)
  assert got_none.shape == (8,)
  np.testing.assert_allclose(got_none, per_example, rtol=2e-5, atol=1e-5)
  np.testing.assert_allclose(jax.jit(loss_fn)(real, fake), per_example.mean(), rtol=2e-5)
  # Patch-shaped == flat: the mean runs over batch and patch dims alike.
  np.testing.assert_allclose(
      loss_fn(real, fake), loss_fn(real.reshape(-1), fake.reshape(-1)), rtol=1e-6)
  # Different batch sizes are fine for the default reduction: E_real + E_fake.
  np.testing.assert_allclose(
      loss_fn(real, fake[:3]), ref_real.mean() + ref_fake[:3].mean(), rtol=2e-5)


@pytest.mark.parametrize("name", sorted(_ONE_SIDED))
def test_one_sided_losses_match_formula(name):
  loss_fn, ref = _ONE_SIDED[name]
  fake = _logits(2, (8, 2, 5))
  per_example = ref(fake.astype(np.float64)).mean(axis=(1, 2))
  got_none = jax.jit(lambda f: loss_fn(f, reduction="none"))(fake)
  assert got_none.shape == (8,)
  np.testing.assert_allclose(got_none, per_example, rtol=2e-5, atol=1e-5)
  np.testing.assert_allclose(jax.jit(loss_fn)(fake), per_example.mean(), rtol=2e-5)
  np.testing.assert_allclose(loss_fn(fake), loss_fn(fake.reshape(-1)), rtol=1e-6)


def test_reference_values():
  zeros = jnp.zeros(4)
  np.testing.assert_allclose(losses.minimax_discriminator_loss(zeros, zeros), 2 * math.log(2))
  np.testing.assert_allclose(losses.minimax_generator_loss(zeros), -math.log(2))
  np.testing.assert_allclose(losses.non_saturating_generator_loss(zeros), math.log(2))
  np.testing.assert_allclose(
      losses.hinge_discriminator_loss(jnp.array([2.0, 0.5]), jnp.array([-2.0, 0.5])),
      (0.0 + 0.5) / 2 + (0.0 + 1.5) / 2)
  np.testing.assert_allclose(
      losses.least_squares_discriminator_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 1.0])),
      0.5 * (0 + 4) / 2 + 0.5 * (0 + 1) / 2)
  np.testing.assert_allclose(
      losses.least_squares_generator_loss(jnp.array([3.0]), target=0.0), 4.5)
  np.testing.assert_allclose(
      losses.wasserstein_critic_loss(jnp.array([1.0, 3.0]), jnp.array([-1.0])), -1.0 - 2.0)


def test_f_gan_gan_divergence_is_the_minimax_game():
  real, fake = _logits(3, (16,)), _logits(4, (16,))
  np.testing.assert_allclose(
      losses.f_gan_discriminator_loss(real, fake, "gan"),
      losses.minimax_discriminator_loss(real, fake), rtol=1e-6)
  np.testing.assert_allclose(
      losses.f_gan_generator_loss(fake, "gan"), losses.minimax_generator_loss(fake), rtol=1e-6)


_BOUNDED_GROWTH = ["total_variation", "pearson_chi2", "jensen_shannon", "gan"]


def _all_losses_at(x):
  """Every loss, as a function of one logit array used for both real and fake."""
  fns = [
      lambda v: losses.minimax_discriminator_loss(v, v),
      losses.minimax_generator_loss,
      losses.non_saturating_generator_loss,
      lambda v: losses.wasserstein_critic_loss(v, v),
      losses.wasserstein_generator_loss,
      lambda v: losses.hinge_discriminator_loss(v, v),
      losses.hinge_generator_loss,
      lambda v: losses.least_squares_discriminator_loss(v, v),
      losses.least_squares_generator_loss,
  ]
  for name in _BOUNDED_GROWTH:
    fns.append(lambda v, n=name: losses.f_gan_discriminator_loss(v, v, n))
    fns.append(lambda v, n=name: losses.f_gan_generator_loss(v, n))
  fns.append(lambda v: losses.f_gan_discriminator_loss(v, v, "alpha", alpha=2.0))
  return [(fn(x), jax.grad(fn)(x)) for fn in fns]


def test_finite_values_and_gradients_at_extreme_logits():
  x = jnp.array([-1e4, -50.0, 0.0, 50.0, 1e4])
  for value, grad in _all_losses_at(x):
    assert np.isfinite(value), value
    assert np.all(np.isfinite(grad)), grad


def test_stable_forms_are_exact_where_naive_underflows():
  # log(1 − sigmoid(40)) = −40 − log(1 + e^−40); the naive float32 form gives -inf.
  np.testing.assert_allclose(losses.minimax_generator_loss(jnp.array([40.0])), -40.0)
  np.testing.assert_allclose(losses.non_saturating_generator_loss(jnp.array([-40.0])), 40.0)
  # The non-saturating gradient stays -1 per unit logit when D rejects hard.
  np.testing.assert_allclose(
      jax.grad(losses.non_saturating_generator_loss)(jnp.array([-1e4])), [-1.0])


def test_errors_name_the_bad_value():
  with pytest.raises(ValueError, match=r"trailing.*\(4, 2\).*\(4, 3\)"):
    losses.minimax_discriminator_loss(jnp.zeros((4, 2)), jnp.zeros((4, 3)))
  with pytest.raises(ValueError, match="'sum'.*mean, none"):
    losses.hinge_generator_loss(jnp.zeros(3), reduction="sum")
  with pytest.raises(ValueError, match="equal batch sizes"):
    losses.hinge_discriminator_loss(jnp.zeros(3), jnp.zeros(2), reduction="none")
  with pytest.raises(ValueError, match="batch dimension"):
    losses.non_saturating_generator_loss(jnp.float32(0.0))
  with pytest.raises(ValueError, match="'chi'.*jensen_shannon"):
    losses.f_gan_generator_loss(jnp.zeros(3), "chi")
  with pytest.raises(ValueError, match="alpha="):
    losses.f_gan_generator_loss(jnp.zeros(3), "alpha")
  with pytest.raises(ValueError, match="alpha=1.0"):
    losses.f_gan_generator_loss(jnp.zeros(3), "alpha", alpha=1.0)
  with pytest.raises(ValueError, match="takes no parameters"):
    losses.f_gan_generator_loss(jnp.zeros(3), "kl", alpha=2.0)
  with pytest.raises(ValueError, match="same shape"):
    losses.gradient_penalty(lambda x: x.sum(-1), jnp.zeros((2, 3)), jnp.zeros((3, 3)),
                            jax.random.key(0))


# --- Theory on two 1-D Gaussians, p = N(0.3, 0.8²) (data) and q = N(−0.2, 1) (model). ---

_P, _Q = stats.norm(0.3, 0.8), stats.norm(-0.2, 1.0)


def _quantile_points(dist, n=200_000):
  """Points whose uniform average is a midpoint quadrature of E_dist[·]."""
  return dist.ppf((np.arange(n) + 0.5) / n)


def _optimal_logit(x):
  """logit D*(x) = log p(x) − log q(x) for D* = p/(p + q)."""
  return _P.logpdf(x) - _Q.logpdf(x)


def _jsd(p, q):
  def integrand(x):
    px, qx = p.pdf(x), q.pdf(x)
    m = 0.5 * (px + qx)
    return 0.5 * (special.xlogy(px, px / m) + special.xlogy(qx, qx / m))
  return integrate.quad(integrand, -20, 20, limit=200)[0]


def test_minimax_value_at_optimal_discriminator_is_2jsd_minus_log4():
  with jax.enable_x64(True):
    real = jnp.asarray(_optimal_logit(_quantile_points(_P)))
    fake = jnp.asarray(_optimal_logit(_quantile_points(_Q)))
    value = -float(losses.minimax_discriminator_loss(real, fake))
  np.testing.assert_allclose(value, 2 * _jsd(_P, _Q) - math.log(4), atol=2e-4)
  # Any other discriminator (here D* with shifted logits) scores a lower value.
  with jax.enable_x64(True):
    for shift in (-0.5, 0.3):
      assert -float(losses.minimax_discriminator_loss(real + shift, fake + shift)) < value


def _generator_grad(loss_fn, theta):
  """d/dθ of loss_fn(logit*(z + θ)) for q_θ = N(θ, 1) against p = N(0, 1), D* fixed."""
  z = jnp.asarray(_quantile_points(stats.norm(0.0, 1.0), 10_000))

  def loss(t):
    x = z + t
    # log p(x) − log q(x) for the two unit Gaussians, D* frozen at q = N(θ, 1).
    logit = -0.5 * x**2 + 0.5 * (x - theta) ** 2
    return loss_fn(logit)

  return float(jax.grad(loss)(jnp.float64(theta)))


def test_generator_gradients_point_towards_the_data():
  with jax.enable_x64(True):
    for theta in (0.5, 2.0):
      # θ > 0: descending the loss must move θ down, towards the data at 0.
      assert _generator_grad(losses.non_saturating_generator_loss, theta) > 0
      assert _generator_grad(losses.minimax_generator_loss, theta) > 0
    for theta in (-0.5, -2.0):
      assert _generator_grad(losses.non_saturating_generator_loss, theta) < 0
    # Far from the data, D* rejects the samples: the minimax loss saturates while
    # the non-saturating one keeps a gradient of about θ (Goodfellow et al. §3).
    ns, mm = (_generator_grad(fn, 6.0) for fn in (
        losses.non_saturating_generator_loss, losses.minimax_generator_loss))
  assert ns == pytest.approx(6.0, rel=0.05)
  assert 0 < mm < 0.01 * ns


# --- Gradient penalty. ---


@pytest.mark.parametrize("norm", [1.0, 0.3, 2.5])
def test_gradient_penalty_of_linear_critic(norm):
  rng = np.random.default_rng(0)
  w = rng.normal(size=(2, 3, 2)).astype(np.float32)
  w *= norm / np.linalg.norm(w)
  real, fake = rng.normal(size=(2, 5, 2, 3, 2)).astype(np.float32)

  def critic(x):
    return jnp.einsum("bijk,ijk->b", x, w) + 0.7

  gp = jax.jit(lambda r, f, k: losses.gradient_penalty(critic, r, f, k))(
      real, fake, jax.random.key(1))
  np.testing.assert_allclose(gp, (norm - 1.0) ** 2, atol=1e-5)
  per_example = losses.gradient_penalty(critic, real, fake, jax.random.key(1),
                                        target_norm=2.0, reduction="none")
  np.testing.assert_allclose(per_example, np.full(5, (norm - 2.0) ** 2), atol=1e-5)


def test_gradient_penalty_matches_per_example_gradients():
  rng = np.random.default_rng(1)
  w1 = rng.normal(size=(3, 8)).astype(np.float32)

  def critic_single(x):  # (3,) -> ()
    return jnp.sum(jnp.tanh(x @ w1))

  def critic(x):  # (B, 3) -> (B, 2) patch-shaped scores, averaged per example.
    s = jax.vmap(critic_single)(x)
    return jnp.stack([s, 3.0 * s], axis=1)

  real, fake = rng.normal(size=(2, 6, 3)).astype(np.float32)
  key = jax.random.key(7)
  got = losses.gradient_penalty(critic, real, fake, key, reduction="none")

  eps = jax.random.uniform(key, (6, 1))
  x_hat = eps * real + (1 - eps) * fake
  grads = jax.vmap(jax.grad(lambda x: 2.0 * critic_single(x)))(x_hat)  # mean(s, 3s) = 2s
  want = (np.linalg.norm(grads, axis=1) - 1.0) ** 2
  np.testing.assert_allclose(got, want, rtol=1e-5)
  other = losses.gradient_penalty(critic, real, fake, jax.random.key(8), reduction="none")
  assert not np.allclose(got, other)


def test_gradient_penalty_gradient_is_finite_at_zero_critic_gradient():
  def loss(w):
    return losses.gradient_penalty(
        lambda x: x @ w, jnp.ones((2, 3)), jnp.zeros((2, 3)), jax.random.key(0))
  g = jax.grad(loss)(jnp.zeros(3))
  assert np.all(np.isfinite(g))
