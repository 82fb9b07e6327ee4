"""Tests for GANState and gan_train_step (single device; pmap in test_gan_step_pmap.py)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jgen import losses
from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.train import rng
from jgen.train.gan_state import create_gan_state
from jgen.train.gan_step import gan_loss_pair
from jgen.train.gan_step import gan_train_step

LATENT = 4


def _mlp_state(g_tx=None, d_tx=None, use_ema=False, seed=0):
  return create_gan_state(
      jax.random.key(seed), MLPGenerator(hidden=(16, 16)), MLPDiscriminator(hidden=(16, 16)),
      g_tx or optax.adam(1e-2), d_tx or optax.adam(1e-2), latent_dim=LATENT,
      data_shape=(2,), use_ema=use_ema)


def _batch(n_critic=1, b=8, seed=0):
  return jnp.asarray(np.random.default_rng(seed).normal(size=(n_critic, b, 2)), jnp.float32)


def _step(**kw):
  return jax.jit(functools.partial(gan_train_step, latent_dim=LATENT, **kw))


def _tree_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


LOSSES = ["minimax", "non_saturating", "wasserstein", "wgan_gp", "hinge", "least_squares",
          "f_gan:jensen_shannon", "f_gan:alpha=0.5"]


@pytest.mark.parametrize("loss", LOSSES)
def test_step_updates_both_players_and_reports_metrics(loss):
  state = _mlp_state()
  n_critic = 2 if loss.startswith("w") else 1
  new, metrics = _step(loss=loss, n_critic=n_critic)(state, _batch(n_critic))
  assert int(new.step) == 1
  assert not _tree_equal(new.g_params, state.g_params)
  assert not _tree_equal(new.d_params, state.d_params)
  for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm",
               "d_param_norm", "g_param_norm"):
    assert np.isfinite(metrics[name]), name
  if loss == "wgan_gp":
    assert "gp" in metrics
  if loss in ("minimax", "non_saturating"):
    assert 0 < metrics["d_real_prob"] < 1


def test_step_loss_values_match_the_loss_library():
  """d_loss/g_loss are the jgen losses at the step's own samples (SGD lr 0: no change)."""
  zero = optax.sgd(0.0)
  state = _mlp_state(g_tx=zero, d_tx=zero)
  real = _batch()
  new, metrics = _step(loss="hinge")(state, real)
  # Recompute with the step's keys: with n_critic = 1 the D update and the G update
  # share one generator pass, from z = normal(fold_in(fold_in(key, step), n_critic)).
  step_key = jax.random.fold_in(state.base_key, 0)
  z = jax.random.normal(jax.random.fold_in(step_key, 1), (8, LATENT))
  fake = state.g_apply({"params": state.g_params}, z)
  d = functools.partial(state.d_apply, {"params": state.d_params})
  np.testing.assert_allclose(
      metrics["d_loss"], losses.hinge_discriminator_loss(d(real[0]), d(fake)), rtol=1e-6)
  np.testing.assert_allclose(metrics["g_loss"], losses.hinge_generator_loss(d(fake)),
                             rtol=1e-6)
  assert _tree_equal(new.g_params, state.g_params)


def test_generator_gradient_equals_direct_differentiation():
  """The kept-vjp generator gradient is the gradient of L_G(D'(G(z))) w.r.t. G."""
  sgd = optax.sgd(1.0)  # New params = old − grad: the gradient is readable.
  state = _mlp_state(g_tx=sgd, d_tx=optax.sgd(0.0))
  new, _ = _step(loss="non_saturating")(state, _batch())
  z = jax.random.normal(jax.random.fold_in(jax.random.fold_in(state.base_key, 0), 1),
                        (8, LATENT))

  def g_loss(g_params):
    fake = state.g_apply({"params": g_params}, z)
    return losses.non_saturating_generator_loss(state.d_apply({"params": state.d_params}, fake))

  want = jax.grad(g_loss)(state.g_params)
  got = jax.tree.map(lambda old, new: old - new, state.g_params, new.g_params)
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-6)


