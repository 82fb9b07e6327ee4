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
sub-pixel, its channels coupled through the masks), ``'categorical'`` for integer data
(a ``num_categories``-way softmax: 256 intensities, or VQ-VAE codes), read through a
learned embedding (`jgen.models.autoregressive_image`).

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

from jgen.distributions.base import Distribution
from jgen.models._common import ResidualBlock
from jgen.models.autoregressive_image import OUTPUTS
from jgen.models.autoregressive_image import _Autoregressive
from jgen.models.autoregressive_image import _draw
from jgen.models.masked_conv import MASK_TYPES
from jgen.models.masked_conv import MaskedConv2D
from jgen.models.masked_conv import causal_mask
from jgen.typing import Array
from jgen.typing import ArrayLike


def _gate(x: Array, data_channels: int) -> Array:
  """``tanh(a) ⊙ σ(b)``, splitting each channel group of ``x`` in halves (groups kept)."""
  *lead, f = x.shape
  x = x.reshape(*lead, data_channels, 2, f // (2 * data_channels))
  out = jnp.tanh(x[..., 0, :]) * jax.nn.sigmoid(x[..., 1, :])
  return out.reshape(*lead, f // 2)


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
    num_categories: ``K`` of a ``'categorical'`` output (256 intensities, or the codes).
    embed_dim: a ``'categorical'`` model's input embedding per sub-pixel.
    head_hidden: the 1×1 head's width.
  """

  hidden: int = 32
  num_blocks: int = 7
  kernel_size: int = 3
  first_kernel_size: int = 7

  def setup(self):
    c, h = self.event_shape[-1], self.hidden
    self.first = MaskedConv2D(2 * h, self.first_kernel_size, "A", c)
    self.down = [MaskedConv2D(h, 1, "B", c) for _ in range(self.num_blocks)]
    self.mid = [MaskedConv2D(h, self.kernel_size, "B", c) for _ in range(self.num_blocks)]
    self.up = [MaskedConv2D(2 * h, 1, "B", c) for _ in range(self.num_blocks)]
    self.embedding = self._make_embedding()
    self.head = self._head()

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), one pass."""
    h = self.first(self._embed(self._validate(x, labels)))
    for down, mid, up in zip(self.down, self.mid, self.up, strict=True):
      h = h + up(nn.relu(mid(nn.relu(down(nn.relu(h))))))
    return self.head(h)

  def _cached_sampler(self, key, x, labels, start):
    del labels
    n, (height, width, c) = x.shape[0], self.event_shape
    r0, r = self.first_kernel_size // 2, self.kernel_size // 2
    k0, k = 2 * r0 + 1, 2 * r + 1
    # Zero-padded images of the kept activations: the mid convolutions' inputs.
    state = (jnp.pad(x, ((0, 0), (r0, r0), (r0, r0), (0, 0)), constant_values=self._pad_value),
             [jnp.zeros((n, height + 2 * r, width + 2 * r, self.hidden))] * self.num_blocks)

    def visit(p, state):
      xpad, kept = state
      i, j, ch = p // (width * c), (p // c) % width, p % c
      window = jax.lax.dynamic_slice(xpad, (0, i, j, 0), (n, k0, k0, c))
      h = self.first(self._embed(window), center_only=True)
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


def _at(e, index, axis: int):
  """Index ``index`` of a bias along ``axis`` (kept, size 1), or the bias itself where it
  is the same everywhere along it (size 1, or a scalar)."""
  if jnp.ndim(e) == 0 or e.shape[axis] == 1:
    return e
  return jax.lax.dynamic_slice_in_dim(e, index, 1, axis)


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

  where ``e_y`` is a learned per-class bias (``num_classes > 0``): with ``labels`` of
  shape ``(N,)`` the same at every pixel; with ``condition_shape=(h, w)`` and ``labels``
  a map ``(N, h, w)`` of classes (VQ-VAE-2's top codes for its bottom prior), the
  location-dependent bias of the paper's eq. 5, ``e_y(i, j) = E_l[y(⌊i·h/H⌋, ⌊j·w/W⌋)]``
  (each layer's embedding ``E_l`` read at the nearest condition cell, i.e. a 1×1
  convolution of the one-hot map upsampled to ``H × W``). With ``condition_layers > 0``
  the map first goes through a conditioning stack, as VQ-VAE-2's bottom prior does: an
  ``F``-wide embedding and ``condition_layers`` unmasked residual blocks
  (``x + Conv1×1(ReLU(Conv3×3(ReLU(x))))``) at the map's resolution, ``s = m(y)``; then
  ``e_y(i, j) = W_l s(⌊i·h/H⌋, ⌊j·w/W⌋) + b_l``, so that each pixel's bias reads the map
  far around its cell, rows below included (the map is given, not generated). The
  horizontal stack's layers
  are channel-masked (mask B), so colour images keep the R→G→B order. The head reads
  ``ReLU(Σ skips)``.

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
    condition_shape: ``()`` for one label per image, or ``(h, w)`` (dividing ``(H, W)``)
      for a map of labels per image.
    condition_layers: residual blocks of the conditioning stack over a label map (0:
      each layer embeds the label of its pixel's cell only).
    output, num_mixtures, num_categories, embed_dim, head_hidden: as `PixelCNN`.
  """

  features: int = 32
  num_layers: int = 8
  kernel_size: int = 7
  layer_kernel_size: int = 3
  num_classes: int = 0
  condition_shape: Sequence[int] = ()
  condition_layers: int = 0

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
    if self.num_classes and self._stacked:
      self.condition_embedding = nn.Embed(self.num_classes, f)
      self.condition_stack = [ResidualBlock(f) for _ in range(self.condition_layers)]
      self.class_biases = [nn.Dense(4 * f) for _ in radii]
    elif self.num_classes:
      self.class_biases = [nn.Embed(self.num_classes, 4 * f) for _ in radii]
    self.embedding = self._make_embedding()
    self.head = self._head()

  @property
  def _stacked(self) -> bool:
    return bool(self.condition_shape) and self.condition_layers > 0

  def _condition(self, labels):
    """What every layer's bias reads: the labels, or the conditioning stack's features
    of a label map ``s = m(y)`` (N, h, w, F), computed once per pass."""
    if not self._stacked or labels is None:
      return labels
    s = self.condition_embedding(jnp.asarray(labels, jnp.int32))
    for block in self.condition_stack:
      s = block(s)
    return nn.relu(s)

  def _biases(self, layer, cond):
    """The class biases ``(e_v, e_h)`` of ``layer`` from ``_condition(labels)``:
    ``(N, 1, 1, 2F)`` each for one label per image, ``(N, H, W, 2F)`` for a label map,
    or zeros."""
    if not self.num_classes:
      return 0.0, 0.0
    e = self.class_biases[layer](cond if self._stacked else jnp.asarray(cond, jnp.int32))
    if self.condition_shape:
      (height, width), (h, w) = self.event_shape[:2], self.condition_shape
      e = jnp.repeat(jnp.repeat(e, height // h, axis=1), width // w, axis=2)
    else:
      e = e[:, None, None, :]
    return jnp.split(e, 2, axis=-1)

  def _validate(self, x, labels):
    x = super()._validate(x, labels)
    if self.condition_shape and not self.num_classes:
      raise ValueError(f"condition_shape={tuple(self.condition_shape)} needs num_classes > 0 "
                       "(the label map's classes).")
    if self.condition_layers < 0 or (self.condition_layers and not self.condition_shape):
      raise ValueError(f"condition_layers={self.condition_layers} must be ≥ 0, and > 0 only "
                       "with a label map (condition_shape).")
    if labels is None:
      return x
    want = (x.shape[0], *self.condition_shape)
    if jnp.shape(labels) != want:
      raise ValueError(f"GatedPixelCNN(condition_shape={tuple(self.condition_shape)}) takes "
                       f"labels of shape {want}; got {jnp.shape(labels)}.")
    if any(n % m for n, m in zip(self.event_shape[:2], self.condition_shape)):
      raise ValueError(f"condition_shape={tuple(self.condition_shape)} must divide the "
                       f"image's (H, W) = {tuple(self.event_shape[:2])}.")
    return x

  def _links(self, x, cond):
    """The vertical stack: each layer's link into the horizontal one, ``(N, H, W, 2F)``."""
    v, links = x, []
    for layer in range(self.num_layers):
      v_pre = self.v_convs[layer](v)
      links.append(self.links[layer](jnp.pad(v_pre, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]))
      v = _gate(v_pre + self._biases(layer, cond)[0], 1)  # Rows above: no channel order.
    return links

  def _horizontal(self, layer, h_pre, h, e_h):
    """Layer ``layer`` of the horizontal stack from its pre-activation and class bias:
    ``(h', skip)``."""
    u = _gate(h_pre + e_h, self.event_shape[-1])
    out = self.h_outs[layer](u)
    return (out if layer == 0 else h + out), self.skips[layer](u)

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), given ``labels`` (B,)."""
    x = self._embed(self._validate(x, labels))
    cond = self._condition(labels)
    h, skip = x, 0.0
    for layer, link in enumerate(self._links(x, cond)):
      h, s = self._horizontal(layer, self.h_convs[layer](h) + link, h,
                              self._biases(layer, cond)[1])
      skip = skip + s
    return self.head(skip)

  def _cached_sampler(self, key, x, labels, start):
    n, (height, width, c), f = x.shape[0], self.event_shape, self.features
    radii = [self._radius(layer) for layer in range(self.num_layers)]
    cond = self._condition(labels)  # The conditioning stack once, not once per row.

    def row(i, x):
      links = [jax.lax.dynamic_index_in_dim(lk, i, 1)
               for lk in self._links(self._embed(x), cond)]
      # Each layer's horizontal class bias along row i: (N, 1, W, 2F), or (N, 1, 1, 2F).
      e_h = [_at(self._biases(layer, cond)[1], i, 1) for layer in range(self.num_layers)]
      # Each layer's input along row i, padded on the left by its radius (layer 0: the
      # canvas row, its pad value embedding to zeros).
      bufs = [jnp.pad(jax.lax.dynamic_index_in_dim(x, i, 1), ((0, 0), (0, 0), (radii[0], 0),
                                                              (0, 0)),
                      constant_values=self._pad_value)]
      bufs += [jnp.zeros((n, 1, width + r, f)) for r in radii[1:]]

      def visit(q, bufs):
        j, ch = q // c, q % c
        bufs, skip = list(bufs), 0.0
        for layer, r in enumerate(radii):
          window = jax.lax.dynamic_slice_in_dim(bufs[layer], j, r + 1, axis=2)
          h_pre = (self.h_convs[layer](self._embed(window) if layer == 0 else window,
                                       center_only=True)
                   + jax.lax.dynamic_slice_in_dim(links[layer], j, 1, axis=2))
          h, s = self._horizontal(layer, h_pre, window[:, :, -1:], _at(e_h[layer], j, 2))
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
