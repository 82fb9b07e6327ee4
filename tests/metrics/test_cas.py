"""Classification Accuracy Score: right labels teach the classifier, shuffled ones do not."""

import jax
import numpy as np
import pytest

from jgen.metrics import classification_accuracy_score


def _bars(rng, n):
  """Class = shape, anywhere in a 12×12 image: horizontal bar, vertical bar, square, none."""
  labels = rng.integers(0, 4, n)
  images = rng.integers(0, 40, (n, 12, 12, 1))
  for i, y in enumerate(labels):
    r, c = rng.integers(1, 6, 2)
    if y == 0:
      images[i, r + 2, c:c + 6] = 220
    elif y == 1:
      images[i, r:r + 6, c + 2] = 220
    elif y == 2:
      images[i, r:r + 4, c:c + 4] = 220
  return images.astype(np.uint8), labels


def test_cas_is_high_for_faithful_pairs_and_chance_for_shuffled_labels():
  rng = np.random.default_rng(0)
  x, y = _bars(rng, 400)
  test_x, test_y = _bars(rng, 200)
  kwargs = dict(num_steps=100, batch_size=32, learning_rate=3e-3, widths=(8, 16))
  good = classification_accuracy_score(x, y, test_x, test_y, jax.random.key(0), **kwargs)
  bad = classification_accuracy_score(x, rng.permutation(y), test_x, test_y,
                                      jax.random.key(0), **kwargs)
  assert good > 0.9
  assert bad < 0.5


def test_cas_rejects_mismatched_inputs():
  x = np.zeros((4, 12, 12, 1), np.uint8)
  with pytest.raises(ValueError, match="4 generated images with 3 labels"):
    classification_accuracy_score(x, np.zeros(3), x, np.zeros(4), jax.random.key(0))
