"""Mixtures of discretised logistics per element: the PixelCNN++ likelihood."""

from flax import struct
import jax
import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _check_num_bins
from jgen.distributions.base import _param_shape
from jgen.distributions.base import _sample_shape
from jgen.distributions.base import sum_event
from jgen.distributions.discretized_logistic import _bin_centres
from jgen.distributions.discretized_logistic import _common_floats
from jgen.distributions.discretized_logistic import _discretized_logistic_mean
from jgen.distributions.discretized_logistic import _round_to_bins
from jgen.losses import discretized_logistic_log_likelihood
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class DiscretizedLogisticMixture(Distribution):
  """Per element, a mixture of ``K`` discretised logistics on ``num_bins`` levels in ``[−1, 1]``.

  ``log p(x) = Σ_event log Σ_{k=1}^{K} π_k·P_k(x)`` with ``π = softmax(logits)``,
  computed as ``logsumexp_k(log_softmax(logits)_k + log P_k(x))``, with ``P_k`` the bin
  probabilities of ``DiscretizedLogistic(locs[..., k], log_scales[..., k])`` (edge bins
  take the tails; ``jgen.losses.discretized_logistic_log_likelihood``). The mixture
  components lie on the **last** axis of the three parameters.

  Every element (pixel *and* channel) has its own mixture and the elements are
  independent given the parameters: PixelCNN++'s coupling of the R, G, B channels of a
  pixel (one mixture per pixel, with the G and B means shifted linearly by the R and G
  values) is not included. A model wanting it must output per-channel parameters that
  already depend on the previous channels.

  Attributes:
    logits: ``(*batch, *event, K)`` unnormalised mixture log-weights.
    locs: ``(*batch, *event, K)`` component locations μ_k.
    log_scales: ``(*batch, *event, K)`` component log-scales log s_k.
    num_bins: number of levels, 256 for 8-bit data (static).
    event_ndims: number of trailing dims of ``(*batch, *event)`` that form one event
      (static); the component axis is never part of it.

  The three parameters broadcast against each other; the parameter shape is the
  broadcast one without its last (component) axis.

  Raises:
    ValueError: (from any method) if ``num_bins < 2``, the parameters do not broadcast
      or are scalars, or ``event_ndims`` is not in ``[0, ndim − 1]`` of their broadcast
      shape.

  References:
    Salimans, Karpathy, Chen, Kingma. PixelCNN++: Improving the PixelCNN with
    Discretized Logistic Mixture Likelihood and Other Modifications. ICLR 2017,
    Section 2.1. arXiv:1701.05517.

  Example:
    >>> import jax
    >>> import jax.numpy as jnp
    >>> from jgen.distributions import DiscretizedLogisticMixture
    >>> params = jnp.zeros((2, 8, 8, 3, 5))  # 5 components per sub-pixel
    >>> d = DiscretizedLogisticMixture(params, params, -3.0, event_ndims=3)
    >>> log_prob, mean = jax.jit(lambda d, x: (d.log_prob(x), d.mean()))(
    ...     d, jnp.zeros((2, 8, 8, 3)))
    >>> log_prob.shape, mean.shape
    ((2,), (2, 8, 8, 3))
  """

  logits: Array
  locs: Array
  log_scales: Array
  num_bins: int = struct.field(pytree_node=False, default=256)
  event_ndims: int = struct.field(pytree_node=False, default=0)

  def _params(self) -> tuple[Array, Array, Array]:
    """The three parameters as floats of one dtype, broadcast to ``(*batch, *event, K)``."""
    name = type(self).__name__
    _check_num_bins(name, self.num_bins)
    shape = _param_shape(
        name, logits=self.logits, locs=self.locs, log_scales=self.log_scales)
    if not shape or shape[-1] < 1:
      raise ValueError(
          f"{name}: logits, locs and log_scales must have the mixture components on a "
          f"last axis of size K ≥ 1, shape (*batch, *event, K); their broadcast shape is "
          f"{shape}.")
    self._check_event_ndims_of_shape(shape[:-1])
    floats = _common_floats(self.logits, self.locs, self.log_scales)
    return tuple(jnp.broadcast_to(p, shape) for p in floats)

  def log_prob(self, x: ArrayLike) -> Array:
    """``Σ_event logsumexp_k(log π_k + log P_k(x))``.

    Args:
      x: values on the bin centres in ``[−1, 1]``, broadcastable against
        ``(*batch, *event)``, e.g. ``(n, *batch, *event)``.

    Returns:
      The broadcast shape without the event dims: ``(*batch,)`` or ``(n, *batch)``.

    Raises:
      ValueError: on bad parameters (see the class) or shapes that do not broadcast.
    """
    logits, locs, log_scales = self._params()
    component_log_probs = discretized_logistic_log_likelihood(
        jnp.expand_dims(jnp.asarray(x), -1), locs, log_scales, num_bins=self.num_bins,
        event_ndims=0)
    log_weights = jax.nn.log_softmax(logits, axis=-1)
    log_probs = jax.nn.logsumexp(log_weights + component_log_probs, axis=-1)
    return sum_event(log_probs, self.event_ndims)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] = ()) -> Array:
    """Draws a component ``k ~ Categorical(π)``, then a bin centre from component ``k``.

    Args:
      key: PRNG key (split into one key for the components, one for the logistics).
      sample_shape: leading shape of independent draws.

    Returns:
      ``(*sample_shape, *batch, *event)`` values on the bin centres.
    """
    logits, locs, log_scales = self._params()
    shape = _sample_shape(sample_shape) + logits.shape[:-1]
    component_key, logistic_key = jax.random.split(key)
    component = jax.random.categorical(component_key, logits, axis=-1, shape=shape)

    def pick(param):
      param = jnp.broadcast_to(param, shape + param.shape[-1:])
      return jnp.take_along_axis(param, component[..., None], axis=-1)[..., 0]

    loc, log_scale = pick(locs), pick(log_scales)
    y = loc + jnp.exp(log_scale) * jax.random.logistic(logistic_key, shape, dtype=loc.dtype)
    return _round_to_bins(y, self.num_bins)

  def mean(self) -> Array:
    """``Σ_k π_k·E_k[X]``, the components' exact discretised means weighted.

    Returns:
      ``(*batch, *event)``, inside ``[−1, 1]``.
    """
    logits, locs, log_scales = self._params()
    means = _discretized_logistic_mean(locs, log_scales, self.num_bins)
    return jnp.clip(jnp.sum(jax.nn.softmax(logits, axis=-1) * means, axis=-1), -1.0, 1.0)

  def mode(self) -> Array:
    """The bin centre of highest mixture probability ``Σ_k π_k P_k(c)``.

    Evaluates all ``num_bins`` centres: memory ``num_bins × K`` per element.

    Returns:
      ``(*batch, *event)`` bin centres.
    """
    logits, locs, log_scales = self._params()
    centres = _bin_centres(self.num_bins, locs.dtype)
    # Bins on a new leading axis: (num_bins, *batch, *event, K).
    component_log_probs = discretized_logistic_log_likelihood(
        centres.reshape((-1,) + (1,) * locs.ndim), locs, log_scales,
        num_bins=self.num_bins, event_ndims=0)
    log_weights = jax.nn.log_softmax(logits, axis=-1)
    log_probs = jax.nn.logsumexp(log_weights + component_log_probs, axis=-1)
    return jnp.take(centres, jnp.argmax(log_probs, axis=0))
