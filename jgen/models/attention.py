"""Self-attention over the pixels of a feature map (SAGAN), as used by SAGAN and BigGAN."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.models.layers import spectral_normalized
from jgen.typing import Array


def _max_pool(x: Array) -> Array:
  return nn.max_pool(x, (2, 2), strides=(2, 2))


class SelfAttention2D(nn.Module):
  """``y = x + γ·o``, a non-local attention block over the H·W positions of ``x``.

  With ``θ = W_θ x`` and ``φ = pool(W_φ x)`` at C/8 channels and ``g = pool(W_g x)``
  at C/2 (1×1 convolutions; ``pool`` a 2×2 max-pool over positions, which cuts the
  keys to H·W/4 as in BigGAN's implementation of SAGAN):

  .. math::
     β_{ij} = \\mathrm{softmax}_j(θ_i^⊤ φ_j), \\quad o_i = W_o \\sum_j β_{ij} g_j,
     \\quad y_i = x_i + γ\\, o_i,

  ``γ`` a learned scalar initialised to 0, so a fresh block is the identity and the
  network first relies on local features. The attention map ``β`` (B, H·W, H·W/4) is
  sown into the ``intermediates`` collection as ``attention``.

  Attributes:
    spectral_norm: wrap the four 1×1 convolutions in ``nn.SpectralNorm`` (SAGAN uses
      it in both players); their power-iteration vectors live in ``batch_stats``.

  Call args:
    x: (B, H, W, C) features, H and W even, C divisible by 8.
    train: update the spectral-norm statistics (only with ``spectral_norm``).

  Returns:
    (B, H, W, C).

  Raises:
    ValueError: for odd H or W, or C not divisible by 8.

  References:
    Zhang, Goodfellow, Metaxas, Odena. Self-Attention Generative Adversarial Networks.
    ICML 2019. arXiv:1805.08318.
    Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image
    Synthesis (BigGAN). ICLR 2019. arXiv:1809.11096.
  """

  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: Array, train: bool = False) -> Array:
    if x.ndim != 4 or x.shape[1] % 2 or x.shape[2] % 2 or x.shape[3] % 8:
      raise ValueError("SelfAttention2D expects (B, H, W, C) features with even H and W "
                       f"and C divisible by 8; got {x.shape}.")
    b, h, w, c = x.shape

    def conv1x1(features, name):
      return spectral_normalized(nn.Conv(features, (1, 1), use_bias=False, name=name),
                                 train, self.spectral_norm, f"{name}_sn")
    theta = conv1x1(c // 8, "theta")(x)
    phi = _max_pool(conv1x1(c // 8, "phi")(x))
    g = _max_pool(conv1x1(c // 2, "g")(x))
    logits = jnp.einsum("bqc,bkc->bqk", theta.reshape(b, h * w, -1),
                        phi.reshape(b, h * w // 4, -1))
    beta = jax.nn.softmax(logits, axis=-1)
    self.sow("intermediates", "attention", beta)
    attended = jnp.einsum("bqk,bkc->bqc", beta, g.reshape(b, h * w // 4, -1))
    o = conv1x1(c, "out")(attended.reshape(b, h, w, c // 2))
    gamma = self.param("gamma", nn.initializers.zeros_init(), ())
    return x + gamma * o
