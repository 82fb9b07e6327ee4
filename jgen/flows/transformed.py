"""`Transformed`: the distribution of ``x = f(z)``, ``z`` from a base distribution."""

from typing import Any

import jax.numpy as jnp

from jgen.distributions.base import Distribution
from jgen.distributions.base import _sample_shape
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _flatten_batch(x: Array, event_ndims: int) -> tuple[Array, tuple[int, ...]]:
  """``(*lead, *event) → ((N, *event), lead)``: bijectors take one batch axis."""
  lead = x.shape[:x.ndim - event_ndims]
  return x.reshape((-1,) + x.shape[x.ndim - event_ndims:]), lead


class Transformed(Distribution):
  """The push-forward of a base distribution through a bijector: ``x = f(z)``, ``z ~ p_z``.

  .. math::

    \\log p(x) = \\log p_z(f^{-1}(x)) + \\log|\\det ∂f^{-1}/∂x|,

  computed with one ``inverse_and_log_det``; sampling draws ``z`` and applies
  ``forward``, and ``sample_and_log_prob`` reuses the forward log-det,
  ``log p(x) = log p_z(z) − log|det ∂f/∂z|``. The standard base is jgen's `Normal`
  with event-shaped parameters, e.g. ``Normal(jnp.zeros(event_shape), 0.0,
  event_ndims=len(event_shape))``: the base has no batch dims; the batch comes from
  ``x`` or ``sample_shape``.

  The bijector is a parameter-free bijector (or `Chain`), or a Flax flow with its
  variables as a `BoundBijector`, so that the distribution is a pytree whose leaves
  are the base parameters and the flow's variables: it passes through ``jit`` and
  ``grad`` like every jgen distribution. Inside a Flax module's method a bound
  submodule works too (the distribution must then not leave ``apply``).

  Attributes:
    distribution: the base ``p_z``, with an ``event_ndims`` attribute.
    bijector: ``f``, with ``forward_and_log_det``, ``inverse_and_log_det`` and
      ``event_ndims``.

  References:
    Rezende & Mohamed. Variational Inference with Normalizing Flows. ICML 2015.
    arXiv:1505.05770.
    Papamakarios et al. Normalizing Flows for Probabilistic Modeling and Inference.
    JMLR 2021. arXiv:1912.02762.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.distributions import Normal
    >>> from jgen.flows import Permute, Transformed
    >>> dist = Transformed(Normal(jnp.zeros(3), 0.0, event_ndims=1), Permute((2, 0, 1)))
    >>> dist.sample(jax.random.key(0), 4).shape, dist.log_prob(jnp.zeros((4, 3))).shape
    ((4, 3), (4,))
  """

  distribution: Distribution
  bijector: Any

  def log_prob(self, x: ArrayLike, context: ArrayLike | None = None) -> Array:
    """``log p_z(f⁻¹(x)) + log|det ∂f⁻¹/∂x|``.

    Args:
      x: ``(*batch, *event)`` data, usually ``(B, *event)``.
      context: ``(N, …)`` for conditional flows, ``N`` the flattened batch size.

    Returns:
      ``(*batch,)``.
    """
    x, lead = _flatten_batch(jnp.asarray(x), self.bijector.event_ndims)
    z, log_det = self.bijector.inverse_and_log_det(x, context)
    return (self.distribution.log_prob(z) + log_det).reshape(lead)

  def sample_and_log_prob(self, key: PRNGKey, sample_shape: tuple[int, ...] | int = (),
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """Samples ``x = f(z)`` and their ``log p(x) = log p_z(z) − log|det ∂f/∂z|``.

    Args:
      key: a PRNG key for the base sample.
      sample_shape: leading shape of the samples (an int ``n`` means ``(n,)``).
      context: ``(N, …)`` for conditional flows, ``N = prod(sample_shape)``.

    Returns:
      ``(x (*sample_shape, *event), log_prob (*sample_shape,))``.
    """
    z = self.distribution.sample(key, _sample_shape(sample_shape))
    log_pz = self.distribution.log_prob(z)
    z, lead = _flatten_batch(z, self.distribution.event_ndims)
    x, log_det = self.bijector.forward_and_log_det(z, context)
    return x.reshape(lead + x.shape[1:]), log_pz - log_det.reshape(lead)

  def sample(self, key: PRNGKey, sample_shape: tuple[int, ...] | int = (),
             context: ArrayLike | None = None) -> Array:
    """Samples ``x = f(z)``, ``z ~ p_z``: shape ``(*sample_shape, *event)``."""
    z = self.distribution.sample(key, _sample_shape(sample_shape))
    z, lead = _flatten_batch(z, self.distribution.event_ndims)
    x = self.bijector.forward(z, context)
    return x.reshape(lead + x.shape[1:])

  def mean(self) -> Array:
    raise NotImplementedError("Transformed: the mean of a flow has no closed form; "
                              "estimate it from samples.")

  def mode(self) -> Array:
    raise NotImplementedError("Transformed: the mode of a flow has no closed form.")


__all__ = ["Transformed"]
