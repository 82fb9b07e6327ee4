"""Tests for jgen.metrics.kid: unbiasedness under the null, power, errors, a reference.

Most tests share one shape (40 × 4 features, 4 subsets of 20) so ``jit`` compiles once.
"""

import jax
import numpy as np
import pytest

from jgen.metrics import kid

N, D, SUBSETS, SIZE = 40, 4, 4, 20


def _kid(x, y, seed, subset_size=SIZE):
  return kid.kernel_inception_distance(x, y, jax.random.key(seed), num_subsets=SUBSETS,
                                       subset_size=subset_size)


def _mmd2_unbiased_reference(x, y):
  """The unbiased MMD² with k(x, y) = (x·y/D + 1)³, in float64 NumPy."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  d = x.shape[1]
  k_xx, k_yy, k_xy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
  n, m = len(x), len(y)
  return ((k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
          + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1)) - 2.0 * k_xy.mean())


def _null_values(rng, pairs):
  return np.asarray([_kid(rng.normal(size=(N, D)), rng.normal(size=(N, D)), i)["kid_mean"]
                     for i in range(pairs)])


def test_full_subsets_match_numpy():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(SIZE, D))
  y = rng.normal(size=(SIZE, D)) * 1.3 + 0.2
  # A subset of all rows is a permutation, and the estimator is permutation invariant,
  # so every subset equals the estimate on the full sets.
  result = _kid(x, y, 0)
  assert set(result) == {"kid_mean", "kid_std"}
  assert isinstance(result["kid_mean"], float) and isinstance(result["kid_std"], float)
  reference = _mmd2_unbiased_reference(x, y)
  np.testing.assert_allclose(result["kid_mean"], reference, rtol=1e-4)
  assert result["kid_std"] < 1e-5 * abs(reference)


def test_subsets_are_deterministic_in_the_key():
  rng = np.random.default_rng(1)
  x, y = rng.normal(size=(N, D)), rng.normal(size=(N, D))
  assert _kid(x, y, 0) == _kid(x, y, 0)
  assert _kid(x, y, 0) != _kid(x, y, 1)
  assert _kid(x, y, 0)["kid_std"] > 0.0


def test_unbiased_under_the_null():
  # 300 independent pairs of samples of the same distribution, 4 subsets of half the
  # rows each: the mean KID is 0 within 3 standard errors. Subsets drawn with
  # replacement would fail this: repeated rows bias each estimate upwards by about
  # (2/N)(E k(x, x) − E k(x, x')) ≈ 0.3 here, hundreds of standard errors.
  values = _null_values(np.random.default_rng(2), 300)
  standard_error = values.std(ddof=1) / np.sqrt(len(values))
  assert abs(values.mean()) < 3.0 * standard_error, (values.mean(), standard_error)
  assert (values < 0).any()  # single estimates do go negative


def test_positive_under_a_shift():
  rng = np.random.default_rng(3)
  null_spread = _null_values(rng, 30).std(ddof=1)
  shifted = [_kid(rng.normal(size=(N, D)), rng.normal(size=(N, D)) + 1.0, i)["kid_mean"]
             for i in range(5)]
  assert min(shifted) > 5.0 * null_spread, (shifted, null_spread)


@pytest.mark.parametrize("subset_size", [1, 0, 31, 1000])
def test_subset_size_errors_name_both_sizes(subset_size):
  x, y = np.zeros((40, 3)), np.zeros((30, 3))
  with pytest.raises(ValueError, match=rf"subset_size={subset_size}.*40 real and 30 "):
    kid.kernel_inception_distance(x, y, jax.random.key(0), subset_size=subset_size)


def test_other_errors():
  x = np.zeros((10, 3))
  with pytest.raises(ValueError, match="same feature dimension"):
    kid.kernel_inception_distance(x, np.zeros((10, 4)), jax.random.key(0), subset_size=5)
  with pytest.raises(ValueError, match="2-D"):
    kid.kernel_inception_distance(x, np.zeros(10), jax.random.key(0), subset_size=5)
  with pytest.raises(ValueError, match="num_subsets=0"):
    kid.kernel_inception_distance(x, x, jax.random.key(0), num_subsets=0, subset_size=5)
