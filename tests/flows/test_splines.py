"""Rational-quadratic splines: reference values, identity, contract, tails, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.flows import RationalQuadraticSpline
from jgen.flows import num_spline_params
from jgen.flows import rational_quadratic_spline

B = 3.0
K = 5
# Eager jnp ops compile one by one on XLA:CPU; one jitted spline is much faster.
_spline = jax.jit(rational_quadratic_spline,
                  static_argnames=("bound", "inverse", "min_bin_width", "min_bin_height",
                                   "min_derivative"))


def _reference_forward(x, params, bound, min_size=1e-3, min_deriv=1e-3):
  """Durkan et al.'s forward spline, float64 NumPy, one scalar at a time."""
  k = (params.shape[-1] + 1) // 3

  def knots(logits):
    p = np.exp(logits - logits.max())
    sizes = min_size + (1 - min_size * k) * p / p.sum()
    return np.concatenate([[0.0], np.cumsum(sizes)]) * 2 * bound - bound

  xs = knots(params[:k])
  ys = knots(params[k:2 * k])
  shift = np.log(np.expm1(1 - min_deriv))
  d = np.concatenate([[1.0], min_deriv + np.log1p(np.exp(params[2 * k:] + shift)), [1.0]])
  if not -bound < x < bound:
    return x, 0.0
  i = min(np.searchsorted(xs, x, side="right") - 1, k - 1)
  w, h = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
  s, xi = h / w, (x - xs[i]) / w
  den = s + (d[i + 1] + d[i] - 2 * s) * xi * (1 - xi)
  y = ys[i] + h * (s * xi**2 + d[i] * xi * (1 - xi)) / den
  grad = s**2 * (d[i + 1] * xi**2 + 2 * s * xi * (1 - xi) + d[i] * (1 - xi)**2) / den**2
  return y, np.log(grad)


def _params(shape, scale=1.5, seed=0):
  rng = np.random.default_rng(seed)
  return (scale * rng.normal(size=shape + (num_spline_params(K),))).astype(np.float32)


def test_matches_reference_formula():
  params = _params((40,))
  x = np.linspace(-3.5, 3.5, 40).astype(np.float32)
  y, log_det = jax.jit(lambda x, p: rational_quadratic_spline(x, p, bound=B))(x, params)
  ref = np.array([_reference_forward(float(a), p.astype(np.float64), B)
                  for a, p in zip(x, params, strict=True)])
  np.testing.assert_allclose(y, ref[:, 0], atol=1e-5)
  np.testing.assert_allclose(log_det, ref[:, 1], atol=1e-4)


def test_zero_params_is_identity():
  x = np.linspace(-10.0, 10.0, 101).astype(np.float32)
  for inverse in (False, True):
    y, log_det = _spline(x, np.zeros((num_spline_params(K),)), bound=B,
                                           inverse=inverse)
    np.testing.assert_allclose(y, x, atol=1e-5)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-5)


def test_bijector_contract_inside_and_in_the_tails(checker):
  rng = np.random.default_rng(1)
  x = (2.5 * rng.normal(size=(6, 4))).astype(np.float32)  # About a quarter beyond ±B.
  x[0] = [-B, B, -10 * B, 10 * B]
  check = checker(lambda b, x: b.forward_and_log_det(x), lambda b, y: b.inverse_and_log_det(y))
  for seed in (0, 1):
    spline = RationalQuadraticSpline(_params((4,), seed=seed), bound=B)
    out = check.assert_contract(spline, x)
    np.testing.assert_array_equal(out["y"][0], x[0])  # Identity tails, from ±B on.
  assert check.traces == 1


def test_monotone_and_continuous_with_unit_boundary_slopes():
  params = _params((), scale=1.0, seed=2)
  x = np.linspace(-B - 0.5, B + 0.5, 4001).astype(np.float32)
  y, _ = _spline(x, params, bound=B)
  assert (np.diff(np.asarray(y)) > 0).all()
  grad = jax.jit(jax.vmap(jax.grad(
      lambda x: rational_quadratic_spline(x, params, bound=B)[0])))
  edges = np.array([-B, -B + 1e-4, B - 1e-4, B], np.float32)
  np.testing.assert_allclose(grad(edges), 1.0, atol=2e-3)
  inner, _ = _spline(np.array([-B + 1e-5, B - 1e-5]), params, bound=B)
  np.testing.assert_allclose(inner, [-B, B], atol=1e-4)


@pytest.mark.parametrize("inverse", [False, True])
def test_gradients_finite_at_and_beyond_the_tails(inverse):
  params = _params((8,), scale=2.0, seed=3)
  x = np.array([-10 * B, -B, -B + 1e-6, 0.0, 1.0, B - 1e-6, B, 10 * B], np.float32)

  def loss(x, params):
    y, log_det = rational_quadratic_spline(x, params, bound=B, inverse=inverse)
    return jnp.sum(y**2 + log_det)

  gx, gp = map(np.asarray, jax.jit(jax.grad(loss, argnums=(0, 1)))(x, params))
  assert np.isfinite(gx).all() and np.isfinite(gp).all()
  np.testing.assert_array_equal(gp[[0, 1, 6, 7]], 0.0)  # Tails do not depend on params.
  np.testing.assert_allclose(gx[[0, 1, 6, 7]], 2 * x[[0, 1, 6, 7]])


def test_extreme_parameters_stay_finite_and_invertible():
  rng = np.random.default_rng(4)
  params = (30.0 * rng.normal(size=(64, num_spline_params(K)))).astype(np.float32)
  x = rng.uniform(-B, B, size=(64,)).astype(np.float32)
  y, log_det = _spline(x, params, bound=B)
  x_back, inv_log_det = _spline(y, params, bound=B, inverse=True)
  y_back, _ = _spline(x_back, params, bound=B)
  for value in (y, log_det, x_back, inv_log_det):
    assert np.isfinite(value).all()
  # Nearly flat bins (slopes down to ~1e-8 here) make g⁻¹ ill-conditioned in float32:
  # check the round trip in y, and in x only where g' is not tiny.
  np.testing.assert_allclose(y_back, y, atol=1e-4)
  fine = np.asarray(log_det) > -3.0
  assert fine.sum() >= 16
  np.testing.assert_allclose(np.asarray(x_back)[fine], x[fine], atol=1e-3)
  np.testing.assert_allclose(np.asarray(inv_log_det)[fine], -np.asarray(log_det)[fine],
                             atol=1e-2)


def test_bad_parameters_raise():
  with pytest.raises(ValueError, match=r"3K − 1 for K ≥ 2 bins; got 10"):
    rational_quadratic_spline(np.zeros(3), np.zeros((3, 10)), bound=B)
  with pytest.raises(ValueError, match=r"do not broadcast"):
    rational_quadratic_spline(np.zeros(3), np.zeros((4, 14)), bound=B)
  with pytest.raises(ValueError, match=r"min_bin_width·K must be in \[0, 1\)"):
    rational_quadratic_spline(np.zeros(3), np.zeros((3, 14)), bound=B, min_bin_width=0.3)
  spline = RationalQuadraticSpline(np.zeros((4, 14), np.float32))
  with pytest.raises(ValueError, match=r"rank 2, \(B, D\).*got shape \(4,\)"):
    spline.forward(np.zeros(4))
  with pytest.raises(ValueError, match=r"must broadcast to the input"):
    spline.forward(np.zeros((1, 1)))
