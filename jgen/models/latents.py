"""Latent-space paths for interpolation figures: linear and spherical.

Shapes follow one convention: endpoints ``z0, z1`` of shape ``(..., d)`` (they
broadcast against each other) and a position ``t`` that is a scalar, giving
``(..., d)``, or a vector of ``T`` positions, giving ``(..., T, d)`` — so ``R`` pairs
of endpoints ``(R, d)`` and ``T`` positions give one ``(R, T, d)`` grid, a row per
pair.
"""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike

INTERPOLATION_METHODS = ("linear", "slerp")

# Below this sin(angle) the endpoints are treated as parallel (or antiparallel) and
# slerp falls back to lerp: at angle 0 its weights are 0/0, and near angle π they
# blow up like 1/sin(angle), cancelling catastrophically.
_PARALLEL_EPS = 1e-4


def _broadcast_t(z0: Array, z1: Array, t: ArrayLike) -> tuple[Array, Array, Array]:
  """Puts the positions on a new axis -2 when t is a vector; (..., [T,] 1) weights."""
  t = jnp.asarray(t)
  if t.ndim > 1:
    raise ValueError(f"t must be a scalar or a vector (T,); got shape {t.shape}.")
  if z0.ndim == 0 or z1.ndim == 0:
    raise ValueError("z0 and z1 must have a trailing feature dimension (..., d).")
  dtype = jnp.result_type(z0, z1, t, jnp.float32)
  z0, z1, t = z0.astype(dtype), z1.astype(dtype), t.astype(dtype)
  if t.ndim == 1:
    z0, z1 = z0[..., None, :], z1[..., None, :]
  return z0, z1, t[..., None]


@jax.jit
def lerp(z0: ArrayLike, z1: ArrayLike, t: ArrayLike) -> Array:
  """Linear interpolation between latent vectors.

  ``lerp(z0, z1, t) = (1 − t)·z0 + t·z1``.

  Args:
    z0: ``(..., d)`` start points (``t = 0``).
    z1: ``(..., d)`` end points (``t = 1``), broadcastable with ``z0``.
    t: a scalar, or ``(T,)`` positions.

  Returns:
    ``(..., d)`` for a scalar ``t``; ``(..., T, d)`` for a vector.

  Raises:
    ValueError: if ``t`` has more than one dimension or an endpoint is a scalar.

  Example:
    >>> import jax.numpy as jnp
    >>> lerp(jnp.zeros(2), jnp.ones(2), jnp.array([0.0, 0.25, 1.0]))
    Array([[0.  , 0.  ],
           [0.25, 0.25],
           [1.  , 1.  ]], dtype=float32)
  """
  z0, z1, t = _broadcast_t(jnp.asarray(z0), jnp.asarray(z1), t)
  return z0 + t * (z1 - z0)


@jax.jit
def slerp(z0: ArrayLike, z1: ArrayLike, t: ArrayLike) -> Array:
  """Spherical linear interpolation between latent vectors.

  With ``Ω`` the angle between ``z0`` and ``z1``::

    slerp(z0, z1, t) = sin((1 − t)Ω) / sin Ω · z0 + sin(tΩ) / sin Ω · z1.

  For endpoints of equal norm the path is the great-circle arc from ``z0`` to
  ``z1`` at constant angular speed (the angle between ``z0`` and the result is
  ``t·Ω``) and keeps that norm, so it stays in the shell where a Gaussian prior's
  mass lies, whereas the lerp midpoint of two independent draws has norm about
  ``1/√2`` of theirs (White 2016). Endpoints of different norms get the same
  weights applied to the raw vectors (the formula above, as in White's code): the
  path still runs in their plane from ``z0`` to ``z1``, but neither its angle nor
  its norm is then linear in ``t``. When ``sin Ω < 1e-4`` (parallel or
  antiparallel endpoints, or a zero vector) the great circle is degenerate or
  undefined and the result is ``lerp(z0, z1, t)``, the limit of the formula as
  ``Ω → 0``.

  ``Ω = 2·atan2(‖ẑ0 − ẑ1‖, ‖ẑ0 + ẑ1‖)`` on the unit vectors ``ẑ``: unlike
  ``arccos(ẑ0·ẑ1)`` it stays accurate for small angles. Jitted; ``t`` may be
  traced.

  Args:
    z0: ``(..., d)`` start points (``t = 0``).
    z1: ``(..., d)`` end points (``t = 1``), broadcastable with ``z0``.
    t: a scalar, or ``(T,)`` positions (usually in ``[0, 1]``).

  Returns:
    ``(..., d)`` for a scalar ``t``; ``(..., T, d)`` for a vector.

  Raises:
    ValueError: if ``t`` has more than one dimension or an endpoint is a scalar.

  References:
    Shoemake. Animating rotation with quaternion curves. SIGGRAPH 1985.
    White. Sampling Generative Networks. 2016. arXiv:1609.04468.

  Example:
    >>> import jax.numpy as jnp
    >>> slerp(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), 0.5)  # 45° on the circle
    Array([0.707..., 0.707...], dtype=float32)
  """
  z0, z1, t = _broadcast_t(jnp.asarray(z0), jnp.asarray(z1), t)
  norm0 = jnp.linalg.norm(z0, axis=-1, keepdims=True)
  norm1 = jnp.linalg.norm(z1, axis=-1, keepdims=True)
  # A zero vector has no direction: give it a unit norm here and lerp below.
  unit0 = z0 / jnp.where(norm0 > 0, norm0, 1)
  unit1 = z1 / jnp.where(norm1 > 0, norm1, 1)
  omega = 2 * jnp.arctan2(
      jnp.linalg.norm(unit0 - unit1, axis=-1, keepdims=True),
      jnp.linalg.norm(unit0 + unit1, axis=-1, keepdims=True))
  sin_omega = jnp.sin(omega)
  degenerate = (sin_omega < _PARALLEL_EPS) | (norm0 == 0) | (norm1 == 0)
  # Safe denominator so the unused branch of `where` stays finite.
  safe_sin = jnp.where(degenerate, 1, sin_omega)
  spherical = (jnp.sin((1 - t) * omega) * z0 + jnp.sin(t * omega) * z1) / safe_sin
  linear = z0 + t * (z1 - z0)
  return jnp.where(degenerate, linear, spherical)


