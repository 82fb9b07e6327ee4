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
      y = jax.lax.conv_general_dilated(
          x, kernel, (1, 1), ((ci, kh - 1 - ci), (cj, kw - 1 - cj)),
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


def _pixel(dist: Distribution, i, j) -> Distribution:
  """The conditionals of pixel ``(i, j)``: each parameter sliced to ``(N, 1, 1, C, ...)``."""
  return jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(
      jax.lax.dynamic_slice_in_dim(a, i, 1, 1), j, 1, 2), dist)


def _draw(dist: Distribution, key: PRNGKey, p, ch) -> Array:
  """Sub-pixel ``ch`` of a one-pixel distribution, drawn with ``fold_in(key, p)``: (N,)."""
  return dist.sample(jax.random.fold_in(key, p))[:, 0, 0, ch]


class _Autoregressive(nn.Module):
  """Shared by the PixelCNNs and PixelRNN (`jgen.models.pixelrnn`): checks and the two
  exact samplers.

  Subclasses define ``__call__(x, labels)`` (every conditional, one pass) and
  ``_cached_sampler(key, x, labels, start)``.
  """

  def _validate(self, x, labels):
    if self.output not in OUTPUTS:
      raise ValueError(f"output={self.output!r}; valid: {', '.join(OUTPUTS)}.")
    if len(self.event_shape) != 3:
      raise ValueError(f"event_shape={tuple(self.event_shape)} must be (H, W, C).")
    x = jnp.asarray(x, jnp.float32)
    _check_images(type(self).__name__, x, tuple(self.event_shape))
    num_classes = getattr(self, "num_classes", 0)
    if (labels is None) != (num_classes == 0):
      raise ValueError(
          f"{type(self).__name__}(num_classes={num_classes}) takes labels iff num_classes"
          f" > 0; got labels={'None' if labels is None else 'given'}.")
    return x

  def sample(self, key: PRNGKey, num_samples: int, labels: ArrayLike | None = None,
             given: ArrayLike | None = None, start: int = 0, cached: bool = True) -> Array:
    """Exact ancestral samples, sub-pixel by sub-pixel in raster order.

    Position ``p = (i·W + j)·C + c`` is drawn from its conditional with the key
    ``fold_in(key, p)``; positions before ``start`` are taken from ``given`` (image
    completion). Two samplers draw the same samples from the same key (up to float
    rounding in the conditionals):

    - ``cached=False``, the reference: one full network pass per sub-pixel
      (``H·W·C`` passes, in a ``lax.fori_loop``);
    - ``cached=True`` (default): each layer's activations are kept and only what the
      new sub-pixel changes is computed (Ramachandran et al. 2017, fast PixelCNN
      generation): see the subclass.

    Args:
      key: a PRNG key.
      num_samples: ``N`` (static).
      labels: ``(N,)`` class labels for a class-conditional model.
      given: ``(N, H, W, C)`` images whose first ``start`` sub-pixels are kept.
      start: the first position to draw.
      cached: the fast sampler (static).

    Returns:
      ``(N, H, W, C)`` float32 samples (in {0, 1} for ``'bernoulli'``, on the bin centres
      of ``[−1, 1]`` for ``'logistic_mixture'``).

    References:
      Ramachandran, Le Paine, Khorrami, Babaeizadeh, Chang, Zhang, Hasegawa-Johnson,
      Campbell, Huang. Fast Generation for Convolutional Autoregressive Models. ICLR
      2017 workshop. arXiv:1704.06001.
    """
    h, w, c = self.event_shape
    x = (jnp.zeros((num_samples, h, w, c), jnp.float32) if given is None
         else jnp.asarray(given, jnp.float32))
    if cached:
      return self._cached_sampler(key, x, labels, start)

    def body(p, x):
      i, j, ch = p // (w * c), (p // c) % w, p % c
      value = _draw(_pixel(self(x, labels), i, j), key, p, ch)
      return x.at[:, i, j, ch].set(value)

    return jax.lax.fori_loop(start, h * w * c, body, x)


