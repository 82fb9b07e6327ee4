"""Progressive growing (Karras et al. 2018) at CPU scale: 7 → 14 → 28 with fade-in.

The players hold every level from the start and take the training *progress*
``p ∈ [0, L − 1]`` (L levels) as an input: level s ≥ 1 is faded in with weight
``α_s = clip(p − s + 1, 0, 1)``. The generator's image at level s is
``lerp(up(image_{s−1}), toRGB_s(h_s), α_s)``, returned nearest-upsampled to the full
size, so that at ``α_s = 0`` it is exactly the upsampled image of level s − 1; the
discriminator mirrors it (``lerp(fromRGB_{s−1}(down x), block_s(fromRGB_s(x)), α_s)``)
and `progressive_images` gives real images the same blend, so that D compares like
with like. Computing every level at every step costs little at 28×28 and keeps one
compiled step for the whole schedule (`progress_at` maps the step to p: a stable
phase per level and a fade-in phase before each new one).

Layers as in the paper: equalized learning rate, pixel norm after every generator
convolution, leaky ReLU(0.2), the minibatch standard deviation before the
discriminator's last block, linear outputs.

References:
  Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs for Improved Quality,
  Stability, and Variation. ICLR 2018. arXiv:1710.10196.
"""

import flax.linen as nn
import jax.numpy as jnp

from jgen.models.progressive_layers import EqualizedConv
from jgen.models.progressive_layers import EqualizedDense
from jgen.models.progressive_layers import minibatch_stddev
from jgen.models.progressive_layers import pixel_norm
from jgen.models.progressive_layers import upsample_nearest
from jgen.typing import Array
from jgen.typing import ArrayLike

# The levels' sizes for each image size: 7 → 14 → 28, or 4 → 8 → 16 → 32.
LEVELS = {28: (7, 14, 28), 32: (4, 8, 16, 32)}


def image_levels(owner: str, image_size: int) -> tuple[int, ...]:
  """``LEVELS[image_size]``, or a ValueError naming ``owner`` and the supported sizes."""
  if image_size not in LEVELS:
    raise ValueError(f"{owner} supports image_size in {sorted(LEVELS)}; got {image_size}.")
  return LEVELS[image_size]


def fade_weight(progress: ArrayLike, level: int) -> Array:
  """``α_s = clip(p − s + 1, 0, 1)``: how far level ``s`` (≥ 1) is faded in at progress p."""
  return jnp.clip(jnp.asarray(progress, jnp.float32) - level + 1, 0.0, 1.0)


def progress_at(step: ArrayLike, num_levels: int, stable_steps: int, fade_steps: int
                ) -> Array:
  """The training progress p at ``step``: PGGAN's schedule.

  Level 0 trains alone for ``stable_steps``; then each further level fades in over
  ``fade_steps`` (p rising linearly from s − 1 to s) and trains for ``stable_steps``;
  after the last level, p stays at ``num_levels − 1``.

  Args:
    step: the step (int, may be traced).
    num_levels: L.
    stable_steps, fade_steps: phase lengths, ≥ 1.

  Returns:
    float32 scalar in [0, L − 1].
  """
  step = jnp.asarray(step, jnp.float32)
  t = jnp.maximum(step - stable_steps, 0.0)
  phase = stable_steps + fade_steps
  level = jnp.floor(t / phase)  # Levels fully grown after level 0.
  within = jnp.minimum((t - level * phase) / fade_steps, 1.0)
  return jnp.minimum(level + within, num_levels - 1.0)


def _down(x: Array, factor: int) -> Array:
  return x if factor == 1 else nn.avg_pool(x, (factor, factor), strides=(factor, factor))


def _lerp(a: Array, b: Array, t: Array) -> Array:
  return a + t * (b - a)  # Exactly a at t = 0 (b − a finite).


