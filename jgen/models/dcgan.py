"""DCGAN generator and discriminator (Radford et al. 2016) for 28×28 and 32×32 images.

Generator: ``z → Dense → BN → ReLU → [4×4 stride-2 transposed conv → BN → ReLU]* →
4×4 stride-2 transposed conv → tanh``, each transposed convolution doubling the
resolution (7→14→28 for 28×28, 4→8→16→32 for 32×32). Discriminator: ``[4×4 stride-2
conv → LeakyReLU(0.2)]* → Dense(1)``, without batch norm so that the same network is a
valid WGAN-GP critic (the penalty needs per-example gradients; Gulrajani et al. 2017).

The zoo's ideas are options of the same two networks, so that each can be measured at
DCGAN's cost: class conditioning (``num_classes``; the generator by a one-hot label
appended to z, Mirza & Osindero 2014, or conditional batch norm from a class
embedding, de Vries et al. 2017; the discriminator by one-hot label planes appended
to the image, or the projection output, Miyato & Koyama 2018), spectral norm on
every weight (Miyato et al. 2018) and a self-attention block at one resolution (Zhang
et al. 2019). With the defaults both are exactly the DCGAN pair above.

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

from jgen.models._common import one_hot_labels
from jgen.models.attention import SelfAttention2D
from jgen.models.conditioning import ConditionalBatchNorm
from jgen.models.conditioning import ProjectionOutput
from jgen.models.layers import SubPixelConvTranspose
from jgen.models.layers import spectral_normalized
from jgen.typing import Array

# (spatial size of the first feature map, number of upsampling stages) per image size.
_LAYOUT = {28: (7, 2), 32: (4, 3)}


GENERATOR_CONDITIONING = ("concat", "cbn")
DISCRIMINATOR_CONDITIONING = ("concat", "projection")


def _check_image_size(image_size: int) -> None:
  if image_size not in _LAYOUT:
    raise ValueError(
        f"DCGAN supports image_size in {sorted(_LAYOUT)}; got {image_size}.")


def _check_options(owner: str, conditioning: str, valid: tuple[str, ...],
                   attention_resolution: int, resolutions: tuple[int, ...]) -> None:
  if conditioning not in valid:
    raise ValueError(f"{owner}: conditioning={conditioning!r} is not valid; choose from "
                     f"{valid}.")
  allowed = tuple(r for r in resolutions if r % 2 == 0)
  if attention_resolution and attention_resolution not in allowed:
    raise ValueError(f"{owner}: attention_resolution={attention_resolution} must be 0 (none) "
                     f"or the size of an even hidden feature map, one of {allowed}.")


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
    num_classes: class-conditional with this many classes (0: unconditional).
    conditioning: ``'concat'`` (one-hot label appended to z) or ``'cbn'`` (every
      batch norm conditional on a learned class embedding).
    embed_dim: size of the class embedding (``'cbn'``).
    spectral_norm: spectral-normalise every weight (SAGAN's generator).
    attention_resolution: insert a `SelfAttention2D` block after the hidden feature
      map of this size (14 for 28×28; 8 or 16 for 32×32); 0: none.

  Call args:
    z: (B, latent_dim) latents.
    y: (B,) integer labels (conditional models only).
    train: batch statistics (and their running averages, spectral-norm vectors
      updated) rather than the running averages.

  Raises:
    ValueError: for an unknown image size or conditioning, an attention resolution
      that is not a hidden feature map's size, or labels that do not fit num_classes.
  """

  image_size: int = 28
  channels: int = 1
  base_features: int = 64
  bn_axis_name: str | None = None
  use_subpixel: bool = True
  num_classes: int = 0
  conditioning: str = "concat"
  embed_dim: int = 32
  spectral_norm: bool = False
  attention_resolution: int = 0

  @nn.compact
  def __call__(self, z: Array, y: Array | None = None, train: bool = True) -> Array:
    _check_image_size(self.image_size)
    size, stages = _LAYOUT[self.image_size]
    _check_options("DCGANGenerator", self.conditioning, GENERATOR_CONDITIONING,
                   self.attention_resolution, tuple(size * 2 ** i for i in range(stages)))
    one_hot = one_hot_labels("DCGANGenerator", y, self.num_classes, z.shape[0])
    c = None
    if one_hot is not None and self.conditioning == "concat":
      z = jnp.concatenate([z, one_hot], axis=-1)
    elif one_hot is not None:
      c = nn.Embed(self.num_classes, self.embed_dim, name="class_embedding")(y)

    def norm(x):
      # Momentum 0.9 as PyTorch's 0.1; running stats only serve eval-mode sampling.
      if c is not None:
        return ConditionalBatchNorm(axis_name=self.bn_axis_name,
                                    spectral_norm=self.spectral_norm)(x, c, train)
      return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                          axis_name=self.bn_axis_name)(x)

    def upsample(features, i, use_bias=True):
      # Same names either way: parameters and checkpoints are interchangeable.
      if self.use_subpixel:
        layer = SubPixelConvTranspose(features, use_bias=use_bias, name=f"upsample_{i}")
      else:
        layer = nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME",
                                 use_bias=use_bias, name=f"upsample_{i}")
      return spectral_normalized(layer, train, self.spectral_norm)

    def attend(x):
      if x.shape[1] != self.attention_resolution:
        return x
      return SelfAttention2D(spectral_norm=self.spectral_norm, name="attention")(x, train)

    features = self.base_features * 2 ** (stages - 1)
    x = spectral_normalized(nn.Dense(size * size * features, use_bias=False), train,
                            self.spectral_norm)(z)
    x = attend(nn.relu(norm(x.reshape(z.shape[0], size, size, features))))
    for i in range(stages - 1):
      features //= 2
      # No bias before batch norm: it would be cancelled by the mean subtraction
      # (its true gradient is 0, and Adam would amplify rounding noise in it).
      x = attend(nn.relu(norm(upsample(features, i, use_bias=False)(x))))
    return jnp.tanh(upsample(self.channels, stages - 1)(x))


