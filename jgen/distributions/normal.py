"""Diagonal Gaussians parametrised by the log-variance: continuous VAE decoders."""

from flax import struct
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _float
from jgen.distributions.base import _param_shape
from jgen.distributions.base import _sample_shape
from jgen.losses import gaussian_log_likelihood
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class Normal(Distribution):
  """Independent Gaussians ``N(μ, σ²)`` with ``σ² = exp(log_var)``.

  ``log_prob(x) = Σ −½ (log 2π + log σ² + (x − μ)²·exp(−log σ²))`` over the event dims
  (``jgen.losses.gaussian_log_likelihood``); ``sample = μ + exp(½·log σ²)·ε`` with
  ``ε ~ N(0, I)``; ``mean = mode = μ``. ``log_var`` is what VAE decoders and encoders
  output; it may be a scalar (one shared, learned variance) or any shape that broadcasts
  against ``loc``: the parameter shape is the broadcast one.

  Attributes:
    loc: ``(*batch, *event)`` means μ.
    log_var: log-variances log σ², broadcastable against ``loc``.
    event_ndims: number of trailing dims that form one event (static).

  Raises:
    ValueError: (from any method) if ``loc`` and ``log_var`` do not broadcast, or
      ``event_ndims`` is not in ``[0, ndim]`` of their broadcast shape.

  References:
    Kingma & Welling. Auto-Encoding Variational Bayes. ICLR 2014, Appendix C.2.
    arXiv:1312.6114.

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.distributions import Normal
    >>> d = Normal(jnp.zeros((2, 3)), 0.0, event_ndims=1)
    >>> d.log_prob(jnp.zeros((2, 3))).shape, float(d.log_prob(jnp.zeros(3))[0])
    ((2,), -2.756...)
  """

  loc: Array
  log_var: Array
  event_ndims: int = struct.field(pytree_node=False, default=0)

  def _shape(self) -> tuple[int, ...]:
    shape = _param_shape(type(self).__name__, loc=self.loc, log_var=self.log_var)
    self._check_event_ndims_of_shape(shape)
    return shape

  def log_prob(self, x: ArrayLike) -> Array:
    """``Σ_event −½ (log 2π + log σ² + (x − μ)²·exp(−log σ²))``.

    Args:
      x: values broadcastable against the parameters, e.g. ``(*batch, *event)`` or
        ``(n, *batch, *event)``.

    Returns:
      The broadcast shape without the event dims: ``(*batch,)`` or ``(n, *batch)``.

    Raises:
      ValueError: on bad parameters (see the class) or shapes that do not broadcast.
    """
    self._shape()
    return gaussian_log_likelihood(x, self.loc, self.log_var, event_ndims=self.event_ndims)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    """Draws ``μ + exp(½·log σ²)·ε``, shape ``(*sample_shape, *batch, *event)``."""
    shape = _sample_shape(sample_shape) + self._shape()
    loc, log_var = self._floats()
    eps = jax.random.normal(key, shape, dtype=loc.dtype)
    return loc + jnp.exp(0.5 * log_var) * eps

  def mean(self) -> Array:
    """``μ``, broadcast to the parameter shape ``(*batch, *event)``."""
    return jnp.broadcast_to(self._floats()[0], self._shape())

  def mode(self) -> Array:
    """``μ``, broadcast to the parameter shape ``(*batch, *event)``."""
    return self.mean()

  def _floats(self) -> tuple[Array, Array]:
    loc, log_var = _float(self.loc), _float(self.log_var)
    dtype = jnp.result_type(loc, log_var)
    return loc.astype(dtype), log_var.astype(dtype)
