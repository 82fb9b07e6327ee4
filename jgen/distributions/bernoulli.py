"""Independent Bernoullis parametrised by logits: binarised-image decoders."""

from flax import struct
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _sample_shape
from jgen.losses import bernoulli_log_likelihood
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class Bernoulli(Distribution):
  """Independent Bernoullis ``p(x) = Π σ(l)^x σ(−l)^(1−x)`` parametrised by logits.

  ``log_prob(x) = Σ [x·l − softplus(l)]`` over the event dims
  (``jgen.losses.bernoulli_log_likelihood``: finite, with the finite gradient
  ``x − σ(l)``, at any logit).

  Attributes:
    logits: ``(*batch, *event)`` logits ``l``.
    event_ndims: number of trailing dims that form one event (static).

  Raises:
    ValueError: (from any method) if ``event_ndims`` is not in ``[0, logits.ndim]``.

  References:
    Kingma & Welling. Auto-Encoding Variational Bayes. ICLR 2014, Appendix C.1.
    arXiv:1312.6114.

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.distributions import Bernoulli
    >>> d = Bernoulli(jnp.zeros((2, 3)), event_ndims=1)
    >>> d.log_prob(jnp.ones((2, 3))).shape, float(d.mean()[0, 0])
    ((2,), 0.5)
  """

  logits: Array
  event_ndims: int = struct.field(pytree_node=False, default=0)

  def log_prob(self, x: ArrayLike) -> Array:
    """``Σ_event [x·l − softplus(l)]``.

    Args:
      x: values in ``[0, 1]`` (binary, or continuous for the usual cross-entropy
        objective), broadcastable against the logits, e.g. ``(*batch, *event)`` or
        ``(n, *batch, *event)``.

    Returns:
      The broadcast shape without the event dims: ``(*batch,)``.

    Raises:
      ValueError: on a bad ``event_ndims`` or shapes that do not broadcast.
    """
    self._check_event_ndims(self.logits)
    return bernoulli_log_likelihood(self.logits, x, event_ndims=self.event_ndims)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    """Draws ``x ∈ {0, 1}`` as float32, shape ``(*sample_shape, *logits.shape)``."""
    self._check_event_ndims(self.logits)
    shape = _sample_shape(sample_shape) + jnp.shape(self.logits)
    return jax.random.bernoulli(key, jax.nn.sigmoid(self.logits), shape).astype(jnp.float32)

  def mean(self) -> Array:
    """``σ(l)``, the logits' shape."""
    self._check_event_ndims(self.logits)
    return jax.nn.sigmoid(self.logits)

  def mode(self) -> Array:
    """``1[l > 0]`` as float32 (0 on ties), the logits' shape."""
    self._check_event_ndims(self.logits)
    return (jnp.asarray(self.logits) > 0).astype(jnp.float32)
