r"""PixelRNN: image models whose rows (Row LSTM) or diagonals (Diagonal BiLSTM) are the
steps of an LSTM.

The same raster-order factorisation as `jgen.models.pixelcnn` (sub-pixel by sub-pixel,
R → G → B), and the same heads. Both layers update LSTM states

.. math::

  [o, f, i, g] = σ(K^{ss} ⊛ h_{prev} + K^{is} ⊛ x), \qquad
  c = f ⊙ c_{prev} + i ⊙ g, \qquad h = o ⊙ \tanh(c),

(``tanh`` for ``g``), ``K^{is}`` a masked (mask B) input-to-state convolution, gates
kept in channel groups so colour images keep the R→G→B order.

- Row LSTM (van den Oord et al. 2016a, §3.1): a whole row at once from the row above,
  ``K^{is}`` a masked ``1 × k`` convolution along the row and ``K^{ss}`` a ``1 × k``
  convolution of the previous row's states: a triangular receptive field above each
  pixel.
- Diagonal BiLSTM (§3.2): the image is *skewed* (row ``i`` shifted right by ``i``) so
  that each column of the skewed map is a diagonal; an LSTM steps along the diagonals
  with a ``2 × 1`` state-to-state convolution, so the state at ``(i, j)`` reads the
  states at ``(i, j−1)`` (and its cell) and ``(i−1, j)``: the whole rectangle above-left.
  A second LSTM runs right to left (on the mirrored map); its output is shifted down
  one row before the two are added, so each pixel sees every pixel of the rows above
  and those to its left, and nothing after it. Being read a row later, the
  right-to-left LSTM also reads the pixels themselves (not only the mask-A stream,
  which never holds the last pixel of a row): without them a pixel would miss the
  end of the row above beyond the first kernel's reach.

References:
  van den Oord, Kalchbrenner, Kavukcuoglu. Pixel Recurrent Neural Networks. ICML 2016.
  arXiv:1601.06759.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.models.autoregressive_image import _Autoregressive
from jgen.models.autoregressive_image import _draw
from jgen.models.autoregressive_image import _pixel
from jgen.models.masked_conv import MaskedConv2D
from jgen.typing import Array
from jgen.typing import ArrayLike


def _lstm_update(gates: Array, cell: Array, data_channels: int) -> tuple[Array, Array]:
  """``(h, c)`` from pre-activations ``(..., 4F)`` and the previous cell ``(..., F)``.

  The gates ``o, f, i, g`` are taken per channel group (group ``c`` holds its own four
  gates for ``F/C`` units), so a unit of group ``c`` reads only its group's inputs.
  """
  f = cell.shape[-1]
  gates = gates.reshape(*gates.shape[:-1], data_channels, 4, f // data_channels)
  o, forget, i, g = (gates[..., n, :].reshape(*gates.shape[:-3], f) for n in range(4))
  cell = jax.nn.sigmoid(forget) * cell + jax.nn.sigmoid(i) * jnp.tanh(g)
  return jax.nn.sigmoid(o) * jnp.tanh(cell), cell


def _conv_row(h: Array, kernel: Array) -> Array:
  """``K^{ss} ⊛ h``: a 'SAME' 1-D convolution along the width, ``(N, W, F) → (N, W, 4F)``.

  As one matmul of the ``k`` shifted copies: XLA:CPU runs convolutions inside a loop
  (the row scan) on a slow path.
  """
  k, f, _ = kernel.shape
  width = h.shape[1]
  padded = jnp.pad(h, ((0, 0), (k // 2, k // 2), (0, 0)))
  windows = jnp.concatenate([padded[:, t:t + width] for t in range(k)], axis=-1)
  return windows @ kernel.reshape(k * f, -1)


class RowLSTM(_Autoregressive):
  """PixelRNN with Row LSTM layers: 7×7 mask A, residual Row LSTM layers, a 1×1 head.

  Each layer adds ``1×1_B(h)`` of its LSTM states to the residual stream of ``F``
  features. Gates are kept in channel groups (each of the ``C`` groups holds its own
  ``o, f, i, g`` for ``F/C`` units), so colour images keep the R→G→B order.

  Sampling: ``cached=True`` keeps each layer's LSTM states of the finished rows and, for
  every sub-pixel, recomputes only the current row (``W`` columns) through the layers,
  instead of the whole image.

  Attributes:
    event_shape: ``(H, W, C)``.
    features: ``F``, the stream and the LSTM state width (a multiple of ``C``).
    num_layers: Row LSTM layers.
    kernel_size: ``k`` of the input-to-state and state-to-state convolutions (3).
    first_kernel_size: the mask-A layer's kernel (7).
    output, num_mixtures, num_categories, embed_dim, head_hidden: as
      `jgen.models.PixelCNN`.
  """

  features: int = 32
  num_layers: int = 2
  kernel_size: int = 3
  first_kernel_size: int = 7

  def setup(self):
    c, f, k = self.event_shape[-1], self.features, self.kernel_size
    self.first = MaskedConv2D(f, self.first_kernel_size, "A", c)
    self.input_convs = [MaskedConv2D(4 * f, (1, k), "B", c) for _ in range(self.num_layers)]
    # Raw kernels, used inside the row scan (no module call under lax.scan).
    self.state_kernels = [self.param(f"state_kernel_{layer}", nn.initializers.lecun_normal(),
                                     (k, f, 4 * f)) for layer in range(self.num_layers)]
    self.state_biases = [self.param(f"state_bias_{layer}", nn.initializers.zeros, (4 * f,))
                         for layer in range(self.num_layers)]
    self.outs = [MaskedConv2D(f, 1, "B", c) for _ in range(self.num_layers)]
    self.embedding = self._make_embedding()
    self.head = self._head()

  def _cell(self, layer, gates_in, state):
    """One row's LSTM update from its input-to-state gates ``(N, W, 4F)``: ``(h, c)``."""
    h, cell = state
    gates = (gates_in + _conv_row(h, self.state_kernels[layer]) + self.state_biases[layer])
    return _lstm_update(gates, cell, self.event_shape[-1])

  def _layer(self, layer, s):
    """Layer ``layer`` on the whole stream ``s`` (N, H, W, F): a scan over the rows."""
    gates_in = self.input_convs[layer](s)
    zeros = jnp.zeros((s.shape[0], s.shape[2], self.features), s.dtype)

    def row(state, g_row):
      state = self._cell(layer, g_row, state)
      return state, state[0]

    _, hs = jax.lax.scan(row, (zeros, zeros), jnp.moveaxis(gates_in, 1, 0))
    return s + self.outs[layer](jnp.moveaxis(hs, 0, 1))

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), one pass."""
    s = self.first(self._embed(self._validate(x, labels)))
    for layer in range(self.num_layers):
      s = self._layer(layer, s)
    return self.head(s)

  def _row(self, x, i, states):
    """Row ``i`` through every layer from the rows above' states: (conditionals, states)."""
    r0 = self.first_kernel_size // 2
    rows = jax.lax.dynamic_slice_in_dim(
        jnp.pad(x, ((0, 0), (r0, r0), (0, 0), (0, 0)), constant_values=self._pad_value), i,
        2 * r0 + 1, axis=1)
    s = self.first(self._embed(rows))[:, r0:r0 + 1]  # (N, 1, W, F): row i.
    new_states = []
    for layer, state in enumerate(states):
      state = self._cell(layer, self.input_convs[layer](s)[:, 0], state)
      s = s + self.outs[layer](state[0][:, None])
      new_states.append(state)
    return self.head(s), new_states

  def _cached_sampler(self, key, x, labels, start):
    del labels
    n, (height, width, c) = x.shape[0], self.event_shape
    zeros = jnp.zeros((n, width, self.features))

    def row(i, carry):
      x, states = carry

      def visit(q, x):
        j, ch = q // c, q % c
        dist, _ = self._row(x, i, states)
        p = (i * width + j) * c + ch
        drawn = _draw(_pixel(dist, 0, j), key, p, ch)
        return x.at[:, i, j, ch].set(jnp.where(p < start, x[:, i, j, ch], drawn))

      x = jax.lax.fori_loop(0, width * c, visit, x)
      return x, self._row(x, i, states)[1]  # The finished row's states.

    return jax.lax.fori_loop(0, height, row, (x, [(zeros, zeros)] * self.num_layers))[0]


