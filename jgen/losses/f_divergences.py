"""The f-divergences of f-GAN (Nowozin et al. 2016, Tables 1, 2 and 6).

An f-divergence is ``D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx`` for a convex ``f`` with
``f(1) = 0``. Its variational (Fenchel) lower bound, which f-GAN maximises over the
critic ``T``, is

    D_f(P‖Q) ≥ E_P[T(x)] − E_Q[f*(T(x))],

with equality at the optimal critic ``T*(x) = f′(p(x)/q(x))``. The critic is
``T = g_f(V)`` for an unconstrained network output ``V`` and an output activation
``g_f`` that maps ℝ increasingly into the domain of the convex conjugate ``f*`` (so
a larger logit always means "more like the data").

Each registry entry holds, as functions of one array (and the divergence's keyword
parameters, e.g. ``alpha=``):

- ``f(u)``: the generator function, for ``u = p/q > 0``;
- ``conjugate(t)``: ``f*(t) = sup_u {t·u − f(u)}`` on the domain of ``f*``;
- ``activation(v)``: ``g_f(v)``;
- ``f_prime(u)``: ``f′(u)``, so the optimal critic is ``f_prime(p/q)``;
- ``conjugate_of_activation(v)``: ``f*(g_f(v))`` in a numerically stable fused form
  (e.g. ``softplus(v)`` for the GAN divergence instead of ``−log(1 − sigmoid(v))``,
  which is ``inf`` once ``sigmoid`` rounds to 1). Losses use this one.

Divergences whose conjugate grows exponentially (``kl``, ``reverse_kl``,
``neyman_chi2``, ``squared_hellinger``, ``jeffrey``, ``alpha`` with α < 1) overflow for
logits of a few hundred by definition: that is the value of the bound, not a rounding
error.

References:
  Nowozin, Cseke, Tomioka. f-GAN: Training Generative Neural Samplers using
  Variational Divergence Minimization. NeurIPS 2016. arXiv:1606.00709.
"""

from collections.abc import Callable, Mapping
import functools
import math
import types
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jgen.typing import Array

_LOG2 = math.log(2.0)


class FDivergence(NamedTuple):
  """The functions that define one f-divergence and its f-GAN parametrisation.

  Every field is a function ``(array, **params) -> array`` applied elementwise; see
  the module docstring for the meaning of each. ``params`` names the required
  keyword parameters (``('alpha',)`` for the α-divergence, else empty).
  """

  f: Callable[..., Array]
  conjugate: Callable[..., Array]
  activation: Callable[..., Array]
  f_prime: Callable[..., Array]
  conjugate_of_activation: Callable[..., Array]
  params: tuple[str, ...] = ()


def _xlogx(u: Array) -> Array:
  return jax.scipy.special.xlogy(u, u)


def _log_lambertw_exp(x: Array, iterations: int = 30) -> Array:
  """Returns ``log W(exp(x))`` for the principal Lambert W, stable for any real x.

  ``w = W(e^x)`` solves ``w e^w = e^x``, i.e. ``ℓ + e^ℓ = x`` for ``ℓ = log w``. That
  function of ℓ is convex and increasing, so Newton's method converges from any start.
  Working in log space avoids overflowing ``e^x``. The iterations run under
  ``stop_gradient``; one last differentiable Newton step then carries the exact
  implicit derivative ``dℓ/dx = 1 / (1 + e^ℓ)``.
  """
  x = jnp.asarray(x)
  x_const = jax.lax.stop_gradient(x)
  ell = jnp.where(x_const > 1.0, jnp.log(jnp.maximum(x_const, 1.0)), x_const)
  for _ in range(iterations):
    ell = ell - (ell + jnp.exp(ell) - x_const) / (1.0 + jnp.exp(ell))
  ell = jax.lax.stop_gradient(ell)
  return ell - (ell + jnp.exp(ell) - x) / (1.0 + jnp.exp(ell))


def _jeffrey_conjugate(t: Array) -> Array:
  # f*(t) = W(e^{1−t}) + 1/W(e^{1−t}) + t − 2   (Nowozin et al. 2016, Table 2).
  ell = _log_lambertw_exp(1.0 - t)
  return jnp.exp(ell) + jnp.exp(-ell) + t - 2.0


def _check_alpha(alpha: float) -> float:
  alpha = float(alpha)
  if alpha in (0.0, 1.0) or not math.isfinite(alpha):
    raise ValueError(
        f"The alpha-divergence needs a finite alpha not in {{0, 1}}; got alpha={alpha}. "
        "(alpha -> 1 is KL and alpha -> 0 is reverse KL: use 'kl' or 'reverse_kl'.)")
  return alpha


