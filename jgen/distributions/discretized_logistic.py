"""Discretised logistics on ``num_bins`` levels in ``[−1, 1]``: 8-bit image decoders."""

from flax import struct
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _check_num_bins
from jgen.distributions.base import _float
from jgen.distributions.base import _param_shape
from jgen.distributions.base import _sample_shape
from jgen.losses import discretized_logistic_log_likelihood
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _common_floats(*xs: ArrayLike) -> list[Array]:
  xs = [_float(x) for x in xs]
  dtype = jnp.result_type(*xs)
  return [x.astype(dtype) for x in xs]


def _bin_centres(num_bins: int, dtype: jnp.dtype) -> Array:
  """``c_k = 2k/(num_bins − 1) − 1``, ``k = 0, …, num_bins − 1``."""
  return _centre_of_index(jnp.arange(num_bins, dtype=dtype), num_bins)


def _centre_of_index(k: Array, num_bins: int) -> Array:
  """``(2k − (num_bins − 1))/(num_bins − 1)``: symmetric about 0, exactly ±1 at the ends.

  XLA may turn the division by a constant into a multiplication by its rounded
  reciprocal, which can put the last centre at 1 + 1 ulp; the clip puts it back.
  """
  return jnp.clip((2.0 * k - (num_bins - 1)) / (num_bins - 1), -1.0, 1.0)


def _round_to_bins(y: Array, num_bins: int) -> Array:
  """The bin centre of each ``y``: clip to ``[−1, 1]``, then round to the nearest centre.

  The bins are ``[c_k − h, c_k + h]`` with ``h = 1/(num_bins − 1)``, the tails going to
  the edge bins, as in ``discretized_logistic_log_likelihood``.
  """
  k = jnp.round((jnp.clip(y, -1.0, 1.0) + 1.0) * (0.5 * (num_bins - 1)))
  return _centre_of_index(k, num_bins)


def _discretized_logistic_mean(loc: Array, log_scale: Array, num_bins: int) -> Array:
  """``E[X] = Σ_k c_k·P(bin k)`` of the discretised logistic, elementwise.

  With ``c_k = −1 + 2hk`` and ``E[k] = Σ_{k=1}^{n−1} P(X ≥ c_k)`` (summation by parts of
  the CDF differences ``P(bin k) = F(c_k + h) − F(c_k − h)``)::

    E[X] = −1 + 2h Σ_{k=1}^{n−1} σ((μ − e_k)/s) = 1 − 2h Σ_{k=1}^{n−1} σ((e_k − μ)/s),

  ``e_k = c_k − h`` the interior bin edges. Each term lies in ``[0, 1]``, so the mean is
  in ``[−1, 1]`` for any location, and no two near-equal CDFs are subtracted. The first
  form is used for ``μ < 0``, the second otherwise: its sum is then the smaller one, and
  so is its rounding error. It is one reduction of one sign-flipped argument, which XLA
  fuses with the broadcast: no ``(..., num_bins − 1)`` buffer is allocated under ``jit``.
  """
  edges = (2.0 * jnp.arange(1, num_bins, dtype=loc.dtype) - 1.0) / (num_bins - 1) - 1.0
  below = loc < 0
  sign = jnp.where(below, 1.0, -1.0).astype(loc.dtype)
  z = (sign * jnp.exp(-log_scale))[..., None] * (loc[..., None] - edges)
  total = jnp.sum(jax.nn.sigmoid(z), axis=-1)  # Σ P(X > e_k) if μ < 0, else Σ P(X < e_k).
  step = 2.0 / (num_bins - 1)
  mean = jnp.where(below, -1.0 + step * total, 1.0 - step * total)
  return jnp.clip(mean, -1.0, 1.0)


