"""DCGAN generator and discriminator (Radford et al. 2016) for 28×28 and 32×32 images.

Generator: ``z → Dense → BN → ReLU → [4×4 stride-2 transposed conv → BN → ReLU]* →
4×4 stride-2 transposed conv → tanh``, each transposed convolution doubling the
resolution (7→14→28 for 28×28, 4→8→16→32 for 32×32). Discriminator: ``[4×4 stride-2
conv → LeakyReLU(0.2)]* → Dense(1)``, without batch norm so that the same network is a
valid WGAN-GP critic (the penalty needs per-example gradients; Gulrajani et al. 2017).

The transposed convolutions use `SubPixelConvTranspose`, numerically the same layer
as ``nn.ConvTranspose(f, (4, 4), strides=(2, 2), padding='SAME')`` with the same
parameters, but fast on XLA:CPU (see `jgen.models.layers`).

Parameter counts with the defaults (latent 100, base width 64), batch-norm scales and
offsets included:
  28×28×1: generator 759,681, discriminator 138,561.
  32×32×3: generator 1,068,931, discriminator 662,977.

References:
  Radford, Metz, Chintala. Unsupervised Representation Learning with Deep
  Convolutional GANs. ICLR 2016. arXiv:1511.06434.
"""

import flax.linen as nn
import jax.numpy as jnp

from jgen.models.layers import SubPixelConvTranspose
from jgen.typing import Array

# (spatial size of the first feature map, number of upsampling stages) per image size.
_LAYOUT = {28: (7, 2), 32: (4, 3)}


def _check_image_size(image_size: int) -> None:
  if image_size not in _LAYOUT:
    raise ValueError(
        f"DCGAN supports image_size in {sorted(_LAYOUT)}; got {image_size}.")


class DCGANGenerator(nn.Module):
  """Maps latents (B, latent_dim) to images (B, H, W, C) in [−1, 1].

  Attributes:
    image_size: 28 or 32.
    channels: output channels (1 for MNIST, 3 for CIFAR-10).
    base_features: width of the last hidden feature map; it doubles per stage back.
    bn_axis_name: pmap axis over which batch norm averages its batch statistics,
      so that a data-parallel step normalises with global-batch statistics (None on a
      single device).
    use_subpixel: False swaps in `nn.ConvTranspose` (identical function, slow on CPU).
  """

  image_size: int = 28
  channels: int = 1
  base_features: int = 64
  bn_axis_name: str | None = None
  use_subpixel: bool = True

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    _check_image_size(self.image_size)
    size, stages = _LAYOUT[self.image_size]

    def norm(x):
      # Momentum 0.9 as PyTorch's 0.1; running stats only serve eval-mode sampling.
      return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                          axis_name=self.bn_axis_name)(x)

    def upsample(features, i, use_bias=True):
      # Same names either way: parameters and checkpoints are interchangeable.
      if self.use_subpixel:
        return SubPixelConvTranspose(features, use_bias=use_bias, name=f"upsample_{i}")
      return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME",
                              use_bias=use_bias, name=f"upsample_{i}")

    features = self.base_features * 2 ** (stages - 1)
    x = nn.Dense(size * size * features, use_bias=False)(z)
    x = nn.relu(norm(x.reshape(z.shape[0], size, size, features)))
    for i in range(stages - 1):
      features //= 2
      # No bias before batch norm: it would be cancelled by the mean subtraction
      # (its true gradient is 0, and Adam would amplify rounding noise in it).
      x = nn.relu(norm(upsample(features, i, use_bias=False)(x)))
    return jnp.tanh(upsample(self.channels, stages - 1)(x))


class DCGANDiscriminator(nn.Module):
  """Maps images (B, H, W, C) in [−1, 1] to one raw logit/score per example, (B,).

  Attributes:
    image_size: 28 or 32 (two or three stride-2 convolutions).
    base_features: width of the first convolution; it doubles per stage.
  """

  image_size: int = 28
  base_features: int = 64

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    del train  # No batch norm or dropout.
    _check_image_size(self.image_size)
    _, stages = _LAYOUT[self.image_size]
    features = self.base_features
    for _ in range(stages):
      x = nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x)
      x = nn.leaky_relu(x, 0.2)
      features *= 2
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]
