"""Tests for jgen.metrics.fid: the Fréchet distance against closed forms and scipy's sqrtm."""

import numpy as np
import pytest
from scipy import linalg

from jgen.metrics import fid


def _random_spd(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


def _sqrtm_reference(mean1, cov1, mean2, cov2):
  """The textbook formula with ``sqrtm(Σ₁Σ₂)``, its residue and imaginary part checked."""
  product = cov1 @ cov2
  covmean = linalg.sqrtm(product)
  residue = np.linalg.norm(covmean @ covmean - product) / np.linalg.norm(product)
  assert residue < 1e-8
  assert np.max(np.abs(np.imag(covmean))) < 1e-8
  diff = mean1 - mean2
  return diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean.real)


def test_gaussian_statistics_rows_are_samples():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(50, 3)).astype(np.float32)
  mean, cov = fid.gaussian_statistics(x)
  assert mean.shape == (3,) and cov.shape == (3, 3)
  assert mean.dtype == np.float64 and cov.dtype == np.float64
  centred = x.astype(np.float64) - x.mean(0, dtype=np.float64)
  np.testing.assert_allclose(mean, x.astype(np.float64).mean(0))
  np.testing.assert_allclose(cov, centred.T @ centred / 49)


def test_gaussian_statistics_single_feature_is_2d():
  _, cov = fid.gaussian_statistics(np.arange(5.0)[:, None])
  assert cov.shape == (1, 1)
  np.testing.assert_allclose(cov, [[2.5]])


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4), (1, 5), (0, 5)])
def test_gaussian_statistics_rejects_bad_shapes(shape):
  with pytest.raises(ValueError, match="features"):
    fid.gaussian_statistics(np.zeros(shape))


def test_commuting_covariances_closed_form():
  rng = np.random.default_rng(1)
  a, b = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
  mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
  expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
  got = fid.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
  assert isinstance(got, float)
  np.testing.assert_allclose(got, expected, rtol=1e-12)
  # A common rotation keeps the covariances commuting and the distance unchanged.
  q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
  np.testing.assert_allclose(
      fid.frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T),
      expected, rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_general_covariances_match_sqrtm(seed):
  rng = np.random.default_rng(seed)
  d = 20
  cov1, cov2 = _random_spd(rng, d), _random_spd(rng, d)
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  np.testing.assert_allclose(fid.frechet_distance(mu1, cov1, mu2, cov2),
                             _sqrtm_reference(mu1, cov1, mu2, cov2), rtol=1e-6)
  # Same means: only the (small) covariance term, the hard part numerically.
  np.testing.assert_allclose(fid.frechet_distance(mu1, cov1, mu1, cov2),
                             _sqrtm_reference(mu1, cov1, mu1, cov2), rtol=1e-6)


def test_symmetric():
  rng = np.random.default_rng(3)
  cov1, cov2 = _random_spd(rng, 8), _random_spd(rng, 8)
  mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
  np.testing.assert_allclose(fid.frechet_distance(mu1, cov1, mu2, cov2),
                             fid.frechet_distance(mu2, cov2, mu1, cov1), rtol=1e-10)
  x, y = rng.normal(size=(40, 8)), rng.normal(size=(30, 8)) + 0.5
  np.testing.assert_allclose(fid.frechet_inception_distance(x, y),
                             fid.frechet_inception_distance(y, x), rtol=1e-8)


def test_identical_statistics_give_zero():
  rng = np.random.default_rng(4)
  x = rng.normal(size=(200, 16)) @ rng.normal(size=(16, 16))
  mean, cov = fid.gaussian_statistics(x)
  assert 0.0 <= fid.frechet_distance(mean, cov, mean, cov) < 1e-8 * np.trace(cov)
  assert 0.0 <= fid.frechet_inception_distance(x, x) < 1e-8 * np.trace(cov)


def test_rank_deficient_covariances_are_finite_and_non_negative():
  rng = np.random.default_rng(5)
  # N < D: both covariances have rank at most 9 in 32 dimensions.
  x, y = rng.normal(size=(10, 32)), rng.normal(size=(10, 32))
  value = fid.frechet_inception_distance(x, y)
  assert np.isfinite(value) and value >= 0.0
  assert fid.frechet_inception_distance(x, x) >= 0.0
  # Exactly singular Σ = L Lᵀ: tr((√Σ₁ Σ₂ √Σ₁)^{1/2}) is the nuclear norm of L₂ᵀ L₁
  # (the same non-zero singular values as √Σ₂ √Σ₁), an independent reference.
  l1, l2 = rng.normal(size=(12, 5)), rng.normal(size=(12, 7))
  cov1, cov2 = l1 @ l1.T, l2 @ l2.T
  mu = np.zeros(12)
  nuclear = np.linalg.svd(l2.T @ l1, compute_uv=False).sum()
  expected = np.trace(cov1) + np.trace(cov2) - 2.0 * nuclear
  got = fid.frechet_distance(mu, cov1, mu, cov2)
  assert got >= 0.0
  # sqrt of round-off-sized eigenvalues (~1e-14) costs ~1e-7 absolute.
  np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_large_sample_approaches_closed_form():
  rng = np.random.default_rng(6)
  d = 4
  cov1, cov2 = _random_spd(rng, d), _random_spd(rng, d)
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  expected = fid.frechet_distance(mu1, cov1, mu2, cov2)
  x = rng.multivariate_normal(mu1, cov1, size=50_000)
  y = rng.multivariate_normal(mu2, cov2, size=50_000)
  np.testing.assert_allclose(fid.frechet_inception_distance(x, y), expected, rtol=0.03)


def test_shape_errors():
  mean, cov = np.zeros(3), np.eye(3)
  with pytest.raises(ValueError, match="different dimensions"):
    fid.frechet_distance(mean, cov, np.zeros(4), np.eye(4))
  with pytest.raises(ValueError, match="cov1"):
    fid.frechet_distance(mean, np.eye(4), mean, cov)
  with pytest.raises(ValueError, match="mean2"):
    fid.frechet_distance(mean, cov, np.zeros((3, 1)), cov)
  with pytest.raises(ValueError, match="feature dimensions"):
    fid.frechet_inception_distance(np.zeros((5, 3)), np.zeros((5, 4)))
