"""Masked autoregressive flows on MADE: affine (MAF) and rational-quadratic spline.

Direction convention (MAF's): the density pass is the normalising direction, data to
noise, and takes **one** MADE pass,

.. math::

  z_d = τ(x_d;\\ θ_d(x_{<d})), \\qquad \\log|\\det ∂z/∂x| = Σ_d \\log τ'(x_d),

because ``θ_d`` depends only on inputs before ``d`` in the MADE ordering (the Jacobian
is triangular in that ordering). That is ``inverse_and_log_det``, the direction
`Transformed.log_prob` and training use. Sampling (``forward``) inverts ``τ`` one
position at a time: **D** passes in a ``jax.lax.fori_loop``, each recomputing all ``θ``
from the current ``x`` and re-solving every coordinate; after pass ``k`` the first
``k`` coordinates in the ordering are exact, so ``D`` passes give the exact inverse.
An IAF (fast sampling, D-pass density) is ``Inverse(AffineAutoregressive(...))``.
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.flows.base import FlaxBijector
from jgen.flows.base import _check_features
from jgen.flows.base import _check_rank
from jgen.flows.base import bounded_log_scale
from jgen.flows.splines import num_spline_params
from jgen.flows.splines import rational_quadratic_spline
from jgen.models.made import MaskedDense
from jgen.models.made import made_masks
from jgen.typing import Array
from jgen.typing import ArrayLike


class MADEConditioner(nn.Module):
  """A MADE with ``P`` outputs per input: ``θ (B, D, P)``, ``θ_d`` a function of ``x_{<d}``.

  The masks are `jgen.models.made.made_masks` for ``(D, hidden)``, with the output mask
  repeated ``P`` times per input (every parameter of input ``d`` sees what output
  ``d`` of a MADE sees). ``mask_seed=None`` gives the natural ordering and evenly
  spread degrees; an int draws a fixed ordering and degrees from
  ``jax.random.key(mask_seed)``, computed at trace time as constants. A context
  ``(B, D_c)`` enters the first hidden layer through an unmasked dense layer: it may
  influence every output without breaking the autoregressive structure. The output
  layer is zero-initialised, so ``θ = 0`` at init.

  Attributes:
    hidden: hidden widths ``(H_1, …, H_L)``.
    num_params: ``P``, parameters per input.
    mask_seed: None, or the seed of the ordering and hidden degrees.
    activation: hidden nonlinearity.

  References:
    Germain, Gregor, Murray, Larochelle. MADE. ICML 2015. arXiv:1502.03509.
  """

  hidden: Sequence[int] = (64, 64)
  num_params: int = 2
  mask_seed: int | None = None
  activation: Callable[[Array], Array] = nn.relu

  def masks(self, num_inputs: int) -> tuple[list[Array], Array]:
    """``made_masks`` for ``num_inputs`` (constants, even under ``jit``): ``(masks, ordering)``."""
    with jax.ensure_compile_time_eval():
      key = None if self.mask_seed is None else jax.random.key(self.mask_seed)
      return made_masks(key, num_inputs, self.hidden)

  @nn.compact
  def __call__(self, x: ArrayLike, context: ArrayLike | None = None) -> Array:
    """Args: ``x`` (B, D); ``context`` (B, …) or None. Returns ``θ`` (B, D, P).

    Raises:
      ValueError: if ``D < 2`` (from ``made_masks``).
    """
    x = jnp.asarray(x)
    d = x.shape[-1]
    masks, _ = self.masks(d)
    if context is not None:
      context = jnp.asarray(context, x.dtype).reshape(x.shape[0], -1)
    h = x
    for i, width in enumerate(self.hidden):
      pre = MaskedDense(width)(h, masks[i])
      if i == 0 and context is not None:
        pre = pre + nn.Dense(width, use_bias=False)(context)
      h = self.activation(pre)
    out_mask = jnp.repeat(masks[-1], self.num_params, axis=1)  # Column d·P + p ↔ input d.
    # Zero-init so that a fresh flow is the identity.
    out = MaskedDense(d * self.num_params, kernel_init=nn.initializers.zeros,
                      name="output")(h, out_mask)
    if not self.hidden and context is not None:
      out = out + nn.Dense(d * self.num_params, use_bias=False,
                           kernel_init=nn.initializers.zeros)(context)
    return out.reshape(x.shape + (self.num_params,))


class _Autoregressive(FlaxBijector):
  """One-pass ``τ`` in ``inverse``, D-pass ``τ⁻¹`` in ``forward``; subclasses give ``τ``."""

  hidden: Sequence[int] = (64, 64)
  mask_seed: int | None = None
  activation: Callable[[Array], Array] = nn.relu

  event_ndims = 1

  def _num_params(self) -> int:
    raise NotImplementedError

  def _transform(self, x: Array, params: Array) -> tuple[Array, Array]:
    """``(τ(x), log τ'(x))`` elementwise."""
    raise NotImplementedError

  def _invert(self, z: Array, params: Array) -> tuple[Array, Array]:
    """``(τ⁻¹(z), log (τ⁻¹)'(z))`` elementwise."""
    raise NotImplementedError

  def setup(self):
    self.made = MADEConditioner(self.hidden, self._num_params(), self.mask_seed,
                                self.activation)

  def _check(self, x: ArrayLike) -> Array:
    x = _check_rank(type(self).__name__, x, 1)
    _check_features(self, ("made", "output", "kernel"), x, self._num_params())
    return x

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """One pass: ``(τ(y; θ(y)), Σ log τ')``: shapes ``(B, D)`` and ``(B,)``."""
    y = self._check(y)
    z, log_det = self._transform(y, self.made(y, context))
    return z, log_det.sum(-1)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """D passes: ``(τ⁻¹(x; θ(·)), Σ log (τ⁻¹)')``: shapes ``(B, D)`` and ``(B,)``."""
    z = self._check(x)
    # The first pass goes through the bound submodule, which creates the parameters at
    # init; Flax modules cannot be called inside a lax loop, so the remaining D − 1
    # passes apply an unbound copy to those variables (as MADE.sample does).
    out, log_det = self._invert(z, self.made(jnp.zeros_like(z), context))
    made, variables = self.made.clone(parent=None), self.made.variables

    def one_pass(_, carry):
      out, _ = carry
      return self._invert(z, made.apply(variables, out, context))

    out, log_det = jax.lax.fori_loop(1, z.shape[-1], one_pass, (out, log_det))
    return out, log_det.sum(-1)


class AffineAutoregressive(_Autoregressive):
  """MAF: a masked autoregressive affine flow with Glow's bounded scale.

  .. math::

    z_d = s_d x_d + t_d, \\quad \\log s_d = \\mathrm{bounded\\_log\\_scale}(h_d), \\quad
    (h_d, t_d) = θ_d(x_{<d}, c), \\qquad \\log|\\det ∂z/∂x| = Σ_d \\log s_d,

  in one MADE pass (``inverse``, data → noise); ``forward`` (sampling) solves
  ``x_d = (z_d − t_d)/s_d`` in D passes (see the module docstring). Papamakarios et al.
  write ``z_d = (x_d − μ_d) e^{−α_d}``; the bounded ``s`` replaces the unbounded
  ``e^{−α}`` (`bounded_log_scale`). ``Inverse(AffineAutoregressive(...))`` is an IAF.

  Attributes:
    hidden: MADE hidden widths.
    mask_seed: None for the natural ordering, or the seed of a fixed random ordering.
    activation: MADE hidden nonlinearity.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, D)`` with ``D ≥ 2``.

  References:
    Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
    NeurIPS 2017. arXiv:1705.07057 (Sec. 3).
    Kingma et al. Improved Variational Inference with Inverse Autoregressive Flow.
    NeurIPS 2016. arXiv:1606.04934.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.flows import AffineAutoregressive
    >>> maf = AffineAutoregressive(hidden=(16,))
    >>> x = jax.random.normal(jax.random.key(0), (5, 3))
    >>> variables = maf.init(jax.random.key(1), x)  # Runs the one-pass density direction.
    >>> z, log_det = maf.apply(variables, x)
    >>> bool(jnp.allclose(z, x)), log_det.shape  # Zero-initialised: the identity.
    (True, (5,))
  """

  def _num_params(self) -> int:
    return 2

  def _transform(self, x: Array, params: Array) -> tuple[Array, Array]:
    log_scale = bounded_log_scale(params[..., 0])
    return x * jnp.exp(log_scale) + params[..., 1], log_scale

  def _invert(self, z: Array, params: Array) -> tuple[Array, Array]:
    log_scale = bounded_log_scale(params[..., 0])
    return (z - params[..., 1]) * jnp.exp(-log_scale), -log_scale


class SplineAutoregressive(_Autoregressive):
  """A masked autoregressive rational-quadratic spline flow (NSF's autoregressive layer).

  ``z_d = g(x_d; θ_d(x_{<d}, c))`` with ``g`` the ``K``-bin spline on ``[−B, B]`` and
  identity tails (`rational_quadratic_spline`), log-det ``Σ_d log g'(x_d)``: one pass
  (``inverse``, data → noise); ``forward`` inverts with the stable quadratic root in D
  passes. The zero-initialised MADE output makes ``g`` the identity at init.

  Attributes:
    hidden: MADE hidden widths.
    mask_seed: None for the natural ordering, or the seed of a fixed random ordering.
    activation: MADE hidden nonlinearity.
    num_bins: ``K ≥ 2``.
    bound: ``B``.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, D)`` with ``D ≥ 2``.

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    arXiv:1906.04032 (Sec. 3.2).
  """

  num_bins: int = 8
  bound: float = 3.0

  def _num_params(self) -> int:
    return num_spline_params(self.num_bins)

  def _transform(self, x: Array, params: Array) -> tuple[Array, Array]:
    return rational_quadratic_spline(x, params, bound=self.bound)

  def _invert(self, z: Array, params: Array) -> tuple[Array, Array]:
    return rational_quadratic_spline(z, params, bound=self.bound, inverse=True)


__all__ = ["AffineAutoregressive", "MADEConditioner", "SplineAutoregressive"]