def test_each_update_touches_only_its_own_player():
  frozen = optax.set_to_zero()
  state = _mlp_state(g_tx=frozen)
  new, _ = _step(loss="non_saturating")(state, _batch())
  assert _tree_equal(new.g_params, state.g_params)  # Only D moved...
  assert not _tree_equal(new.d_params, state.d_params)
  state = _mlp_state(d_tx=frozen)
  new, metrics = _step(loss="non_saturating")(state, _batch())
  assert _tree_equal(new.d_params, state.d_params)  # ...and only G moved.
  assert not _tree_equal(new.g_params, state.g_params)
  assert metrics["d_grad_norm"] > 0  # D's gradient existed; its optimizer dropped it.


def test_same_key_same_result_and_different_seed_differs():
  step = _step(loss="wgan_gp", n_critic=2)
  a, _ = step(_mlp_state(), _batch(2))
  b, _ = step(_mlp_state(), _batch(2))
  c, _ = step(_mlp_state(seed=1), _batch(2))
  assert _tree_equal(a, b)
  assert not _tree_equal(a.g_params, c.g_params)


def test_weight_clipping_and_ema():
  state = _mlp_state(d_tx=optax.sgd(10.0), use_ema=True)
  new, _ = _step(loss="wasserstein", clip_value=0.05, ema_decay=0.9)(state, _batch())
  assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(new.d_params)) <= np.float32(0.05)
  # EMA at step 0 with warm-up: decay = min(0.9, 1/10) = 0.1.
  want = jax.tree.map(lambda o, n: 0.1 * o + 0.9 * n, state.g_params, new.g_params)
  chex.assert_trees_all_close(new.g_ema_params, want, rtol=1e-6)
  # At step 1000 the configured decay applies: 0.9·old + 0.1·new.
  late = state.replace(step=jnp.int32(1000))
  new, _ = _step(loss="wasserstein", clip_value=0.05, ema_decay=0.9)(late, _batch())
  want = jax.tree.map(lambda o, n: 0.9 * o + 0.1 * n, late.g_params, new.g_params)
  chex.assert_trees_all_close(new.g_ema_params, want, rtol=1e-5)


def test_no_retrace_on_second_call():
  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, batch):
    return gan_train_step(state, batch, loss="non_saturating", latent_dim=LATENT)

  state = _mlp_state()
  state, _ = step(state, _batch(seed=0))
  state, _ = step(state, _batch(seed=1))
  assert int(state.step) == 2


def test_dcgan_batch_stats_update_in_the_generator_step():
  state = create_gan_state(
      jax.random.key(0), DCGANGenerator(base_features=8), DCGANDiscriminator(base_features=8),
      optax.adam(1e-3), optax.adam(1e-3), latent_dim=LATENT, data_shape=(28, 28, 1))
  real = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (1, 4, 28, 28, 1)), jnp.float32)
  new, metrics = _step(loss="non_saturating")(state, real)
  assert state.g_batch_stats and not _tree_equal(new.g_batch_stats, state.g_batch_stats)
  assert np.isfinite(metrics["g_loss"])


def test_bad_inputs_raise_clear_errors():
  with pytest.raises(ValueError, match="'wgan'.*wgan_gp"):
    gan_loss_pair("wgan")
  with pytest.raises(ValueError, match="valid names"):
    gan_loss_pair("f_gan:chi")
  with pytest.raises(ValueError, match="n_critic=2"):
    _step(loss="hinge", n_critic=2)(_mlp_state(), _batch(1))
  with pytest.raises(ValueError, match="Unconditional players \\(num_classes=0\\) take no"):
    _step(loss="hinge")(_mlp_state(), _batch(1), jnp.zeros((1, 8), jnp.int32))


CLASSES = 3
_ZOO = dict(base_features=8, num_classes=CLASSES, spectral_norm=True, attention_resolution=14)


def _zoo_state():
  """Conditional BN + projection, spectral norm and attention in both players."""
  return create_gan_state(
      jax.random.key(0), DCGANGenerator(conditioning="cbn", **_ZOO),
      DCGANDiscriminator(conditioning="projection", **_ZOO), optax.adam(1e-3),
      optax.adam(1e-3), latent_dim=LATENT, data_shape=(28, 28, 1), num_classes=CLASSES)


def _zoo_batch(b=4):
  gen = np.random.default_rng(0)
  return (jnp.asarray(gen.uniform(-1, 1, (1, b, 28, 28, 1)), jnp.float32),
          jnp.asarray(gen.integers(0, CLASSES, (1, b)), jnp.int32))


