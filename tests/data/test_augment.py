"""Augmentations: shifts move content without changing it; flips mirror; keys decide."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen import data


def _image():
  return jnp.arange(36, dtype=jnp.float32).reshape(6, 6, 1) + 1.0


def test_translate_is_a_zero_filled_shift_within_range():
  image = _image()
  seen = set()
  for i in range(60):
    out = np.asarray(data.random_translate(jax.random.key(i), image, max_shift=2))
    # Find the shift: the pixel value 1 (image[0, 0]) or infer from any surviving pixel.
    matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
               if np.array_equal(out, np.asarray(_shift(image, dy, dx)))]
    assert len(matches) == 1, "not a pure shift"
    seen.add(matches[0])
  assert len(seen) > 15  # All 25 shifts are possible; 60 draws see most of them.


def _shift(image, dy, dx):
  h, w, _ = image.shape
  padded = jnp.pad(image, ((2, 2), (2, 2), (0, 0)))
  return padded[2 - dy:2 - dy + h, 2 - dx:2 - dx + w]


def test_flip_mirrors_about_half_the_time():
  image = _image()
  flips = [bool(np.array_equal(data.random_flip(jax.random.key(i), image), image[:, ::-1]))
           for i in range(200)]
  assert 70 < sum(flips) < 130


def test_augment_images_per_example_keys_and_errors():
  images = jnp.stack([_image()] * 4)
  keys = jax.random.split(jax.random.key(0), 4)
  a = data.augment_images(keys, images, "translate_flip")
  b = data.augment_images(keys, images, "translate_flip")
  np.testing.assert_array_equal(a, b)
  assert a.shape == images.shape
  np.testing.assert_array_equal(data.augment_images(keys, images, "none"), images)
  with pytest.raises(ValueError, match="'rotate' is not valid"):
    data.augment_images(keys, images, "rotate")
