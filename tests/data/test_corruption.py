"""Denoising corruptions: corrupted fractions by Monte Carlo, values, keys, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.data import corruption

# Jitted once per test module: eager random ops would compile op by op, per shape.
gaussian_noise = jax.jit(corruption.gaussian_noise)
masking_noise = jax.jit(corruption.masking_noise)
salt_and_pepper = jax.jit(corruption.salt_and_pepper)

N = 200_000  # Monte Carlo elements: a fraction's standard error is ≤ 0.5/√N ≈ 0.0011.


def _images(shape=(N // 784, 28, 28, 1), seed=0):
  # Values strictly inside (0, 1), so a corrupted element is always recognisable.
  return np.random.default_rng(seed).uniform(0.05, 0.95, shape).astype(np.float32)


def _tolerance(p, n):
  return 5.0 * np.sqrt(p * (1.0 - p) / n) + 1e-12


@pytest.mark.parametrize("drop_prob", [0.0, 0.1, 0.5, 1.0])
def test_masking_noise_zeroes_the_expected_fraction(drop_prob):
  x = _images()
  y = np.asarray(masking_noise(jax.random.key(0), x, drop_prob))
  assert y.shape == x.shape and y.dtype == np.float32
  zeroed = y == 0.0
  np.testing.assert_array_equal(y[~zeroed], x[~zeroed])  # Kept elements are not rescaled.
  assert abs(zeroed.mean() - drop_prob) <= _tolerance(drop_prob, x.size)
  # Each example gets its own mask.
  if 0.0 < drop_prob < 1.0:
    assert not np.array_equal(zeroed[0], zeroed[1])


@pytest.mark.parametrize("prob", [0.0, 0.2, 1.0])
def test_salt_and_pepper_fraction_and_fair_coin(prob):
  x = _images()
  y = np.asarray(salt_and_pepper(jax.random.key(1), x, prob))
  assert y.shape == x.shape and y.dtype == np.float32
  pepper, salt = y == 0.0, y == 1.0
  kept = ~(pepper | salt)
  np.testing.assert_array_equal(y[kept], x[kept])
  assert abs(pepper.mean() - prob / 2) <= _tolerance(prob / 2, x.size)
  assert abs(salt.mean() - prob / 2) <= _tolerance(prob / 2, x.size)


def test_salt_and_pepper_custom_range():
  x = 2.0 * _images() - 1.0  # In (−0.9, 0.9).
  y = np.asarray(salt_and_pepper(jax.random.key(2), x, 0.3, -1.0, 1.0))
  corrupted = (y == -1.0) | (y == 1.0)
  assert abs(corrupted.mean() - 0.3) <= _tolerance(0.3, x.size)
  np.testing.assert_array_equal(y[~corrupted], x[~corrupted])
  assert abs((y == -1.0).mean() - (y == 1.0).mean()) <= 2 * _tolerance(0.15, x.size)


def test_gaussian_noise_moments():
  x = _images()
  y = np.asarray(gaussian_noise(jax.random.key(3), x, 0.3))
  assert y.shape == x.shape and y.dtype == np.float32
  noise = (y - x).ravel()
  # Mean 0 (standard error 0.3/√N) and standard deviation 0.3 (relative error 1/√(2N)).
  assert abs(noise.mean()) <= 5 * 0.3 / np.sqrt(noise.size)
  np.testing.assert_allclose(noise.std(), 0.3, rtol=5 / np.sqrt(2 * noise.size))
  np.testing.assert_array_equal(gaussian_noise(jax.random.key(3), x, 0.0), x)


@pytest.mark.parametrize("fn", [gaussian_noise, masking_noise, salt_and_pepper])
def test_depends_only_on_the_key(fn):
  x = _images()
  a, b = fn(jax.random.key(5), x, 0.5), fn(jax.random.key(5), x, 0.5)
  c = fn(jax.random.key(6), x, 0.5)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_strength_is_traced_under_jit():
  # The module-level jitted functions trace the Python-float strengths passed to them
  # (one compilation serves every value); bounds are checked only for Python numbers.
  x = _images()
  for drop_prob in (0.25, 0.75):
    zeroed = np.asarray(masking_noise(jax.random.key(9), x, jnp.float32(drop_prob))) == 0
    assert abs(zeroed.mean() - drop_prob) <= _tolerance(drop_prob, x.size)


@pytest.mark.parametrize("fn", ["gaussian_noise", "masking_noise", "salt_and_pepper"])
def test_integer_inputs_become_float32_and_float_dtypes_are_kept(fn):
  fn = getattr(corruption, fn)
  key = jax.random.key(8)
  out = jax.eval_shape(fn, key, jax.ShapeDtypeStruct((2, 3), jnp.uint8), 0.5)
  assert out.shape == (2, 3) and out.dtype == jnp.float32
  out = jax.eval_shape(fn, key, jax.ShapeDtypeStruct((2, 3), jnp.bfloat16), 0.5)
  assert out.dtype == jnp.bfloat16


@pytest.mark.parametrize("call,match", [
    (lambda k, x: corruption.masking_noise(k, x, 1.5), "drop_prob must be a probability"),
    (lambda k, x: corruption.salt_and_pepper(k, x, -0.1), "prob must be a probability"),
    (lambda k, x: corruption.gaussian_noise(k, x, -1.0), "std must be >= 0"),
])
def test_bad_parameters_raise(call, match):
  with pytest.raises(ValueError, match=match):
    call(jax.random.key(0), np.zeros((2, 2), np.float32))
