"""Tests for jgen.data.preprocess: exact values, ranges, moments, keys, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen import data

ALL_PIXELS = np.arange(256, dtype=np.uint8)
# Jitted once per test module: eager random ops would compile op by op, per shape.
dequantize_uniform = jax.jit(data.dequantize_uniform)
binarize_dynamic = jax.jit(data.binarize_dynamic)


def test_scale_to_symmetric_values_and_range():
  y = data.scale_to_symmetric(np.array([0, 51, 255], np.uint8))
  assert y.dtype == jnp.float32
  np.testing.assert_allclose(y, [-1.0, -0.6, 1.0], atol=1e-6)
  y = np.asarray(data.scale_to_symmetric(ALL_PIXELS))
  assert y.min() == -1.0 and y.max() == 1.0
  np.testing.assert_allclose(y, ALL_PIXELS / 127.5 - 1.0, atol=1e-6)


def test_inverse_scale_to_uint8_inverts_scaling_and_clips():
  back = data.inverse_scale_to_uint8(data.scale_to_symmetric(ALL_PIXELS))
  assert back.dtype == jnp.uint8
  np.testing.assert_array_equal(back, ALL_PIXELS)
  out = data.inverse_scale_to_uint8(jnp.array([-3.0, -1.0, 0.0, 0.999, 1.0, 7.0, jnp.nan]))
  np.testing.assert_array_equal(out, [0, 0, 128, 255, 255, 255, 0])


def test_dequantize_uniform_stays_in_each_pixels_cell():
  images = np.tile(ALL_PIXELS, 2000)  # 512,000 pixels.
  y = np.asarray(dequantize_uniform(jax.random.key(0), images))
  assert y.dtype == np.float32 and y.shape == images.shape
  assert y.min() >= 0.0 and y.max() < 1.0
  # 256·y is exact in float32, so this is the cell [x/256, (x+1)/256) exactly.
  np.testing.assert_array_equal(np.floor(y * 256.0), images)


def test_dequantize_uniform_mean():
  images = np.tile(ALL_PIXELS, 2000)
  y = np.asarray(dequantize_uniform(jax.random.key(1), images)).reshape(2000, 256)
  # Per pixel value, the mean of 2000 draws of (x + u)/256: std 1/(256·√(12·2000)).
  tolerance = 5.0 / (256.0 * np.sqrt(12.0 * 2000))
  np.testing.assert_allclose(y.mean(axis=0), (ALL_PIXELS + 0.5) / 256.0, atol=tolerance)


def test_dequantize_at_the_top_edge_stays_below_one():
  # u within 2^-23 of 1 would round (255 + u)/256 to 1.0 without the clip.
  y = dequantize_uniform(jax.random.key(2), np.full(512_000, 255, np.uint8))
  assert float(y.max()) < 1.0 and float(y.min()) >= 255.0 / 256.0


def test_binarize_static_values():
  x = np.array([0, 127, 128, 255], np.uint8)
  y = data.binarize_static(x)
  assert y.dtype == jnp.float32
  np.testing.assert_array_equal(y, [0.0, 0.0, 1.0, 1.0])
  np.testing.assert_array_equal(data.binarize_static(x, threshold=0.0), [0.0, 1.0, 1.0, 1.0])
  np.testing.assert_array_equal(data.binarize_static(x, threshold=0.9), [0.0, 0.0, 0.0, 1.0])


def test_binarize_dynamic_monte_carlo_mean():
  values = np.array([0, 1, 51, 128, 204, 254, 255], np.uint8)
  n = 20000
  y = np.asarray(binarize_dynamic(jax.random.key(3), np.tile(values, (n, 1))))
  assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, 1.0}
  p = values / 255.0
  np.testing.assert_allclose(y.mean(axis=0), p, atol=5 * np.sqrt(0.25 / n))
  assert y[:, 0].max() == 0.0 and y[:, -1].min() == 1.0  # p = 0 and p = 1 exactly.


@pytest.mark.parametrize("fn", [dequantize_uniform, binarize_dynamic])
def test_random_preprocessing_depends_only_on_the_key(fn):
  images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
  a = fn(jax.random.key(5), images)
  b = fn(jax.random.key(5), images)
  c = fn(jax.random.key(6), images)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn, keyed", [
    (data.scale_to_symmetric, False),
    (data.inverse_scale_to_uint8, False),
    (data.binarize_static, False),
    (data.dequantize_uniform, True),
    (data.binarize_dynamic, True),
])
def test_jit_matches_eager_and_keeps_shape(fn, keyed):
  images = np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
  if fn is data.inverse_scale_to_uint8:
    images = data.scale_to_symmetric(images)
  args = (jax.random.key(0), images) if keyed else (images,)
  eager, jitted = fn(*args), jax.jit(fn)(*args)
  assert jitted.shape == (2, 4, 4, 3) and jitted.dtype == eager.dtype
  # XLA may fuse x/127.5 into x·(1/127.5): equal up to float32 rounding.
  np.testing.assert_allclose(jitted, eager, rtol=0, atol=1e-6)


def test_dequantize_kind_round_trips_through_to_uint8():
  images = jnp.asarray(np.tile(ALL_PIXELS.reshape(1, -1), (3, 1)).reshape(3, 16, 16, 1))
  keys = jax.random.split(jax.random.key(0), 3)
  y = data.preprocess_images(images, "dequantize", keys)
  assert float(y.min()) >= 0.0 and float(y.max()) < 1.0
  # Each example has its own noise, and every value falls back into its own bin.
  assert not np.array_equal(np.asarray(y[0]), np.asarray(y[1]))
  np.testing.assert_array_equal(data.to_uint8(y, "dequantize"), images)
  with pytest.raises(ValueError, match="'dequantize' needs one key per example"):
    data.preprocess_images(images, "dequantize")


@pytest.mark.parametrize("kind", ["symmetric", "unit", "levels"])
def test_deterministic_kinds_round_trip_through_to_uint8(kind):
  y = data.preprocess_images(ALL_PIXELS, kind)
  assert y.dtype == jnp.float32
  np.testing.assert_array_equal(data.to_uint8(y, kind), ALL_PIXELS)


def test_levels_are_the_stored_integers():
  codes = np.array([0, 7, 255, 511], np.uint16)  # e.g. VQ-VAE code indices, not pixels.
  np.testing.assert_array_equal(data.preprocess_images(codes, "levels"), [0.0, 7.0, 255.0, 511.0])