def _alpha_f(u: Array, *, alpha: float) -> Array:
  alpha = _check_alpha(alpha)
  return (jnp.power(u, alpha) - 1.0 - alpha * (u - 1.0)) / (alpha * (alpha - 1.0))


def _alpha_f_prime(u: Array, *, alpha: float) -> Array:
  alpha = _check_alpha(alpha)
  return (jnp.power(u, alpha - 1.0) - 1.0) / (alpha - 1.0)


def _alpha_conjugate_of_base(base: Array, alpha: float) -> Array:
  # f*(t) = (1/α)·(1 + (α−1)t)^{α/(α−1)} − 1/α, written in terms of base = 1 + (α−1)t.
  # For α > 1 and base ≤ 0 the supremum over u ≥ 0 sits at u = 0, where
  # f*(t) = −f(0) = −1/α: clamping the base to 0 gives exactly that (and no NaN).
  base = jnp.maximum(base, 0.0) if alpha > 1.0 else base
  return (jnp.power(base, alpha / (alpha - 1.0)) - 1.0) / alpha


def _alpha_conjugate(t: Array, *, alpha: float) -> Array:
  alpha = _check_alpha(alpha)
  return _alpha_conjugate_of_base(1.0 + (alpha - 1.0) * t, alpha)


def _alpha_activation(v: Array, *, alpha: float) -> Array:
  alpha = _check_alpha(alpha)
  if alpha < 1.0:  # dom f* = (−∞, 1/(1−α)).
    return 1.0 / (1.0 - alpha) + jax.nn.log_sigmoid(v)
  return v  # dom f* = ℝ once f* is extended by −1/α below −1/(α−1).


def _alpha_conjugate_of_activation(v: Array, *, alpha: float) -> Array:
  alpha = _check_alpha(alpha)
  if alpha < 1.0:
    # 1 + (α−1)·(1/(1−α) + log σ(v)) = (1−α)·softplus(−v), exact without cancellation.
    return _alpha_conjugate_of_base((1.0 - alpha) * jax.nn.softplus(-v), alpha)
  return _alpha_conjugate_of_base(1.0 + (alpha - 1.0) * v, alpha)


