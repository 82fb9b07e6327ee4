"""A StyleGAN-style generator at CPU scale: constant input, per-layer styles, noise inputs.

The synthesis network starts from a learned constant, and every convolution takes its
own style ``w_l`` (StyleGAN2's modulated/demodulated convolutions, `ModulatedConv`)
and its own noise map (`NoiseInput`); the mapping network turns ``z`` into ``w``. The
image is StyleGAN2's skip sum of each level's 1×1 ``to_rgb`` output (upsampled).

The generator's input is one standard normal vector ``[z ; n]``: the style latent
``z`` (``z_dim``) followed by every noise map, flattened (``noise_size``). Drawing the
noise with the latents keeps the generator a function of its input alone, so the
GAN step's global-batch latent draw (the same samples on any number of devices),
resumption and the samplers need nothing new. Truncation in W (StyleGAN, Sec. 4):
``w' = w̄ + ψ (w − w̄)`` with ``w̄`` the running mean of ``w`` over training batches,
kept in the ``batch_stats`` collection and updated only when ``train=True``.

References:
  Karras, Laine, Aila. A Style-Based Generator Architecture for Generative Adversarial
  Networks (StyleGAN). CVPR 2019. arXiv:1812.04948.
  Karras, Laine, Aittala, Hellsten, Lehtinen, Aila. Analyzing and Improving the Image
  Quality of StyleGAN (StyleGAN2). CVPR 2020. arXiv:1912.04958.
"""

from collections.abc import Callable
from typing import Any

import flax.linen as nn
from jax import lax
import jax.numpy as jnp

from jgen.models.progressive import image_levels
from jgen.models.progressive_layers import upsample_nearest
from jgen.models.style import MappingNetwork
from jgen.models.style import ModulatedConv
from jgen.models.style import NoiseInput
from jgen.models.style import scaled_leaky_relu
from jgen.typing import Array
from jgen.typing import ArrayLike


def num_styles(image_size: int) -> int:
  """Styles (= convolutions) of the synthesis network: one at the first level, two after."""
  return 2 * len(image_levels("StyleGenerator", image_size)) - 1


def noise_shapes(image_size: int) -> tuple[int, ...]:
  """The side of each convolution's noise map, in order (e.g. 7, 14, 14, 28, 28)."""
  levels = image_levels("StyleGenerator", image_size)
  return (levels[0],) + tuple(r for r in levels[1:] for _ in range(2))


def mix_styles(ws_coarse: Array, ws_fine: Array, crossover: int) -> Array:
  """Style mixing: the first ``crossover`` layers' styles from one latent, the rest from another.

  Args:
    ws_coarse: (B, L, w_dim), styles for layers ``0 … crossover − 1`` (low resolution:
      pose, shape).
    ws_fine: (B, L, w_dim), styles for layers ``crossover … L − 1`` (high resolution:
      stroke, texture).
    crossover: in [0, L].

  Returns:
    (B, L, w_dim).
  """
  layer = jnp.arange(ws_coarse.shape[1])[None, :, None]
  return jnp.where(layer < crossover, ws_coarse, ws_fine)


def style_mixing_grid(apply_fn: Callable[..., Any], variables, coarse: Array, fine: Array,
                      z_dim: int, crossover: int | None = None) -> Array:
  """StyleGAN's style-mixing figure (StyleGAN, Fig. 3) as ``(1 + m)·(1 + n)`` images.

  Row 0 holds a blank cell (−1) then the images of the ``fine`` latents; column 0 the
  images of the ``coarse`` latents; cell ``(i, j)`` takes the coarse styles of
  ``coarse[i − 1]`` and the fine ones of ``fine[j − 1]``. Every image uses the noise
  maps of ``coarse[0]``, so that the styles alone differ.

  Args:
    apply_fn: a `StyleGenerator`'s ``apply``.
    variables: its variables.
    coarse: (m, latent_size) latents.
    fine: (n, latent_size) latents.
    z_dim: the generator's ``z_dim`` (the latents' noise maps follow it).
    crossover: the first layer with fine styles; default ``L − 2`` (the last level's
      two convolutions are fine, every coarser one comes from ``coarse``).

  Returns:
    ((1 + m)(1 + n), H, W, C), row-major.
  """
  ws_c = apply_fn(variables, coarse, method="styles")
  ws_f = apply_fn(variables, fine, method="styles")
  m, n, num_layers = ws_c.shape[0], ws_f.shape[0], ws_c.shape[1]
  crossover = num_layers - 2 if crossover is None else crossover
  mixed = mix_styles(jnp.repeat(ws_c, n, axis=0), jnp.tile(ws_f, (m, 1, 1)), crossover)
  ws = jnp.concatenate([ws_f, ws_c, mixed])
  noise = jnp.broadcast_to(coarse[:1, z_dim:], (ws.shape[0], coarse.shape[1] - z_dim))
  images = apply_fn(variables, ws, noise, method="synthesis")
  top, left = images[:n], images[n:n + m]
  cells = images[n + m:].reshape(m, n, *images.shape[1:])
  rows = [jnp.concatenate([-jnp.ones_like(top[:1]), top])]
  rows += [jnp.concatenate([left[i:i + 1], cells[i]]) for i in range(m)]
  return jnp.concatenate(rows)