def test_conditional_step_gives_labels_to_both_players():
  state = _zoo_state()
  real, labels = _zoo_batch()
  new, metrics = _step(loss="hinge", num_classes=CLASSES)(state, real, labels)

  # D saw the real images with their own labels ...
  d_old = functools.partial(state.d_apply, state.discriminator_variables(), train=False)
  np.testing.assert_allclose(metrics["d_real"], d_old(real[0], labels[0]).mean(), rtol=1e-5)
  assert abs(float(d_old(real[0], (labels[0] + 1) % CLASSES).mean() - metrics["d_real"])) > 1e-6

  # ... and G drew its latents and uniform labels from the step's key; the generator
  # loss is the hinge loss of the updated D on G(z, y) with those labels.
  step_key = rng.step_key(state.base_key, state.step)
  z = jax.random.normal(jax.random.fold_in(step_key, 1), (4, LATENT))
  y = jax.random.randint(jax.random.fold_in(step_key, 2), (4,), 0, CLASSES)
  fake, _ = state.g_apply(state.generator_variables(), z, y, train=True,
                          mutable=["batch_stats"])
  d_new = functools.partial(new.d_apply, new.discriminator_variables(), train=False)
  np.testing.assert_allclose(metrics["g_loss"], losses.hinge_generator_loss(d_new(fake, y)),
                             rtol=1e-4)


def test_spectral_norm_vectors_are_the_discriminators_model_state():
  state = _zoo_state()
  real, labels = _zoo_batch()
  assert state.d_batch_stats  # u and σ of every D weight, outside the params.
  assert jax.tree.structure(state.d_opt_state[0].mu) == jax.tree.structure(state.d_params)
  new, _ = _step(loss="hinge", num_classes=CLASSES)(state, real, labels)
  # Exactly one power-iteration step, the one D's training pass on real data takes.
  _, expected = state.d_apply(state.discriminator_variables(), real[0], labels[0],
                              train=True, mutable=["batch_stats"])
  for a, b in zip(jax.tree.leaves(new.d_batch_stats), jax.tree.leaves(expected["batch_stats"]),
                  strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  assert not _tree_equal(new.d_batch_stats, state.d_batch_stats)
  # Sampling and scoring leave it alone.
  _, unchanged = state.d_apply(state.discriminator_variables(), real[0], labels[0],
                               train=False, mutable=["batch_stats"])
  assert _tree_equal(unchanged["batch_stats"], state.d_batch_stats)


def test_conditional_step_needs_labels_of_the_batch_shape():
  real, labels = _zoo_batch()
  with pytest.raises(ValueError, match="num_classes=3: conditional players need"):
    _step(loss="hinge", num_classes=CLASSES)(_zoo_state(), real)
  with pytest.raises(ValueError, match="integers of shape \\(n_critic, B\\) = \\(1, 4\\)"):
    _step(loss="hinge", num_classes=CLASSES)(_zoo_state(), real, labels[0])
  with pytest.raises(ValueError, match="got float32"):
    _step(loss="hinge", num_classes=CLASSES)(_zoo_state(), real, labels.astype(jnp.float32))


def test_conditional_wgan_gp_scores_interpolates():
  state = _zoo_state()
  real, labels = _zoo_batch()
  _, metrics = _step(loss="wgan_gp", num_classes=CLASSES)(state, real, labels)
  assert np.isfinite(metrics["gp"]) and metrics["gp"] > 0


def test_orthogonal_regularisation_adds_its_gradient_to_the_generators():
  """With SGD the two updates differ by exactly lr·β·∇R(θ_G)."""
  state = _mlp_state(g_tx=optax.sgd(0.1))
  plain, _ = _step(loss="hinge")(state, _batch())
  beta = 1e-2
  regular, metrics = _step(loss="hinge", g_orthogonal_weight=beta)(state, _batch())
  np.testing.assert_allclose(metrics["g_orthogonal"],
                             losses.orthogonal_regularization(state.g_params), rtol=1e-6)
  expected = jax.tree.map(lambda p, g: p - 0.1 * beta * g, plain.g_params,
                          jax.grad(losses.orthogonal_regularization)(state.g_params))
  for a, b in zip(jax.tree.leaves(regular.g_params), jax.tree.leaves(expected), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  assert _tree_equal(regular.d_params, plain.d_params)
