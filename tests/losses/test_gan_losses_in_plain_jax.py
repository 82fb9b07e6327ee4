"""The GAN losses reused on their own: a 1-D GAN in plain JAX + optax, no jgen training code."""

import functools

import jax
import jax.numpy as jnp
import optax
import pytest

from jgen import losses

DATA_MEAN, DATA_STD = 3.0, 0.5


def _init_mlp(key, sizes):
  params = []
  pairs = zip(sizes[:-1], sizes[1:], strict=True)
  for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), pairs, strict=True):
    params.append((jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in), jnp.zeros(n_out)))
  return params


def _mlp(params, x):
  for w, b in params[:-1]:
    x = jax.nn.leaky_relu(x @ w + b, 0.2)
  w, b = params[-1]
  return (x @ w + b)[:, 0]


def _generator(params, z):
  return params["scale"] * z + params["shift"]  # (B, 1): G(z) = a·z + b.


def _loss_pair(name, gp_weight):
  """(d_loss(d_params, real, fake, key), g_loss(fake_logits)) from jgen.losses only."""
  def plain(d_fn):
    return lambda d_params, real, fake, key: d_fn(_mlp(d_params, real), _mlp(d_params, fake))

  if name == "non_saturating":
    return plain(losses.minimax_discriminator_loss), losses.non_saturating_generator_loss
  if name == "hinge":
    return plain(losses.hinge_discriminator_loss), losses.hinge_generator_loss
  if name == "least_squares":
    return plain(losses.least_squares_discriminator_loss), losses.least_squares_generator_loss
  if name == "f_gan_kl":
    return (plain(functools.partial(losses.f_gan_discriminator_loss, divergence="kl")),
            functools.partial(losses.f_gan_generator_loss, divergence="kl"))
  if name == "wgan_gp":
    def d_loss(d_params, real, fake, key):
      critic = functools.partial(_mlp, d_params)
      return (losses.wasserstein_critic_loss(critic(real), critic(fake))
              + gp_weight * losses.gradient_penalty(critic, real, fake, key))
    return d_loss, losses.wasserstein_generator_loss
  raise ValueError(name)


def _train(name, steps=800, batch=256, seed=0, gp_weight=10.0, g_lr=1e-2, d_lr=1e-2, b1=0.5):
  d_loss_fn, g_loss_fn = _loss_pair(name, gp_weight)
  # WGAN-GP trains the critic closer to optimality: 5 critic steps per G step.
  n_critic = 5 if name == "wgan_gp" else 1
  key_d, key_run = jax.random.split(jax.random.key(seed))
  g_params = {"scale": jnp.ones(()), "shift": jnp.zeros(())}
  d_params = _init_mlp(key_d, [1, 32, 32, 1])
  # A decaying step size lets the two-player dynamics settle instead of orbiting.
  g_opt, d_opt = (optax.adam(optax.cosine_decay_schedule(lr, steps), b1=b1, b2=0.9)
                  for lr in (g_lr, d_lr))
  state = (g_params, d_params, g_opt.init(g_params), d_opt.init(d_params))

  def step(state, step_key):
    g_params, d_params, g_state, d_state = state
    d_key, k_z2 = jax.random.split(step_key)

    def d_step(carry, key):
      d_params, d_state = carry
      k_real, k_z, k_gp = jax.random.split(key, 3)
      real = DATA_MEAN + DATA_STD * jax.random.normal(k_real, (batch, 1))
      fake = _generator(g_params, jax.random.normal(k_z, (batch, 1)))
      d_grads = jax.grad(d_loss_fn)(d_params, real, fake, k_gp)
      d_updates, d_state = d_opt.update(d_grads, d_state)
      return (optax.apply_updates(d_params, d_updates), d_state), None

    (d_params, d_state), _ = jax.lax.scan(
        d_step, (d_params, d_state), jax.random.split(d_key, n_critic))

    def g_loss(g_params):
      return g_loss_fn(_mlp(d_params, _generator(g_params, jax.random.normal(k_z2, (batch, 1)))))
    g_updates, g_state = g_opt.update(jax.grad(g_loss)(g_params), g_state)
    return (optax.apply_updates(g_params, g_updates), d_params, g_state, d_state), None

  keys = jax.random.split(key_run, steps)
  (g_params, *_), _ = jax.jit(lambda s: jax.lax.scan(step, s, keys))(state)
  return float(g_params["shift"]), abs(float(g_params["scale"]))


@pytest.mark.parametrize("name", ["non_saturating", "hinge", "least_squares", "f_gan_kl"])
def test_plain_jax_gan_learns_a_gaussian(name):
  mean, std = _train(name)
  # Starting from N(0, 1): the generator must move to the data's N(3, 0.5²).
  assert abs(mean - DATA_MEAN) < 0.3, (mean, std)
  assert abs(std - DATA_STD) < 0.25, (mean, std)


def test_plain_jax_wgan_gp_critic_estimates_wasserstein_distance():
  """A critic trained on the WGAN-GP objective recovers W₁(p, q).

  p = N(3, 0.5²), q = N(0, 1): W₁ = E|3 + 0.5z − z| = 3 (to 1e-8). With the soft
  penalty the optimal linear critic has slope 1 + W₁/(2λ) = 1.15, so the critic's
  estimate E_p[f] − E_q[f] is 3·1.15 ≈ 3.45 and the penalty (0.15)² ≈ 0.02.
  """
  d_loss_fn, _ = _loss_pair("wgan_gp", 10.0)
  d_params = _init_mlp(jax.random.key(0), [1, 32, 32, 1])
  # Zero last layer: the critic starts flat, so no random initial slope sign traps it
  # in the penalty's local minimum with the wrong orientation.
  d_params[-1] = jax.tree.map(jnp.zeros_like, d_params[-1])
  opt = optax.adam(1e-3, b1=0.5, b2=0.9)

  def step(carry, key):
    d_params, opt_state = carry
    k_real, k_fake, k_gp = jax.random.split(key, 3)
    real = DATA_MEAN + DATA_STD * jax.random.normal(k_real, (512, 1))
    fake = jax.random.normal(k_fake, (512, 1))
    updates, opt_state = opt.update(jax.grad(d_loss_fn)(d_params, real, fake, k_gp), opt_state)
    return (optax.apply_updates(d_params, updates), opt_state), None

  keys = jax.random.split(jax.random.key(1), 1500)
  (d_params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, keys))((d_params, opt.init(d_params)))

  z = jax.random.normal(jax.random.key(2), (20000, 1))
  real, fake = DATA_MEAN + DATA_STD * z, z
  critic = functools.partial(_mlp, d_params)
  estimate = float(critic(real).mean() - critic(fake).mean())
  penalty = float(losses.gradient_penalty(critic, real, fake, jax.random.key(3)))
  assert 3.0 < estimate < 3.7, estimate
  assert penalty < 0.06, penalty
