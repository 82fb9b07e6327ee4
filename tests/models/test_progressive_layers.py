"""Equalized learning rate, pixel norm and minibatch standard deviation (Karras et al. 2018)."""

import math

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.progressive_layers import EqualizedConv
from jgen.models.progressive_layers import EqualizedDense
from jgen.models.progressive_layers import minibatch_stddev
from jgen.models.progressive_layers import pixel_norm


@pytest.mark.parametrize("lr_multiplier", [1.0, 0.01])
def test_equalized_dense_is_a_dense_layer_with_run_time_he_scaling(lr_multiplier):
  fan_in, features = 256, 300
  layer = EqualizedDense(features, lr_multiplier=lr_multiplier, bias_init=0.5)
  x = jax.random.normal(jax.random.key(0), (4, fan_in))
  params = layer.init(jax.random.key(1), x)["params"]
  c = math.sqrt(2.0) / math.sqrt(fan_in) * lr_multiplier
  np.testing.assert_allclose(layer.apply({"params": params}, x),
                             x @ (c * params["kernel"]) + lr_multiplier * params["bias"],
                             rtol=1e-5, atol=1e-5)
  # Effective weights start He-initialised (std √2/√fan_in), effective bias 0.5, for any
  # multiplier; the stored ones have std 1/lr_multiplier.
  np.testing.assert_allclose(np.std(c * params["kernel"]), math.sqrt(2 / fan_in), rtol=0.02)
  np.testing.assert_allclose(lr_multiplier * params["bias"], 0.5, rtol=1e-6)
  np.testing.assert_allclose(np.std(params["kernel"]), 1 / lr_multiplier, rtol=0.02)

  # The gradient on a stored weight is c × the gradient on the effective weight: the
  # run-time constant, not the initialisation, sets each layer's step size.
  g = jax.grad(lambda p: jnp.sum(jnp.sin(layer.apply({"params": p}, x))))(params)
  effective = jax.grad(lambda k: jnp.sum(jnp.sin(x @ k + 0.5)))(c * params["kernel"])
  np.testing.assert_allclose(g["kernel"], c * effective, rtol=1e-4, atol=1e-7)


def test_equalized_conv_matches_a_scaled_convolution():
  x = jax.random.normal(jax.random.key(0), (2, 5, 6, 3))
  layer = EqualizedConv(4, (3, 3), gain=1.0)
  params = layer.init(jax.random.key(1), x)["params"]
  assert params["kernel"].shape == (3, 3, 3, 4)
  params["bias"] = params["bias"] + 0.2
  ref = lax.conv_general_dilated(x, params["kernel"] / math.sqrt(27), (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC")) + params["bias"]
  np.testing.assert_allclose(layer.apply({"params": params}, x), ref, rtol=1e-5, atol=1e-5)


def test_pixel_norm_unit_mean_square_and_scale_invariance():
  x = jax.random.normal(jax.random.key(0), (3, 4, 4, 8)) * jnp.arange(1, 9)
  y = pixel_norm(x)
  np.testing.assert_allclose(jnp.mean(y ** 2, axis=-1), 1.0, rtol=1e-5)
  np.testing.assert_allclose(pixel_norm(7.0 * x), y, rtol=1e-5)
  np.testing.assert_allclose(pixel_norm(jnp.moveaxis(x, -1, 1), axis=1),  # NCHW too.
                             jnp.moveaxis(y, -1, 1), rtol=1e-6)


def _reference_stddev(x, group_size, num_features):
  b, h, w, c = x.shape
  g = min(group_size, b)
  out = np.zeros((b, h, w, num_features))
  for n in range(b):
    members = x[(n // g) * g:(n // g + 1) * g]  # Example n's group: consecutive.
    for f in range(num_features):
      block = members[..., f * c // num_features:(f + 1) * c // num_features]
      out[n, :, :, f] = np.sqrt(block.var(axis=0) + 1e-8).mean()
  return np.concatenate([x, out], axis=-1)


@pytest.mark.parametrize("batch,group,features", [(8, 4, 1), (8, 2, 2), (3, 4, 1)])
def test_minibatch_stddev_matches_a_loop(batch, group, features):
  x = np.asarray(jax.random.normal(jax.random.key(0), (batch, 3, 2, 4)), np.float64)
  x = x * np.arange(1, batch + 1)[:, None, None, None]  # Groups differ.
  y = minibatch_stddev(jnp.asarray(x, jnp.float32), group, features)
  assert y.shape == (batch, 3, 2, 4 + features)
  np.testing.assert_allclose(y, _reference_stddev(x, group, features), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_of_identical_examples_is_zero():
  x = jnp.broadcast_to(jax.random.normal(jax.random.key(0), (1, 2, 2, 3)), (4, 2, 2, 3))
  np.testing.assert_allclose(minibatch_stddev(x)[..., -1], 1e-4, rtol=1e-3)  # √ε


def test_minibatch_stddev_bad_group():
  with pytest.raises(ValueError, match="batch 6 must be divisible by the group size 4"):
    minibatch_stddev(jnp.zeros((6, 2, 2, 4)))


def test_minibatch_stddev_does_not_depend_on_the_device_split():
  """Consecutive groups: each half of the batch (a device's share) gives its own rows."""
  x = jax.random.normal(jax.random.key(0), (16, 3, 3, 4))
  whole = minibatch_stddev(x)
  halves = jnp.concatenate([minibatch_stddev(x[:8]), minibatch_stddev(x[8:])])
  np.testing.assert_array_equal(whole, halves)
