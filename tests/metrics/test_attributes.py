"""Ink and slant on drawn strokes; attribute vectors and sweeps on a generator with known latents."""

import numpy as np
import pytest

from jgen.metrics import attributes


def _stroke(shear: float, width: int = 1, size: int = 28) -> np.ndarray:
  """A vertical stroke through the centre, sheared: column = 14 + shear·(14 − row)."""
  image = np.zeros((size, size, 1), np.uint8)
  for row in range(4, 24):
    col = int(round(14 + shear * (14 - row)))
    image[row, col:col + width] = 255
  return image


def test_ink_counts_the_strokes_pixels():
  blank, thin, thick = np.zeros((28, 28, 1), np.uint8), _stroke(0.0), _stroke(0.0, width=3)
  values = attributes.ink(np.stack([blank, thin, thick]))
  np.testing.assert_allclose(values, [0.0, 20 / 784, 60 / 784])


@pytest.mark.parametrize("shear", [-0.5, -0.2, 0.0, 0.3, 0.6])
def test_slant_is_the_strokes_shear(shear):
  """A right-leaning ('/') stroke has a positive slant equal to its shear."""
  value = attributes.slant(_stroke(shear)[None])[0]
  np.testing.assert_allclose(value, shear, atol=0.03)


def test_attribute_vector_recovers_the_direction_and_removes_the_group_offset():
  rng = np.random.default_rng(0)
  z = rng.normal(size=(4000, 5))
  groups = (z[:, 1] > 0).astype(int)
  scores = z[:, 0] + 5.0 * groups + 0.1 * rng.normal(size=4000)
  pooled = attributes.attribute_vector(z, scores)
  within = attributes.attribute_vector(z, scores, groups)
  cosine = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
  assert cosine(within, np.eye(5)[0]) > 0.98
  assert cosine(pooled, np.eye(5)[1]) > 0.5  # Confounded with the group without groups.
  # With groups, v is orthogonal to every group-mean direction.
  for g in (0, 1):
    assert abs(within @ (z[groups == g].mean(0) - z.mean(0))) < 1e-9
  with pytest.raises(ValueError, match="fraction must be in"):
    attributes.attribute_vector(z, scores, fraction=0.7)


def _generator(z):
  """A toy G: a bar whose thickness grows with z₀, on the left when z₁ < 0 else right."""
  out = np.zeros((len(z), 28, 28, 1), np.uint8)
  for i, (a, b) in enumerate(z[:, :2]):
    width = int(np.clip(round(4 + 2 * a), 1, 9))
    col = 5 if b < 0 else 16
    out[i, 4:24, col:col + width] = 255
  return out


def _classify(images):
  return (images[:, 14, 14:].sum(axis=(1, 2)) > 0).astype(int)  # Which side the bar is on.


def test_sweep_along_the_found_vector_raises_ink_and_keeps_the_class():
  rng = np.random.default_rng(1)
  z = rng.normal(size=(2000, 4)).astype(np.float32)
  z[:, 1] += np.sign(z[:, 1]) * 0.5  # Keep the bars away from the class boundary.
  images = _generator(z)
  v = attributes.attribute_vector(z, attributes.ink(images), _classify(images))
  sweep = attributes.attribute_sweep(_generator, _classify, attributes.ink, z[:200], v,
                                     [-1.0, -0.5, 0.0, 0.5, 1.0], rows=3)
  assert np.all(np.diff(sweep.attribute) > 0), sweep.attribute
  np.testing.assert_allclose(sweep.same_class, 1.0)
  assert sweep.images.shape == (3, 5, 28, 28, 1)
  with pytest.raises(ValueError, match="steps must include 0"):
    attributes.attribute_sweep(_generator, _classify, attributes.ink, z[:5], v, [1.0])
