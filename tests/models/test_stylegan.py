"""StyleGAN's generator: per-layer styles, noise carried in the latent, w̄, truncation in W,
style mixing."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.stylegan import mix_styles
from jgen.models.stylegan import noise_shapes
from jgen.models.stylegan import num_styles
from jgen.models.stylegan import style_mixing_grid
from jgen.models.stylegan import StyleGenerator

G = StyleGenerator(28, 1, z_dim=8, w_dim=8, features=4, mapping_layers=2)


def _init(g=G, batch=3, seed=0):
  latent = jax.random.normal(jax.random.key(seed), (batch, g.latent_size))
  return latent, g.init(jax.random.key(seed + 1), latent, train=False)


def _with_noise_strength(variables, value):
  """Every NoiseInput's λ set to ``value`` (they start at 0)."""
  def set_strength(path, x):
    return jnp.full_like(x, value) if path[-1].key == "strength" else x
  return {**variables, "params": jax.tree_util.tree_map_with_path(set_strength,
                                                                   variables["params"])}


@pytest.mark.parametrize("size,channels,styles,sides", [
    (28, 1, 5, (7, 14, 14, 28, 28)), (32, 3, 7, (4, 8, 8, 16, 16, 32, 32))])
def test_layout_and_latent_size(size, channels, styles, sides):
  g = StyleGenerator(size, channels, z_dim=8, w_dim=8, features=4, mapping_layers=2)
  assert num_styles(size) == styles and noise_shapes(size) == sides
  assert g.latent_size == 8 + sum(r * r for r in sides)
  latent, variables = _init(g)
  assert g.apply(variables, latent, train=False).shape == (3, size, size, channels)
  assert variables["batch_stats"]["w_avg"].shape == (8,)
  with pytest.raises(ValueError, match=f"z_dim \\+ noise_size = 8 \\+ {g.noise_size}"):
    g.apply(variables, latent[:, :-1], train=False)
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    StyleGenerator(64).init(jax.random.key(0), jnp.zeros((1, 10)))


def test_w_avg_moves_only_in_training_by_its_decay():
  latent, variables = _init(batch=6)
  out, state = G.apply(variables, latent, train=True, mutable=["batch_stats"])
  w = G.apply(variables, latent[:, :G.z_dim], method="mapping")
  expected = 0.005 * np.mean(w, axis=0)  # From w̄ = 0: (1 − 0.995) · mean.
  np.testing.assert_allclose(state["batch_stats"]["w_avg"], expected, rtol=1e-5, atol=1e-8)
  _, unchanged = G.apply(variables, latent, train=False, mutable=["batch_stats"])
  np.testing.assert_array_equal(unchanged["batch_stats"]["w_avg"], 0.0)
  np.testing.assert_array_equal(out, G.apply(variables, latent, train=False))


def test_w_avg_is_the_global_batch_mean_under_a_data_parallel_axis():
  g = G.clone(bn_axis_name="batch")
  latent, variables = _init(g, batch=8)
  _, whole = g.clone(bn_axis_name=None).apply(variables, latent, train=True,
                                              mutable=["batch_stats"])

  def shard(x):
    return g.apply(variables, x, train=True, mutable=["batch_stats"])[1]
  sharded = jax.vmap(shard, axis_name="batch")(latent.reshape(4, 2, -1))
  for i in range(4):
    np.testing.assert_allclose(sharded["batch_stats"]["w_avg"][i],
                               whole["batch_stats"]["w_avg"], rtol=1e-5, atol=1e-8)


