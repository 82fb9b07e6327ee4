"""What the raster-order image models share: output heads, inputs, checks, the samplers.

`jgen.models.pixelcnn` (PixelCNN, gated PixelCNN) and `jgen.models.pixelrnn` (Row LSTM,
Diagonal BiLSTM) subclass `_Autoregressive`; each defines ``__call__(x, labels)`` (every
conditional in one pass) and ``_cached_sampler``.

Outputs (``OUTPUTS``), each a distribution over every sub-pixel:

- ``'bernoulli'``: binary images, `jgen.distributions.Bernoulli`;
- ``'logistic_mixture'``: 8-bit images scaled to ``[−1, 1]``, PixelCNN++'s discretized
  logistic mixture (`jgen.distributions.DiscretizedLogisticMixture`);
- ``'categorical'``: a ``K``-way softmax (`jgen.distributions.Categorical`) over
  integer-valued data ``x ∈ {0, …, K−1}`` (given as floats): the 256 intensities of
  8-bit images (PixelRNN, §5.3) or the code maps of a VQ-VAE. The network then reads
  each sub-pixel through a learned embedding (``embed_dim`` features per channel).
"""


from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions import Bernoulli
from jgen.distributions import Categorical
from jgen.distributions import DiscretizedLogisticMixture
from jgen.distributions.base import Distribution
from jgen.models.masked_conv import MaskedConv2D
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

OUTPUTS = ("bernoulli", "logistic_mixture", "categorical")


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
  num_categories: int

  @nn.compact
  def __call__(self, h: Array) -> Distribution:
    c = self.data_channels
    per_channel = {"bernoulli": 1, "logistic_mixture": 3 * self.num_mixtures,
                   "categorical": self.num_categories}[self.output]
    h = MaskedConv2D(self.hidden, 1, "B", c)(nn.relu(h))
    out = MaskedConv2D(c * per_channel, 1, "B", c)(nn.relu(h))
    out = out.reshape(*out.shape[:-1], c, per_channel)  # Group c holds channel c.
    if self.output == "bernoulli":
      return Bernoulli(out[..., 0], event_ndims=3)
    if self.output == "categorical":
      return Categorical(out, event_ndims=3)
    logits, locs, log_scales = jnp.split(out, 3, axis=-1)
    return DiscretizedLogisticMixture(logits, jnp.tanh(locs), jnp.maximum(log_scales, -7.0),
                                      event_ndims=3)


def _pixel(dist: Distribution, i, j) -> Distribution:
  """The conditionals of pixel ``(i, j)``: each parameter sliced to ``(N, 1, 1, C, ...)``."""
  return jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(
      jax.lax.dynamic_slice_in_dim(a, i, 1, 1), j, 1, 2), dist)


def _draw(dist: Distribution, key: PRNGKey, p, ch) -> Array:
  """Sub-pixel ``ch`` of a one-pixel distribution, drawn with ``fold_in(key, p)``: (N,)."""
  return dist.sample(jax.random.fold_in(key, p))[:, 0, 0, ch].astype(jnp.float32)


class _Autoregressive(nn.Module):
  """Shared by the PixelCNNs and PixelRNN (`jgen.models.pixelrnn`): the data's shape, the
  output head, the input embedding, checks and the two exact samplers.

  Subclasses define ``__call__(x, labels)`` (every conditional, one pass) and
  ``_cached_sampler(key, x, labels, start)``.

  Attributes:
    event_shape: ``(H, W, C)``.
    output: one of ``OUTPUTS``.
    num_mixtures: logistic components per sub-pixel (``'logistic_mixture'``).
    num_categories: ``K`` of a ``'categorical'`` output (256 intensities, or the codes).
    embed_dim: a ``'categorical'`` model's input embedding per sub-pixel.
    head_hidden: the 1×1 head's width.
  """

  event_shape: Sequence[int]
  output: str = "bernoulli"
  num_mixtures: int = 5
  num_categories: int = 256
  embed_dim: int = 16
  head_hidden: int = 64

  def _head(self) -> _OutputHead:
    return _OutputHead(self.head_hidden, self.output, self.event_shape[-1], self.num_mixtures,
                       self.num_categories)

  def _make_embedding(self):
    """The input embedding ``(K, embed_dim)`` of a categorical model (None otherwise).
    Call in ``setup``."""
    if self.output != "categorical":
      return None
    if self.num_categories < 2 or self.embed_dim < 1:
      raise ValueError(f"output='categorical' needs num_categories ≥ 2 and embed_dim ≥ 1; "
                       f"got {self.num_categories}, {self.embed_dim}.")
    return self.param("embedding", nn.initializers.normal(1.0),
                      (self.num_categories, self.embed_dim))

  @property
  def _pad_value(self) -> float:
    """The canvas value outside the image: it must reach the network as zeros, like a
    convolution's zero padding (−1 embeds to zeros)."""
    return -1.0 if self.output == "categorical" else 0.0

  def _embed(self, x: Array) -> Array:
    """The network's input features of model-scale data ``x`` (N, h, w, C): ``x`` itself,
    or for a categorical model each sub-pixel's embedding, ``(N, h, w, C·embed_dim)``
    (channel groups kept; the pad value −1 embeds to zeros)."""
    if self.output != "categorical":
      return x
    index = x.astype(jnp.int32)
    e = jnp.take(self.embedding, jnp.maximum(index, 0), axis=0) * (index >= 0)[..., None]
    return e.reshape(*x.shape[:-1], x.shape[-1] * self.embed_dim)

  def log_prob(self, x: ArrayLike, labels: ArrayLike | None = None) -> Array:
    """``log p(x)`` per image (N,), in nats: ``self(x, labels).log_prob(x)``, with a
    categorical model's data given as floats holding the class indices."""
    dist = self(x, labels)
    x = jnp.asarray(x)
    return dist.log_prob(jnp.round(x).astype(jnp.int32) if self.output == "categorical" else x)

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
      of ``[−1, 1]`` for ``'logistic_mixture'``, class indices for ``'categorical'``).

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
