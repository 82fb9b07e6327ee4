"""DCGAN shapes, parameter counts and the sub-pixel/ConvTranspose equivalence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import dcgan
from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.mlp import count_params


@pytest.mark.parametrize("size,channels,g_count,d_count", [
    # 28: Dense 100→7·7·128 (no bias) + BN(128) + ConvT 128→64 (no bias) + BN(64) + ConvT 64→1.
    (28, 1, 627_200 + 256 + 131_072 + 128 + 1_025, 138_561),
    (32, 3, 1_068_931, 662_977)])
def test_shapes_range_and_documented_parameter_counts(size, channels, g_count, d_count):
  g, d = DCGANGenerator(image_size=size, channels=channels), DCGANDiscriminator(image_size=size)
  z = jax.random.normal(jax.random.key(0), (3, 100))
  g_vars = g.init(jax.random.key(1), z, train=False)
  images = g.apply(g_vars, z, train=False)
  assert images.shape == (3, size, size, channels) and images.dtype == jnp.float32
  assert float(jnp.abs(images).max()) <= 1.0
  d_vars = d.init(jax.random.key(2), images)
  assert d.apply(d_vars, images).shape == (3,)
  assert count_params(g_vars["params"]) == g_count
  assert count_params(d_vars["params"]) == d_count
  doc = dcgan.__doc__  # The counts stated in the module docstring.
  assert f"{g_count:,}" in doc and f"{d_count:,}" in doc


def test_subpixel_generator_equals_conv_transpose_generator():
  z = jax.random.normal(jax.random.key(0), (4, 100))
  fast, slow = DCGANGenerator(), DCGANGenerator(use_subpixel=False)
  variables = fast.init(jax.random.key(1), z)
  assert jax.tree.structure(variables) == jax.tree.structure(slow.init(jax.random.key(1), z))
  out_fast, _ = fast.apply(variables, z, mutable=["batch_stats"])
  out_slow, _ = slow.apply(variables, z, mutable=["batch_stats"])
  np.testing.assert_allclose(out_fast, out_slow, atol=2e-5)


def test_bad_image_size():
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    DCGANGenerator(image_size=64).init(jax.random.key(0), jnp.zeros((1, 100)))
