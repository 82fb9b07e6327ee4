"""Fixed permutations of the last (feature or channel) axis: `Reverse` and `Permute`.

Coupling layers leave half the inputs unchanged; a permutation between them lets every
input be transformed (RealNVP, Glow's "reverse" and "shuffle" variants). Permutations
have ``|det| = 1``: log-det 0. The learned alternative for images is `Conv1x1`.
"""

from flax import struct
import jax
import jax.numpy as jnp
import numpy as np

from jgen.flows.base import Bijector
from jgen.flows.base import _check_rank
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class Reverse(Bijector):
  """Reverses the last axis: ``y[..., i] = x[..., n − 1 − i]``; log-det 0; self-inverse.

  Attributes:
    event_ndims: event rank (1 for ``(B, D)``, 3 for images ``(B, H, W, C)``, whose
      channels are reversed as in Glow).

  Raises:
    ValueError: (from the methods) if the input is not ``(B, *event)``.

  References:
    Kingma & Dhariwal. Glow. NeurIPS 2018. arXiv:1807.03039 (Sec. 3.2).
  """

  event_ndims: int = struct.field(pytree_node=False, default=1)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(x[..., ::-1], 0)``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    x = _check_rank("Reverse", x, self.event_ndims)
    return x[..., ::-1], jnp.zeros(x.shape[:1], x.dtype)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """The same map: reversal is its own inverse."""
    return self.forward_and_log_det(y, context)


class Permute(Bijector):
  """A fixed permutation of the last axis: ``y[..., i] = x[..., π(i)]``; log-det 0.

  The inverse gathers with ``π⁻¹ = argsort(π)``. ``π`` is a static tuple (hashable,
  compiled in as a constant); `Permute.random` draws it from a key.

  Attributes:
    permutation: ``π``, a permutation of ``0..n−1`` for a last axis of size n.
    event_ndims: event rank (1 for ``(B, D)``, 3 for images).

  Raises:
    ValueError: (from the methods) if ``permutation`` is not a permutation of
      ``0..n−1``, or the input is not ``(B, *event)`` with last axis n.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.flows import Permute
    >>> Permute((2, 0, 1)).forward(jnp.array([[10.0, 11.0, 12.0]]))
    Array([[12., 10., 11.]], dtype=float32)
    >>> sorted(Permute.random(jax.random.key(0), 5).permutation)
    [0, 1, 2, 3, 4]
  """

  permutation: tuple[int, ...] = struct.field(pytree_node=False)
  event_ndims: int = struct.field(pytree_node=False, default=1)

  @classmethod
  def random(cls, key: PRNGKey, size: int, event_ndims: int = 1) -> "Permute":
    """A uniformly random fixed permutation of ``size`` features drawn from ``key``."""
    return cls(tuple(int(i) for i in np.asarray(jax.random.permutation(key, size))),
               event_ndims=event_ndims)

  def _check(self, x: ArrayLike) -> Array:
    n = len(self.permutation)
    if sorted(self.permutation) != list(range(n)):
      raise ValueError(f"Permute: permutation must be a permutation of 0..{n - 1}; got "
                       f"{self.permutation}.")
    x = _check_rank("Permute", x, self.event_ndims)
    if x.shape[-1] != n:
      raise ValueError(f"Permute: the last axis of the input must have size {n}; got "
                       f"shape {tuple(x.shape)}.")
    return x

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(x[..., π], 0)``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    x = self._check(x)
    return x[..., np.asarray(self.permutation)], jnp.zeros(x.shape[:1], x.dtype)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(y[..., π⁻¹], 0)``."""
    del context  # Unconditional.
    y = self._check(y)
    inverse = np.argsort(np.asarray(self.permutation))
    return y[..., inverse], jnp.zeros(y.shape[:1], y.dtype)


__all__ = ["Permute", "Reverse"]
