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
  assert set(data.TOY_DATASETS) == {"ring8", "grid25"}
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
