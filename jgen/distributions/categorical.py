"""Independent categoricals over the last axis of their logits: 256-way pixel models."""

from flax import struct
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _float
from jgen.distributions.base import _sample_shape
from jgen.distributions.base import sum_event
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class Categorical(Distribution):
  """Independent categoricals ``p(x = k) = softmax(logits)_k`` over ``C`` classes.

  ``log_prob(x) = Σ_event log_softmax(logits)[..., x]`` over the event dims. The classes
  lie on the last axis of ``logits``, which is not a parameter dim: the parameter shape
  is ``logits.shape[:-1]`` and ``x`` holds one integer class index per element.

  Attributes:
    logits: ``(*batch, *event, C)`` unnormalised log-probabilities.
    event_ndims: number of trailing dims of ``(*batch, *event)`` that form one event
      (static); the class axis is never part of it.

  Raises:
    ValueError: (from any method) if ``logits`` is a scalar or ``event_ndims`` is not in
      ``[0, logits.ndim − 1]``.

  References:
    van den Oord, Kalchbrenner, Kavukcuoglu. Pixel Recurrent Neural Networks. ICML 2016,
    Section 5.3 (a 256-way softmax per sub-pixel). arXiv:1601.06759.

  Example:
    >>> import jax
    >>> import jax.numpy as jnp
    >>> from jgen.distributions import Categorical
    >>> d = Categorical(jnp.zeros((2, 4, 256)), event_ndims=1)  # 256 levels per pixel
    >>> log_prob, mean = jax.jit(lambda d, x: (d.log_prob(x), d.mean()))(
    ...     d, jnp.zeros((2, 4), jnp.int32))
    >>> log_prob.shape, float(mean[0, 0])
    ((2,), 127.5)
  """

  logits: Array
  event_ndims: int = struct.field(pytree_node=False, default=0)

  def _logits(self) -> Array:
    logits = _float(self.logits)
    if logits.ndim < 1:
      raise ValueError(
          f"{type(self).__name__}: logits must have the classes on a last axis, shape "
          f"(*batch, *event, num_classes); got a scalar.")
    self._check_event_ndims_of_shape(logits.shape[:-1])
    return logits

  def log_prob(self, x: ArrayLike) -> Array:
    """``Σ_event log_softmax(logits)[..., x]``.

    Args:
      x: integer class indices in ``[0, C)``, broadcastable against ``logits.shape[:-1]``,
        e.g. ``(*batch, *event)`` or ``(n, *batch, *event)``. An index outside
        ``[0, C)`` has probability 0 (log-probability −inf).

    Returns:
      The broadcast shape without the event dims: ``(*batch,)`` or ``(n, *batch)``.

    Raises:
      ValueError: if ``x`` is not of an integer dtype (floats would be silently
        truncated: cast them explicitly), on bad parameters or shapes that do not
        broadcast.
    """
    logits = self._logits()
    x = jnp.asarray(x)
    if not (jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_):
      raise ValueError(
          f"{type(self).__name__}.log_prob: x must hold integer class indices; got dtype "
          f"{x.dtype}. Cast it, e.g. x.astype(jnp.int32).")
    try:
      shape = jnp.broadcast_shapes(x.shape, logits.shape[:-1])
    except ValueError as e:
      raise ValueError(
          f"{type(self).__name__}.log_prob: x {x.shape} does not broadcast against the "
          f"parameter shape {logits.shape[:-1]} (logits {logits.shape}).") from e
    log_probs = jnp.broadcast_to(jax.nn.log_softmax(logits, axis=-1), shape + logits.shape[-1:])
    index = jnp.broadcast_to(x.astype(jnp.int32), shape)[..., None]
    picked = jnp.take_along_axis(
        log_probs, index, axis=-1, mode="fill", fill_value=-jnp.inf,
        wrap_negative_indices=False)
    return sum_event(picked[..., 0], self.event_ndims)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    """Draws class indices with ``jax.random.categorical``.

    Args:
      key: PRNG key.
      sample_shape: leading shape of independent draws.

    Returns:
      ``(*sample_shape, *batch, *event)`` int32 class indices.
    """
    logits = self._logits()
    shape = _sample_shape(sample_shape) + logits.shape[:-1]
    return jax.random.categorical(key, logits, axis=-1, shape=shape).astype(jnp.int32)

  def mean(self) -> Array:
    """``Σ_k k·p_k``: the mean of the class *index*, as a float.

    Meaningful when the classes are ordered levels, e.g. the 256 intensities of a
    PixelRNN-style pixel model; for unordered classes use the probabilities instead.

    Returns:
      ``(*batch, *event)`` floats in ``[0, C − 1]``.
    """
    logits = self._logits()
    classes = jnp.arange(logits.shape[-1], dtype=logits.dtype)
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * classes, axis=-1)

  def mode(self) -> Array:
    """``argmax_k logits_k`` (the first one on ties).

    Returns:
      ``(*batch, *event)`` int32 class indices.
    """
    return jnp.argmax(self._logits(), axis=-1).astype(jnp.int32)
