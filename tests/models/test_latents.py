"""Tests for jgen.models.latents: lerp, slerp and interpolation grids."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import latents


def _normal(seed, shape):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _angle(a, b):
  """Angle between the last-axis vectors of a and b, in float64 via atan2."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  a = a / np.linalg.norm(a, axis=-1, keepdims=True)
  b = b / np.linalg.norm(b, axis=-1, keepdims=True)
  return 2 * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))


def test_lerp_matches_formula():
  z0, z1 = _normal(0, (3, 5)), _normal(1, (3, 5))
  t = np.array([0.0, 0.3, 1.0, 1.5], np.float32)
  expected = (1 - t[:, None]) * z0[:, None, :] + t[:, None] * z1[:, None, :]
  np.testing.assert_allclose(latents.lerp(z0, z1, t), expected, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(latents.lerp(z0, z1, 0.3), expected[:, 1], rtol=1e-6, atol=1e-6)


def test_slerp_quarter_circle_closed_form():
  t = np.linspace(0, 1, 9, dtype=np.float32)
  out = latents.slerp(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), t)
  expected = np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2)], axis=-1)
  np.testing.assert_allclose(out, expected, atol=1e-6)


def test_slerp_endpoints():
  z0, z1 = _normal(0, (4, 16)), _normal(1, (4, 16))
  np.testing.assert_allclose(latents.slerp(z0, z1, 0.0), z0, atol=1e-5)
  np.testing.assert_allclose(latents.slerp(z0, z1, 1.0), z1, atol=1e-5)


def test_slerp_keeps_the_norm_of_equal_norm_endpoints():
  z0, z1 = _normal(2, (4, 16)), _normal(3, (4, 16))
  z0 = 3.0 * z0 / np.linalg.norm(z0, axis=-1, keepdims=True)
  z1 = 3.0 * z1 / np.linalg.norm(z1, axis=-1, keepdims=True)
  t = np.linspace(0, 1, 11, dtype=np.float32)
  norms = np.linalg.norm(latents.slerp(z0, z1, t), axis=-1)
  np.testing.assert_allclose(norms, 3.0, rtol=1e-5)
  # The contrast slerp exists for: lerp's midpoint is shorter.
  assert np.all(np.linalg.norm(latents.lerp(z0, z1, 0.5), axis=-1) < 2.9)


def test_slerp_angle_is_linear_in_t():
  z0, z1 = _normal(4, (4, 16)), _normal(5, (4, 16))
  z1 = z1 * np.linalg.norm(z0, axis=-1, keepdims=True) / np.linalg.norm(z1, axis=-1, keepdims=True)
  t = np.linspace(0, 1, 11, dtype=np.float32)
  path = latents.slerp(z0, z1, t)  # (4, 11, 16)
  omega = _angle(z0, z1)[:, None]
  np.testing.assert_allclose(_angle(z0[:, None, :], path), t * omega, atol=2e-5)
  np.testing.assert_allclose(_angle(path, z1[:, None, :]), (1 - t) * omega, atol=2e-5)


