"""Causal (masked) convolutions for raster-order image models: masks A and B.

An output at pixel ``(i, j)`` and channel group ``c`` may see the input at pixels before
``(i, j)`` in raster order and, at ``(i, j)`` itself, the channel groups before ``c``
(mask A, a model's first layer) or up to ``c`` (mask B, the layers after).

References:
  van den Oord, Kalchbrenner, Kavukcuoglu. Pixel Recurrent Neural Networks. ICML 2016,
  Section 3.4. arXiv:1601.06759.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jgen.typing import Array
from jgen.typing import ArrayLike

MASK_TYPES = ("A", "B")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
  return (size, size) if isinstance(size, int) else tuple(size)


def _groups(features: int, data_channels: int, what: str) -> np.ndarray:
  """The data channel each feature belongs to: ``features`` split into contiguous groups."""
  if features % data_channels:
    raise ValueError(f"{what}={features} must be a multiple of data_channels="
                     f"{data_channels} (features are split into one group per channel).")
  return np.arange(features) * data_channels // features


def causal_mask(kernel_size: int | Sequence[int], in_features: int, out_features: int,
                mask_type: str, data_channels: int = 1,
                center: Sequence[int] | None = None) -> np.ndarray:
  """The binary mask of a causal convolution kernel, shape ``(kh, kw, in, out)``.

  With the kernel's centre at ``(ci, cj)`` (the output pixel's position): taps in rows
  above the centre, and left of it in its row, are kept; taps after it are zeroed; the
  centre tap keeps input group ``g_in`` → output group ``g_out`` iff ``g_in < g_out``
  (mask A) or ``g_in ≤ g_out`` (mask B). Features are split into ``data_channels``
  contiguous groups, group ``c`` carrying information about channels ``≤ c`` (R, G, B).

  Args:
    kernel_size: ``k`` or ``(kh, kw)``.
    in_features: input features, a multiple of ``data_channels``.
    out_features: output features, a multiple of ``data_channels``.
    mask_type: ``'A'`` (first layer) or ``'B'``.
    data_channels: ``C``, the image's channels (1 grey, 3 colour).
    center: the output pixel's tap ``(ci, cj)``; default the middle ``(kh//2, kw//2)``.

  Returns:
    float32 ``(kh, kw, in_features, out_features)`` of zeros and ones.

  Raises:
    ValueError: for an unknown ``mask_type`` or features not divisible by ``C``.

  Example:
    >>> causal_mask(3, 1, 1, "A")[..., 0, 0]
    array([[1., 1., 1.],
           [1., 0., 0.],
           [0., 0., 0.]], dtype=float32)
  """
  if mask_type not in MASK_TYPES:
    raise ValueError(f"mask_type={mask_type!r}; valid: {', '.join(MASK_TYPES)}.")
  kh, kw = _pair(kernel_size)
  ci, cj = (kh // 2, kw // 2) if center is None else center
  g_in = _groups(in_features, data_channels, "in_features")
  g_out = _groups(out_features, data_channels, "out_features")
  rows, cols = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
  before = (rows < ci) | ((rows == ci) & (cols < cj))
  mask = np.broadcast_to(before[:, :, None, None], (kh, kw, in_features, out_features)).copy()
  allowed = g_in[:, None] < g_out[None, :] if mask_type == "A" else g_in[:, None] <= g_out[None, :]
  mask[ci, cj] = allowed
  return mask.astype(np.float32)


class MaskedConv2D(nn.Module):
  """A convolution whose kernel is multiplied by `causal_mask` (NHWC, stride 1).

  The output keeps the input's height and width: the input is zero-padded so that the
  kernel's ``center`` tap lies on the output pixel (``'SAME'`` for a middle centre).

  Attributes:
    features: output features (a multiple of ``data_channels``).
    kernel_size: ``k`` or ``(kh, kw)``.
    mask_type: ``'A'`` or ``'B'``.
    data_channels: the image's channels ``C``.
    center: the output pixel's tap; default the middle.
    use_bias: add a bias (per feature; it carries no information about the input).
  """

  features: int
  kernel_size: int | Sequence[int]
  mask_type: str = "B"
  data_channels: int = 1
  center: Sequence[int] | None = None
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: ArrayLike, center_only: bool = False) -> Array:
    """The masked convolution of ``x`` (B, H, W, in).

    With ``center_only``, ``x`` is one kernel-sized window ``(B, kh, kw, in)`` and the
    result is the output at its ``center`` tap alone, ``(B, 1, 1, features)``: what the
    cached samplers compute for the one position they visit.
    """
    x = jnp.asarray(x)
    kh, kw = _pair(self.kernel_size)
    ci, cj = (kh // 2, kw // 2) if self.center is None else tuple(self.center)
    mask = causal_mask((kh, kw), x.shape[-1], self.features, self.mask_type,
                       self.data_channels, (ci, cj))
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (kh, kw, x.shape[-1], self.features)) * mask
    if center_only:
      if x.shape[1:3] != (kh, kw):
        raise ValueError(f"center_only needs a ({kh}, {kw}) window; got {x.shape[1:3]}.")
      y = jnp.einsum("nhwc,hwcd->nd", x, kernel)[:, None, None, :]
    elif (kh, kw) == (1, 1):  # A matmul: XLA:CPU's 1×1 convolution gradients are slow.
      y = x @ kernel[0, 0]
    else:
      # The rows below the centre are masked out: convolve with the rows up to it only
      # (3×3 → 2×3, 7×7 → 4×7: a third to a half fewer multiplications, same result).
      y = jax.lax.conv_general_dilated(
          x, kernel[:ci + 1], (1, 1), ((ci, 0), (cj, kw - 1 - cj)),
          dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,))
    return y


__all__ = ["MASK_TYPES", "MaskedConv2D", "causal_mask"]
