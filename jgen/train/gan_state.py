"""The state of a GAN's two-player game as one pytree."""

from collections.abc import Callable
from typing import Any

from flax import struct
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jgen.typing import Params
from jgen.typing import PRNGKey


class GANState(struct.PyTreeNode):
  """Everything a GAN run carries from step to step.

  Array fields are pytree leaves (checkpointed, replicated under pmap); the optax
  transforms and the modules' apply functions are static fields, as ``tx`` and
  ``apply_fn`` are in flax's ``TrainState``.

  Attributes:
    step: number of completed generator updates, int32 scalar.
    g_params, d_params: generator and discriminator parameters.
    g_opt_state, d_opt_state: the two optimizers' states.
    g_batch_stats, d_batch_stats: each player's model state, flax's ``batch_stats``
      collection ({} if none): batch-norm running statistics and spectral norm's
      power-iteration vectors, updated by the train step, never by the optimizers.
    g_ema_params: exponential moving average of ``g_params`` (None when disabled).
    key: the run's base PRNG key (raw ``uint32`` key data, so that checkpoints and
      pmap see a plain array); every step derives its own keys with
      ``fold_in(key, step)``.
    g_apply, d_apply: ``module.apply`` of the generator and discriminator.
    g_tx, d_tx: their optax transforms.
  """

  step: jax.Array
  g_params: Params
  d_params: Params
  g_opt_state: optax.OptState
  d_opt_state: optax.OptState
  g_batch_stats: Params
  g_ema_params: Params | None
  key: jax.Array
  d_batch_stats: Params
  g_apply: Callable[..., Any] = struct.field(pytree_node=False)
  d_apply: Callable[..., Any] = struct.field(pytree_node=False)
  g_tx: optax.GradientTransformation = struct.field(pytree_node=False)
  d_tx: optax.GradientTransformation = struct.field(pytree_node=False)

  @property
  def base_key(self) -> PRNGKey:
    """The typed PRNG key behind ``key``."""
    return jax.random.wrap_key_data(self.key)

  def generator_variables(self, ema: bool = False) -> dict[str, Params]:
    """Variables for ``g_apply``: params (or their EMA) and batch statistics."""
    params = self.g_ema_params if ema and self.g_ema_params is not None else self.g_params
    return _variables(params, self.g_batch_stats)

  def discriminator_variables(self) -> dict[str, Params]:
    """Variables for ``d_apply``: params and model state (e.g. spectral-norm vectors)."""
    return _variables(self.d_params, self.d_batch_stats)


def _variables(params: Params, batch_stats: Params) -> dict[str, Params]:
  return {"params": params, "batch_stats": batch_stats} if batch_stats else {"params": params}


def create_gan_state(
    key: PRNGKey,
    generator: nn.Module,
    discriminator: nn.Module,
    g_tx: optax.GradientTransformation,
    d_tx: optax.GradientTransformation,
    *,
    latent_dim: int,
    data_shape: tuple[int, ...],
    use_ema: bool = False,
    num_classes: int = 0,
) -> GANState:
  """Initialises a ``GANState``.

  Args:
    key: PRNG key; split into the generator's, the discriminator's and the run's key.
    generator: module mapping latents (B, latent_dim) — and, when conditional,
      labels (B,) — to data (B, *data_shape): ``generator(z[, y], train=...)``.
    discriminator: module mapping data (B, *data_shape) [and labels (B,)] to raw
      outputs (B,) or (B, ...): ``discriminator(x[, y], train=...)``.
    g_tx, d_tx: the generator's and discriminator's optax transforms.
    latent_dim: size of the latent vector.
    data_shape: shape of one example, e.g. (2,) or (28, 28, 1).
    use_ema: keep an exponential moving average of the generator parameters.
    num_classes: the players take class labels in [0, num_classes) (0:
      unconditional).

  Returns:
    A state at step 0.
  """
  g_key, d_key, run_key = jax.random.split(key, 3)
  labels = (jnp.zeros((2,), jnp.int32),) if num_classes else ()
  g_vars = generator.init(g_key, jnp.zeros((2, latent_dim)), *labels, train=False)
  d_vars = discriminator.init(d_key, jnp.zeros((2, *data_shape)), *labels, train=False)
  g_params, d_params = g_vars["params"], d_vars["params"]
  return GANState(
      step=jnp.zeros((), jnp.int32),
      g_params=g_params,
      d_params=d_params,
      g_opt_state=g_tx.init(g_params),
      d_opt_state=d_tx.init(d_params),
      g_batch_stats=g_vars.get("batch_stats", {}),
      g_ema_params=jax.tree.map(jnp.copy, g_params) if use_ema else None,
      key=jax.random.key_data(run_key),
      d_batch_stats=d_vars.get("batch_stats", {}),
      g_apply=generator.apply,
      d_apply=discriminator.apply,
      g_tx=g_tx,
      d_tx=d_tx,
  )
