"""Tests for jgen.metrics.modes: the VEEGAN/PacGAN mode-coverage protocol."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jgen import metrics
from jgen.metrics import modes as modes_lib

STD = 0.05


def _grid(n=5, spacing=2.0):
  """n×n grid of mode centres, (n², 2)."""
  axis = spacing * (np.arange(n) - (n - 1) / 2)
  return np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)


def _ring(m=8, radius=2.0):
  angle = 2 * np.pi * np.arange(m) / m
  return radius * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def _at_distance(centre, dist, n, seed=0):
  """n points at exactly `dist` from `centre`, in random directions."""
  angle = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
  return centre + dist * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def _reverse_kl_reference(counts):
  """KL(p̂ ‖ uniform) with SciPy, empty bins contributing 0."""
  counts = np.asarray(counts, dtype=np.float64)
  return stats.entropy(counts / counts.sum(), np.full(len(counts), 1 / len(counts)))


@pytest.mark.parametrize("k", [0, 1, 7, 25])
def test_exactly_k_modes_hit_are_covered(k):
  grid = _grid()
  hq = [_at_distance(grid[j], 1.5 * STD, 3, seed=j) for j in range(k)]
  # Off-mode samples, midway between grid neighbours: far beyond 3σ of every mode.
  off = grid[:10] + np.array([1.0, 0.0])
  samples = np.concatenate(hq + [off])
  result = metrics.mode_coverage(samples, grid, STD)
  assert result["modes_covered"] == k
  assert result["high_quality_fraction"] == pytest.approx(3 * k / (3 * k + 10))
  assert result["num_samples"] == 3 * k + 10
  assert result["num_modes"] == 25


def test_three_sigma_threshold():
  centre = np.array([[1.0, -2.0]])
  inside = _at_distance(centre[0], 2.9 * STD, 30, seed=1)
  outside = _at_distance(centre[0], 3.1 * STD, 10, seed=2)
  assert metrics.mode_coverage(inside, centre, STD)["high_quality_fraction"] == 1.0
  assert metrics.mode_coverage(outside, centre, STD)["high_quality_fraction"] == 0.0
  assert metrics.mode_coverage(outside, centre, STD)["modes_covered"] == 0
  both = metrics.mode_coverage(np.concatenate([inside, outside]), centre, STD)
  assert both["high_quality_fraction"] == 0.75
  assert both["modes_covered"] == 1


def test_known_high_quality_fraction():
  ring = _ring()
  good = np.repeat(ring, 125, axis=0) + 0.01  # 1,000 HQ samples, 125 per mode.
  bad = np.zeros((1500, 2))  # The ring's centre: 2 away from every mode.
  result = metrics.mode_coverage(np.concatenate([good, bad]), ring, STD)
  assert result["num_samples"] == 2500
  assert result["high_quality_fraction"] == pytest.approx(0.4)
  assert result["modes_covered"] == 8
  # Low-quality samples do not enter the histogram: the HQ ones are uniform.
  assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_coverage_counts_the_nearest_mode_only():
  # Two modes 2σ apart: every sample is within 3σ of both, but nearest to mode 1.
  close = np.array([[0.0, 0.0], [2 * STD, 0.0]])
  samples = _at_distance(close[1], 0.5 * STD, 20)
  result = metrics.mode_coverage(samples, close, STD)
  assert result["modes_covered"] == 1
  assert result["reverse_kl"] == pytest.approx(math.log(2))


@pytest.mark.parametrize("num_modes", [8, 25])
def test_uniform_over_modes_has_zero_reverse_kl(num_modes):
  centres = _ring(num_modes) if num_modes == 8 else _grid()
  samples = np.repeat(centres, 100, axis=0)
  result = metrics.mode_coverage(samples, centres, STD)
  assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
  assert result["modes_covered"] == num_modes
  assert result["high_quality_fraction"] == 1.0


def test_single_mode_collapse_has_reverse_kl_log_m():
  grid = _grid()
  samples = _at_distance(grid[7], STD, 2500)
  result = metrics.mode_coverage(samples, grid, STD)
  assert result["modes_covered"] == 1
  assert result["reverse_kl"] == pytest.approx(math.log(25), rel=1e-12)


def test_no_high_quality_samples_defines_reverse_kl_as_log_m():
  ring = _ring()
  result = metrics.mode_coverage(np.zeros((50, 2)), ring, STD)
  assert result == {
      "modes_covered": 0,
      "high_quality_fraction": 0.0,
      "reverse_kl": pytest.approx(math.log(8)),
      "num_samples": 50,
      "num_modes": 8,
  }


def test_reverse_kl_matches_scipy_on_uneven_histogram():
  ring = _ring()
  counts = [5, 3, 2, 0, 0, 7, 1, 0]
  samples = np.concatenate([np.repeat(ring[j:j + 1], c, axis=0) for j, c in enumerate(counts)])
  result = metrics.mode_coverage(samples + 0.02, ring, STD)
  assert result["reverse_kl"] == pytest.approx(_reverse_kl_reference(counts), rel=1e-12)
  assert result["modes_covered"] == 5


def test_true_mixture_on_the_ring():
  """2,500 samples of the target itself: all modes, P(χ²₂ ≤ 9) HQ, near-zero KL."""
  rng = np.random.default_rng(0)
  ring, std = _ring(), 0.02
  samples = ring[rng.integers(0, 8, 2500)] + std * rng.normal(size=(2500, 2))
  result = metrics.mode_coverage(samples, ring, std)
  assert result["modes_covered"] == 8
  expected_hq = 1 - math.exp(-4.5)  # A 2-D Gaussian's mass within 3σ.
  assert result["high_quality_fraction"] == pytest.approx(expected_hq, abs=0.007)
  assert 0.0 <= result["reverse_kl"] < 0.01


def test_non_finite_samples_are_low_quality():
  ring = _ring()
  samples = np.concatenate([ring, [[np.nan, 0.0], [np.inf, 1.0]]])
  result = metrics.mode_coverage(samples, ring, STD)
  assert result["high_quality_fraction"] == pytest.approx(0.8)
  assert result["modes_covered"] == 8


def test_blocked_distances_match_single_block(monkeypatch):
  rng = np.random.default_rng(3)
  grid = _grid()
  samples = grid[rng.integers(0, 25, 1000)] + 0.1 * rng.normal(size=(1000, 2))
  expected = metrics.mode_coverage(samples, grid, STD)
  monkeypatch.setattr(modes_lib, "_BLOCK_ELEMENTS", 7 * 25)  # Blocks of 7 samples.
  assert metrics.mode_coverage(samples, grid, STD) == expected


def test_accepts_jax_arrays_and_returns_python_scalars():
  ring = _ring()
  samples = np.repeat(ring[:3], 4, axis=0)
  expected = metrics.mode_coverage(samples, ring, STD)
  result = metrics.mode_coverage(jnp.asarray(samples), jnp.asarray(ring), jnp.float32(STD))
  assert result["modes_covered"] == expected["modes_covered"] == 3
  assert result["reverse_kl"] == pytest.approx(expected["reverse_kl"])
  assert {k: type(v) for k, v in result.items()} == {
      "modes_covered": int, "high_quality_fraction": float, "reverse_kl": float,
      "num_samples": int, "num_modes": int}


@pytest.mark.parametrize("samples, modes, std, match", [
    (np.zeros((4, 3)), _ring(), STD, r"samples must be 2-D points of shape \(N, 2\)"),
    (np.zeros(4), _ring(), STD, "samples must be"),
    (np.zeros((0, 2)), _ring(), STD, "samples is empty"),
    (np.zeros((4, 2)), np.zeros((8, 2, 1)), STD, r"modes must be 2-D points of shape \(M, 2\)"),
    (np.zeros((4, 2)), np.zeros((0, 2)), STD, "modes is empty"),
    (np.zeros((4, 2)), np.array([[0.0, np.nan]]), STD, "modes must be finite"),
    (np.zeros((4, 2)), _ring(), 0.0, "std must be a finite positive number"),
    (np.zeros((4, 2)), _ring(), -1.0, "std must be"),
    (np.zeros((4, 2)), _ring(), float("nan"), "std must be"),
    (np.zeros((4, 2)), _ring(), np.array([0.1, 0.2]), "std must be"),
])
def test_invalid_inputs_raise(samples, modes, std, match):
  with pytest.raises(ValueError, match=match):
    metrics.mode_coverage(samples, modes, std)