class DiscretizedLogistic(Distribution):
  """A logistic ``(μ, s = exp(log_scale))`` discretised to ``num_bins`` levels in ``[−1, 1]``.

  Bin centres ``c_k = 2k/(num_bins − 1) − 1``, half-width ``h = 1/(num_bins − 1)``,
  ``F(t) = σ((t − μ)/s)``::

    P(c_k) = F(c_0 + h)              for k = 0 (the lower tail included),
             1 − F(c_{n−1} − h)      for k = n − 1 (the upper tail included),
             F(c_k + h) − F(c_k − h) otherwise,

  and ``log_prob(x) = Σ log P(x)`` over the event dims, computed by
  ``jgen.losses.discretized_logistic_log_likelihood`` (stable in log space deep in
  either tail). ``sample`` draws a logistic and rounds it to the nearest centre after
  clipping to ``[−1, 1]``; ``mean`` is the exact mean ``Σ_k c_k·P(c_k)`` of the
  discretised distribution (inside ``[−1, 1]`` for any ``μ``); ``mode`` the most
  probable centre. ``loc`` and ``log_scale`` broadcast against each other; the
  parameter shape is the broadcast one.

  Attributes:
    loc: ``(*batch, *event)`` logistic locations μ (need not lie in ``[−1, 1]``).
    log_scale: log s, broadcastable against ``loc``.
    num_bins: number of levels, 256 for 8-bit data (static).
    event_ndims: number of trailing dims that form one event (static), e.g. 3 for
      ``(B, H, W, C)`` images.

  Raises:
    ValueError: (from any method) if ``num_bins < 2``, ``loc`` and ``log_scale`` do not
      broadcast, or ``event_ndims`` is not in ``[0, ndim]`` of their broadcast shape.

  References:
    Salimans, Karpathy, Chen, Kingma. PixelCNN++. ICLR 2017, Section 2.1.
    arXiv:1701.05517.
    Kingma et al. Improved Variational Inference with Inverse Autoregressive Flow.
    NeurIPS 2016. arXiv:1606.04934.

  Example:
    >>> import jax
    >>> import jax.numpy as jnp
    >>> from jgen.distributions import DiscretizedLogistic
    >>> d = DiscretizedLogistic(jnp.full((2, 4, 4, 3), -6.5), -2.0, event_ndims=3)
    >>> x = -jnp.ones((2, 4, 4, 3))  # black pixels
    >>> log_prob, mean = jax.jit(lambda d, x: (d.log_prob(x), d.mean()))(d, x)
    >>> log_prob.shape, round(float(mean[0, 0, 0, 0]), 4)
    ((2,), -1.0)
  """

  loc: Array
  log_scale: Array
  num_bins: int = struct.field(pytree_node=False, default=256)
  event_ndims: int = struct.field(pytree_node=False, default=0)

  def _shape(self) -> tuple[int, ...]:
    name = type(self).__name__
    _check_num_bins(name, self.num_bins)
    shape = _param_shape(name, loc=self.loc, log_scale=self.log_scale)
    self._check_event_ndims_of_shape(shape)
    return shape

  def _params(self) -> tuple[Array, Array]:
    shape = self._shape()
    return tuple(jnp.broadcast_to(p, shape) for p in _common_floats(self.loc, self.log_scale))

  def log_prob(self, x: ArrayLike) -> Array:
    """``Σ_event log P(x)``, with ``P`` the bin probabilities of the class docstring.

    Args:
      x: values on the bin centres in ``[−1, 1]``, broadcastable against the parameters,
        e.g. ``(*batch, *event)`` or ``(n, *batch, *event)``; compared with the bin
        edges, so rounding errors are harmless.

    Returns:
      The broadcast shape without the event dims: ``(*batch,)`` or ``(n, *batch)``.

    Raises:
      ValueError: on bad parameters (see the class) or shapes that do not broadcast.
    """
    self._shape()
    return discretized_logistic_log_likelihood(
        x, self.loc, self.log_scale, num_bins=self.num_bins, event_ndims=self.event_ndims)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    """Draws bin centres ``round(clip(μ + s·L, −1, 1))``, ``L`` standard logistic.

    Args:
      key: PRNG key.
      sample_shape: leading shape of independent draws.

    Returns:
      ``(*sample_shape, *batch, *event)`` values on the bin centres.
    """
    loc, log_scale = self._params()
    shape = _sample_shape(sample_shape) + loc.shape
    y = loc + jnp.exp(log_scale) * jax.random.logistic(key, shape, dtype=loc.dtype)
    return _round_to_bins(y, self.num_bins)

  def mean(self) -> Array:
    """``Σ_k c_k·P(c_k)``, the exact mean of the discretised distribution.

    Computed as ``−1 + 2h Σ_{k=1}^{n−1} P(X ≥ c_k)`` (the CDF differences summed by
    parts: a sum of sigmoids, no cancellation), so it lies in ``[−1, 1]`` for any
    location: ``μ = −6.5`` with a small scale gives ≈ −1.

    Returns:
      ``(*batch, *event)``.
    """
    loc, log_scale = self._params()
    return _discretized_logistic_mean(loc, log_scale, self.num_bins)

  def mode(self) -> Array:
    """The most probable bin centre.

    The interior bins have equal widths, so of those the one whose centre is nearest
    ``μ`` is the most probable (the logistic density is symmetric and unimodal); the two
    edge bins also hold the tails and win when the scale is wide against the distance
    from ``μ`` to the edge. The mode is the most probable of these three.

    Returns:
      ``(*batch, *event)`` bin centres.
    """
    loc, log_scale = self._params()
    n = self.num_bins
    low, high = jnp.full_like(loc, -1.0), jnp.full_like(loc, 1.0)
    if n == 2:
      candidates = jnp.stack([low, high])
    else:
      nearest = jnp.clip(jnp.round((jnp.clip(loc, -1.0, 1.0) + 1.0) * (0.5 * (n - 1))), 1, n - 2)
      candidates = jnp.stack([_centre_of_index(nearest, n), low, high])
    log_probs = discretized_logistic_log_likelihood(
        candidates, loc, log_scale, num_bins=n, event_ndims=0)
    best = jnp.argmax(log_probs, axis=0)
    return jnp.take_along_axis(candidates, best[None], axis=0)[0]
