"""Progressive GAN's layers (Karras et al. 2018): equalized learning rate, pixel norm, minibatch std.

References:
  Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs for Improved Quality,
  Stability, and Variation. ICLR 2018. arXiv:1710.10196.
"""

import math

import flax.linen as nn
from jax import lax
import jax.numpy as jnp

from jgen.typing import Array

_SQRT2 = math.sqrt(2.0)


def _equalized_weight(module: nn.Module, shape: tuple[int, ...], fan_in: int) -> Array:
  # Stored as N(0, 1/lr_multiplier²) and scaled at every call: Adam's update size is
  # then the same for every layer relative to its weights' scale.
  stored = module.param(
      "kernel", nn.initializers.normal(1.0 / module.lr_multiplier), shape)
  return stored * (module.gain / math.sqrt(fan_in) * module.lr_multiplier)


def _equalized_bias(module: nn.Module, features: int) -> Array:
  init = nn.initializers.constant(module.bias_init / module.lr_multiplier)
  return module.param("bias", init, (features,)) * module.lr_multiplier


class EqualizedDense(nn.Module):
  """A dense layer with the equalized learning rate: ``y = x (c·W) + b``, ``W ~ N(0, 1)``.

  The stored weights have unit variance and the He constant ``c = gain/√fan_in`` is
  applied at run time, so the effective weights start He-initialised while adaptive
  optimisers (which normalise the update per parameter) move every layer at the same
  relative speed. ``lr_multiplier`` scales both the run-time constant and the stored
  initialisation's inverse (StyleGAN's mapping network uses 0.01: effective weights
  as usual, a learning rate 100× smaller).

  Attributes:
    features: output size.
    gain: He gain, √2 before a (leaky) ReLU, 1 before a linear output.
    lr_multiplier: learning-rate multiplier of this layer.
    use_bias: add a bias.
    bias_init: the effective bias at initialisation (StyleGAN's style layers: 1).

  Call args:
    x: (..., in_features).

  Returns:
    (..., features).

  References:
    Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs. ICLR 2018.
    arXiv:1710.10196.
  """

  features: int
  gain: float = _SQRT2
  lr_multiplier: float = 1.0
  use_bias: bool = True
  bias_init: float = 0.0

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = _equalized_weight(self, (x.shape[-1], self.features), x.shape[-1])
    y = x @ kernel
    return y + _equalized_bias(self, self.features) if self.use_bias else y


class EqualizedConv(nn.Module):
  """A 'SAME' convolution with the equalized learning rate (``c = gain/√(k_h k_w C_in)``).

  Attributes:
    features: output channels.
    kernel_size: (k_h, k_w).
    gain, lr_multiplier, use_bias, bias_init: as in `EqualizedDense`.

  Call args:
    x: (B, H, W, C_in).

  Returns:
    (B, H, W, features).

  References:
    Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs. ICLR 2018.
    arXiv:1710.10196.
  """

  features: int
  kernel_size: tuple[int, int] = (3, 3)
  gain: float = _SQRT2
  lr_multiplier: float = 1.0
  use_bias: bool = True
  bias_init: float = 0.0

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kh, kw = self.kernel_size
    kernel = _equalized_weight(self, (kh, kw, x.shape[-1], self.features),
                               kh * kw * x.shape[-1])
    y = _conv(x, kernel)
    return y + _equalized_bias(self, self.features) if self.use_bias else y


def _conv(x: Array, kernel: Array) -> Array:
  return lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))


def upsample_nearest(x: Array, factor: int) -> Array:
  """(B, H, W, C) → (B, factor·H, factor·W, C), each pixel repeated factor × factor."""
  return x if factor == 1 else jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def pixel_norm(x: Array, axis: int = -1, epsilon: float = 1e-8) -> Array:
  """``x / √(mean_c x_c² + ε)``: each feature vector scaled to unit mean square.

  Progressive GAN's replacement for batch norm in the generator (after every
  convolution) and StyleGAN's normalisation of z.

  Args:
    x: (..., C) features.
    axis: the feature axis.
    epsilon: ε.

  Returns:
    ``x``'s shape.

  References:
    Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs. ICLR 2018.
    arXiv:1710.10196.
  """
  return x * jnp.reciprocal(jnp.sqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True)
                                     + epsilon))


def minibatch_stddev(x: Array, group_size: int = 4, num_features: int = 1,
                     epsilon: float = 1e-8) -> Array:
  """Appends the minibatch standard deviation as ``num_features`` extra channels.

  The batch is split into groups of ``G = min(group_size, B)`` consecutive examples
  (example n joins group ``n // G``; StyleGAN2 strides instead, ``n mod B/G``, but
  consecutive groups are the same whichever way a data-parallel step splits the batch
  over devices, as long as each device's share is a multiple of G); within a group, the standard deviation over its G
  examples of every feature at every position, averaged over positions and over the
  channels of each of ``num_features`` channel groups, is one number per group and
  channel group, broadcast over the positions and appended. A discriminator then
  sees the variety of a batch, and penalises a generator that collapses.

  Args:
    x: (B, H, W, C) features, B divisible by G, C by ``num_features``.
    group_size: G.
    num_features: channel groups, hence appended channels (StyleGAN2: 1).
    epsilon: added to the variance.

  Returns:
    (B, H, W, C + num_features).

  Raises:
    ValueError: for a batch not divisible by G or channels not by ``num_features``.

  References:
    Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs. ICLR 2018.
    arXiv:1710.10196.
  """
  b, h, w, c = x.shape
  g = min(group_size, b)
  if b % g or c % num_features:
    raise ValueError(f"minibatch_stddev: batch {b} must be divisible by the group size {g} "
                     f"and channels {c} by num_features={num_features}.")
  y = x.reshape(b // g, g, h, w, num_features, c // num_features)
  std = jnp.sqrt(jnp.var(y, axis=1) + epsilon)              # (M, H, W, F, C/F)
  std = jnp.mean(std, axis=(1, 2, 4))                        # (M, F)
  std = jnp.repeat(std, g, axis=0)                            # (B, F): row n = group n // G
  return jnp.concatenate(
      [x, jnp.broadcast_to(std[:, None, None, :], (b, h, w, num_features)).astype(x.dtype)],
      axis=-1)
