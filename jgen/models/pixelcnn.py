r"""PixelCNN and gated PixelCNN: autoregressive image models of masked convolutions.

Both factorise an image in raster order, row by row, pixel by pixel and, within a
pixel, channel by channel (R → G → B):

.. math::

  p(x) = \prod_{i=1}^{H} \prod_{j=1}^{W} \prod_{c=1}^{C} p(x_{ijc} \mid x_{<(i,j)}, x_{ij,<c}),

and compute every conditional in one pass with convolutions whose kernels are masked so
that the output at ``(i, j, c)`` never sees the input at or after it (`causal_mask`).
The first layer uses mask A (the pixel's own channel excluded), the later ones mask B
(included: their inputs at ``(i, j, c)`` already depend only on what came before).

- `PixelCNN` (van den Oord et al. 2016a): a 7×7 mask-A convolution, residual blocks of
  mask-B convolutions, 1×1 output layers. Stacked square masks leave a *blind spot*:
  pixels above and to the right of ``(i, j)`` that no path reaches.
- `GatedPixelCNN` (van den Oord et al. 2016b): a vertical stack (rows above) and a
  horizontal stack (the row so far), gated units ``tanh(a) ⊙ σ(b)``, residual and skip
  connections, and an optional class-dependent bias; no blind spot.

Outputs (``output=``): ``'bernoulli'`` for binary images (`jgen.distributions.Bernoulli`),
``'logistic_mixture'`` for 8-bit images scaled to ``[−1, 1]`` (PixelCNN++'s discretized
logistic mixture, `jgen.distributions.DiscretizedLogisticMixture`, one mixture per
sub-pixel, its channels coupled through the masks).

References:
  van den Oord, Kalchbrenner, Kavukcuoglu. Pixel Recurrent Neural Networks. ICML 2016.
  arXiv:1601.06759.
  van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu. Conditional Image
  Generation with PixelCNN Decoders. NeurIPS 2016. arXiv:1606.05328.
  Salimans, Karpathy, Chen, Kingma. PixelCNN++. ICLR 2017. arXiv:1701.05517.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jgen.distributions import Bernoulli
from jgen.distributions import DiscretizedLogisticMixture
from jgen.distributions.base import Distribution
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

MASK_TYPES = ("A", "B")
OUTPUTS = ("bernoulli", "logistic_mixture")


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
  def __call__(self, x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    kh, kw = _pair(self.kernel_size)
    ci, cj = (kh // 2, kw // 2) if self.center is None else tuple(self.center)
    mask = causal_mask((kh, kw), x.shape[-1], self.features, self.mask_type,
                       self.data_channels, (ci, cj))
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (kh, kw, x.shape[-1], self.features))
    y = jax.lax.conv_general_dilated(
        x, kernel * mask, (1, 1), ((ci, kh - 1 - ci), (cj, kw - 1 - cj)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,))
    return y


def _gate(x: Array, data_channels: int) -> Array:
  """``tanh(a) ⊙ σ(b)``, splitting each channel group of ``x`` in halves (groups kept)."""
  *lead, f = x.shape
  x = x.reshape(*lead, data_channels, 2, f // (2 * data_channels))
  out = jnp.tanh(x[..., 0, :]) * jax.nn.sigmoid(x[..., 1, :])
  return out.reshape(*lead, f // 2)


def _check_images(owner: str, x: Array, event_shape: tuple[int, ...]) -> None:
  if x.ndim != 4 or x.shape[1:] != event_shape:
    raise ValueError(f"{owner} expects images of shape (B, {', '.join(map(str, event_shape))});"
                     f" got {tuple(x.shape)}.")


class _OutputHead(nn.Module):
  """ReLU → 1×1 mask B → ReLU → 1×1 mask B → the distribution over each sub-pixel."""

  hidden: int
  output: str
  data_channels: int
  num_mixtures: int

  @nn.compact
  def __call__(self, h: Array) -> Distribution:
    c = self.data_channels
    per_channel = 1 if self.output == "bernoulli" else 3 * self.num_mixtures
    h = MaskedConv2D(self.hidden, 1, "B", c)(nn.relu(h))
    out = MaskedConv2D(c * per_channel, 1, "B", c)(nn.relu(h))
    out = out.reshape(*out.shape[:-1], c, per_channel)  # Group c holds channel c.
    if self.output == "bernoulli":
      return Bernoulli(out[..., 0], event_ndims=3)
    logits, locs, log_scales = jnp.split(out, 3, axis=-1)
    return DiscretizedLogisticMixture(logits, jnp.tanh(locs), jnp.maximum(log_scales, -7.0),
                                      event_ndims=3)


class _Autoregressive(nn.Module):
  """Shared by the PixelCNNs: the event shape, the output and the exact samplers."""

  def _validate(self):
    if self.output not in OUTPUTS:
      raise ValueError(f"output={self.output!r}; valid: {', '.join(OUTPUTS)}.")
    if len(self.event_shape) != 3:
      raise ValueError(f"event_shape={tuple(self.event_shape)} must be (H, W, C).")

  def sample(self, key: PRNGKey, num_samples: int, labels: ArrayLike | None = None,
             given: ArrayLike | None = None, start: int = 0) -> Array:
    """Exact ancestral samples by full recomputation: one network pass per sub-pixel.

    A ``lax.fori_loop`` over the ``H·W·C`` positions in raster order; at position
    ``p = (i·W + j)·C + c`` the network runs on the image drawn so far and
    ``x_{ijc}`` is drawn from its conditional with the key ``fold_in(key, p)``.
    Positions before ``start`` are taken from ``given`` (image completion).

    Args:
      key: a PRNG key.
      num_samples: ``N`` (static).
      labels: ``(N,)`` class labels for a class-conditional model.
      given: ``(N, H, W, C)`` images whose first ``start`` sub-pixels are kept.
      start: the first position to draw (static).

    Returns:
      ``(N, H, W, C)`` float32 samples (in {0, 1} for ``'bernoulli'``, on the bin centres
      of ``[−1, 1]`` for ``'logistic_mixture'``).
    """
    h, w, c = self.event_shape
    x = (jnp.zeros((num_samples, h, w, c), jnp.float32) if given is None
         else jnp.asarray(given, jnp.float32))

    def body(p, x):
      i, j, ch = p // (w * c), (p // c) % w, p % c
      value = self(x, labels).sample(jax.random.fold_in(key, p))[:, i, j, ch]
      return x.at[:, i, j, ch].set(value)

    return jax.lax.fori_loop(start, h * w * c, body, x)


class PixelCNN(_Autoregressive):
  """PixelCNN: 7×7 mask A, residual blocks of mask-B convolutions, a 1×1 head.

  Residual block (van den Oord et al. 2016a, Fig. 5): ``x + 1×1(ReLU(k×k_B(ReLU(
  1×1(ReLU(x))))))``, the 1×1 layers halving then restoring ``2h`` features; all layers
  masked (mask B), so the chain stays causal across channels.

  Attributes:
    event_shape: ``(H, W, C)``.
    hidden: ``h``; the residual stream has ``2h`` features (multiples of ``C``).
    num_blocks: residual blocks.
    kernel_size: the blocks' mask-B kernel (3 in the paper).
    first_kernel_size: the mask-A layer's kernel (7).
    output: one of ``OUTPUTS``.
    num_mixtures: logistic components per sub-pixel (``'logistic_mixture'``).
    head_hidden: the 1×1 head's width.
  """

  event_shape: Sequence[int]
  hidden: int = 32
  num_blocks: int = 7
  kernel_size: int = 3
  first_kernel_size: int = 7
  output: str = "bernoulli"
  num_mixtures: int = 5
  head_hidden: int = 64

  @nn.compact
  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), one pass."""
    self._validate()
    if labels is not None:
      raise ValueError("PixelCNN is unconditional; use GatedPixelCNN(num_classes=...).")
    x = jnp.asarray(x, jnp.float32)
    _check_images(type(self).__name__, x, tuple(self.event_shape))
    c = self.event_shape[-1]
    h = MaskedConv2D(2 * self.hidden, self.first_kernel_size, "A", c)(x)
    for _ in range(self.num_blocks):
      y = MaskedConv2D(self.hidden, 1, "B", c)(nn.relu(h))
      y = MaskedConv2D(self.hidden, self.kernel_size, "B", c)(nn.relu(y))
      h = h + MaskedConv2D(2 * self.hidden, 1, "B", c)(nn.relu(y))
    return _OutputHead(self.head_hidden, self.output, c, self.num_mixtures)(h)