def _skew(x: Array) -> Array:
  """``(N, H, W, F) → (N, H, W+H−1, F)``: row ``i`` shifted right by ``i`` (zeros around),
  so skewed column ``k`` holds the diagonal ``{(i, k − i)}``."""
  n, h, w, f = x.shape
  x = jnp.pad(x, ((0, 0), (0, 0), (0, h), (0, 0))).reshape(n, h * (w + h), f)
  return x[:, :h * (w + h - 1)].reshape(n, h, w + h - 1, f)


def _unskew(x: Array, width: int) -> Array:
  """The inverse of `_skew`: ``(N, H, W+H−1, F) → (N, H, W, F)``."""
  n, h, _, f = x.shape
  x = jnp.pad(x.reshape(n, h * (width + h - 1), f), ((0, 0), (0, h), (0, 0)))
  return x.reshape(n, h, width + h, f)[:, :, :width]


def _shift_down(x: Array) -> Array:
  """Row ``i`` of the result is row ``i − 1`` of ``x`` (zeros in row 0): ``(N, H, ...)``."""
  return jnp.pad(x, ((0, 0), (1, 0)) + ((0, 0),) * (x.ndim - 2))[:, :-1]


class DiagonalBiLSTM(_Autoregressive):
  """PixelRNN with Diagonal BiLSTM layers: 7×7 mask A, residual BiLSTM layers, a 1×1 head.

  Layer ``l`` on the stream ``s`` (``F`` features): the left-to-right LSTM reads
  ``1×1_B(s)`` and, through the ``2 × 1`` state-to-state kernel, the states at
  ``(i−1, j)`` and ``(i, j−1)``; the right-to-left one reads ``1×1([s, x])`` (unmasked,
  the pixel included: its output is used a row later) and the states at ``(i−1, j)``
  and ``(i, j+1)``;
  ``s ← s + 1×1_B(h_{→}(i, j) + h_{←}(i−1, j))``. States outside the image are zero.

  Cached sampling (``cached=True``): at each sub-pixel every layer's left-to-right state
  is updated at that position only, from the kept states of its left and upper
  neighbours; when a row is finished, each layer's right-to-left states of that row are
  computed once (a scan along the row) from the layer inputs kept for it.

  Attributes:
    event_shape: ``(H, W, C)``.
    features: ``F``, the stream and each direction's state width (a multiple of ``C``).
    num_layers: Diagonal BiLSTM layers.
    first_kernel_size: the mask-A layer's kernel (7).
    output, num_mixtures, num_categories, embed_dim, head_hidden: as
      `jgen.models.PixelCNN`.
  """

  features: int = 32
  num_layers: int = 2
  first_kernel_size: int = 7

  def setup(self):
    c, f = self.event_shape[-1], self.features
    self.first = MaskedConv2D(f, self.first_kernel_size, "A", c)
    self.lr_inputs = [MaskedConv2D(4 * f, 1, "B", c) for _ in range(self.num_layers)]
    self.rl_inputs = [nn.Dense(4 * f) for _ in range(self.num_layers)]
    # The 2×1 state-to-state kernels of both directions (left-to-right, right-to-left),
    # each reading [the state above, the state beside]: (2, 2F, 4F) per layer.
    self.state_kernels = [self.param(f"state_kernel_{layer}", nn.initializers.lecun_normal(
        in_axis=-2, out_axis=-1, batch_axis=(0,)), (2, 2 * f, 4 * f))
                          for layer in range(self.num_layers)]
    self.state_biases = [self.param(f"state_bias_{layer}", nn.initializers.zeros, (2, 4 * f))
                         for layer in range(self.num_layers)]
    self.outs = [MaskedConv2D(f, 1, "B", c) for _ in range(self.num_layers)]
    self.embedding = self._make_embedding()
    self.head = self._head()

  def _gates(self, layer, direction, inputs, above, beside):
    """One direction's pre-activations ``(N, 4F)`` from its input-to-state term and the
    two neighbours' states (the cached sampler's)."""
    neighbours = jnp.concatenate([above, beside], axis=-1)
    return (inputs + neighbours @ self.state_kernels[layer][direction]
            + self.state_biases[layer][direction])

  def _diagonal_lstms(self, layer, gates_in):
    """Both directions' states ``(2, N, H, W, F)`` from their input-to-state terms
    ``(2, N, H, W, 4F)`` (the right-to-left one mirrored), each left to right: one scan
    over the skewed maps' columns (the diagonals)."""
    _, n, height, width, _ = gates_in.shape
    inside = _skew(jnp.ones((1, height, width, 1), gates_in.dtype))
    zeros = jnp.zeros((2, n, height, self.features), gates_in.dtype)
    skewed = jax.vmap(_skew)(gates_in)  # (2, N, H, W+H−1, 4F)

    def column(state, inputs):
      h, cell = state  # The previous diagonal: (i, j−1) in row i, (i−1, j) one row down.
      g_in, valid = inputs
      neighbours = jnp.concatenate([jax.vmap(_shift_down)(h), h], axis=-1)
      gates = (g_in + jnp.einsum("dnhf,dfg->dnhg", neighbours, self.state_kernels[layer])
               + self.state_biases[layer][:, None, None])
      h, cell = _lstm_update(gates, cell, self.event_shape[-1])
      h, cell = h * valid, cell * valid  # States outside the image stay zero.
      return (h, cell), h

    _, hs = jax.lax.scan(column, (zeros, zeros), (jnp.moveaxis(skewed, 3, 0),
                                                  jnp.moveaxis(inside, 2, 0)))
    return jax.vmap(lambda h: _unskew(h, width))(jnp.moveaxis(hs, 0, 3))

  def _layer(self, layer, s, pixels):
    """Layer ``layer`` on the whole stream ``s`` (N, H, W, F), given the input pixels."""
    lr_in = self.lr_inputs[layer](s)
    rl_in = self.rl_inputs[layer](jnp.concatenate([s, pixels], axis=-1))
    lr, rl = self._diagonal_lstms(layer, jnp.stack([lr_in, rl_in[:, :, ::-1]]))
    return s + self.outs[layer](lr + _shift_down(rl[:, :, ::-1]))

  def __call__(self, x: ArrayLike, labels: ArrayLike | None = None) -> Distribution:
    """The conditionals of every sub-pixel of ``x`` (B, H, W, C), one pass."""
    pixels = self._embed(self._validate(x, labels))
    s = self.first(pixels)
    for layer in range(self.num_layers):
      s = self._layer(layer, s, pixels)
    return self.head(s)

  def _right_to_left_row(self, layer, inputs, pixels, above):
    """A finished row's right-to-left states ``(N, W, F)`` from its layer inputs
    ``(N, W, F)``, its pixels' features and the row above's states."""
    n, width, f = inputs.shape
    g_in = self.rl_inputs[layer](jnp.concatenate([inputs, pixels], axis=-1))

    def step(state, j):
      h, cell = state  # The state at (i, j+1).
      h, cell = _lstm_update(self._gates(layer, 1, g_in[:, j], above[:, j], h), cell,
                             self.event_shape[-1])
      return (h, cell), h

    zeros = jnp.zeros((n, f), inputs.dtype)
    _, hs = jax.lax.scan(step, (zeros, zeros), jnp.arange(width - 1, -1, -1))
    return jnp.moveaxis(hs[::-1], 0, 1)

  def _cached_sampler(self, key, x, labels, start):
    del labels
    n, (height, width, c), f = x.shape[0], self.event_shape, self.features
    r0 = self.first_kernel_size // 2
    k0 = 2 * r0 + 1
    layers = range(self.num_layers)
    zeros = jnp.zeros((n, width, f))

    # Kept per layer: the left-to-right states of the row above; this row's states and
    # cells so far (after a zero column: the state left of column 0); the right-to-left
    # states of the row above (added to this row's outputs); the layer's inputs along
    # this row (for its right-to-left pass once the row is done).
    def row(i, carry):
      xpad, lr_above, rl_above = carry
      current = [jnp.zeros((n, width + 1, f))] * (2 * self.num_layers)
      inputs = [zeros] * self.num_layers

      def visit(q, carry):
        xpad, current, inputs = carry
        j, ch = q // c, q % c
        window = jax.lax.dynamic_slice(xpad, (0, i, j, 0), (n, k0, k0, c))
        s = self.first(self._embed(window), center_only=True)[:, 0, 0]
        current, inputs = list(current), list(inputs)
        for layer in layers:
          inputs[layer] = inputs[layer].at[:, j].set(s)
          h_cur, c_cur = current[2 * layer], current[2 * layer + 1]
          g_in = self.lr_inputs[layer](s[:, None, None])[:, 0, 0]
          h, cell = _lstm_update(self._gates(layer, 0, g_in, lr_above[layer][:, j], h_cur[:, j]),
                                 c_cur[:, j], c)
          current[2 * layer] = h_cur.at[:, j + 1].set(h)
          current[2 * layer + 1] = c_cur.at[:, j + 1].set(cell)
          s = s + self.outs[layer]((h + rl_above[layer][:, j])[:, None, None])[:, 0, 0]
        dist = self.head(s[:, None, None])
        p = (i * width + j) * c + ch
        drawn = _draw(dist, key, p, ch)
        value = jnp.where(p < start, xpad[:, i + r0, j + r0, ch], drawn)
        return xpad.at[:, i + r0, j + r0, ch].set(value), current, inputs

      xpad, current, inputs = jax.lax.fori_loop(0, width * c, visit, (xpad, current, inputs))
      pixels = self._embed(jax.lax.dynamic_slice(xpad, (0, i + r0, r0, 0), (n, 1, width, c)))
      return xpad, [current[2 * layer][:, 1:] for layer in layers], [
          self._right_to_left_row(layer, inputs[layer], pixels[:, 0], rl_above[layer])
          for layer in layers]

    xpad = jnp.pad(x, ((0, 0), (r0, r0), (r0, r0), (0, 0)), constant_values=self._pad_value)
    xpad, _, _ = jax.lax.fori_loop(0, height, row, (xpad, [zeros] * self.num_layers,
                                                    [zeros] * self.num_layers))
    return xpad[:, r0:r0 + height, r0:r0 + width]


__all__ = ["DiagonalBiLSTM", "RowLSTM"]
