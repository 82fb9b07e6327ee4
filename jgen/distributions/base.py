"""The distribution interface every jgen likelihood model returns.

A distribution is a ``flax.struct`` pytree of its parameter arrays, so it passes
through ``jit``/``vmap``/``pmap`` and can be returned by a Flax module. Its elements
are independent over the last ``event_ndims`` dims of the parameters (the *event*);
the leading dims are the *batch*. ``log_prob(x)`` sums over the event dims and returns
the batch shape, as distrax's ``Independent`` does.

Methods every distribution implements, with distrax's names:

- ``log_prob(x) -> (*batch,)``;
- ``sample(key, sample_shape=()) -> (*sample_shape, *batch, *event)``;
- ``mean()`` and ``mode()`` -> the parameters' shape.

Parameters are checked when a method is called, not in ``__init__``: JAX rebuilds a
pytree from arbitrary leaves (tracers, abstract values, ``vmap`` axis specs), and a
check there would reject those.
"""

import operator

from flax import struct
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def sum_event(values: Array, event_ndims: int) -> Array:
  """Sums the last ``event_ndims`` dims of ``values``: ``Σ_event values``.

  Args:
    values: ``(*batch, *event)`` elementwise values, e.g. log-probabilities.
    event_ndims: the number of trailing dims summed over, in ``[0, values.ndim]``.

  Returns:
    ``(*batch,)``; ``values`` itself when ``event_ndims == 0``.
  """
  if event_ndims == 0:
    return values
  return values.sum(axis=tuple(range(values.ndim - event_ndims, values.ndim)))


class Distribution(struct.PyTreeNode):
  """Base class: subclasses add their parameter fields and the four methods."""

  def log_prob(self, x: ArrayLike) -> Array:
    raise NotImplementedError

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    raise NotImplementedError

  def mean(self) -> Array:
    raise NotImplementedError

  def mode(self) -> Array:
    raise NotImplementedError

  def _check_event_ndims(self, param: Array) -> None:
    self._check_event_ndims_of_shape(jnp.shape(param))

  def _check_event_ndims_of_shape(self, shape: tuple[int, ...]) -> None:
    ndims = self.event_ndims  # pytype: disable=attribute-error
    if not _is_int_in(ndims, 0, len(shape)):
      raise ValueError(
          f"{type(self).__name__}: event_ndims must be an int in [0, {len(shape)}] for "
          f"parameters of shape {tuple(shape)}; got {ndims!r}.")


def _float(x: ArrayLike) -> Array:
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _param_shape(cls_name: str, **params: ArrayLike) -> tuple[int, ...]:
  """The broadcast shape of the parameters; ``ValueError`` naming them if none exists."""
  shapes = {name: tuple(jnp.shape(p)) for name, p in params.items()}
  try:
    return tuple(jnp.broadcast_shapes(*shapes.values()))
  except ValueError as e:
    listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
    raise ValueError(
        f"{cls_name}: parameter shapes must be equal or broadcast against each other; "
        f"got {listed}.") from e


def _is_int_in(value, low: int, high: float) -> bool:
  try:
    value = operator.index(value)
  except TypeError:
    return False
  return low <= value <= high


def _check_num_bins(cls_name: str, num_bins: int) -> None:
  if not _is_int_in(num_bins, 2, float("inf")):
    raise ValueError(f"{cls_name}: num_bins must be an int ≥ 2; got {num_bins!r}.")


def _sample_shape(sample_shape: tuple[int, ...] | int) -> tuple[int, ...]:
  if isinstance(sample_shape, int):
    return (sample_shape,)
  return tuple(sample_shape)
