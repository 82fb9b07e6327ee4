"""Glow's invertible 1×1 convolution, LU-parametrised: a learned channel mixing."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from jgen.flows.base import FlaxBijector
from jgen.flows.base import _check_rank
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _lu_init(key: PRNGKey, channels: int) -> Array:
  """The packed LU factors of a random rotation, ``(C, C)``.

  ``Q`` from the QR decomposition of a Gaussian is a random orthogonal matrix; with
  partial pivoting ``Q = P L U``. ``R = D Pᵀ Q = (D L D)(D U)``, ``D = diag(sign diag U)``,
  is orthogonal too, has an LU factorisation without pivoting, a positive ``U``
  diagonal, hence ``det R = +1``: a rotation. Packed: strictly lower part of ``D L D``,
  strictly upper part of ``D U``, and ``log |diag U|`` on the diagonal.
  """
  q, _ = jnp.linalg.qr(jax.random.normal(key, (channels, channels)))
  p, lower, upper = jsl.lu(q)
  del p  # Absorbed into the initial rotation R = D Pᵀ Q (see the class docstring).
  s = jnp.diag(upper)
  d = jnp.sign(s)
  lower = d[:, None] * lower * d[None, :]
  upper = d[:, None] * upper
  return jnp.tril(lower, -1) + jnp.triu(upper, 1) + jnp.diag(jnp.log(jnp.abs(s)))


class Conv1x1(FlaxBijector):
  """An invertible 1×1 convolution ``z_{hw} = W x_{hw}`` with ``W = L (U + diag(exp(log s)))``.

  The normalising direction (``inverse``, data → noise, as Glow writes it) multiplies
  every pixel's channel vector by ``W``:

  .. math::

    z_{hw} = W x_{hw}, \\qquad \\log|\\det ∂z/∂x| = H·W·\\log|\\det W| = H·W·Σ_c \\log s_c,

  and ``forward`` multiplies by ``W⁻¹`` (two triangular solves), with log-det
  ``−H·W·Σ log s``. ``L`` is unit lower triangular, ``U`` strictly upper triangular.
  Glow writes ``W = P L (U + diag(sign(s)·exp(log|s|)))`` with ``P`` and ``sign(s)``
  fixed at the LU decomposition of its initial random rotation ``Q``. Here that
  rotation is ``R = diag(sign s) Pᵀ Q`` (still a random rotation, drawn from the
  ``params`` key), for which ``P = I`` and ``sign(s) = +1``: the same parametrisation
  with its constants folded into the initial matrix, so nothing untrained is stored
  and the variables are one packed ``(C, C)`` parameter ``"lu"`` (strictly lower: L;
  diagonal: log s; strictly upper: U). ``det W > 0`` throughout training, as Glow's
  sign is fixed too; the LU form keeps ``W`` invertible and its log-det O(C).

  Event rank 3: inputs ``(B, H, W, C)``.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, H, W, C)`` or its channel
      count differs from the parameters'.

  References:
    Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
    NeurIPS 2018. arXiv:1807.03039 (Sec. 3.2, Table 1).
  """

  event_ndims = 3

  @nn.compact
  def _weight(self, x: Array) -> tuple[Array, Array, Array]:
    """``(L, U + diag(exp(log s)), log s)`` for an input ``x`` (B, H, W, C)."""
    channels = x.shape[-1]
    if self.has_variable("params", "lu"):
      stored = self.get_variable("params", "lu").shape[-1]
      if stored != channels:
        raise ValueError(f"Conv1x1 was initialised for {stored} channels; got input of "
                         f"shape {tuple(x.shape)}.")
    lu = self.param("lu", _lu_init, channels).astype(x.dtype)
    log_s = jnp.diag(lu)
    lower = jnp.tril(lu, -1) + jnp.eye(channels, dtype=x.dtype)
    upper = jnp.triu(lu, 1) + jnp.diag(jnp.exp(log_s))
    return lower, upper, log_s

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(W y_{hw}, H·W·Σ log s)``: shapes ``(B, H, W, C)`` and ``(B,)``."""
    del context  # Unconditional.
    y = _check_rank("Conv1x1", y, 3)
    lower, upper, log_s = self._weight(y)
    z = y @ (lower @ upper).T
    log_det = y.shape[1] * y.shape[2] * log_s.sum()
    return z, jnp.full(y.shape[:1], log_det, y.dtype)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(W⁻¹ x_{hw}, −H·W·Σ log s)``: shapes ``(B, H, W, C)`` and ``(B,)``."""
    del context  # Unconditional.
    x = _check_rank("Conv1x1", x, 3)
    lower, upper, log_s = self._weight(x)
    flat = x.reshape(-1, x.shape[-1]).T  # (C, B·H·W): solve W v = x per pixel.
    v = jsl.solve_triangular(lower, flat, lower=True, unit_diagonal=True)
    v = jsl.solve_triangular(upper, v, lower=False)
    log_det = -x.shape[1] * x.shape[2] * log_s.sum()
    return v.T.reshape(x.shape), jnp.full(x.shape[:1], log_det, x.dtype)


__all__ = ["Conv1x1"]
