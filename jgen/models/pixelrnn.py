r"""PixelRNN's Row LSTM: an image model whose rows are the steps of an LSTM.

The same raster-order factorisation as `jgen.models.pixelcnn` (sub-pixel by sub-pixel,
R → G → B), and the same heads. A Row LSTM layer (van den Oord et al. 2016a, §3.1)
computes a whole row of LSTM states at once from the row above:

.. math::

  [o, f, i, g]_r = σ(K^{ss} ⊛ h_{r−1} + K^{is} ⊛ x_r), \qquad
  c_r = f ⊙ c_{r−1} + i ⊙ g, \qquad h_r = o ⊙ \tanh(c_r),

(``tanh`` for ``g``), where ``K^{is}`` is a masked ``1 × k`` convolution along row ``r``
(mask B: the pixel itself and those to its left, channel-ordered) and ``K^{ss}`` a plain
``1 × k`` convolution of the previous row's states. Row ``r``'s states depend on rows
``< r`` and on row ``r`` up to the pixel: a triangular receptive field above each pixel.

References:
  van den Oord, Kalchbrenner, Kavukcuoglu. Pixel Recurrent Neural Networks. ICML 2016.
  arXiv:1601.06759.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.models.autoregressive_image import _Autoregressive
from jgen.models.autoregressive_image import _draw
from jgen.models.autoregressive_image import _OutputHead
from jgen.models.autoregressive_image import _pixel
from jgen.models.masked_conv import MaskedConv2D
from jgen.typing import Array
from jgen.typing import ArrayLike


def _conv_row(h: Array, kernel: Array) -> Array:
  """``K^{ss} ⊛ h``: a 'SAME' 1-D convolution along the width, ``(N, W, F) → (N, W, 4F)``."""
  k = kernel.shape[0]
  return jax.lax.conv_general_dilated(h, kernel, (1,), ((k // 2, k // 2),),
                                      dimension_numbers=("NWC", "WIO", "NWC"))


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
    output, num_mixtures, head_hidden: as `jgen.models.PixelCNN`.
  """

  event_shape: Sequence[int]
  features: int = 32
  num_layers: int = 2
  kernel_size: int = 3
  first_kernel_size: int = 7
  output: str = "bernoulli"
  num_mixtures: int = 5
  head_hidden: int = 64

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
    self.head = _OutputHead(self.head_hidden, self.output, c, self.num_mixtures)

  def _cell(self, layer, gates_in, state):
    """One row's LSTM update from its input-to-state gates ``(N, W, 4F)``: ``(h, c)``."""
    h, cell = state
    c, f = self.event_shape[-1], self.features
    gates = (gates_in + _conv_row(h, self.state_kernels[layer]) + self.state_biases[layer])
    gates = gates.reshape(*gates.shape[:-1], c, 4, f // c)
    o, forget, i, g = (gates[..., n, :].reshape(*gates.shape[:-3], f) for n in range(4))
    cell = jax.nn.sigmoid(forget) * cell + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(cell), cell

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
    s = self.first(self._validate(x, labels))
    for layer in range(self.num_layers):
      s = self._layer(layer, s)
    return self.head(s)

  def _row(self, x, i, states):
    """Row ``i`` through every layer from the rows above' states: (conditionals, states)."""
    r0 = self.first_kernel_size // 2
    rows = jax.lax.dynamic_slice_in_dim(
        jnp.pad(x, ((0, 0), (r0, r0), (0, 0), (0, 0))), i, 2 * r0 + 1, axis=1)
    s = self.first(rows)[:, r0:r0 + 1]  # (N, 1, W, F): row i.
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


__all__ = ["RowLSTM"]