F_DIVERGENCES: Mapping[str, FDivergence] = types.MappingProxyType({
    # ½|u − 1|; g_f(v) = ½ tanh(v) maps onto dom f* = [−½, ½], where f*(t) = t.
    "total_variation": FDivergence(
        f=lambda u: 0.5 * jnp.abs(u - 1.0),
        conjugate=lambda t: t,
        activation=lambda v: 0.5 * jnp.tanh(v),
        f_prime=lambda u: 0.5 * jnp.sign(u - 1.0),
        conjugate_of_activation=lambda v: 0.5 * jnp.tanh(v),
    ),
    # KL(P‖Q): u log u; f*(t) = exp(t − 1).
    "kl": FDivergence(
        f=_xlogx,
        conjugate=lambda t: jnp.exp(t - 1.0),
        activation=lambda v: v,
        f_prime=lambda u: jnp.log(u) + 1.0,
        conjugate_of_activation=lambda v: jnp.exp(v - 1.0),
    ),
    # KL(Q‖P): −log u; dom f* = ℝ₋, f*(t) = −1 − log(−t); g_f(v) = −exp(−v).
    "reverse_kl": FDivergence(
        f=lambda u: -jnp.log(u),
        conjugate=lambda t: -1.0 - jnp.log(-t),
        activation=lambda v: -jnp.exp(-v),
        f_prime=lambda u: -1.0 / u,
        conjugate_of_activation=lambda v: v - 1.0,  # −1 − log(exp(−v)), no overflow.
    ),
    # (u − 1)²; f*(t) = t²/4 + t.
    "pearson_chi2": FDivergence(
        f=lambda u: jnp.square(u - 1.0),
        conjugate=lambda t: 0.25 * jnp.square(t) + t,
        activation=lambda v: v,
        f_prime=lambda u: 2.0 * (u - 1.0),
        conjugate_of_activation=lambda v: 0.25 * jnp.square(v) + v,
    ),
    # (1 − u)²/u; dom f* = (−∞, 1), f*(t) = 2 − 2√(1 − t); g_f(v) = 1 − exp(−v).
    "neyman_chi2": FDivergence(
        f=lambda u: jnp.square(1.0 - u) / u,
        conjugate=lambda t: 2.0 - 2.0 * jnp.sqrt(1.0 - t),
        activation=lambda v: -jnp.expm1(-v),
        f_prime=lambda u: 1.0 - 1.0 / jnp.square(u),
        conjugate_of_activation=lambda v: 2.0 - 2.0 * jnp.exp(-0.5 * v),
    ),
    # (√u − 1)²; dom f* = (−∞, 1), f*(t) = t/(1 − t); g_f(v) = 1 − exp(−v).
    "squared_hellinger": FDivergence(
        f=lambda u: jnp.square(jnp.sqrt(u) - 1.0),
        conjugate=lambda t: t / (1.0 - t),
        activation=lambda v: -jnp.expm1(-v),
        f_prime=lambda u: 1.0 - jax.lax.rsqrt(u),
        conjugate_of_activation=jnp.expm1,  # (1 − e^{−v})/e^{−v}.
    ),
    # (u − 1) log u = KL(P‖Q) + KL(Q‖P); f* via the Lambert W function.
    "jeffrey": FDivergence(
        f=lambda u: (u - 1.0) * jnp.log(u),
        conjugate=_jeffrey_conjugate,
        activation=lambda v: v,
        f_prime=lambda u: jnp.log(u) + 1.0 - 1.0 / u,
        conjugate_of_activation=_jeffrey_conjugate,
    ),
    # −(u + 1) log((1 + u)/2) + u log u = 2·JSD(P‖Q); dom f* = (−∞, log 2),
    # f*(t) = −log(2 − exp(t)); g_f(v) = log 2 − log(1 + exp(−v)).
    "jensen_shannon": FDivergence(
        f=lambda u: _xlogx(u) - (u + 1.0) * jnp.log((1.0 + u) / 2.0),
        conjugate=lambda t: -jnp.log(2.0 - jnp.exp(t)),
        activation=lambda v: _LOG2 + jax.nn.log_sigmoid(v),
        f_prime=lambda u: jnp.log(2.0 * u / (1.0 + u)),
        # −log(2 − 2σ(v)) = −log 2 − log σ(−v) = softplus(v) − log 2.
        conjugate_of_activation=lambda v: jax.nn.softplus(v) - _LOG2,
    ),
    # u log u − (u + 1) log(u + 1) = 2·JSD − log 4, the original GAN objective;
    # dom f* = ℝ₋, f*(t) = −log(1 − exp(t)); g_f(v) = −log(1 + exp(−v)).
    "gan": FDivergence(
        f=lambda u: _xlogx(u) - (u + 1.0) * jnp.log1p(u),
        conjugate=lambda t: -jnp.log(-jnp.expm1(t)),
        activation=jax.nn.log_sigmoid,
        f_prime=lambda u: jnp.log(u / (u + 1.0)),
        conjugate_of_activation=jax.nn.softplus,  # −log(1 − σ(v)).
    ),
    # (u^α − 1 − α(u − 1)) / (α(α − 1)), α ∉ {0, 1} (Nowozin et al. 2016, Table 6).
    "alpha": FDivergence(
        f=_alpha_f,
        conjugate=_alpha_conjugate,
        activation=_alpha_activation,
        f_prime=_alpha_f_prime,
        conjugate_of_activation=_alpha_conjugate_of_activation,
        params=("alpha",),
    ),
})


def get_f_divergence(name: str, **params) -> FDivergence:
  """Returns the registry entry ``name`` with its keyword ``params`` bound.

  Args:
    name: a key of ``F_DIVERGENCES``.
    **params: the divergence's parameters (``alpha=`` for ``'alpha'``; none else).

  Returns:
    An ``FDivergence`` whose functions take a single array.

  Raises:
    ValueError: for an unknown name, or missing, unexpected or invalid parameters.
  """
  if name not in F_DIVERGENCES:
    raise ValueError(
        f"Unknown f-divergence {name!r}; valid names: {', '.join(F_DIVERGENCES)}.")
  div = F_DIVERGENCES[name]
  missing = [p for p in div.params if p not in params]
  unexpected = [p for p in params if p not in div.params]
  if missing or unexpected:
    wanted = ", ".join(f"{p}=" for p in div.params) or "no parameters"
    raise ValueError(
        f"f-divergence {name!r} takes {wanted}; got {sorted(params) or 'none'}.")
  if name == "alpha":
    _check_alpha(params["alpha"])
  return FDivergence(*(functools.partial(fn, **params) for fn in div[:-1]), params=())