def test_slerp_unequal_norms_match_white_formula():
  """Raw vectors, unit-vector angle: White (2016)'s slerp, in float64 NumPy."""
  z0, z1 = _normal(14, (4, 16)).astype(np.float64), 2.0 * _normal(15, (4, 16))
  t = np.linspace(0, 1, 11)[:, None]
  unit0 = z0 / np.linalg.norm(z0, axis=-1, keepdims=True)
  unit1 = z1 / np.linalg.norm(z1, axis=-1, keepdims=True)
  omega = np.arccos(np.clip(np.sum(unit0 * unit1, axis=-1), -1, 1))[:, None, None]
  expected = (np.sin((1 - t) * omega) * z0[:, None] + np.sin(t * omega) * z1[:, None])
  expected /= np.sin(omega)
  np.testing.assert_allclose(latents.slerp(z0, z1, t[:, 0]), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("scale", [2.5, -1.0, 0.0], ids=["parallel", "antiparallel", "zero"])
def test_slerp_falls_back_to_lerp_for_degenerate_pairs(scale):
  z0 = _normal(6, (3, 8))
  z1 = scale * z0
  t = np.linspace(0, 1, 5, dtype=np.float32)
  out = latents.slerp(z0, z1, t)
  assert np.all(np.isfinite(out))
  np.testing.assert_allclose(out, latents.lerp(z0, z1, t), rtol=1e-6, atol=1e-6)


def test_slerp_nearly_parallel_is_close_to_lerp_and_finite():
  # Angle 1e-3 rad: the spherical formula is used; lerp differs by O(Ω²).
  z0 = np.array([1.0, 0.0, 0.0], np.float32)
  z1 = np.array([np.cos(1e-3), np.sin(1e-3), 0.0], np.float32)
  t = np.linspace(0, 1, 7, dtype=np.float32)
  out = latents.slerp(z0, z1, t)
  np.testing.assert_allclose(out, latents.lerp(z0, z1, t), atol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, rtol=1e-6)


def test_shapes_and_broadcasting():
  z, zs = _normal(7, (8,)), _normal(8, (3, 8))
  t = np.linspace(0, 1, 5, dtype=np.float32)
  for fn in (latents.lerp, latents.slerp):
    assert fn(z, z[::-1], 0.5).shape == (8,)
    assert fn(z, z[::-1], t).shape == (5, 8)
    assert fn(zs, zs[::-1], t).shape == (3, 5, 8)
    assert fn(z, zs, t).shape == (3, 5, 8)  # One start, three ends.
    with pytest.raises(ValueError, match="t must be a scalar or a vector"):
      fn(z, z, np.zeros((2, 2)))


def test_slerp_jits_with_traced_t():
  z0, z1 = _normal(9, (2, 6)), _normal(10, (2, 6))
  t = jnp.linspace(0, 1, 4)
  np.testing.assert_allclose(
      jax.jit(latents.slerp)(z0, z1, t), latents.slerp(z0, z1, t), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(
      jax.jit(latents.slerp)(z0, z1, 0.25), latents.slerp(z0, z1, 0.25), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method, interp", [("linear", latents.lerp), ("slerp", latents.slerp)])
def test_interpolation_grid(method, interp):
  z_start, z_end = _normal(11, (3, 4)), _normal(12, (3, 4))
  grid = latents.interpolation_grid(z_start, z_end, steps=6, method=method)
  assert grid.shape == (3, 6, 4)
  np.testing.assert_allclose(grid[:, 0], z_start, atol=1e-5)
  np.testing.assert_allclose(grid[:, -1], z_end, atol=1e-5)
  for i in range(6):
    np.testing.assert_allclose(grid[:, i], interp(z_start, z_end, i / 5), rtol=1e-5, atol=1e-6)


def test_interpolation_grid_rejects_bad_arguments():
  z = _normal(13, (2, 4))
  with pytest.raises(ValueError, match="'cubic'.*linear, slerp"):
    latents.interpolation_grid(z, z, 5, method="cubic")
  with pytest.raises(ValueError, match="steps must be at least 2"):
    latents.interpolation_grid(z, z, 1)
  with pytest.raises(ValueError, match=r"shape \(R, d\)"):
    latents.interpolation_grid(z, z[:1], 5)
  with pytest.raises(ValueError, match=r"shape \(R, d\)"):
    latents.interpolation_grid(z[0], z[1], 5)


def test_truncated_latents():
  from scipy import stats  # pylint: disable=g-import-not-at-top
  from jgen.models import truncated_latents  # pylint: disable=g-import-not-at-top
  key = jax.random.key(0)
  np.testing.assert_array_equal(truncated_latents(key, (4, 3)),
                                jax.random.normal(key, (4, 3)))
  z = np.asarray(truncated_latents(key, (20000, 8), 0.5))
  assert np.abs(z).max() <= 0.5
  # The truncated normal's variance, not a clipped normal's.
  np.testing.assert_allclose(z.var(), stats.truncnorm(-0.5, 0.5).var(), rtol=0.02)
  with pytest.raises(ValueError, match="threshold must be >= 0"):
    truncated_latents(key, (2, 2), -1.0)
