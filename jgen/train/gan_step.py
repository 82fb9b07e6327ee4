"""The GAN train step: a pure state transition ``(state, batch) -> (state, metrics)``."""

from collections.abc import Callable
import functools
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp
import optax

from jgen import losses
from jgen.train import rng
from jgen.train.norms import global_norms_if
from jgen.train.gan_state import GANState
from jgen.typing import Array
from jgen.typing import PRNGKey

GAN_LOSSES = (
    "minimax", "non_saturating", "wasserstein", "wgan_gp", "hinge", "least_squares",
    "f_gan:<divergence>",
)
# Losses whose discriminator output is a logit of D(x) = sigmoid(output).
_CLASSIFIER_LOSSES = ("minimax", "non_saturating")


class GANLossPair(NamedTuple):
  """A discriminator loss ``d(real_out, fake_out)`` and generator loss ``g(fake_out)``."""

  discriminator: Callable[[Array, Array], Array]
  generator: Callable[[Array], Array]


def _parse_f_gan(name: str) -> tuple[str, dict[str, float]]:
  spec = name.split(":", 1)[1]
  divergence, _, param = spec.partition("=")
  params = {}
  if param:  # 'f_gan:alpha=0.5'
    try:
      params[divergence] = float(param)
    except ValueError:
      raise ValueError(f"Bad f-GAN parameter in {name!r}: {param!r} is not a number.") from None
  return divergence, params


def gan_loss_pair(name: str) -> GANLossPair:
  """Returns the ``jgen.losses`` pair called ``name``.

  Args:
    name: one of ``minimax``, ``non_saturating``, ``wasserstein`` (weight clipping is
      the step's job), ``wgan_gp`` (the step adds the penalty), ``hinge``,
      ``least_squares``, or ``f_gan:<divergence>`` with a key of
      ``jgen.losses.F_DIVERGENCES`` (``f_gan:alpha=0.5`` for the α-divergence).

  Returns:
    The pair of loss functions, each reducing to a scalar.

  Raises:
    ValueError: naming the bad value and the valid ones.
  """
  simple = {
      "minimax": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
      "non_saturating": (
          losses.minimax_discriminator_loss, losses.non_saturating_generator_loss),
      "wasserstein": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
      "wgan_gp": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss),
      "hinge": (losses.hinge_discriminator_loss, losses.hinge_generator_loss),
      "least_squares": (
          losses.least_squares_discriminator_loss, losses.least_squares_generator_loss),
  }
  if name in simple:
    return GANLossPair(*simple[name])
  if name.startswith("f_gan:"):
    divergence, params = _parse_f_gan(name)
    losses.get_f_divergence(divergence, **params)  # Validates now, not at trace time.
    return GANLossPair(
        functools.partial(losses.f_gan_discriminator_loss, divergence=divergence, **params),
        functools.partial(losses.f_gan_generator_loss, divergence=divergence, **params),
    )
  raise ValueError(
      f"Unknown GAN loss {name!r}; valid: {', '.join(GAN_LOSSES)} "
      f"(divergences: {', '.join(losses.F_DIVERGENCES)}).")


def _pmean(tree, axis_name):
  return tree if axis_name is None else lax.pmean(tree, axis_name)


def _global_normal(key: PRNGKey, shape: tuple[int, ...], axis_name: str | None) -> Array:
  """This device's slice of one normal draw for the global batch.

  Every device draws the latents of the whole global batch from the same key and
  keeps its own rows, so the samples do not depend on how many devices share the
  batch: a pmapped step sees exactly the latents of the single-device step.
  """
  if axis_name is None:
    return jax.random.normal(key, shape)
  n_dev, idx = lax.axis_size(axis_name), lax.axis_index(axis_name)
  full = jax.random.normal(key, (shape[0] * n_dev, *shape[1:]))
  return lax.dynamic_slice_in_dim(full, idx * shape[0], shape[0])


def _global_labels(key: PRNGKey, batch_size: int, num_classes: int,
                   axis_name: str | None) -> Array:
  """This device's slice of uniform class labels drawn for the global batch (as latents)."""
  if axis_name is None:
    return jax.random.randint(key, (batch_size,), 0, num_classes)
  n_dev, idx = lax.axis_size(axis_name), lax.axis_index(axis_name)
  full = jax.random.randint(key, (batch_size * n_dev,), 0, num_classes)
  return lax.dynamic_slice_in_dim(full, idx * batch_size, batch_size)


def _apply_player(apply_fn, params, batch_stats, x: Array, labels: Array | None,
                 train: bool):
  """A player's output and its model state after the call.

  ``apply_fn({'params', 'batch_stats'}, x[, labels], train=train)``; in training
  the ``batch_stats`` collection (batch-norm statistics, spectral-norm vectors) is
  updated and returned, otherwise returned unchanged. A player without model state
  (``batch_stats == {}``) is called with its params alone.
  """
  variables = {"params": params}
  args = (x,) if labels is None else (x, labels)
  if not batch_stats:
    return apply_fn(variables, *args, train=train), batch_stats
  variables["batch_stats"] = batch_stats
  if not train:
    return apply_fn(variables, *args, train=False), batch_stats
  out, updates = apply_fn(variables, *args, train=True, mutable=["batch_stats"])
  return out, updates["batch_stats"]