def test_truncation_in_w():
  latent, variables = _init(batch=4)
  variables = _with_noise_strength(variables, 0.5)
  variables["batch_stats"] = {"w_avg": jnp.linspace(-1.0, 1.0, G.w_dim)}
  same_noise = latent.at[:, G.z_dim:].set(latent[0, G.z_dim:])
  # ψ = 0: every latent at w̄; the image depends on the noise alone.
  at_mean = G.apply(variables, same_noise, train=False, truncation_psi=0.0)
  np.testing.assert_allclose(at_mean, jnp.broadcast_to(at_mean[:1], at_mean.shape), atol=1e-5)
  free = G.apply(variables, same_noise, train=False)
  assert float(jnp.abs(free - free[:1]).max()) > 1e-3
  # ψ scales the distance to w̄ in W exactly.
  ws = G.apply(variables, latent, method="styles")
  half = G.apply(variables, latent, truncation_psi=0.5, method="styles")
  w_avg = variables["batch_stats"]["w_avg"]
  np.testing.assert_allclose(half - w_avg, 0.5 * (ws - w_avg), rtol=1e-5, atol=1e-6)


def test_every_noise_map_and_every_style_reaches_the_image():
  latent, variables = _init(batch=1)
  # At initialisation λ = 0: the noise changes nothing.
  f = functools.partial(G.apply, variables, train=False)
  np.testing.assert_array_equal(f(latent), f(latent.at[:, G.z_dim:].set(0.0)))
  noisy = _with_noise_strength(variables, 0.5)
  grad = jax.grad(lambda x: jnp.sum(G.apply(noisy, x, train=False) ** 2))(latent)[0]
  start = G.z_dim
  for side in noise_shapes(28):
    assert float(jnp.abs(grad[start:start + side * side]).max()) > 0, side
    start += side * side
  ws = G.apply(noisy, latent, method="styles")
  noise = latent[:, G.z_dim:]
  grad_ws = jax.grad(lambda w: jnp.sum(G.apply(noisy, w, noise, method="synthesis") ** 2))(ws)
  assert bool(jnp.all(jnp.abs(grad_ws[0]).max(axis=-1) > 0))  # Each of the 5 layers.


def test_style_mixing():
  a = jnp.zeros((2, 5, 3))
  b = jnp.ones((2, 5, 3))
  np.testing.assert_array_equal(mix_styles(a, b, 2)[:, :, 0], [[0, 0, 1, 1, 1]] * 2)
  np.testing.assert_array_equal(mix_styles(a, b, 0), b)
  np.testing.assert_array_equal(mix_styles(a, b, 5), a)

  coarse, variables = _init(batch=2, seed=4)
  fine, _ = _init(batch=3, seed=7)
  variables = _with_noise_strength(variables, 0.3)
  grid = style_mixing_grid(G.apply, variables, coarse, fine, G.z_dim)
  assert grid.shape == (12, 28, 28, 1)
  np.testing.assert_array_equal(grid[0], -1.0)
  noise = jnp.broadcast_to(coarse[:1, G.z_dim:], (3, G.noise_size))
  # Sources with coarse[0]'s noise: row 0 the fine latents, column 0 the coarse ones.
  fine_images = G.apply(variables, jnp.concatenate([fine[:, :G.z_dim], noise], 1),
                        train=False)
  np.testing.assert_allclose(grid[1:4], fine_images, atol=1e-5)
  coarse_1 = jnp.concatenate([coarse[1:2, :G.z_dim], noise[:1]], 1)
  np.testing.assert_allclose(grid[8], G.apply(variables, coarse_1, train=False)[0],
                             atol=1e-5)
  ws_c = G.apply(variables, coarse, method="styles")
  ws_f = G.apply(variables, fine, method="styles")
  cell = G.apply(variables, mix_styles(ws_c[1:2], ws_f[2:3], 3), noise[:1],
                 method="synthesis")
  np.testing.assert_allclose(grid[4 + 4 + 3], cell[0], atol=1e-5)  # Row 2, column 3.
  # Mixing changes the image: neither source.
  assert float(jnp.abs(grid[11] - grid[8]).max()) > 1e-3
  assert float(jnp.abs(grid[11] - grid[3]).max()) > 1e-3
