"""BigGAN at CPU scale (Brock et al. 2019): residual players, shared embedding, hierarchical z.

Generator: z is split into ``1 + blocks`` chunks; the first feeds a linear layer to
the smallest feature map, and each residual up-block's conditional batch norms read
``[shared(y), z_i]`` (the shared class embedding concatenated with that block's chunk
of z: "hierarchical latents"). Up-block: ``cBN → ReLU → ×2 nearest → conv3×3 → cBN →
ReLU → conv3×3``, plus a ``×2 → conv1×1`` shortcut. Output: ``BN → ReLU → conv3×3 →
tanh``. Discriminator: residual down-blocks (``[ReLU →] conv3×3 → ReLU → conv3×3 →
avg-pool``, shortcut ``conv1×1`` and pool), ReLU, global sum pooling and the
projection output. Spectral norm on every weight of both players; optional
self-attention at one resolution in each. Layout as DCGAN's: 7×7 → 28×28 (two
blocks) or 4×4 → 32×32 (three), the discriminator mirroring it plus one block that
keeps the resolution, all at ``4·ch`` channels (BigGAN's CIFAR layout, Table 7).

Parameter counts with ch = 16, a shared embedding of 32 and 10 classes (spectral-norm
vectors and batch-norm statistics aside):
  28×28×1, z of 96: generator 293,313, discriminator 190,273.
  32×32×3, z of 128: generator 319,171, discriminator 269,569.

References:
  Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image
  Synthesis. ICLR 2019. arXiv:1809.11096.
"""

import flax.linen as nn
import jax.numpy as jnp

from jgen.models._common import CONV_LAYOUT
from jgen.models._common import check_image_size
from jgen.models._common import one_hot_labels
from jgen.models.attention import SelfAttention2D
from jgen.models.conditioning import ConditionalBatchNorm
from jgen.models.conditioning import ProjectionOutput
from jgen.models.layers import spectral_normalized
from jgen.models.progressive_layers import upsample_nearest
from jgen.typing import Array


def _conv(features: int, size: int, train: bool, sn: bool, name: str | None = None):
  return spectral_normalized(nn.Conv(features, (size, size), padding="SAME", name=name),
                             train, enabled=sn)


def _avg_pool(x: Array) -> Array:
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


class _UpBlock(nn.Module):
  features: int
  bn_axis_name: str | None
  spectral_norm: bool

  @nn.compact
  def __call__(self, x: Array, c: Array, train: bool) -> Array:
    def norm(h):
      return ConditionalBatchNorm(axis_name=self.bn_axis_name,
                                  spectral_norm=self.spectral_norm)(h, c, train)
    sn = self.spectral_norm
    h = upsample_nearest(nn.relu(norm(x)), 2)
    h = _conv(self.features, 3, train, sn)(h)
    h = _conv(self.features, 3, train, sn)(nn.relu(norm(h)))
    return h + _conv(self.features, 1, train, sn, "shortcut")(upsample_nearest(x, 2))


class _DownBlock(nn.Module):
  features: int
  downsample: bool
  preactivation: bool
  spectral_norm: bool

  @nn.compact
  def __call__(self, x: Array, train: bool) -> Array:
    sn = self.spectral_norm
    h = nn.relu(x) if self.preactivation else x
    h = _conv(self.features, 3, train, sn)(h)
    h = _conv(self.features, 3, train, sn)(nn.relu(h))
    pool = _avg_pool if self.downsample else (lambda v: v)
    shortcut = x
    if self.downsample or x.shape[-1] != self.features:
      conv = _conv(self.features, 1, train, sn, "shortcut")
      # Pre-activated blocks convolve at full resolution first (BigGAN's order).
      shortcut = pool(conv(x)) if self.preactivation else conv(pool(x))
    return pool(h) + shortcut


