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


def _conditional(g_conditioning, d_conditioning, **kw):
  return (DCGANGenerator(base_features=8, num_classes=10, conditioning=g_conditioning, **kw),
          DCGANDiscriminator(base_features=8, num_classes=10, conditioning=d_conditioning,
                             **kw))


@pytest.mark.parametrize("g_cond,d_cond", [("concat", "concat"), ("cbn", "projection")])
def test_conditional_players_read_the_label(g_cond, d_cond):
  g, d = _conditional(g_cond, d_cond)
  z = jax.random.normal(jax.random.key(0), (4, 100))
  y, other = jnp.array([0, 1, 2, 3]), jnp.array([5, 6, 7, 8])
  g_vars = g.init(jax.random.key(1), z, y, train=False)
  images = g.apply(g_vars, z, y, train=False)
  assert images.shape == (4, 28, 28, 1)
  moved = np.abs(np.asarray(images - g.apply(g_vars, z, other, train=False)))
  assert moved.max() > 1e-3
  d_vars = d.init(jax.random.key(2), images, y, train=False)
  scores = d.apply(d_vars, images, y, train=False)
  assert scores.shape == (4,)
  assert np.abs(np.asarray(scores - d.apply(d_vars, images, other, train=False))).min() > 0


def test_concat_conditioning_is_an_input_of_label_planes():
  """D(x, y) with 'concat' = an unconditional D on [x, one-hot(y) planes]."""
  _, d = _conditional("concat", "concat")
  x = jax.random.normal(jax.random.key(0), (2, 28, 28, 1))
  y = jnp.array([3, 7])
  variables = d.init(jax.random.key(1), x, y)
  planes = jnp.broadcast_to(jax.nn.one_hot(y, 10)[:, None, None], (2, 28, 28, 10))
  plain = DCGANDiscriminator(base_features=8)
  np.testing.assert_allclose(d.apply(variables, x, y),
                             plain.apply(variables, jnp.concatenate([x, planes], -1)),
                             rtol=1e-5, atol=1e-6)


def test_spectral_norm_and_attention_keep_the_parameters_and_add_state():
  z = jax.random.normal(jax.random.key(0), (2, 100))
  plain = DCGANGenerator(base_features=8).init(jax.random.key(1), z)
  zoo = DCGANGenerator(base_features=8, spectral_norm=True, attention_resolution=14).init(
      jax.random.key(1), z)
  assert set(zoo["params"]) == set(plain["params"]) | {"attention"}
  assert len(jax.tree.leaves(zoo["batch_stats"])) > len(jax.tree.leaves(plain["batch_stats"]))
  d_vars = DCGANDiscriminator(base_features=8, spectral_norm=True).init(
      jax.random.key(1), jnp.zeros((2, 28, 28, 1)))
  # u and σ per weight matrix: two convolutions and the output layer.
  assert len(jax.tree.leaves(d_vars["batch_stats"])) == 6


@pytest.mark.parametrize("make,match", [
    (lambda: DCGANGenerator(num_classes=10, conditioning="film"), "conditioning='film'"),
    (lambda: DCGANDiscriminator(num_classes=10, conditioning="cbn"), "conditioning='cbn'"),
    (lambda: DCGANGenerator(attention_resolution=7), "one of \\(14,\\)"),
    (lambda: DCGANDiscriminator(attention_resolution=28), "one of \\(14,\\)"),
])
def test_bad_options_name_the_valid_ones(make, match):
  module = make()
  x = (jnp.zeros((2, 100)) if isinstance(module, DCGANGenerator)
       else jnp.zeros((2, 28, 28, 1)))
  y = jnp.zeros((2,), jnp.int32) if module.num_classes else None
  with pytest.raises(ValueError, match=match):
    module.init(jax.random.key(0), x, y)


def test_labels_missing_or_unexpected():
  with pytest.raises(ValueError, match="conditional \\(num_classes=10\\) and needs"):
    DCGANGenerator(num_classes=10).init(jax.random.key(0), jnp.zeros((2, 100)))
  with pytest.raises(ValueError, match="unconditional \\(num_classes=0\\) but got labels"):
    DCGANDiscriminator().init(jax.random.key(0), jnp.zeros((2, 28, 28, 1)),
                              jnp.zeros((2,), jnp.int32))
