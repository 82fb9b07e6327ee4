"""Pieces the encoder and decoder modules share: conv layouts, labels, residual blocks."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jgen.typing import Array
from jgen.typing import ArrayLike

# Conv encoders/decoders: (spatial size of the smallest feature map, number of stride-2
# stages) per image size, as DCGAN: 28 → 14 → 7 and 32 → 16 → 8 → 4.
CONV_LAYOUT = {28: (7, 2), 32: (4, 3)}


def check_image_size(owner: str, image_size: int) -> None:
  if image_size not in CONV_LAYOUT:
    raise ValueError(
        f"{owner} supports image_size in {sorted(CONV_LAYOUT)}; got {image_size}.")


def as_float(x: ArrayLike) -> Array:
  """Integer (e.g. uint8) inputs become float32; float inputs keep their dtype."""
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def one_hot_labels(owner: str, y: ArrayLike | None, num_classes: int,
                    batch_size: int) -> Array | None:
  """Checks the labels against ``num_classes``; (B, num_classes) one-hot or None.

  Out-of-range labels raise when ``y`` is concrete; under ``jit`` they cannot be
  checked and map to an all-zero row (``jax.nn.one_hot``).
  """
  if num_classes < 0:
    raise ValueError(f"{owner}: num_classes must be >= 0; got {num_classes}.")
  if num_classes == 0:
    if y is not None:
      raise ValueError(
          f"{owner} is unconditional (num_classes=0) but got labels y; set num_classes "
          "to the number of classes to build a conditional model.")
    return None
  if y is None:
    raise ValueError(
        f"{owner} is conditional (num_classes={num_classes}) and needs integer class "
        f"labels y of shape ({batch_size},).")
  y = jnp.asarray(y)
  if y.shape != (batch_size,) or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(
        f"{owner} expects integer class labels y of shape ({batch_size},); got "
        f"{y.dtype}{list(y.shape)}.")
  if not isinstance(y, jax.core.Tracer) and y.size:
    values = np.asarray(y)
    if values.min() < 0 or values.max() >= num_classes:
      raise ValueError(
          f"{owner}: labels must lie in [0, {num_classes}); got values in "
          f"[{values.min()}, {values.max()}].")
  return jax.nn.one_hot(y, num_classes, dtype=jnp.float32)


class ResidualBlock(nn.Module):
  """``x + Conv1×1(ReLU(Conv3×3(ReLU(x))))``, the VQ-VAE residual block."""

  hidden: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h = nn.Conv(self.hidden, (3, 3), padding="SAME")(nn.relu(x))
    return x + nn.Conv(x.shape[-1], (1, 1))(nn.relu(h))