class BigGANGenerator(nn.Module):
  """Maps latents (B, latent_dim) and labels (B,) to images (B, H, W, C) in [−1, 1].

  Attributes:
    num_classes: number of classes (BigGAN is class-conditional).
    image_size: 28 or 32.
    channels: output channels.
    ch: width unit; every hidden feature map has ``4·ch`` channels.
    shared_dim: size of the shared class embedding.
    attention_resolution: a `SelfAttention2D` block after the up-block with this
      output size (14 for 28×28; 8 or 16 for 32×32); 0: none.
    bn_axis_name: pmap axis for the batch statistics.
    spectral_norm: spectral-normalise every weight (BigGAN: on; off only to measure
      its cost).

  Call args:
    z: (B, latent_dim), latent_dim divisible by the number of up-blocks + 1.
    y: (B,) integer labels.
    train: batch statistics, and update the running averages and spectral norms.
  """

  num_classes: int
  image_size: int = 32
  channels: int = 3
  ch: int = 16
  shared_dim: int = 32
  attention_resolution: int = 0
  bn_axis_name: str | None = None
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, z: Array, y: Array, train: bool = True) -> Array:
    check_image_size("BigGANGenerator", self.image_size)
    size, blocks = CONV_LAYOUT[self.image_size]
    if z.ndim != 2 or z.shape[-1] % (blocks + 1):
      raise ValueError(f"BigGANGenerator splits z into {blocks + 1} chunks: latent_dim must "
                       f"be divisible by {blocks + 1}; got z of shape {z.shape}.")
    one_hot_labels("BigGANGenerator", y, self.num_classes, z.shape[0])  # Checks y.
    chunks = jnp.split(z, blocks + 1, axis=-1)
    shared = nn.Embed(self.num_classes, self.shared_dim, name="shared_embedding")(y)
    features = 4 * self.ch
    sn = self.spectral_norm
    h = spectral_normalized(nn.Dense(size * size * features), train, sn)(chunks[0])
    h = h.reshape(z.shape[0], size, size, features)
    for i in range(blocks):
      c = jnp.concatenate([shared, chunks[i + 1]], axis=-1)
      h = _UpBlock(features, self.bn_axis_name, sn, name=f"block_{i}")(h, c, train)
      if h.shape[1] == self.attention_resolution:
        h = SelfAttention2D(spectral_norm=sn, name="attention")(h, train)
    h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9,
                             axis_name=self.bn_axis_name)(h))
    return jnp.tanh(_conv(self.channels, 3, train, sn, "output")(h))


class BigGANDiscriminator(nn.Module):
  """Maps images (B, H, W, C) and labels (B,) to raw scores (B,) with the projection output.

  Attributes:
    num_classes: number of classes.
    image_size: 28 or 32.
    ch: width unit (``4·ch`` channels throughout).
    attention_resolution: a `SelfAttention2D` block after the down-block with this
      output size; 0: none.
    spectral_norm: as the generator's.

  Call args:
    x: (B, H, W, C) images.
    y: (B,) integer labels.
    train: update the spectral-norm vectors.
  """

  num_classes: int
  image_size: int = 32
  ch: int = 16
  attention_resolution: int = 0
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x: Array, y: Array, train: bool = True) -> Array:
    check_image_size("BigGANDiscriminator", self.image_size)
    _, blocks = CONV_LAYOUT[self.image_size]
    one_hot_labels("BigGANDiscriminator", y, self.num_classes, x.shape[0])
    h, sn = x, self.spectral_norm
    for i in range(blocks + 1):  # The last block keeps the resolution.
      h = _DownBlock(4 * self.ch, downsample=i < blocks, preactivation=i > 0,
                     spectral_norm=sn, name=f"block_{i}")(h, train)
      if h.shape[1] == self.attention_resolution:
        h = SelfAttention2D(spectral_norm=sn, name="attention")(h, train)
    h = jnp.sum(nn.relu(h), axis=(1, 2))  # Global sum pooling.
    return ProjectionOutput(self.num_classes, spectral_norm=sn, name="projection")(h, y, train)
