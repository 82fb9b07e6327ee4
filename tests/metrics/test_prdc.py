"""Tests for jgen.metrics.prdc: against the `prdc` package, chunking, roles, sanity values."""

import numpy as np
import prdc as prdc_package
import pytest

from jgen.metrics import prdc


@pytest.fixture(name="features", scope="module")
def _features():
  rng = np.random.default_rng(0)
  real = rng.normal(size=(600, 16))
  # Different sizes and distributions, so a swapped axis or role shows.
  generated = 1.2 * rng.normal(size=(500, 16)) + 0.3
  return real.astype(np.float32), generated.astype(np.float32)


def test_matches_prdc_package(features):
  real, generated = features
  # prdc uses one k for all four; call it with the paper's k of each pair.
  reference_pr = prdc_package.compute_prdc(real_features=real.astype(np.float64),
                                           fake_features=generated.astype(np.float64),
                                           nearest_k=3)
  reference_dc = prdc_package.compute_prdc(real_features=real.astype(np.float64),
                                           fake_features=generated.astype(np.float64),
                                           nearest_k=5)
  pr = prdc.precision_recall(real_features=real, generated_features=generated)
  dc = prdc.density_coverage(real_features=real, generated_features=generated)
  assert all(isinstance(v, float) for v in (*pr.values(), *dc.values()))
  for name, reference in (("precision", reference_pr), ("recall", reference_pr)):
    np.testing.assert_allclose(pr[name], reference[name], atol=1e-6, err_msg=name)
  for name, reference in (("density", reference_dc), ("coverage", reference_dc)):
    np.testing.assert_allclose(dc[name], reference[name], atol=1e-6, err_msg=name)
  # Non-trivial values, so the comparison means something.
  assert 0.1 < pr["precision"] < 0.99 and 0.1 < pr["recall"] < 0.99
  assert 0.1 < dc["coverage"] < 0.99


def test_chunked_equals_unchunked(features):
  real, generated = features
  # 64 divides neither 600 nor 500: the padded last chunk is exercised on both sides.
  for function, k in ((prdc.precision_recall, 3), (prdc.density_coverage, 5)):
    assert (function(real_features=real, generated_features=generated, k=k, chunk=64)
            == function(real_features=real, generated_features=generated, k=k,
                        chunk=4096))


def test_swapping_the_sets_swaps_precision_and_recall(features):
  real, generated = features
  forward = prdc.precision_recall(real, generated)
  backward = prdc.precision_recall(real_features=generated, generated_features=real)
  assert forward["precision"] == backward["recall"]
  assert forward["recall"] == backward["precision"]
  assert forward["precision"] != forward["recall"]


def test_hand_computed_example_with_boundary_points():
  # k = 1. Real radii: 0 → 1, 1 → 1, 3 → 2; generated radii: 0.5 → 4.5, 5 → 4.5,
  # 10 → 5. g = 5 lies exactly on the boundary of B(3, 2) and counts (≤); prdc's
  # strict < would give precision 1/3, density 2/3, coverage 2/3 here.
  real = np.array([[0.0], [1.0], [3.0]])
  generated = np.array([[0.5], [5.0], [10.0]])
  pr = prdc.precision_recall(real, generated, k=1)
  dc = prdc.density_coverage(real, generated, k=1)
  assert pr == {"precision": pytest.approx(2 / 3), "recall": 1.0}
  # density: g = 0.5 is in B(0, 1) and B(1, 1), g = 5 in B(3, 2): 3 / (k M) = 1.
  assert dc == {"density": pytest.approx(1.0), "coverage": 1.0}


def test_identical_sets(features):
  real, _ = features
  assert prdc.precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
  assert prdc.density_coverage(real, real)["coverage"] == 1.0


def test_disjoint_sets_score_zero(features):
  real, _ = features
  assert prdc.precision_recall(real, real + 100.0) == {"precision": 0.0, "recall": 0.0}
  assert prdc.density_coverage(real, real + 100.0) == {"density": 0.0, "coverage": 0.0}


def test_same_distribution_sanity_values(features):
  # E[density] = 1 and E[coverage] = 1 − Π_{i≤k} (N−i)/(N+M−i) under P = Q
  # (Naeem et al. 2020, §3.2 and Lemma 1). Over 20 draws of N = M = 600 in 16-D (the
  # fixture's shapes, so nothing recompiles) the standard errors are ~0.013 (density)
  # and ~0.002 (coverage); 200 draws gave 0.993 ± 0.004 and 0.9692 (expected 0.9691).
  rng = np.random.default_rng(2)
  n, d = features[0].shape
  k = 5
  expected_coverage = 1.0 - np.prod([(n - i) / (2 * n - i) for i in range(1, k + 1)])
  density, coverage = [], []
  for _ in range(20):
    result = prdc.density_coverage(rng.normal(size=(n, d)), rng.normal(size=(n, d)), k=k)
    density.append(result["density"])
    coverage.append(result["coverage"])
  assert abs(np.mean(density) - 1.0) < 0.05, density
  assert abs(np.mean(coverage) - expected_coverage) < 0.006, (coverage, expected_coverage)


def test_errors():
  x = np.zeros((10, 3))
  with pytest.raises(ValueError, match=r"k=10 must lie in \[1, 9\].*10 real and 12 generated"):
    prdc.precision_recall(x, np.zeros((12, 3)), k=10)
  with pytest.raises(ValueError, match="k=0"):
    prdc.density_coverage(x, x, k=0)
  with pytest.raises(ValueError, match="same feature dimension D"):
    prdc.precision_recall(x, np.zeros((10, 4)))
  with pytest.raises(ValueError, match=r"real_features must be 2-D features \(N, D\)"):
    prdc.density_coverage(np.zeros(10), x)
  with pytest.raises(ValueError, match="chunk=0"):
    prdc.density_coverage(x, x, chunk=0)
