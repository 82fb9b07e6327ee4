"""Rational-quadratic splines with linear tails (Neural Spline Flows).

A monotone rational-quadratic spline on ``[−B, B]`` with ``K`` bins, the identity
outside. Its ``3K − 1`` unconstrained parameters per element are laid out as
``[K width logits | K height logits | K − 1 interior derivative pre-activations]``:

- bin widths ``w = m_w + (1 − K·m_w)·softmax(·)·2B`` (heights likewise), so every bin
  is at least ``2B·m_w`` wide and the knots span exactly ``[−B, B]``;
- interior derivatives ``δ = m_δ + softplus(· + c)`` with ``c = log(e^{1 − m_δ} − 1)``:
  a zero pre-activation gives ``δ = 1``;
- boundary derivatives ``δ_0 = δ_K = 1``, so the spline joins the identity tails with
  a continuous first derivative.

With all parameters zero the bins are uniform and every derivative is 1, and the
spline is exactly the identity: conditioners with a zero last layer start as the
identity map.
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

MIN_BIN_SIZE = 1e-3
MIN_DERIVATIVE = 1e-3


def num_spline_params(num_bins: int) -> int:
  """``3K − 1``: parameters per element of a ``K``-bin spline with unit end derivatives."""
  return 3 * num_bins - 1


def _knots(logits: Array, bound: float, min_size: float) -> tuple[Array, Array]:
  """``(knots (..., K+1), sizes (..., K))`` on ``[−B, B]`` with sizes ≥ ``2B·min_size``."""
  num_bins = logits.shape[-1]
  sizes = min_size + (1.0 - min_size * num_bins) * jax.nn.softmax(logits, axis=-1)
  cum = jnp.cumsum(sizes, axis=-1)
  knots = jnp.concatenate([jnp.zeros_like(cum[..., :1]), cum], axis=-1)
  knots = 2.0 * bound * knots - bound
  # Pin the end knots: cumsum rounding must not leave a gap before the tails.
  knots = knots.at[..., 0].set(-bound).at[..., -1].set(bound)
  return knots, knots[..., 1:] - knots[..., :-1]


def rational_quadratic_spline(x: ArrayLike, params: ArrayLike, *, bound: float,
                              inverse: bool = False,
                              min_bin_width: float = MIN_BIN_SIZE,
                              min_bin_height: float = MIN_BIN_SIZE,
                              min_derivative: float = MIN_DERIVATIVE) -> tuple[Array, Array]:
  """Elementwise monotone rational-quadratic spline ``g`` on ``[−B, B]``, identity outside.

  In bin ``k`` (knots ``x_k``, ``y_k``, width ``w_k``, height ``h_k``, slope
  ``s_k = h_k/w_k``, end derivatives ``δ_k``, ``δ_{k+1}``), with ``ξ = (x − x_k)/w_k``:

  .. math::

    g(x) = y_k + \\frac{h_k (s_k ξ^2 + δ_k ξ(1−ξ))}{s_k + (δ_{k+1} + δ_k − 2s_k) ξ(1−ξ)},
    \\quad
    g'(x) = \\frac{s_k^2 (δ_{k+1} ξ^2 + 2 s_k ξ(1−ξ) + δ_k (1−ξ)^2)}
                 {(s_k + (δ_{k+1} + δ_k − 2s_k) ξ(1−ξ))^2}.

  The inverse solves ``a ξ² + b ξ + c = 0`` with ``a = h_k(s_k − δ_k) + Δ(δ_{k+1} + δ_k −
  2s_k)``, ``b = h_k δ_k − Δ(δ_{k+1} + δ_k − 2s_k)``, ``c = −s_k Δ``, ``Δ = y − y_k``, by
  the root ``ξ = 2c / (−b − √(b² − 4ac))``, which stays accurate when ``a → 0``
  (where the textbook ``(−b + √·)/(2a)`` cancels catastrophically).

  Inputs at or beyond the tails (``|x| ≥ B``) go through the identity, and the spline
  branch is evaluated at a safe point instead of the input ("double where"): both
  branches of a ``jnp.where`` are differentiated, and a spline evaluated out of range
  would give NaN gradients that the ``where`` multiplies by zero, still NaN.

  Args:
    x: ``(...)`` inputs (``y`` when ``inverse``).
    params: ``(..., 3K − 1)`` unconstrained parameters (layout in the module docstring),
      their leading dims broadcastable against ``x``.
    bound: ``B > 0``, the half-width of the spline's interval.
    inverse: evaluate ``g⁻¹`` instead of ``g``.
    min_bin_width: minimum bin width as a fraction of ``2B``; ``K·m_w < 1``.
    min_bin_height: minimum bin height as a fraction of ``2B``; ``K·m_h < 1``.
    min_derivative: minimum interior derivative ``m_δ ∈ (0, 1)``.

  Returns:
    ``(g(x), log g'(x))``, or ``(g⁻¹(y), log (g⁻¹)'(y)) = (x, −log g'(x))`` when
    ``inverse``; both of the broadcast shape of ``x`` and ``params[..., 0]``.

  Raises:
    ValueError: if ``params``' last axis is not ``3K − 1`` for some ``K ≥ 2``, the
      minimum sizes leave no room (``K·m ≥ 1``), or the shapes do not broadcast.

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    arXiv:1906.04032 (Sec. 3.1, Appendix A).
  """
  x, params = jnp.asarray(x), jnp.asarray(params)
  num_bins = _num_bins(params.shape[-1])
  for name, m in (("min_bin_width", min_bin_width), ("min_bin_height", min_bin_height)):
    if not 0.0 <= m * num_bins < 1.0:
      raise ValueError(f"rational_quadratic_spline: {name}·K must be in [0, 1); got "
                       f"{name}={m} with K={num_bins}.")
  if not 0.0 < min_derivative < 1.0:
    raise ValueError(f"rational_quadratic_spline: min_derivative must be in (0, 1); got "
                     f"{min_derivative}.")
  try:
    shape = jnp.broadcast_shapes(x.shape, params.shape[:-1])
  except ValueError as e:
    raise ValueError(f"rational_quadratic_spline: inputs {tuple(x.shape)} and parameters "
                     f"{tuple(params.shape)} (..., 3K − 1) do not broadcast.") from e
  dtype = jnp.result_type(x.dtype, params.dtype, jnp.float32)
  x = jnp.broadcast_to(x, shape).astype(dtype)
  params = jnp.broadcast_to(params, shape + params.shape[-1:]).astype(dtype)

  knots_x, widths = _knots(params[..., :num_bins], bound, min_bin_width)
  knots_y, heights = _knots(params[..., num_bins:2 * num_bins], bound, min_bin_height)
  shift = math.log(math.expm1(1.0 - min_derivative))  # softplus(0 + shift) = 1 − m_δ.
  interior = min_derivative + jax.nn.softplus(params[..., 2 * num_bins:] + shift)
  ones = jnp.ones_like(interior[..., :1])
  derivs = jnp.concatenate([ones, interior, ones], axis=-1)  # (..., K + 1)

  inside = jnp.abs(x) < bound
  # Double where: the spline sees 0 (a safe in-range point) wherever x is in the tails.
  x_in = jnp.where(inside, x, 0.0)
  knots_in = knots_y if inverse else knots_x
  index = jnp.sum(x_in[..., None] >= knots_in[..., 1:-1], axis=-1)

  def at_bin(values):
    return jnp.take_along_axis(values, index[..., None], axis=-1)[..., 0]

  x_k, w_k, y_k, h_k = at_bin(knots_x), at_bin(widths), at_bin(knots_y), at_bin(heights)
  d_k, d_k1 = at_bin(derivs[..., :-1]), at_bin(derivs[..., 1:])
  s_k = h_k / w_k
  curvature = d_k1 + d_k - 2.0 * s_k

  if inverse:
    delta = x_in - y_k
    a = h_k * (s_k - d_k) + delta * curvature
    b = h_k * d_k - delta * curvature
    c = -s_k * delta
    disc = jnp.maximum(jnp.square(b) - 4.0 * a * c, 0.0)
    xi = jnp.clip(2.0 * c / (-b - jnp.sqrt(disc)), 0.0, 1.0)
  else:
    xi = jnp.clip((x_in - x_k) / w_k, 0.0, 1.0)
  t = xi * (1.0 - xi)
  denominator = s_k + curvature * t
  if inverse:
    out = x_k + xi * w_k
  else:
    out = y_k + h_k * (s_k * jnp.square(xi) + d_k * t) / denominator
  numerator = d_k1 * jnp.square(xi) + 2.0 * s_k * t + d_k * jnp.square(1.0 - xi)
  log_grad = 2.0 * jnp.log(s_k) + jnp.log(numerator) - 2.0 * jnp.log(denominator)
  log_det = -log_grad if inverse else log_grad
  return jnp.where(inside, out, x), jnp.where(inside, log_det, 0.0)


def _num_bins(num_params: int) -> int:
  if num_params % 3 != 2 or num_params < 5:
    raise ValueError(f"rational_quadratic_spline: the parameters' last axis must be 3K − 1 "
                     f"for K ≥ 2 bins; got {num_params}.")
  return (num_params + 1) // 3


class RationalQuadraticSpline(Bijector):
  """An elementwise rational-quadratic spline bijector with fixed parameters.

  ``forward`` is ``y = g(x)`` elementwise and ``inverse`` ``x = g⁻¹(y)``
  (`rational_quadratic_spline`); log-dets ``Σ_event log g'(x)`` and its negative.

  Attributes:
    params: ``(..., 3K − 1)`` unconstrained parameters, leading dims broadcastable
      against the input ``(B, *event)``, e.g. ``(D, 3K − 1)`` for ``(B, D)`` inputs.
    bound: ``B``: the spline acts on ``[−B, B]``, the identity outside.
    event_ndims: event rank of the inputs.
    min_bin_width: minimum bin width (fraction of ``2B``).
    min_bin_height: minimum bin height (fraction of ``2B``).
    min_derivative: minimum interior derivative.

  Raises:
    ValueError: (from the methods) on a bad input rank or parameters (see
      `rational_quadratic_spline`).

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    arXiv:1906.04032.

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.flows import RationalQuadraticSpline
    >>> spline = RationalQuadraticSpline(jnp.zeros((2, 3 * 4 - 1)), bound=3.0)
    >>> y, log_det = spline.forward_and_log_det(jnp.array([[0.5, -7.0]]))  # Identity.
    >>> bool(jnp.allclose(y, jnp.array([[0.5, -7.0]]))), bool(abs(log_det[0]) < 1e-5)
    (True, True)
  """

  params: Array
  bound: float = struct.field(pytree_node=False, default=3.0)
  event_ndims: int = struct.field(pytree_node=False, default=1)
  min_bin_width: float = struct.field(pytree_node=False, default=MIN_BIN_SIZE)
  min_bin_height: float = struct.field(pytree_node=False, default=MIN_BIN_SIZE)
  min_derivative: float = struct.field(pytree_node=False, default=MIN_DERIVATIVE)

  def _apply(self, x: ArrayLike, inverse: bool) -> tuple[Array, Array]:
    x = _check_rank("RationalQuadraticSpline", x, self.event_ndims)
    y, log_det = rational_quadratic_spline(
        x, self.params, bound=self.bound, inverse=inverse,
        min_bin_width=self.min_bin_width, min_bin_height=self.min_bin_height,
        min_derivative=self.min_derivative)
    if y.shape != x.shape:
      raise ValueError(f"RationalQuadraticSpline: parameters {tuple(self.params.shape)} "
                       f"must broadcast to the input {tuple(x.shape)}, not enlarge it.")
    return y, _sum_event(log_det, self.event_ndims)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(g(x), Σ log g'(x))``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    return self._apply(x, inverse=False)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(g⁻¹(y), −Σ log g'(g⁻¹(y)))``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    return self._apply(y, inverse=True)


__all__ = ["RationalQuadraticSpline", "num_spline_params", "rational_quadratic_spline"]