def gan_train_step(
    state: GANState,
    batch: Array,
    labels: Array | None = None,
    *,
    loss: str = "non_saturating",
    latent_dim: int,
    num_classes: int = 0,
    n_critic: int = 1,
    gp_weight: float = 10.0,
    clip_value: float = 0.01,
    ema_decay: float = 0.999,
    g_orthogonal_weight: float = 0.0,
    norms: bool = True,
    axis_name: str | None = None,
) -> tuple[GANState, dict[str, Array]]:
  """One GAN update: ``n_critic`` discriminator updates, then one generator update.

  Discriminator update i minimises ``L_D(D(x_i), D(G(z_i)))`` over D's parameters
  only (``+ gp_weight · GP`` for ``wgan_gp``; parameters clipped to
  ``[−clip_value, clip_value]`` afterwards for ``wasserstein``, Arjovsky et al.
  2017). The generator update minimises ``L_G(D(G(z)))`` over G's parameters only,
  through the updated D, and updates batch-norm statistics and the EMA.

  Class-conditional players (``num_classes > 0``) are called as ``G(z, y)`` and
  ``D(x, y)``: real data with its labels, generated data with labels drawn
  uniformly (for the global batch, like the latents). Each player's model state
  (``batch_stats``: batch norm, spectral-norm vectors) is updated only by its own
  training passes: D's by its passes in the discriminator updates (the pass on real
  data; spectral norm computes the same vectors in both), never in the generator
  update, where D runs with ``train=False``. A conditional critic scores the
  WGAN-GP interpolates with the real images' labels.

  Keys: ``fold_in(key, step)`` then one ``fold_in`` per use, so a resumed run replays
  the same random stream. Latents are drawn for the global batch and sliced per
  device, so a pmapped step equals the single-device step on the same global batch
  (the WGAN-GP interpolation weights are drawn per device, the one exception).

  Args:
    state: the current ``GANState``.
    batch: real data already preprocessed, shape ``(n_critic, B, *data_shape)``:
      one batch per discriminator update (``B`` is the per-device batch under pmap).
    labels: the real data's integer class labels ``(n_critic, B)``, for
      conditional players; None otherwise.
    loss: a name accepted by ``gan_loss_pair``.
    latent_dim: size of the generator's latent vector.
    num_classes: number of classes of conditional players (0: unconditional).
    n_critic: discriminator updates per generator update.
    gp_weight: λ of the WGAN-GP gradient penalty (``wgan_gp`` only).
    clip_value: weight-clipping bound (``wasserstein`` only).
    ema_decay: decay of the generator EMA, if the state keeps one; the decay used at
      step t is ``min(ema_decay, (1 + t)/(10 + t))``.
    g_orthogonal_weight: β of BigGAN's orthogonal regulariser on the generator's
      weights (`jgen.losses.orthogonal_regularization`), added to its loss; 0: none.
    norms: whether to compute the four norms (else they are 0); the training loop
      skips them on the steps it does not log.
    axis_name: the pmap axis to average gradients, metrics and statistics over, or
      None on a single device.

  Returns:
    The new state and a flat dict of scalar metrics: ``d_loss``, ``g_loss``,
    ``d_real``/``d_fake`` (mean raw outputs on real and generated data; for the
    minimax losses also ``d_real_prob``/``d_fake_prob``, the means of D = sigmoid),
    ``gp`` (wgan_gp), ``g_orthogonal`` (R, with ``g_orthogonal_weight``),
    ``d_grad_norm``, ``g_grad_norm``, ``d_param_norm``,
    ``g_param_norm``.

  Raises:
    ValueError: for an unknown loss, a batch whose leading axis is not n_critic, or
      labels that do not fit ``num_classes``.
  """
  pair = gan_loss_pair(loss)
  if batch.shape[0] != n_critic:
    raise ValueError(
        f"batch must have shape (n_critic={n_critic}, B, ...); got {batch.shape}.")
  if num_classes and labels is None:
    raise ValueError(f"num_classes={num_classes}: conditional players need the real data's "
                     f"labels, shape (n_critic, B) = {batch.shape[:2]}.")
  if not num_classes and labels is not None:
    raise ValueError("Unconditional players (num_classes=0) take no labels; set num_classes "
                     "for conditional ones.")
  if labels is not None and (labels.shape != batch.shape[:2]
                             or not jnp.issubdtype(labels.dtype, jnp.integer)):
    raise ValueError(f"labels must be integers of shape (n_critic, B) = {batch.shape[:2]}; "
                     f"got {labels.dtype}{list(labels.shape)}.")
  batch_size = batch.shape[1]
  step_key = rng.step_key(state.base_key, state.step)

  def sample_labels(key):
    return None if not num_classes else _global_labels(key, batch_size, num_classes,
                                                        axis_name)

  # One generator pass serves the last discriminator update and the generator update
  # (as PyTorch's DCGAN example and TF-GAN do); its vjp gives G's gradient later.
  g_key = jax.random.fold_in(step_key, n_critic)
  z = _global_normal(g_key, (batch_size, latent_dim), axis_name)
  g_labels = sample_labels(jax.random.fold_in(step_key, n_critic + 1))
  g_fake, g_vjp, batch_stats = jax.vjp(
      lambda p: _apply_player(state.g_apply, p, state.g_batch_stats, z, g_labels, True),
      state.g_params, has_aux=True)

  def d_update(carry, real, real_labels, i):
    d_params, d_opt_state, d_stats = carry
    key = jax.random.fold_in(step_key, i)
    if i == n_critic - 1:
      fake, fake_labels = g_fake, g_labels
    else:  # Earlier critic updates draw their own samples; their BN stats are dropped.
      z_i = _global_normal(jax.random.fold_in(key, 0), (batch_size, latent_dim), axis_name)
      fake_labels = sample_labels(jax.random.fold_in(key, 2))
      fake, _ = _apply_player(state.g_apply, state.g_params, state.g_batch_stats, z_i,
                             fake_labels, True)
    fake = lax.stop_gradient(fake)

    def d_loss_fn(d_params):
      real_out, new_stats = _apply_player(state.d_apply, d_params, d_stats, real,
                                         real_labels, True)
      fake_out, _ = _apply_player(state.d_apply, d_params, d_stats, fake, fake_labels, True)
      d_loss = pair.discriminator(real_out, fake_out)
      aux = {"d_real": real_out.mean(), "d_fake": fake_out.mean()}
      if loss in _CLASSIFIER_LOSSES:
        aux["d_real_prob"] = jax.nn.sigmoid(real_out).mean()
        aux["d_fake_prob"] = jax.nn.sigmoid(fake_out).mean()
      if loss == "wgan_gp":  # Interpolates carry the real labels.
        def critic(x):
          return _apply_player(state.d_apply, d_params, d_stats, x, real_labels, False)[0]
        gp = losses.gradient_penalty(critic, real, fake, jax.random.fold_in(key, 1))
        aux["gp"] = gp
        d_loss = d_loss + gp_weight * gp
      return d_loss, (aux, new_stats)

    (d_loss, (aux, d_stats)), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_params)
    grads = _pmean(grads, axis_name)
    updates, d_opt_state = state.d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if loss == "wasserstein":
      d_params = jax.tree.map(lambda p: jnp.clip(p, -clip_value, clip_value), d_params)
    aux = {"d_loss": d_loss, **aux}
    if i == n_critic - 1:  # The metrics are the last update's.
      aux["d_grad_norm"], = global_norms_if(norms, grads)
    return (d_params, d_opt_state, d_stats), aux

  # Unrolled rather than lax.scan: XLA:CPU runs convolutions inside a while loop on a
  # slow path (a DCGAN step took 25× longer), and n_critic is small.
  carry = (state.d_params, state.d_opt_state, state.d_batch_stats)
  for i in range(n_critic):  # Metrics: the last update's.
    carry, d_metrics = d_update(carry, batch[i], None if labels is None else labels[i], i)
  d_params, d_opt_state, d_stats = carry

  # The generator update: through the updated D, back through the kept G pass.
  def g_loss_fn(fake):
    return pair.generator(
        _apply_player(state.d_apply, d_params, d_stats, fake, g_labels, False)[0])
  g_loss, d_g_fake = jax.value_and_grad(g_loss_fn)(g_fake)
  (g_grads,) = g_vjp(d_g_fake)
  g_grads = _pmean(g_grads, axis_name)
  ortho_metrics = {}  # The same on every device: added after the mean.
  if g_orthogonal_weight:
    ortho, ortho_grads = jax.value_and_grad(losses.orthogonal_regularization)(state.g_params)
    g_grads = jax.tree.map(lambda g, o: g + g_orthogonal_weight * o, g_grads, ortho_grads)
    ortho_metrics["g_orthogonal"] = ortho
  updates, g_opt_state = state.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  ema = state.g_ema_params
  if ema is not None:
    # Warm-up as TF's ExponentialMovingAverage(num_updates): early on the average
    # would otherwise be dominated by the random initialisation for ~1/(1−decay) steps.
    decay = jnp.minimum(ema_decay, (1.0 + state.step) / (10.0 + state.step))
    ema = optax.incremental_update(g_params, ema, 1.0 - decay)

  metrics = {
      **d_metrics,
      "g_loss": g_loss,
      **dict(zip(("g_grad_norm", "d_param_norm", "g_param_norm"),
                 global_norms_if(norms, g_grads, d_params, g_params))),
      **ortho_metrics,
  }
  new_state = state.replace(
      step=state.step + 1,
      g_params=g_params,
      d_params=d_params,
      g_opt_state=g_opt_state,
      d_opt_state=d_opt_state,
      # With batch norm synchronised over the axis these already agree; the mean
      # keeps replicas identical even for a generator that does not synchronise.
      g_batch_stats=_pmean(batch_stats, axis_name),
      d_batch_stats=_pmean(d_stats, axis_name),
      g_ema_params=ema,
  )
  return new_state, _pmean(metrics, axis_name)