class GatedPixelCNN(_Autoregressive):
  """Gated PixelCNN: vertical and horizontal stacks, gated units, no blind spot.

  Layer ``l`` (van den Oord et al. 2016b, Fig. 2), with ``2F`` pre-activations split per
  channel group into ``(a, b)`` and the gate ``g(a, b) = tanh(a) ⊙ σ(b)``:

  - vertical: ``v' = k'×k`` convolution of ``v`` over the rows ``i − k//2 … i``
    (``k' = k//2 + 1``); ``v_out = g(v' + e_y)``;
  - link: ``v'`` shifted down one row (rows ``< i`` only), through a 1×1 convolution;
  - horizontal: ``h' = 1×k'`` convolution over the columns ``j − k//2 … j`` of row ``i``
    (centre tap masked: A in the first layer, B after); ``u = g(h' + link + e_y)``;
    ``h_out = h + 1×1_B(u)`` (no residual in the first layer), skip ``+= 1×1_B(u)``;

  where ``e_y`` is a learned per-class bias (``num_classes > 0``). The horizontal
  stack's layers are channel-masked (mask B), so colour images keep the R→G→B order.
  The head reads ``ReLU(Σ skips)``.

  Attributes:
    event_shape: ``(H, W, C)``.
    features: ``F`` per stack (a multiple of ``C``).
    num_layers: gated layers (the first has a 7×7 receptive field row by default).
    kernel_size: ``k`` of the first layer's stacks.
    layer_kernel_size: ``k`` of the later layers (3 in the paper).
    num_classes: classes for the conditional bias, 0 for an unconditional model.
    output, num_mixtures, head_hidden: as `PixelCNN`.
  """

  event_shape: Sequence[int]
  features: int = 32
  num_layers: int = 8
  kernel_size: int = 7
  layer_kernel_size: int = 3
  num_classes: int = 0
  output: str = "bernoulli"
  num_mixtures: int = 5
  head_hidden: int = 64

  @nn.compact
  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), given ``labels`` (B,)."""
    self._validate()
    x = jnp.asarray(x, jnp.float32)
    _check_images(type(self).__name__, x, tuple(self.event_shape))
    if (labels is None) != (self.num_classes == 0):
      raise ValueError(f"GatedPixelCNN(num_classes={self.num_classes}) needs labels iff "
                       f"num_classes > 0; got labels={'None' if labels is None else 'given'}.")
    c, f = self.event_shape[-1], self.features
    v, h, skip = x, x, 0.0
    for layer in range(self.num_layers):
      k = self.kernel_size if layer == 0 else self.layer_kernel_size
      r = k // 2
      v_pre = nn.Conv(2 * f, (r + 1, k), padding=((r, 0), (r, r)), name=f"v_conv_{layer}")(v)
      link = nn.Conv(2 * f, (1, 1), name=f"link_{layer}")(
          jnp.pad(v_pre, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1])
      h_pre = MaskedConv2D(2 * f, (1, r + 1), "A" if layer == 0 else "B", c, center=(0, r),
                           name=f"h_conv_{layer}")(h) + link
      if self.num_classes:
        bias = nn.Embed(self.num_classes, 4 * f, name=f"class_bias_{layer}")(
            jnp.asarray(labels, jnp.int32))[:, None, None, :]
        v_pre, h_pre = v_pre + bias[..., :2 * f], h_pre + bias[..., 2 * f:]
      v = _gate(v_pre, 1)  # Rows above only reach later rows: no channel order needed.
      u = _gate(h_pre, c)
      skip = skip + MaskedConv2D(f, 1, "B", c, name=f"skip_{layer}")(u)
      out = MaskedConv2D(f, 1, "B", c, name=f"h_out_{layer}")(u)
      h = out if layer == 0 else h + out
    return _OutputHead(self.head_hidden, self.output, c, self.num_mixtures)(skip)


__all__ = ["GatedPixelCNN", "MASK_TYPES", "MaskedConv2D", "OUTPUTS", "PixelCNN",
           "causal_mask"]