def interpolation_grid(
    z_start: ArrayLike, z_end: ArrayLike, steps: int, method: str = "linear"
) -> Array:
  """Rows of latent vectors from ``z_start[r]`` to ``z_end[r]``, endpoints included.

  ``grid[r, i] = interp(z_start[r], z_end[r], i / (steps − 1))`` with ``interp``
  ``lerp`` (``method='linear'``) or ``slerp`` (``method='slerp'``). Decode the
  ``(R·steps, d)`` reshape with the generator for an ``R × steps`` figure.

  Args:
    z_start: ``(R, d)`` start points, one per row.
    z_end: ``(R, d)`` end points.
    steps: number of points per row, ``≥ 2``.
    method: ``'linear'`` or ``'slerp'``.

  Returns:
    ``(R, steps, d)``.

  Raises:
    ValueError: on an unknown method, ``steps < 2``, or endpoints that are not two
      arrays of the same ``(R, d)`` shape.

  References:
    White. Sampling Generative Networks. 2016. arXiv:1609.04468.

  Example:
    >>> import jax
    >>> z = jax.random.normal(jax.random.key(0), (2, 3, 16))
    >>> interpolation_grid(z[0], z[1], steps=5, method="slerp").shape
    (3, 5, 16)
  """
  if method not in INTERPOLATION_METHODS:
    raise ValueError(f"Unknown interpolation method {method!r}; valid methods: "
                     f"{', '.join(INTERPOLATION_METHODS)}.")
  if steps < 2:
    raise ValueError(f"steps must be at least 2 (both endpoints); got {steps}.")
  z_start, z_end = jnp.asarray(z_start), jnp.asarray(z_end)
  if z_start.ndim != 2 or z_start.shape != z_end.shape:
    raise ValueError("z_start and z_end must both have shape (R, d); got "
                     f"{z_start.shape} and {z_end.shape}.")
  t = jnp.linspace(0.0, 1.0, steps)
  interp = slerp if method == "slerp" else lerp
  return interp(z_start, z_end, t)


def latent_traversal(z: ArrayLike, dims: ArrayLike, values: ArrayLike) -> Array:
  """Copies of one latent vector with one dimension swept over ``values``.

  ``out[r, i] = z`` with ``out[r, i, dims[r]] = values[i]``: row ``r`` of the figure
  shows what latent ``dims[r]`` controls (Higgins et al. 2017, Fig. 1).

  Args:
    z: ``(d,)`` the latent vector (e.g. an image's posterior mean).
    dims: ``(R,)`` integer latent dimensions, one per row.
    values: ``(T,)`` values to set them to, e.g. ``linspace(−3, 3, 11)``.

  Returns:
    ``(R, T, d)``.

  References:
    Higgins et al. β-VAE: Learning Basic Visual Concepts with a Constrained Variational
    Framework. ICLR 2017.

  Example:
    >>> import jax.numpy as jnp
    >>> latent_traversal(jnp.zeros(3), jnp.array([2]), jnp.array([-1.0, 1.0]))[0]
    Array([[ 0.,  0., -1.],
           [ 0.,  0.,  1.]], dtype=float32)
  """
  z, dims, values = jnp.asarray(z), jnp.asarray(dims), jnp.asarray(values)
  out = jnp.broadcast_to(z, (dims.shape[0], values.shape[0], z.shape[-1]))
  rows = jnp.arange(dims.shape[0])[:, None]
  cols = jnp.arange(values.shape[0])[None, :]
  return out.at[rows, cols, dims[:, None]].set(
      jnp.broadcast_to(values, (dims.shape[0], values.shape[0])).astype(out.dtype))


def truncated_latents(key: jax.Array, shape: tuple[int, ...], threshold: float = 0.0
                      ) -> Array:
  """Standard normal latents with every coordinate resampled into ``[−threshold, threshold]``.

  The truncation trick (Brock et al. 2019, Sec. 3.1): drawing z from the normal
  truncated to ``|z_i| ≤ threshold`` trades diversity for fidelity as the threshold
  shrinks. ``threshold = 0`` means no truncation (plain ``N(0, I)``).

  Args:
    key: PRNG key.
    shape: e.g. ``(B, latent_dim)``.
    threshold: the truncation threshold, ``≥ 0``.

  Returns:
    float32 array of ``shape``.

  Raises:
    ValueError: for a negative threshold.

  References:
    Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image
    Synthesis. ICLR 2019. arXiv:1809.11096.
  """
  if threshold < 0:
    raise ValueError(f"threshold must be >= 0 (0: no truncation); got {threshold}.")
  if threshold == 0:
    return jax.random.normal(key, shape)
  return jax.random.truncated_normal(key, -threshold, threshold, shape)