class _StyleConv(nn.Module):
  """``act(modconv(x, w) + λ n + b)``, StyleGAN2's order (noise and bias after the conv)."""

  features: int

  @nn.compact
  def __call__(self, x: Array, w: Array, noise: Array) -> Array:
    y = NoiseInput()(ModulatedConv(self.features)(x, w), noise)
    return scaled_leaky_relu(y + self.param("bias", nn.initializers.zeros_init(),
                                            (self.features,)))


class StyleGenerator(nn.Module):
  """Maps ``[z ; n]`` (B, z_dim + noise_size) to images (B, H, W, C).

  Levels 7 → 14 → 28 (or 4 → 8 → 16 → 32): a learned constant at the first level, one
  style convolution there and two at every later one (the first after a nearest
  upsampling), each with its style ``ws[:, l]`` and noise map; each level's last
  style also drives its ``to_rgb`` (modulated 1×1, no demodulation), summed over
  levels after upsampling (StyleGAN2's skip generator). Linear outputs.

  Attributes:
    image_size: 28 or 32.
    channels: image channels.
    z_dim: size of the style latent ``z``.
    w_dim: size of ``w``.
    features: channels of every feature map.
    mapping_layers: dense layers of the mapping network.
    w_avg_decay: decay of the running mean ``w̄`` (StyleGAN: 0.995).
    bn_axis_name: data-parallel axis over which the batch mean of ``w`` is averaged
      before it enters ``w̄`` (global-batch statistic, like batch norm's).

  Call args:
    latent: (B, z_dim + noise_size) standard normal.
    train: update ``w̄``.
    truncation_psi: ψ of the truncation in W (1: none; 0: every image at ``w̄``).

  Returns:
    (B, H, W, channels).
  """

  image_size: int = 28
  channels: int = 1
  z_dim: int = 64
  w_dim: int = 64
  features: int = 32
  mapping_layers: int = 4
  w_avg_decay: float = 0.995
  bn_axis_name: str | None = None

  @property
  def noise_size(self) -> int:
    """Numbers of noise in the input after ``z``: Σ side² over the convolutions."""
    return sum(r * r for r in noise_shapes(self.image_size))

  @property
  def latent_size(self) -> int:
    """The input's size, ``z_dim + noise_size``."""
    return self.z_dim + self.noise_size

  def setup(self):
    levels = image_levels("StyleGenerator", self.image_size)
    self.mapping_network = MappingNetwork(self.w_dim, self.mapping_layers)
    self.w_avg = self.variable("batch_stats", "w_avg", jnp.zeros, (self.w_dim,))
    self.const = self.param("const", nn.initializers.normal(1.0),
                            (levels[0], levels[0], self.features))
    self.convs = [_StyleConv(self.features) for _ in range(num_styles(self.image_size))]
    self.to_rgb = [ModulatedConv(self.channels, (1, 1), demodulate=False)
                   for _ in levels]
    self.rgb_bias = [self.param(f"rgb_bias_{s}", nn.initializers.zeros_init(),
                                (self.channels,)) for s in range(len(levels))]

  def mapping(self, z: Array) -> Array:
    """``w = f(z)``: (B, z_dim) → (B, w_dim)."""
    return self.mapping_network(z)

  def styles(self, latent: Array, train: bool = False, truncation_psi: ArrayLike = 1.0
             ) -> Array:
    """The per-layer styles (B, L, w_dim) of ``latent``'s z, truncated in W by ψ."""
    if latent.shape[-1] != self.latent_size:
      raise ValueError(f"StyleGenerator takes latents of size z_dim + noise_size = "
                       f"{self.z_dim} + {self.noise_size} = {self.latent_size}; got "
                       f"{latent.shape[-1]}.")
    w = self.mapping(latent[:, :self.z_dim])
    if train and not self.is_initializing():
      mean = jnp.mean(w, axis=0)
      if self.bn_axis_name is not None:
        mean = lax.pmean(mean, self.bn_axis_name)
      self.w_avg.value = mean + self.w_avg_decay * (self.w_avg.value - mean)
    if not (isinstance(truncation_psi, (int, float)) and truncation_psi == 1):
      w = self.w_avg.value + truncation_psi * (w - self.w_avg.value)
    return jnp.broadcast_to(w[:, None, :], (w.shape[0], num_styles(self.image_size),
                                            self.w_dim))

  def synthesis(self, ws: Array, noise: Array) -> Array:
    """Images (B, H, W, C) from styles ``ws`` (B, L, w_dim) and flat noise (B, noise_size)."""
    maps, start = [], 0
    for r in noise_shapes(self.image_size):
      maps.append(noise[:, start:start + r * r].reshape(-1, r, r, 1))
      start += r * r
    x = jnp.broadcast_to(self.const, (ws.shape[0], *self.const.shape))
    layer, image = 0, None
    for s in range(len(self.to_rgb)):
      for i in range(1 if s == 0 else 2):
        if i == 0 and s > 0:
          x = upsample_nearest(x, 2)
        x = self.convs[layer](x, ws[:, layer], maps[layer])
        layer += 1
      rgb = self.to_rgb[s](x, ws[:, layer - 1]) + self.rgb_bias[s]
      image = rgb if image is None else upsample_nearest(image, 2) + rgb
    return image

  def __call__(self, latent: Array, train: bool = True, truncation_psi: ArrayLike = 1.0
               ) -> Array:
    ws = self.styles(latent, train, truncation_psi)
    return self.synthesis(ws, latent[:, self.z_dim:])
