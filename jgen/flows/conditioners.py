"""Conditioner trunks for coupling layers: an MLP for vectors, a small CNN for images.

A conditioner maps the masked input (and an optional ``context``) to features; the
coupling layer appends the last layer itself, zero-initialised and sized for the
parameters its transformer needs, so every coupling starts as the identity whatever
trunk it is given. Any module with the call signature ``(inputs, context=None) ->
features (B, *event[:-1], F)`` can serve as a conditioner.
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike


class MLPConditioner(nn.Module):
  """``h = act(Dense(H_L)(… act(Dense(H_1)([x, c]))))``: features of vectors ``x`` (B, D).

  The context ``c`` (B, …) is flattened and concatenated to the input, which makes the
  flow conditional on it.

  Attributes:
    hidden: widths ``(H_1, …, H_L)``, L ≥ 1.
    activation: hidden nonlinearity.
  """

  hidden: Sequence[int] = (64, 64)
  activation: Callable[[Array], Array] = nn.relu

  @nn.compact
  def __call__(self, x: ArrayLike, context: ArrayLike | None = None) -> Array:
    """Args: ``x`` (B, D); ``context`` (B, …) or None. Returns ``(B, H_L)``."""
    h = jnp.asarray(x)
    if context is not None:
      context = jnp.asarray(context, h.dtype)
      h = jnp.concatenate([h, context.reshape(context.shape[0], -1)], axis=-1)
    for width in self.hidden:
      h = self.activation(nn.Dense(width)(h))
    return h


class ConvConditioner(nn.Module):
  """Glow's coupling network without its last layer: ``conv3×3 → act → conv1×1 → act``.

  A context ``(B, D_c)`` is broadcast over the image, a context ``(B, H, W, C_c)`` used
  as is; either is concatenated to the input channels.

  Attributes:
    features: hidden channels (Glow: 512).
    activation: hidden nonlinearity.

  References:
    Kingma & Dhariwal. Glow. NeurIPS 2018. arXiv:1807.03039 (Sec. 3.3, ``NN()``).
  """

  features: int = 64
  activation: Callable[[Array], Array] = nn.relu

  @nn.compact
  def __call__(self, x: ArrayLike, context: ArrayLike | None = None) -> Array:
    """Args: ``x`` (B, H, W, C); ``context`` (B, D_c), (B, H, W, C_c) or None.

    Returns:
      ``(B, H, W, features)``.
    """
    h = jnp.asarray(x)
    if context is not None:
      context = jnp.asarray(context, h.dtype)
      if context.ndim == 2:
        context = jnp.broadcast_to(context[:, None, None, :],
                                   h.shape[:3] + context.shape[-1:])
      h = jnp.concatenate([h, context], axis=-1)
    h = self.activation(nn.Conv(self.features, (3, 3), padding="SAME")(h))
    # The 1×1 convolution as a Dense on the channel axis (the same map): XLA:CPU runs
    # the kernel gradient of a 1×1 conv ~25× slower than the equivalent matmul.
    return self.activation(nn.Dense(self.features)(h))


__all__ = ["ConvConditioner", "MLPConditioner"]
