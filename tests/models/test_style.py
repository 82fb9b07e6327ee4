"""StyleGAN layers: mapping network, AdaIN's moments, (de)modulated convolution, noise inputs."""

import math

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from jgen.models.style import AdaIN
from jgen.models.style import MappingNetwork
from jgen.models.style import ModulatedConv
from jgen.models.style import NoiseInput


def test_mapping_network_reads_only_the_direction_of_z():
  z = jax.random.normal(jax.random.key(0), (5, 16))
  net = MappingNetwork(w_dim=32, num_layers=4)
  params = net.init(jax.random.key(1), z)
  w = net.apply(params, z)
  assert w.shape == (5, 32)
  np.testing.assert_allclose(net.apply(params, 3.0 * z), w, rtol=1e-5, atol=1e-6)
  assert len(params["params"]) == 4
  # The √2 gain once per layer (in the activation): w keeps a second moment of order 1.
  deep = MappingNetwork(w_dim=256, num_layers=8)
  z = jax.random.normal(jax.random.key(2), (64, 256))
  second_moment = float(jnp.mean(deep.apply(deep.init(jax.random.key(3), z), z) ** 2))
  assert 0.3 < second_moment < 3.0, second_moment


def _style(params, w, name):
  """An equalized dense layer (gain 1) of the style: w (c·K) + b."""
  p = params["params"][name]
  return w @ (p["kernel"] / math.sqrt(w.shape[-1])) + p["bias"]


def test_adain_sets_each_channels_mean_and_std():
  x = 3.0 + 2.0 * jax.random.normal(jax.random.key(0), (2, 8, 8, 4))
  w = jax.random.normal(jax.random.key(1), (2, 6))
  layer = AdaIN()
  params = layer.init(jax.random.key(2), x, w)
  params["params"]["offset"]["bias"] += 0.3
  y = layer.apply(params, x, w)
  scale, offset = _style(params, w, "scale"), _style(params, w, "offset")
  np.testing.assert_allclose(y.mean(axis=(1, 2)), offset, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(y.std(axis=(1, 2)), jnp.abs(scale), rtol=1e-4, atol=1e-5)
  # At initialisation the scale half is about 1: AdaIN starts near instance norm.
  np.testing.assert_allclose(params["params"]["scale"]["bias"], 1.0)


def _explicit_modulated_conv(params, x, w, demodulate):
  """Per example: the modulated (and demodulated) kernel, one convolution each."""
  kernel = params["params"]["kernel"]
  kh, kw, c_in, _ = kernel.shape
  kernel = kernel / math.sqrt(kh * kw * c_in)
  s = _style(params, w, "style")

  def one(x, s):
    k = kernel * s[None, None, :, None]
    if demodulate:
      k = k / jnp.sqrt(jnp.sum(k ** 2, axis=(0, 1, 2), keepdims=True) + 1e-8)
    return lax.conv_general_dilated(x[None], k, (1, 1), "SAME",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
  return jax.vmap(one)(x, s)


def test_modulated_conv_equals_per_example_kernels():
  x = jax.random.normal(jax.random.key(0), (3, 6, 5, 4))
  w = jax.random.normal(jax.random.key(1), (3, 8))
  for demodulate in (True, False):
    layer = ModulatedConv(5, demodulate=demodulate)
    params = layer.init(jax.random.key(2), x, w)
    y = layer.apply(params, x, w)
    assert y.shape == (3, 6, 5, 5)
    np.testing.assert_allclose(y, _explicit_modulated_conv(params, x, w, demodulate),
                               rtol=1e-4, atol=1e-5)


def test_demodulation_gives_unit_variance_outputs_for_unit_variance_inputs():
  """Away from the border each output is a unit-norm combination of i.i.d. N(0, 1)."""
  x = jax.random.normal(jax.random.key(0), (4, 48, 48, 8))
  w = 3.0 * jax.random.normal(jax.random.key(1), (4, 8))  # Styles far from 1.
  layer = ModulatedConv(6)
  params = layer.init(jax.random.key(2), x, w)
  y = layer.apply(params, x, w)[:, 1:-1, 1:-1]
  np.testing.assert_allclose(jnp.var(y, axis=(1, 2)), 1.0, atol=0.08)
  y_raw = ModulatedConv(6, demodulate=False).apply(params, x, w)[:, 1:-1, 1:-1]
  assert np.abs(np.log(jnp.var(y_raw, axis=(1, 2)))).max() > 0.5  # Not 1 without it.


def test_noise_input():
  x = jax.random.normal(jax.random.key(0), (2, 4, 4, 3))
  layer = NoiseInput()
  params = layer.init({"params": jax.random.key(1), "noise": jax.random.key(2)}, x)
  np.testing.assert_array_equal(layer.apply(params, x, rngs={"noise": jax.random.key(3)}), x)

  params = {"params": {"strength": jnp.array([0.5, -1.0, 2.0])}}
  noise = jax.random.normal(jax.random.key(4), (2, 4, 4, 1))
  np.testing.assert_allclose(layer.apply(params, x, noise), x + params["params"]["strength"]
                             * noise, rtol=1e-6)
  drawn = layer.apply(params, x, rngs={"noise": jax.random.key(5)})
  again = layer.apply(params, x, rngs={"noise": jax.random.key(5)})
  other = layer.apply(params, x, rngs={"noise": jax.random.key(6)})
  np.testing.assert_array_equal(drawn, again)
  assert not np.allclose(drawn, other)
  # One noise map per example, shared by the channels.
  per_channel = (drawn - x) / params["params"]["strength"]
  np.testing.assert_allclose(per_channel[..., 0], per_channel[..., 1], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(per_channel[..., 0], per_channel[..., 2], rtol=1e-5, atol=1e-5)
