"""Tests for jgen.data.toy2d: the mode layouts and the sampler's statistics."""

import math

import numpy as np
import pytest

from jgen import data


def test_ring8_modes_are_on_the_radius_2_circle():
  modes = data.RING8_MODES
  assert modes.shape == (8, 2) and modes.dtype == np.float32
  angles = 2 * np.pi * np.arange(8) / 8
  np.testing.assert_allclose(modes[:, 0], 2 * np.cos(angles), atol=1e-6)
  np.testing.assert_allclose(modes[:, 1], 2 * np.sin(angles), atol=1e-6)
  np.testing.assert_allclose(modes[2], [0.0, 2.0], atol=1e-6)  # 2π·2/8 = π/2.
  assert data.RING8_STD == 0.02


def test_grid25_modes_are_the_5x5_grid():
  modes = data.GRID25_MODES
  assert modes.shape == (25, 2) and modes.dtype == np.float32
  values = (-4.0, -2.0, 0.0, 2.0, 4.0)
  assert {tuple(m) for m in modes.tolist()} == {(a, b) for a in values for b in values}
  assert data.GRID25_STD == 0.05


def test_registry_and_modes_are_read_only():
  assert set(data.TOY_DATASETS) == {"ring8", "grid25", "eight_gaussians"}
  modes, std = data.TOY_DATASETS["ring8"]
  assert modes is data.RING8_MODES and std == data.RING8_STD
  modes, std = data.TOY_DATASETS["grid25"]
  assert modes is data.GRID25_MODES and std == data.GRID25_STD
  with pytest.raises(ValueError):
    data.RING8_MODES[0, 0] = 5.0
  with pytest.raises(TypeError):
    data.TOY_DATASETS["ring9"] = (data.RING8_MODES, 0.1)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_sample_statistics(name):
  modes, std = data.TOY_DATASETS[name]
  n = 2500
  x = data.sample_toy(name, np.random.default_rng(0), n)
  assert x.shape == (n, 2) and x.dtype == np.float32
  dist = np.linalg.norm(x[:, None, :] - modes[None], axis=-1)  # (n, K)
  nearest = dist.argmin(axis=1)
  residual = x - modes[nearest]
  # Each coordinate of the residual is N(0, std²): its sample std is within a few %.
  np.testing.assert_allclose(residual.std(axis=0), std, rtol=0.06)
  np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=4 * std / math.sqrt(n))
  # Modes are 1.53 (ring) or 2 (grid) apart, far beyond the noise: no ambiguity.
  assert np.abs(residual).max() < 8 * std
  # Uniform mode choice: every mode hit, counts within 5 binomial sigmas of n/K.
  counts = np.bincount(nearest, minlength=len(modes))
  p = 1 / len(modes)
  assert counts.min() > 0
  assert np.abs(counts - n * p).max() < 5 * math.sqrt(n * p * (1 - p))


def test_sampler_is_deterministic_given_the_generator_state():
  a = data.sample_toy("grid25", np.random.default_rng(7), 100)
  b = data.sample_toy("grid25", np.random.default_rng(7), 100)
  c = data.sample_toy("grid25", np.random.default_rng(8), 100)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  # Documented draw order: mode indices, then the noise.
  rng = np.random.default_rng(7)
  k = rng.integers(0, 25, size=100)
  expected = data.GRID25_MODES[k] + data.GRID25_STD * rng.standard_normal((100, 2))
  np.testing.assert_allclose(a, expected.astype(np.float32), rtol=0, atol=0)


def test_sample_toy_edge_cases():
  assert data.sample_toy("ring8", np.random.default_rng(0), 0).shape == (0, 2)
  with pytest.raises(ValueError, match="ring8, grid25"):
    data.sample_toy("ring7", np.random.default_rng(0), 4)
  with pytest.raises(ValueError, match="non-negative"):
    data.sample_toy("ring8", np.random.default_rng(0), -1)


@pytest.mark.parametrize("name", ["ring8", "eight_gaussians", "checkerboard"])
def test_toy_log_prob_integrates_to_one_and_matches_the_samples(name):
  # Riemann sum on a fine grid: the closed-form density is normalised ...
  step = 0.01 if name == "ring8" else 0.02
  edges = np.arange(-5.0, 5.0, step) + step / 2
  grid = np.stack(np.meshgrid(edges, edges, indexing="ij"), -1).reshape(-1, 2)
  mass = np.exp(data.toy_log_prob(name, grid)).sum() * step**2
  assert abs(mass - 1.0) < 0.01
  # ... and is the density the sampler draws from: the histogram of 200k samples over
  # 1×1 cells matches the density integrated over those cells.
  x = data.sample_toy(name, np.random.default_rng(0), 200_000)
  hist, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=10, range=[[-5, 5], [-5, 5]])
  per_cell = np.exp(data.toy_log_prob(name, grid)).reshape(len(edges), len(edges))
  cells = per_cell.reshape(10, len(edges) // 10, 10, len(edges) // 10).sum((1, 3)) * step**2
  np.testing.assert_allclose(hist / len(x), cells, atol=3e-3)


def test_eight_gaussians_is_ffjords_layout():
  modes, std = data.TOY_DATASETS["eight_gaussians"]
  np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 4 / math.sqrt(2), rtol=1e-6)
  np.testing.assert_allclose(modes[2], [0.0, 4 / math.sqrt(2)], atol=1e-6)
  assert std == pytest.approx(0.5 / math.sqrt(2))


@pytest.mark.parametrize("name", ["two_moons", "checkerboard", "pinwheel"])
def test_shapes_are_deterministic_bounded_and_centred(name):
  a = data.sample_toy(name, np.random.default_rng(3), 20_000)
  np.testing.assert_array_equal(a, data.sample_toy(name, np.random.default_rng(3), 20_000))
  assert a.shape == (20_000, 2) and a.dtype == np.float32
  assert np.abs(a).max() < 5.0 and np.abs(a.mean(0)).max() < 0.4
  if name == "checkerboard":  # Uniform on its squares: ±1 means each quadrant ≈ 1/4.
    quadrant = (a[:, 0] > 0) * 2 + (a[:, 1] > 0)
    np.testing.assert_allclose(np.bincount(quadrant) / len(a), 0.25, atol=0.01)
    assert np.isfinite(data.toy_log_prob(name, a)).all()


def test_toy_log_prob_rejects_shapes_without_a_density():
  with pytest.raises(ValueError, match="two_moons.*no closed-form.*checkerboard"):
    data.toy_log_prob("two_moons", np.zeros((2, 2)))
  with pytest.raises(ValueError, match="Unknown toy dataset 'moons'"):
    data.toy_log_prob("moons", np.zeros((2, 2)))
