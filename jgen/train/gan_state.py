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
    g_batch_stats: the generator's batch-norm running statistics ({} if none).
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
    variables = {"params": params}
    if self.g_batch_stats:
      variables["batch_stats"] = self.g_batch_stats
    return variables


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
) -> GANState:
  """Initialises a ``GANState``.

  Args:
    key: PRNG key; split into the generator's, the discriminator's and the run's key.
    generator: module mapping latents (B, latent_dim) to data (B, *data_shape).
    discriminator: module mapping data (B, *data_shape) to raw outputs (B,) or
      (B, ...).
    g_tx, d_tx: the generator's and discriminator's optax transforms.
    latent_dim: size of the latent vector.
    data_shape: shape of one example, e.g. (2,) or (28, 28, 1).
    use_ema: keep an exponential moving average of the generator parameters.

  Returns:
    A state at step 0.
  """
  g_key, d_key, run_key = jax.random.split(key, 3)
  g_vars = generator.init(g_key, jnp.zeros((2, latent_dim)), train=False)
  d_vars = discriminator.init(d_key, jnp.zeros((2, *data_shape)), train=False)
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
      g_apply=generator.apply,
      d_apply=discriminator.apply,
      g_tx=g_tx,
      d_tx=d_tx,
  )
