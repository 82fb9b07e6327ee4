"""Minimal hand-written JAX train steps: the yardstick jgen's steps are timed against.

Each builder takes a config and jgen's initial state for it, and shares only the Flax
module with jgen (its ``apply`` function and initial parameters, including the
distribution the module returns). Everything else is what a JAX user writes by hand
for the same model and update: preprocessing in the step, one random draw per step
for the whole batch, the loss in closed form, ``optax`` Adam at a constant rate, the
loss as the only output, ``jax.jit`` with the state donated. None of jgen's promises
(device-count independence, metrics, resumable key streams) are kept.

``build(config, state) -> (step, state)``, ``state, loss = step(state, batch)``, where
``batch`` is what jgen's step receives without its device axis: ``{'image': uint8
(B, H, W, C)}`` (GANs: ``(n_critic, B, H, W, C)``), plus ``'label'`` for
class-conditional models.
"""

import functools
import math

import jax
import jax.numpy as jnp
import optax

_FLOWS = ("realnvp_mlp", "maf", "realnvp", "glow")


def _preprocess(images, kind: str, key):
  """uint8 images → model data, one draw for the batch where the kind is random."""
  x = images.astype(jnp.float32)
  if kind in ("binary", "levels"):
    return x
  if kind == "unit":
    return x / 255.0
  if kind == "symmetric":
    return x / 127.5 - 1.0
  if kind == "dynamic_binarize":
    return (jax.random.uniform(key, x.shape) < x / 255.0).astype(jnp.float32)
  if kind == "dequantize":
    return (x + jax.random.uniform(key, x.shape)) / 256.0
  raise ValueError(f"minimal_steps: no preprocessing {kind!r}.")


def _jit(loss_fn, tx, params, seed: int = 0):
  """``(step, state)``: one Adam update of ``loss_fn(params, batch, key)``, jitted."""
  base = jax.random.key(seed)

  @functools.partial(jax.jit, donate_argnums=0)
  def step(state, batch):
    params, opt_state, t = state
    loss, grads = jax.value_and_grad(loss_fn)(params, batch, jax.random.fold_in(base, t))
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, t + 1), loss

  return step, (params, tx.init(params), jnp.zeros((), jnp.int32))


def vae(config, state):
  """The VAE (one reparameterised sample) or IWAE (k samples) of an MLP/conv VAE."""
  apply, kind = state.apply_fn, config.data.preprocess
  iwae, k = config.loss.objective == "iwae", config.loss.num_samples

  def loss_fn(params, batch, key):
    v = {"params": params}
    x = _preprocess(batch["image"], kind, jax.random.fold_in(key, 1))
    mean, log_var = apply(v, x, method="encode")
    std = jnp.exp(0.5 * log_var)
    if not iwae:
      z = mean + std * jax.random.normal(key, mean.shape)
      ll = apply(v, z, method="decode").log_prob(x)
      kl = 0.5 * jnp.sum(jnp.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)
      return jnp.mean(kl - ll)
    eps = jax.random.normal(key, (k, *mean.shape))
    z = mean + std * eps  # (k, B, d), decoded as one k·B batch.
    x_k = jnp.broadcast_to(x, (k, *x.shape)).reshape(-1, *x.shape[1:])
    ll = apply(v, z.reshape(-1, z.shape[-1]), method="decode").log_prob(x_k)
    # log p(z) − log q(z|x); the 2π terms cancel.
    log_w = (ll.reshape(k, -1) + jnp.sum(-0.5 * z**2 + 0.5 * eps**2 + 0.5 * log_var, -1))
    return -jnp.mean(jax.nn.logsumexp(log_w, axis=0) - math.log(k))

  return _jit(loss_fn, optax.adam(config.optim.lr), state.params)


def vqvae(config, state):
  """A one-level VQ-VAE with a learned codebook (straight-through gradients)."""
  if config.model.arch != "vq" or config.model.ema_codebook:
    raise ValueError("minimal_steps.vqvae: one level, learned codebook only.")
  apply, kind, beta = state.apply_fn, config.data.preprocess, config.loss.commitment_cost

  def loss_fn(params, batch, key):
    v = {"params": params}
    x = _preprocess(batch["image"], kind, key)
    z_e = apply(v, x, method="encode")
    book = apply(v, method="codes")
    flat = z_e.reshape(-1, z_e.shape[-1])
    dist = (jnp.sum(flat**2, 1, keepdims=True) - 2.0 * flat @ book.T
            + jnp.sum(book**2, 1))
    z_q = book[jnp.argmin(dist, axis=1)].reshape(z_e.shape)
    ll = apply(v, z_e + jax.lax.stop_gradient(z_q - z_e), method="decode").log_prob(x)
    codebook = jnp.mean((z_q - jax.lax.stop_gradient(z_e))**2)
    commitment = jnp.mean((z_e - jax.lax.stop_gradient(z_q))**2)
    return -jnp.mean(ll) + codebook + beta * commitment

  return _jit(loss_fn, optax.adam(config.optim.lr), state.params)


