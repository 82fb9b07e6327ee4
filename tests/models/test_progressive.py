"""Progressive growing: exact fade-in at α = 0, the schedule, and the real images' blend."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.progressive import ProgressiveDiscriminator
from jgen.models.progressive import ProgressiveGenerator
from jgen.models.progressive import fade_weight
from jgen.models.progressive import progress_at
from jgen.models.progressive import progressive_images


def _up(x, factor):
  return np.repeat(np.repeat(np.asarray(x), factor, axis=1), factor, axis=2)


def _generator():
  g = ProgressiveGenerator(28, 1, features=8)
  z = jax.random.normal(jax.random.key(0), (4, 16))
  variables = g.init(jax.random.key(1), z, 2.0)
  return g, z, variables


@pytest.mark.parametrize("progress,previous", [(0.0, 0), (1.0, 1)])
def test_at_alpha_zero_the_new_output_is_exactly_the_upsampled_previous_one(progress,
                                                                            previous):
  g, z, variables = _generator()
  image, state = g.apply(variables, z, progress, mutable=["intermediates"])
  inner = state["intermediates"]
  assert image.shape == (4, 28, 28, 1)
  low = inner[f"image_{previous}"][0]
  np.testing.assert_array_equal(image, _up(low, 28 // low.shape[1]))


def test_fading_in_moves_the_output_between_the_levels():
  g, z, variables = _generator()
  half = g.apply(variables, z, 1.5)
  before, after = g.apply(variables, z, 1.0), g.apply(variables, z, 2.0)
  np.testing.assert_allclose(half, (before + after) / 2, rtol=1e-5, atol=1e-5)
  assert np.abs(np.asarray(after - before)).max() > 1e-3


def test_discriminator_reads_only_the_grown_levels():
  d = ProgressiveDiscriminator(28, features=8)
  x = jax.random.normal(jax.random.key(0), (4, 28, 28, 1))
  variables = d.init(jax.random.key(1), x, 2.0)
  # Detail with zero mean over every 2×2 block: invisible at 14×14.
  checker = np.where((np.arange(28)[:, None] + np.arange(28)[None]) % 2, 1.0, -1.0)
  detail = x + 0.5 * checker[None, :, :, None]
  np.testing.assert_allclose(d.apply(variables, detail, 1.0), d.apply(variables, x, 1.0),
                             rtol=1e-5, atol=1e-5)
  assert np.abs(np.asarray(d.apply(variables, detail, 2.0) - d.apply(variables, x, 2.0))
                ).max() > 1e-4


def test_real_images_get_the_same_blend():
  x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
  np.testing.assert_array_equal(progressive_images(x, 0.0),
                                _up(x.reshape(2, 7, 4, 7, 4, 1).mean(axis=(2, 4)), 4))
  np.testing.assert_allclose(progressive_images(x, 2.0), x, rtol=1e-6, atol=1e-6)


def test_schedule_stable_then_fade_per_level():
  steps = np.array([0, 9, 10, 15, 20, 29, 30, 35, 40, 100])
  p = np.asarray(jax.vmap(lambda s: progress_at(s, 3, 10, 10))(steps))
  np.testing.assert_allclose(p, [0, 0, 0, 0.5, 1, 1, 1, 1.5, 2, 2])
  np.testing.assert_allclose(fade_weight(1.25, 2), 0.25)


def test_bad_image_size():
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    ProgressiveGenerator(64).init(jax.random.key(0), jnp.zeros((1, 4)), 0.0)