class PixelCNN(_Autoregressive):
  """PixelCNN: 7×7 mask A, residual blocks of mask-B convolutions, a 1×1 head.

  Residual block (van den Oord et al. 2016a, Fig. 5): ``x + 1×1(ReLU(k×k_B(ReLU(
  1×1(ReLU(x))))))``, the 1×1 layers halving then restoring ``2h`` features; all layers
  masked (mask B), so the chain stays causal across channels.

  Cached sampling: a layer's output at ``(i, j)`` depends only on sub-pixels before
  ``(i, j)``, so once computed, when ``(i, j)`` is visited, it is final. Each visit
  computes every layer at that one position, from the kept activations of the layer
  below in the kernel's window (``einsum`` of the window and the masked kernel): ``H·W·C``
  visits of ``O(layers)`` small products, instead of ``H·W·C`` full passes.

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

  def setup(self):
    c, h = self.event_shape[-1], self.hidden
    self.first = MaskedConv2D(2 * h, self.first_kernel_size, "A", c)
    self.down = [MaskedConv2D(h, 1, "B", c) for _ in range(self.num_blocks)]
    self.mid = [MaskedConv2D(h, self.kernel_size, "B", c) for _ in range(self.num_blocks)]
    self.up = [MaskedConv2D(2 * h, 1, "B", c) for _ in range(self.num_blocks)]
    self.head = _OutputHead(self.head_hidden, self.output, c, self.num_mixtures)

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), one pass."""
    h = self.first(self._validate(x, labels))
    for down, mid, up in zip(self.down, self.mid, self.up, strict=True):
      h = h + up(nn.relu(mid(nn.relu(down(nn.relu(h))))))
    return self.head(h)

  def _cached_sampler(self, key, x, labels, start):
    del labels
    n, (height, width, c) = x.shape[0], self.event_shape
    r0, r = self.first_kernel_size // 2, self.kernel_size // 2
    k0, k = 2 * r0 + 1, 2 * r + 1
    # Zero-padded images of the kept activations: the mid convolutions' inputs.
    state = (jnp.pad(x, ((0, 0), (r0, r0), (r0, r0), (0, 0))),
             [jnp.zeros((n, height + 2 * r, width + 2 * r, self.hidden))] * self.num_blocks)

    def visit(p, state):
      xpad, kept = state
      i, j, ch = p // (width * c), (p // c) % width, p % c
      window = jax.lax.dynamic_slice(xpad, (0, i, j, 0), (n, k0, k0, c))
      h = self.first(window, center_only=True)
      kept = list(kept)
      for b, (down, mid, up) in enumerate(zip(self.down, self.mid, self.up, strict=True)):
        y = nn.relu(down(nn.relu(h)))
        kept[b] = jax.lax.dynamic_update_slice(kept[b], y, (0, i + r, j + r, 0))
        window = jax.lax.dynamic_slice(kept[b], (0, i, j, 0), (n, k, k, self.hidden))
        h = h + up(nn.relu(mid(window, center_only=True)))
      drawn = _draw(self.head(h), key, p, ch)
      value = jnp.where(p < start, xpad[:, i + r0, j + r0, ch], drawn)
      return xpad.at[:, i + r0, j + r0, ch].set(value), kept

    xpad, _ = jax.lax.fori_loop(0, height * width * c, visit, state)
    return xpad[:, r0:r0 + height, r0:r0 + width]


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

  Cached sampling: the vertical stack once per row (its links into row ``i`` depend on
  rows ``< i`` only, all drawn by then), the horizontal stack once per sub-pixel, at
  that position only, from a buffer of each layer's inputs along the current row.

  Attributes:
    event_shape: ``(H, W, C)``.
    features: ``F`` per stack (a multiple of ``C``).
    num_layers: gated layers.
    kernel_size: ``k`` of the first layer's stacks (7: a 7×7 first receptive field).
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

  def _radius(self, layer: int) -> int:
    return (self.kernel_size if layer == 0 else self.layer_kernel_size) // 2

  def setup(self):
    c, f = self.event_shape[-1], self.features
    radii = [self._radius(layer) for layer in range(self.num_layers)]
    self.v_convs = [nn.Conv(2 * f, (r + 1, 2 * r + 1), padding=((r, 0), (r, r)))
                    for r in radii]
    self.links = [nn.Dense(2 * f) for _ in radii]  # 1×1 convolutions, as matmuls.
    self.h_convs = [MaskedConv2D(2 * f, (1, r + 1), "B" if layer else "A", c, center=(0, r))
                    for layer, r in enumerate(radii)]
    self.skips = [MaskedConv2D(f, 1, "B", c) for _ in radii]
    self.h_outs = [MaskedConv2D(f, 1, "B", c) for _ in radii]
    if self.num_classes:
      self.class_biases = [nn.Embed(self.num_classes, 4 * f) for _ in radii]
    self.head = _OutputHead(self.head_hidden, self.output, c, self.num_mixtures)

  def _biases(self, layer, labels):
    """The class biases ``(e_v, e_h)`` of ``layer``, ``(N, 1, 1, 2F)`` each, or zeros."""
    if not self.num_classes:
      return 0.0, 0.0
    e = self.class_biases[layer](jnp.asarray(labels, jnp.int32))[:, None, None, :]
    return jnp.split(e, 2, axis=-1)

  def _links(self, x, labels):
    """The vertical stack: each layer's link into the horizontal one, ``(N, H, W, 2F)``."""
    v, links = x, []
    for layer in range(self.num_layers):
      v_pre = self.v_convs[layer](v)
      links.append(self.links[layer](jnp.pad(v_pre, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]))
      v = _gate(v_pre + self._biases(layer, labels)[0], 1)  # Rows above: no channel order.
    return links

  def _horizontal(self, layer, h_pre, h, labels):
    """Layer ``layer`` of the horizontal stack from its pre-activation: ``(h', skip)``."""
    u = _gate(h_pre + self._biases(layer, labels)[1], self.event_shape[-1])
    out = self.h_outs[layer](u)
    return (out if layer == 0 else h + out), self.skips[layer](u)

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), given ``labels`` (B,)."""
    x = self._validate(x, labels)
    h, skip = x, 0.0
    for layer, link in enumerate(self._links(x, labels)):
      h, s = self._horizontal(layer, self.h_convs[layer](h) + link, h, labels)
      skip = skip + s
    return self.head(skip)

  def _cached_sampler(self, key, x, labels, start):
    n, (height, width, c), f = x.shape[0], self.event_shape, self.features
    radii = [self._radius(layer) for layer in range(self.num_layers)]

    def row(i, x):
      links = [jax.lax.dynamic_index_in_dim(lk, i, 1) for lk in self._links(x, labels)]
      # Each layer's input along row i, zero-padded on the left by its radius.
      bufs = [jnp.pad(jax.lax.dynamic_index_in_dim(x, i, 1), ((0, 0), (0, 0), (radii[0], 0),
                                                              (0, 0)))]
      bufs += [jnp.zeros((n, 1, width + r, f)) for r in radii[1:]]

      def visit(q, bufs):
        j, ch = q // c, q % c
        bufs, skip = list(bufs), 0.0
        for layer, r in enumerate(radii):
          window = jax.lax.dynamic_slice_in_dim(bufs[layer], j, r + 1, axis=2)
          h_pre = (self.h_convs[layer](window, center_only=True)
                   + jax.lax.dynamic_slice_in_dim(links[layer], j, 1, axis=2))
          h, s = self._horizontal(layer, h_pre, window[:, :, -1:], labels)
          skip = skip + s
          if layer + 1 < len(radii):
            bufs[layer + 1] = jax.lax.dynamic_update_slice_in_dim(
                bufs[layer + 1], h, j + radii[layer + 1], axis=2)
        p = (i * width + j) * c + ch
        drawn = _draw(self.head(skip), key, p, ch)
        value = jnp.where(p < start, bufs[0][:, 0, j + radii[0], ch], drawn)
        bufs[0] = bufs[0].at[:, 0, j + radii[0], ch].set(value)
        return bufs

      bufs = jax.lax.fori_loop(0, width * c, visit, bufs)
      return jax.lax.dynamic_update_index_in_dim(x, bufs[0][:, :, radii[0]:], i, 1)

    return jax.lax.fori_loop(0, height, row, x)


__all__ = ["GatedPixelCNN", "MASK_TYPES", "MaskedConv2D", "OUTPUTS", "PixelCNN",
           "causal_mask"]