def likelihood(config, state):
  """−log p(x) of an exact-likelihood model: NADE, MADE, PixelCNNs, flows."""
  apply, kind, arch = state.apply_fn, config.data.preprocess, config.model.arch
  mask_key = jax.random.key(1)  # MADE: one fixed mask (the default config has one).

  def loss_fn(params, batch, key):
    v = {"params": params}
    x = _preprocess(batch["image"], kind, key)
    if arch in _FLOWS:  # log p of the dequantized data in [0, 1), per 8-bit image.
      ll = apply(v, x) - math.prod(x.shape[1:]) * math.log(256.0)
    elif arch in ("pixelcnn", "gated_pixelcnn", "row_lstm", "diagonal_bilstm"):
      ll = apply(v, x, None, method="log_prob")
    elif arch == "made":
      ll = apply(v, x, mask_key).log_prob(x)
    else:
      ll = apply(v, x).log_prob(x)
    return -jnp.mean(ll)

  return _jit(loss_fn, optax.adam(config.optim.lr), state.params)


def _softplus_mean(x):
  return jnp.mean(jax.nn.softplus(x))


# (discriminator loss, generator loss) from raw outputs.
_GAN_LOSSES = {
    "non_saturating": (lambda r, f: _softplus_mean(-r) + _softplus_mean(f),
                       lambda f: _softplus_mean(-f)),
    "hinge": (lambda r, f: jnp.mean(jax.nn.relu(1 - r)) + jnp.mean(jax.nn.relu(1 + f)),
              lambda f: -jnp.mean(f)),
}


def gan(config, state, *, num_classes: int = 0, latent_dim: int):
  """``n_critic`` D updates and one G update sharing the last G pass, with batch-norm
  (and spectral-norm) state and the generator EMA of the config."""
  d_loss_fn, g_loss_fn = _GAN_LOSSES[config.loss.name]
  n_critic, decay = config.loss.n_critic, config.training.ema_decay
  ortho = config.loss.get("g_orthogonal_weight", 0.0)

  def adam(lr):
    return optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)

  g_tx, d_tx = adam(config.optim.g_lr), adam(config.optim.d_lr)

  def player(apply, params, stats, x, labels, train):
    args = (x,) if labels is None else (x, labels)
    v = {"params": params, "batch_stats": stats}
    if not train:
      return apply(v, *args, train=False), stats
    out, new = apply(v, *args, train=True, mutable=["batch_stats"])
    return out, new.get("batch_stats", {})

  def ortho_loss(params):  # BigGAN: ‖WᵀW ⊙ (1 − I)‖² over the G kernels.
    total = 0.0
    for w in jax.tree.leaves(params):
      if w.ndim > 1:
        w = w.reshape(-1, w.shape[-1])
        gram = w.T @ w
        total += jnp.sum((gram * (1.0 - jnp.eye(gram.shape[0])))**2)
    return total

  base = jax.random.key(0)

  @functools.partial(jax.jit, donate_argnums=0)
  def step(s, batch):
    (g_p, d_p, g_opt, d_opt, g_bs, d_bs, ema, t) = s
    real = batch["image"].astype(jnp.float32) / 127.5 - 1.0
    b = real.shape[1]
    key = jax.random.fold_in(base, t)
    labels = batch.get("label")
    g_labels = (jax.random.randint(jax.random.fold_in(key, 1), (b,), 0, num_classes)
                if num_classes else None)
    z = jax.random.normal(key, (b, latent_dim))
    old_g_bs = g_bs  # Earlier critic updates' G passes: their statistics are dropped.
    fake, g_vjp, g_bs = jax.vjp(
        lambda p: player(state.g_apply, p, old_g_bs, z, g_labels, True), g_p, has_aux=True)
    for i in range(n_critic):
      if i < n_critic - 1:
        zi = jax.random.normal(jax.random.fold_in(key, 2 + i), (b, latent_dim))
        fake_i = player(state.g_apply, g_p, old_g_bs, zi, g_labels, True)[0]
      else:
        fake_i = fake
      fake_i = jax.lax.stop_gradient(fake_i)
      real_labels = None if labels is None else labels[i]

      def d_loss(d_p, real_i=real[i], fake_i=fake_i, real_labels=real_labels):
        r, new_bs = player(state.d_apply, d_p, d_bs, real_i, real_labels, True)
        f, _ = player(state.d_apply, d_p, d_bs, fake_i, g_labels, True)
        return d_loss_fn(r, f), new_bs

      (_, d_bs), grads = jax.value_and_grad(d_loss, has_aux=True)(d_p)
      updates, d_opt = d_tx.update(grads, d_opt, d_p)
      d_p = optax.apply_updates(d_p, updates)
    loss, d_fake = jax.value_and_grad(
        lambda f: g_loss_fn(player(state.d_apply, d_p, d_bs, f, g_labels, False)[0]))(fake)
    (g_grads,) = g_vjp(d_fake)
    if ortho:
      g_grads = jax.tree.map(lambda g, o: g + ortho * o, g_grads, jax.grad(ortho_loss)(g_p))
    updates, g_opt = g_tx.update(g_grads, g_opt, g_p)
    g_p = optax.apply_updates(g_p, updates)
    if ema is not None:
      ema = optax.incremental_update(g_p, ema, 1.0 - decay)
    return (g_p, d_p, g_opt, d_opt, g_bs, d_bs, ema, t + 1), loss

  ema = state.g_params if decay > 0 else None
  init = (state.g_params, state.d_params, g_tx.init(state.g_params),
          d_tx.init(state.d_params), state.g_batch_stats, state.d_batch_stats, ema,
          jnp.zeros((), jnp.int32))
  return step, init
