"""BigGAN-mini: documented sizes, hierarchical latents, labels in both players, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import biggan
from jgen.models.biggan import BigGANDiscriminator
from jgen.models.biggan import BigGANGenerator
from jgen.models.mlp import count_params


@pytest.mark.parametrize("size,channels,latent,g_count,d_count", [
    (28, 1, 96, 293_313, 190_273), (32, 3, 128, 319_171, 269_569)])
def test_shapes_range_and_documented_parameter_counts(size, channels, latent, g_count,
                                                      d_count):
  g = BigGANGenerator(10, image_size=size, channels=channels)
  d = BigGANDiscriminator(10, image_size=size)
  z, y = jax.random.normal(jax.random.key(0), (3, latent)), jnp.array([0, 4, 9])
  g_vars = g.init(jax.random.key(1), z, y, train=False)
  images = g.apply(g_vars, z, y, train=False)
  assert images.shape == (3, size, size, channels) and float(jnp.abs(images).max()) <= 1
  d_vars = d.init(jax.random.key(2), images, y, train=False)
  assert d.apply(d_vars, images, y, train=False).shape == (3,)
  assert count_params(g_vars["params"]) == g_count
  assert count_params(d_vars["params"]) == d_count
  assert f"{g_count:,}" in biggan.__doc__ and f"{d_count:,}" in biggan.__doc__
  # Spectral norm on every weight: u and σ per kernel, in batch_stats.
  sigmas = [k for k, _ in jax.tree_util.tree_leaves_with_path(d_vars["batch_stats"])
            if jax.tree_util.keystr(k).endswith("/sigma']")]
  kernels = [k for k, v in jax.tree_util.tree_leaves_with_path(d_vars["params"]) if v.ndim >= 2]
  assert len(sigmas) == len(kernels)
  # Switched off (to time its cost): the same parameters, no power-iteration state.
  plain_d = BigGANDiscriminator(10, image_size=size, spectral_norm=False)
  plain_vars = plain_d.init(jax.random.key(2), images, y, train=False)
  assert "batch_stats" not in plain_vars
  assert jax.tree.structure(plain_vars["params"]) == jax.tree.structure(d_vars["params"])
  plain_g = BigGANGenerator(10, image_size=size, channels=channels, spectral_norm=False)
  plain_g_vars = plain_g.init(jax.random.key(1), z, y, train=False)
  assert count_params(plain_g_vars["params"]) == g_count
  assert not any("sigma" in jax.tree_util.keystr(k) for k, _ in
                 jax.tree_util.tree_leaves_with_path(plain_g_vars["batch_stats"]))


def test_every_chunk_of_z_and_the_label_reach_the_image():
  """Hierarchical latents: chunk 0 feeds the first layer, chunk i block i's cBNs."""
  g = BigGANGenerator(10, image_size=28, channels=1, ch=8)
  z, y = jax.random.normal(jax.random.key(0), (2, 12)), jnp.array([1, 2])
  variables = g.init(jax.random.key(1), z, y, train=False)
  jac = jax.jacrev(lambda z: g.apply(variables, z, y, train=False)[0].sum())(z)
  per_chunk = np.abs(np.asarray(jac[0])).reshape(3, 4).sum(axis=1)
  assert (per_chunk > 0).all(), per_chunk
  assert np.abs(np.asarray(jac[1])).max() == 0  # Examples independent in eval mode.
  other = g.apply(variables, z, jnp.array([7, 8]), train=False)
  assert np.abs(np.asarray(other - g.apply(variables, z, y, train=False))).max() > 1e-4


def test_discriminator_statistics_move_only_in_training():
  d = BigGANDiscriminator(10, image_size=28, ch=8, attention_resolution=14)
  x, y = jax.random.normal(jax.random.key(0), (2, 28, 28, 1)), jnp.array([3, 5])
  variables = d.init(jax.random.key(1), x, y, train=False)
  assert "attention" in variables["params"]
  _, same = d.apply(variables, x, y, train=False, mutable=["batch_stats"])
  _, moved = d.apply(variables, x, y, train=True, mutable=["batch_stats"])
  equal = lambda a, b: all(jax.tree.leaves(jax.tree.map(np.array_equal, a, b)))  # noqa: E731
  assert equal(same, {"batch_stats": variables["batch_stats"]})
  assert not equal(moved, {"batch_stats": variables["batch_stats"]})


def test_errors_name_the_bad_input():
  g = BigGANGenerator(10, image_size=32)
  with pytest.raises(ValueError, match="divisible by 4; got z of shape \\(2, 30\\)"):
    g.init(jax.random.key(0), jnp.zeros((2, 30)), jnp.zeros((2,), jnp.int32))
  with pytest.raises(ValueError, match="labels must lie in \\[0, 10\\)"):
    g.init(jax.random.key(0), jnp.zeros((2, 32)), jnp.array([3, 12]))
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    BigGANDiscriminator(10, image_size=64).init(jax.random.key(0), jnp.zeros((2, 64, 64, 3)),
                                                jnp.zeros((2,), jnp.int32))
