"""Kernels and the unbiased MMD² estimator: KID and the kernel two-sample test share them."""

import jax
import jax.numpy as jnp

from jgen.metrics._distances import squared_distances
from jgen.typing import Array
from jgen.typing import ArrayLike


def polynomial_kernel(x: ArrayLike, y: ArrayLike) -> Array:
  """``k(x, y) = (x·y / D + 1)³`` for ``x`` (N, D), ``y`` (M, D) → (N, M).

  The kernel of KID (Bińkowski et al. 2018, §4), with ``D`` the feature dimension.
  """
  x = jnp.asarray(x, jnp.float32)
  y = jnp.asarray(y, jnp.float32)
  return (jnp.dot(x, y.T, precision=jax.lax.Precision.HIGHEST) / x.shape[-1] + 1.0) ** 3


def gaussian_kernel(x: ArrayLike, y: ArrayLike, bandwidth: float | Array) -> Array:
  """``k(x, y) = exp(−‖x − y‖² / (2 σ²))`` with ``σ = bandwidth``; (N, D), (M, D) → (N, M)."""
  return jnp.exp(-squared_distances(x, y) / (2.0 * jnp.asarray(bandwidth, jnp.float32) ** 2))


def mmd2_unbiased(k_xx: ArrayLike, k_yy: ArrayLike, k_xy: ArrayLike) -> Array:
  """The unbiased estimate of ``MMD²(P, Q)`` from kernel matrices.

  ``MMD²_u = Σ_{i≠j} k(x_i, x_j) / (n(n−1)) + Σ_{i≠j} k(y_i, y_j) / (m(m−1))
  − 2 Σ_{i,j} k(x_i, y_j) / (nm)`` (Gretton et al. 2012, Lemma 6). Its expectation is
  0 when P = Q, so single estimates can be negative.

  Args:
    k_xx: ``(n, n)``, ``k_yy``: ``(m, m)``, ``k_xy``: ``(n, m)``, with n, m ≥ 2.

  Returns:
    A scalar.
  """
  k_xx, k_yy, k_xy = (jnp.asarray(k) for k in (k_xx, k_yy, k_xy))
  n, m = k_xx.shape[0], k_yy.shape[0]
  sum_xx = (jnp.sum(k_xx) - jnp.trace(k_xx)) / (n * (n - 1))
  sum_yy = (jnp.sum(k_yy) - jnp.trace(k_yy)) / (m * (m - 1))
  return sum_xx + sum_yy - 2.0 * jnp.mean(k_xy)


__all__ = ["gaussian_kernel", "mmd2_unbiased", "polynomial_kernel"]
