"""VQ-VAE-2: a two-level hierarchy of quantized codes (Razavi et al. 2019).

``x`` (H, W) → bottom features ``h_b`` (H/2) → top encoding ``z_t`` (H/4), quantized to
``q_t``; the bottom encoding ``z_b = Conv1×1([h_b, up(q_t)])`` (H/2) reads the quantized
top level, so that the bottom codes hold what the top codes do not; the decoder sees
both, ``p(x | q_b, q_t)``. A prior is then fitted to each level, the bottom one
conditioned on the top codes (`jgen.models.GatedPixelCNN` with ``condition_shape``).

The paper works at 256×256 with 64×64 bottom and 32×32 top maps (strides 4 and 8);
at 28×28 (and 32×32) jgen's default strides are 2 and 4: 14×14 bottom and 7×7 top
maps, which keep the top map a grid (7 does not halve) and a prior's sampling cheap.

References:
  Razavi, van den Oord, Vinyals. Generating Diverse High-Fidelity Images with
  VQ-VAE-2. NeurIPS 2019. arXiv:1906.00446.
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jgen.distributions import Distribution
from jgen.models._common import ResidualBlock
from jgen.models._common import as_float
from jgen.models.decoders import _check_likelihood
from jgen.models.decoders import _decoder_output
from jgen.models.decoders import _image_shape
from jgen.models.layers import SubPixelConvTranspose
from jgen.models.vq import Codebook
from jgen.models.vq import VQOutput
from jgen.models.vq import vector_quantize
from jgen.typing import Array
from jgen.typing import ArrayLike

LEVELS = ("top", "bottom")


class _Down(nn.Module):
  """``Conv 4×4 stride 2 → ReLU → Conv 3×3 → [residual block]×n → ReLU``: halves H, W."""

  features: int
  residual_features: int
  num_residual_blocks: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    x = nn.relu(nn.Conv(self.features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x))
    x = nn.Conv(self.features, (3, 3), padding="SAME")(x)
    for _ in range(self.num_residual_blocks):
      x = ResidualBlock(self.residual_features)(x)
    return nn.relu(x)


class _Up(nn.Module):
  """``Conv 3×3 → [residual block]×n → ReLU → 4×4 stride-2 transposed conv``: doubles H, W."""

  features: int
  out_features: int
  residual_features: int
  num_residual_blocks: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    x = nn.Conv(self.features, (3, 3), padding="SAME")(x)
    for _ in range(self.num_residual_blocks):
      x = ResidualBlock(self.residual_features)(x)
    return SubPixelConvTranspose(self.out_features)(nn.relu(x))


class VQVAE2(nn.Module):
  """Two-level VQ-VAE: top codes at H/4 × W/4, bottom codes at H/2 × W/2 given the top.

  Encoder: ``h_b = Down(x)``, ``z_t = Conv1×1(Down(h_b))``, ``q_t = VQ(z_t; e_top)``,
  ``z_b = Conv1×1([h_b, Up(q_t)])``, ``q_b = VQ(z_b; e_bottom)``; decoder:
  ``p(x | ·) = head(Up([q_b, ConvT(q_t)]))`` (``Down``: a stride-2 4×4 convolution, a 3×3
  convolution and residual blocks; ``Up``: a 3×3 convolution, residual blocks and a 4×4
  stride-2 transposed convolution; ``[·, ·]`` channel concatenation). Straight-through
  gradients pass through both quantizations, so the bottom level's loss trains the top
  encoder too. The loss is the reconstruction term plus each level's codebook and
  β·commitment losses (``jgen.train.vae_train_step``, objective ``'vqvae'``). With
  the defaults it has 1,722,881 parameters on 28×28×1 images and 1,731,075 on 32×32×3
  (Gaussian head, fixed variance).

  The levels' interface, shared with ``VQVAE`` so that one train step serves both:
  ``codebooks()`` (top, bottom), ``quantize(x, codebooks)`` ``((z_t, vq_t), (z_b,
  vq_b))``, ``decode(q_t, q_b)``.

  Attributes:
    image_shape: ``(H, W, C)``, H and W divisible by 4.
    num_codes: ``K`` of each level's codebook.
    embedding_dim: ``D``, the code dimension of both levels.
    features: width of the convolutions and residual streams.
    residual_features: hidden width of the residual blocks; None means ``features // 2``.
    num_residual_blocks: residual blocks in each ``Down`` and ``Up``.
    likelihood, variance, fixed_log_var: the image likelihood, as ``VQDecoder``'s
      (the paper's squared error: ``'gaussian'``, ``'fixed'``, 0).

  References:
    Razavi, van den Oord, Vinyals. Generating Diverse High-Fidelity Images with
    VQ-VAE-2. NeurIPS 2019, §3.1 and Fig. 2. arXiv:1906.00446.
  """

  image_shape: Sequence[int]
  num_codes: int = 512
  embedding_dim: int = 64
  features: int = 128
  residual_features: int | None = None
  num_residual_blocks: int = 2
  likelihood: str = "gaussian"
  variance: str = "fixed"
  fixed_log_var: float = 0.0

  def setup(self):
    self._outputs = _check_likelihood("VQVAE2", self.likelihood, self.variance)
    height, width, channels = _image_shape("VQVAE2", self.image_shape)
    if height % 4 or width % 4:
      raise ValueError(f"VQVAE2: image height and width must be divisible by 4; got "
                       f"image_shape={tuple(self.image_shape)}.")
    f, d = self.features, self.embedding_dim
    res = (self.residual_features or f // 2, self.num_residual_blocks)
    self.down_bottom = _Down(f, *res)
    self.down_top = _Down(f, *res)
    self.pre_top = nn.Conv(d, (1, 1))
    self.up_top = _Up(f, d, *res)  # q_t → the bottom level's grid, for z_b.
    self.pre_bottom = nn.Conv(d, (1, 1))
    self.upsample_top = SubPixelConvTranspose(d)  # q_t → the decoder's input grid.
    self.up_image = _Up(f, self._outputs * channels, *res)
    self.codebook_top = Codebook(self.num_codes, d)
    self.codebook_bottom = Codebook(self.num_codes, d)

  def codebooks(self) -> tuple[Array, Array]:
    """The learned codebooks ``(e_top, e_bottom)``, each (num_codes, D)."""
    return self.codebook_top(), self.codebook_bottom()

  def quantize(self, x: ArrayLike, codebooks: Sequence[ArrayLike], *,
               axis_name: str | None = None) -> tuple[tuple[Array, VQOutput], ...]:
    """Both levels' encodings and quantizations of images (B, H, W, C).

    Args:
      x: (B, H, W, C) images.
      codebooks: ``(e_top, e_bottom)``, each (K, D): the parameters' (``codebooks()``)
        or EMA codebooks.
      axis_name: the data-parallel axis (``vector_quantize``'s perplexity).

    Returns:
      ``((z_t, vq_t), (z_b, vq_b))``: ``z_t`` (B, H/4, W/4, D), ``z_b`` (B, H/2, W/2,
      D) and their ``VQOutput``s (``vq_b`` computed from the quantized top level).

    Raises:
      ValueError: if ``x`` is not (B, H, W, C) of ``image_shape``.
    """
    x = as_float(x)
    if x.ndim != 4 or x.shape[1:] != tuple(self.image_shape):
      raise ValueError(f"VQVAE2(image_shape={tuple(self.image_shape)}) expects images "
                       f"(B, *image_shape); got shape {x.shape}.")
    e_top, e_bottom = codebooks
    h = self.down_bottom(x)
    z_top = self.pre_top(self.down_top(h))
    top = vector_quantize(z_top, e_top, axis_name=axis_name)
    z_bottom = self.pre_bottom(jnp.concatenate([h, self.up_top(top.quantized)], axis=-1))
    bottom = vector_quantize(z_bottom, e_bottom, axis_name=axis_name)
    return (z_top, top), (z_bottom, bottom)

  def decode(self, q_top: ArrayLike, q_bottom: ArrayLike) -> Distribution:
    """``p(x | q_b, q_t)`` for quantized maps (B, H/4, W/4, D) and (B, H/2, W/2, D)."""
    q_top, q_bottom = as_float(q_top), as_float(q_bottom)
    h, w, _ = _image_shape("VQVAE2", self.image_shape)
    if (q_top.ndim != 4 or q_bottom.ndim != 4 or q_top.shape[1:3] != (h // 4, w // 4)
        or q_bottom.shape[1:3] != (h // 2, w // 2)):
      raise ValueError(f"VQVAE2(image_shape={tuple(self.image_shape)}).decode expects "
                       f"maps (B, {h // 4}, {w // 4}, D) and (B, {h // 2}, {w // 2}, D); "
                       f"got {q_top.shape} and {q_bottom.shape}.")
    out = self.up_image(jnp.concatenate([q_bottom, self.upsample_top(q_top)], axis=-1))
    return _decoder_output(out, self.likelihood, self.variance, self.fixed_log_var)

  def __call__(self, x: ArrayLike) -> tuple[Distribution, tuple[VQOutput, VQOutput]]:
    """Reconstruction with the learned codebooks: ``(p(x | q_b, q_t), (vq_t, vq_b))``."""
    (_, top), (_, bottom) = self.quantize(x, self.codebooks())
    return self.decode(top.quantized, bottom.quantized), (top, bottom)


__all__ = ["LEVELS", "VQVAE2"]