class DCGANDiscriminator(nn.Module):
  """Maps images (B, H, W, C) in [−1, 1] to one raw logit/score per example, (B,).

  Attributes:
    image_size: 28 or 32 (two or three stride-2 convolutions).
    base_features: width of the first convolution; it doubles per stage.
    num_classes: class-conditional with this many classes (0: unconditional).
    conditioning: ``'concat'`` (one-hot label planes appended to the image's channels)
      or ``'projection'`` (`ProjectionOutput` on the flattened last feature map, the
      input of DCGAN's linear output, where SNGAN's ResNet sum-pools).
    spectral_norm: spectral-normalise every weight (SNGAN, SAGAN).
    attention_resolution: insert a `SelfAttention2D` block after the convolution
      whose output has this size (14 for 28×28; 16 or 8 for 32×32); 0: none.

  Call args:
    x: (B, H, W, C) images.
    y: (B,) integer labels (conditional models only).
    train: update the spectral-norm vectors (no batch norm or dropout here).

  Raises:
    ValueError: as the generator's.
  """

  image_size: int = 28
  base_features: int = 64
  num_classes: int = 0
  conditioning: str = "concat"
  spectral_norm: bool = False
  attention_resolution: int = 0

  @nn.compact
  def __call__(self, x: Array, y: Array | None = None, train: bool = True) -> Array:
    _check_image_size(self.image_size)
    _, stages = _LAYOUT[self.image_size]
    _check_options("DCGANDiscriminator", self.conditioning, DISCRIMINATOR_CONDITIONING,
                   self.attention_resolution,
                   tuple(self.image_size // 2 ** i for i in range(1, stages + 1)))
    one_hot = one_hot_labels("DCGANDiscriminator", y, self.num_classes, x.shape[0])
    if one_hot is not None and self.conditioning == "concat":
      planes = jnp.broadcast_to(one_hot[:, None, None, :], (*x.shape[:3], self.num_classes))
      x = jnp.concatenate([x, planes.astype(x.dtype)], axis=-1)
    features = self.base_features
    for _ in range(stages):
      conv = nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))
      x = nn.leaky_relu(spectral_normalized(conv, train, self.spectral_norm)(x), 0.2)
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention2D(spectral_norm=self.spectral_norm, name="attention")(x, train)
      features *= 2
    h = x.reshape(x.shape[0], -1)
    if one_hot is not None and self.conditioning == "projection":
      return ProjectionOutput(self.num_classes, spectral_norm=self.spectral_norm,
                              name="projection")(h, y, train)
    return spectral_normalized(nn.Dense(1), train, self.spectral_norm)(h)[:, 0]
