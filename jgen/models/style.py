"""StyleGAN's layers: the mapping network, AdaIN, weight (de)modulation and noise inputs.

References:
  Karras, Laine, Aila. A Style-Based Generator Architecture for Generative Adversarial
  Networks (StyleGAN). CVPR 2019. arXiv:1812.04948.
  Karras, Laine, Aittala, Hellsten, Lehtinen, Aila. Analyzing and Improving the Image
  Quality of StyleGAN (StyleGAN2). CVPR 2020. arXiv:1912.04958.
"""

import math

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp

from jgen.models.progressive_layers import EqualizedDense
from jgen.models.progressive_layers import pixel_norm
from jgen.typing import Array

_SQRT2 = math.sqrt(2.0)


def scaled_leaky_relu(x: Array) -> Array:
  """``√2 · leaky_relu(x, 0.2)``: StyleGAN's activation, gain √2 to keep the variance."""
  return _SQRT2 * nn.leaky_relu(x, 0.2)


class MappingNetwork(nn.Module):
  """``w = f(pixel_norm(z))``: StyleGAN's MLP from the latent z to the style space W.

  ``num_layers`` equalized dense layers (gain 1) with the scaled leaky ReLU (which
  carries the √2 gain, as in StyleGAN2), learning rate multiplier 0.01 (StyleGAN,
  Sec. 3 / Appendix C), so that ``E[w²]`` stays of order 1 through the layers.

  Attributes:
    w_dim: size of w.
    num_layers: dense layers (StyleGAN: 8; its small configs: 2).
    lr_multiplier: the layers' learning-rate multiplier.

  Call args:
    z: (B, latent_dim).

  Returns:
    (B, w_dim).

  References:
    Karras, Laine, Aila. A Style-Based Generator Architecture for GANs. CVPR 2019.
    arXiv:1812.04948.
  """

  w_dim: int = 64
  num_layers: int = 8
  lr_multiplier: float = 0.01

  @nn.compact
  def __call__(self, z: Array) -> Array:
    w = pixel_norm(z)
    for _ in range(self.num_layers):
      w = scaled_leaky_relu(
          EqualizedDense(self.w_dim, gain=1.0, lr_multiplier=self.lr_multiplier)(w))
    return w


class AdaIN(nn.Module):
  """Adaptive instance norm: ``y = y_s ⊙ (x − μ(x)) / σ(x) + y_b`` with ``(y_s, y_b) = A(w)``.

  ``μ``, ``σ`` per example and channel over the positions; ``A`` an equalized dense
  layer whose scale half starts at 1 (bias init 1) and offset half at 0. Each output
  channel then has mean ``y_b`` and standard deviation ``|y_s|`` over the positions:
  the style sets the first two moments of every feature map (StyleGAN, Eq. 1).

  Call args:
    x: (B, H, W, C) features.
    w: (B, w_dim) styles.

  Returns:
    (B, H, W, C).

  References:
    Karras, Laine, Aila. A Style-Based Generator Architecture for GANs. CVPR 2019.
    arXiv:1812.04948.
  """

  epsilon: float = 1e-8

  @nn.compact
  def __call__(self, x: Array, w: Array) -> Array:
    c = x.shape[-1]
    scale = EqualizedDense(c, gain=1.0, bias_init=1.0, name="scale")(w)
    offset = EqualizedDense(c, gain=1.0, name="offset")(w)
    centred = x - jnp.mean(x, axis=(1, 2), keepdims=True)
    normed = centred * lax.rsqrt(jnp.mean(jnp.square(centred), axis=(1, 2), keepdims=True)
                                 + self.epsilon)
    return scale[:, None, None, :] * normed + offset[:, None, None, :]


class ModulatedConv(nn.Module):
  """StyleGAN2's modulated 'SAME' convolution, with optional demodulation.

  Per example b, with the style ``s_b = A(w_b)`` (an equalized dense layer, bias
  init 1) scaling the input channels:

  .. math::
     w'_{ijk} = s_i\\, w_{ijk}, \\qquad
     w''_{ijk} = w'_{ijk} \\Big/ \\sqrt{\\textstyle\\sum_{i,k} {w'_{ijk}}^2 + ε}

  (i input channel, j output channel, k tap). Demodulation rescales each output
  channel so that unit-variance i.i.d. inputs give unit-variance outputs, replacing
  AdaIN's instance norm without its droplet artefacts. Computed in StyleGAN2's
  unfused form, exactly equal: ``conv(x ⊙ s, w) ⊙ d`` with
  ``d_j = (Σ_{i,k} (s_i w_{ijk})² + ε)^{−1/2}`` (one convolution for the batch instead
  of B grouped ones). The weights use the equalized learning rate (gain 1).

  Attributes:
    features: output channels.
    kernel_size: (k_h, k_w).
    demodulate: apply ``d``.
    epsilon: ε.

  Call args:
    x: (B, H, W, C_in).
    w: (B, w_dim) styles.

  Returns:
    (B, H, W, features), without bias (add it after the noise, as StyleGAN2 does).

  References:
    Karras et al. Analyzing and Improving the Image Quality of StyleGAN. CVPR 2020.
    arXiv:1912.04958.
  """

  features: int
  kernel_size: tuple[int, int] = (3, 3)
  demodulate: bool = True
  epsilon: float = 1e-8

  @nn.compact
  def __call__(self, x: Array, w: Array) -> Array:
    kh, kw = self.kernel_size
    c_in = x.shape[-1]
    s = EqualizedDense(c_in, gain=1.0, bias_init=1.0, name="style")(w)      # (B, C_in)
    kernel = self.param("kernel", nn.initializers.normal(1.0),
                        (kh, kw, c_in, self.features)) / math.sqrt(kh * kw * c_in)
    y = lax.conv_general_dilated(x * s[:, None, None, :], kernel, (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.demodulate:
      # Σ_{i,k} (s_i w_ijk)² = Σ_i s_i² Σ_k w_ijk²: a (B, C_in) × (C_in, C_out) product.
      sum_sq = jnp.square(s) @ jnp.sum(jnp.square(kernel), axis=(0, 1))
      y = y * lax.rsqrt(sum_sq + self.epsilon)[:, None, None, :]
    return y


class NoiseInput(nn.Module):
  """``y = x + λ ⊙ n``: per-pixel noise with a learned per-channel strength λ (init 0).

  ``n`` (B, H, W, 1) is one standard normal map per example, shared by the channels
  (StyleGAN, Sec. 3.2): given, or drawn from the ``'noise'`` PRNG stream
  (``apply(..., rngs={'noise': key})``), so the layer stays a pure function of its
  key. With λ = 0 at initialisation the layer starts as the identity.

  Call args:
    x: (B, H, W, C).
    noise: (B, H, W, 1), or None to draw it.

  Returns:
    (B, H, W, C).

  References:
    Karras, Laine, Aila. A Style-Based Generator Architecture for GANs. CVPR 2019.
    arXiv:1812.04948.
  """

  @nn.compact
  def __call__(self, x: Array, noise: Array | None = None) -> Array:
    strength = self.param("strength", nn.initializers.zeros_init(), (x.shape[-1],))
    if noise is None:
      noise = jax.random.normal(self.make_rng("noise"), (*x.shape[:3], 1), x.dtype)
    return x + strength * noise