def progressive_images(images: Array, progress: ArrayLike) -> Array:
  """Real images as the generator shows them at ``progress``: the same blend of levels.

  ``image_0 = down(x)`` to the smallest size, ``image_s = lerp(up(image_{s−1}),
  down(x), α_s)``, returned at full size.

  Args:
    images: (B, H, W, C) with H in ``LEVELS``.
    progress: p.

  Returns:
    (B, H, W, C).
  """
  sizes = image_levels("progressive_images", images.shape[1])
  full = sizes[-1]
  out = _down(images, full // sizes[0])
  for s in range(1, len(sizes)):
    out = _lerp(upsample_nearest(out, 2), _down(images, full // sizes[s]),
                fade_weight(progress, s))
  return out


class ProgressiveGenerator(nn.Module):
  """Maps latents (B, latent_dim) to images (B, H, W, C) at the given progress.

  Attributes:
    image_size: 28 or 32.
    channels: image channels.
    features: channels of every level's feature maps.

  Call args:
    z: (B, latent_dim).
    progress: p ∈ [0, L − 1] (float, may be traced).
    train: unused (no batch norm); for the GAN step's interface.

  Returns:
    (B, H, W, C), linear outputs (images in about [−1, 1]); each level's blended image
    is sown into ``intermediates`` as ``image_<s>``.

  Raises:
    ValueError: for an unsupported image size.
  """

  image_size: int = 28
  channels: int = 1
  features: int = 64

  @nn.compact
  def __call__(self, z: Array, progress: ArrayLike = 1e9, train: bool = True) -> Array:
    del train
    sizes = image_levels("ProgressiveGenerator", self.image_size)

    def act(x):
      return pixel_norm(nn.leaky_relu(x, 0.2))

    def to_rgb(h, s):
      return EqualizedConv(self.channels, (1, 1), gain=1.0, name=f"to_rgb_{s}")(h)

    h = EqualizedDense(sizes[0] ** 2 * self.features, gain=1.0)(pixel_norm(z))
    h = act(h.reshape(z.shape[0], sizes[0], sizes[0], self.features))
    h = act(EqualizedConv(self.features)(h))
    image = to_rgb(h, 0)
    self.sow("intermediates", "image_0", image)
    for s in range(1, len(sizes)):
      h = act(EqualizedConv(self.features)(upsample_nearest(h, 2)))
      h = act(EqualizedConv(self.features)(h))
      image = _lerp(upsample_nearest(image, 2), to_rgb(h, s), fade_weight(progress, s))
      self.sow("intermediates", f"image_{s}", image)  # The blended image at level s.
    return image


class ProgressiveDiscriminator(nn.Module):
  """Maps images (B, H, W, C) at the given progress to raw scores (B,).

  Attributes:
    image_size: 28 or 32.
    features: channels of every level's feature maps.
    group_size: the minibatch standard deviation's group size (per device: each
      device's batch must be a multiple of it).

  Call args:
    x: (B, H, W, C) images (generated, or real through `progressive_images`).
    progress: p.
    train: unused.
  """

  image_size: int = 28
  features: int = 64
  group_size: int = 4

  @nn.compact
  def __call__(self, x: Array, progress: ArrayLike = 1e9, train: bool = True) -> Array:
    del train
    sizes = image_levels("ProgressiveDiscriminator", self.image_size)
    full = sizes[-1]

    def act(v):
      return nn.leaky_relu(v, 0.2)

    def from_rgb(s):
      return act(EqualizedConv(self.features, (1, 1), name=f"from_rgb_{s}")(
          _down(x, full // sizes[s])))

    top = len(sizes) - 1
    h = from_rgb(top)
    for s in range(top, 0, -1):
      block = act(EqualizedConv(self.features)(h))
      block = _down(act(EqualizedConv(self.features)(block)), 2)
      h = _lerp(from_rgb(s - 1), block, fade_weight(progress, s))
    h = minibatch_stddev(h, self.group_size)
    h = act(EqualizedConv(self.features)(h))
    h = act(EqualizedDense(self.features)(h.reshape(h.shape[0], -1)))
    return EqualizedDense(1, gain=1.0)(h)[:, 0]
