"""RealNVP's logit preprocessing as a bijector, and bits/dim of dequantized data.

Flows model 8-bit images as continuous data: ``y = (x + u)/256`` with ``x ∈ {0..255}``
and ``u ~ U[0, 1)`` per dimension (`jgen.data.dequantize_uniform`), then (RealNVP) map
``y ∈ [0, 1)`` to the real line with `Logit`, whose log-det is part of the density of
``y``. For ``D`` dimensions, ``−log P(x) ≤ E_u[−log p(y)] + D·log 256`` and

.. math::

  \\mathrm{bpd} = \\frac{−\\log p(y) + D·\\log 256}{D·\\log 2},

with ``log p(y) = log p_flow(logit-space value) + log|det ∂logit/∂y|`` (both inside the
flow when `Logit` is its first member). Forgetting the ``D·log 256`` term (the change
of variables from ``[0, 256)`` to ``[0, 1)``) is a recurring bug of Glow ports.
"""

import math

from flax import struct
import jax
import jax.numpy as jnp

from jgen.flows.base import Bijector
from jgen.flows.base import _check_rank
from jgen.flows.base import _sum_event
from jgen.typing import Array
from jgen.typing import ArrayLike


class Logit(Bijector):
  """RealNVP's preprocessing ``y = logit(α + (1 − 2α)·x)`` from ``(0, 1)`` to ℝ.

  The normalising direction (``inverse``, data → noise, like every jgen layer):

  .. math::

    y = \\mathrm{logit}(p),\\ p = α + (1 − 2α) x, \\qquad
    \\log|\\det ∂y/∂x| = Σ \\big(\\log(1 − 2α) − \\log p − \\log(1 − p)\\big);

  ``forward`` is ``x = (σ(y) − α)/(1 − 2α)`` with log-det
  ``Σ (log σ(y) + log σ(−y) − log(1 − 2α))`` (``log_sigmoid``: finite for any ``y``).
  ``α`` keeps the logit away from ±∞ at the data's edges ``x = 0`` and ``x → 1``. Put
  it first in a flow (the data end) so its log-det enters ``log_prob``: it is part of
  the exact density of the dequantized data.

  Attributes:
    alpha: ``α ∈ (0, ½)``; RealNVP uses 0.05 (CIFAR-10).
    event_ndims: event rank (3 for images ``(B, H, W, C)``).

  Raises:
    ValueError: (from the methods) if ``alpha`` is not in ``(0, ½)`` or the input is
      not ``(B, *event)``.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 4.1).

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.flows import Logit
    >>> y, log_det = Logit(event_ndims=1).inverse_and_log_det(jnp.array([[0.5, 0.5]]))
    >>> round(float(abs(y).max()), 6), round(float(log_det[0]), 4)  # 2·(log 0.9 − 2·log 0.5)
    (0.0, 2.5619)
  """

  alpha: float = struct.field(pytree_node=False, default=0.05)
  event_ndims: int = struct.field(pytree_node=False, default=3)

  def _check(self, x: ArrayLike) -> Array:
    if not 0.0 < self.alpha < 0.5:
      raise ValueError(f"Logit: alpha must be in (0, 0.5); got {self.alpha!r}.")
    return _check_rank("Logit", x, self.event_ndims)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(logit(α + (1 − 2α)·x), log|det|)`` for data ``x`` in (0, 1): ``(B, *event)``, ``(B,)``."""
    del context  # Unconditional.
    x = self._check(y)
    p = self.alpha + (1.0 - 2.0 * self.alpha) * x
    log_p, log_1mp = jnp.log(p), jnp.log1p(-p)
    log_det = math.log(1.0 - 2.0 * self.alpha) - log_p - log_1mp
    return log_p - log_1mp, _sum_event(log_det, self.event_ndims)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``((σ(y) − α)/(1 − 2α), log|det|)`` for ``y`` in ℝ: ``(B, *event)``, ``(B,)``."""
    del context  # Unconditional.
    y = self._check(x)
    scale = 1.0 - 2.0 * self.alpha
    log_det = jax.nn.log_sigmoid(y) + jax.nn.log_sigmoid(-y) - math.log(scale)
    return (jax.nn.sigmoid(y) - self.alpha) / scale, _sum_event(log_det, self.event_ndims)


def dequantized_bits_per_dim(log_prob: ArrayLike, num_dims: int,
                             num_bins: int = 256) -> Array:
  """Bits/dim of discrete data from the density of its dequantized version.

  .. math::

    \\mathrm{bpd} = \\frac{−\\log p(y) + D·\\log n}{D·\\log 2},
    \\qquad y = (x + u)/n,\\ u ∼ U[0, 1)^D,

  an upper bound (in expectation over ``u``) on ``−log₂ P(x)/D`` for ``x ∈ {0..n−1}^D``.

  Args:
    log_prob: ``log p(y)`` (nats) of the dequantized data on ``[0, 1)^D``, any shape,
      e.g. ``(B,)``; with `Logit` inside the flow, its log-det is already included.
    num_dims: ``D``, dimensions per example (``H·W·C``).
    num_bins: ``n``, 256 for 8-bit data.

  Returns:
    Bits per dimension, the shape of ``log_prob``.

  References:
    Theis, van den Oord, Bethge. A note on the evaluation of generative models.
    ICLR 2016. arXiv:1511.01844 (Sec. 3.1).
    Dinh, Sohl-Dickstein, Bengio. Real NVP. ICLR 2017. arXiv:1605.08803 (Sec. 4.1).

  Example:
    >>> from jgen.flows import dequantized_bits_per_dim
    >>> float(dequantized_bits_per_dim(0.0, num_dims=10))  # uniform on [0, 1)^D: 8 bits
    8.0
  """
  d = float(num_dims)
  return (-jnp.asarray(log_prob) + d * math.log(num_bins)) / (d * math.log(2.0))


__all__ = ["Logit", "dequantized_bits_per_dim"]
