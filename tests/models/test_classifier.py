"""ConvClassifier: the feature layer (pooled or dense) and the head on top of it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import ConvClassifier


@pytest.mark.parametrize("dense_width, feature_dim", [(0, 16), (24, 24)])
def test_features_feed_the_linear_head(dense_width, feature_dim):
  model = ConvClassifier(num_classes=5, widths=(8, 16), groups=4, dense_width=dense_width)
  images = jax.random.uniform(jax.random.key(1), (3, 12, 12, 1))
  variables = model.init(jax.random.key(0), images)
  features, logits = model.apply(variables, images, method="features_and_logits")
  assert model.feature_dim == feature_dim and features.shape == (3, feature_dim)
  assert bool(jnp.all(features >= 0))  # Both feature layers end in a ReLU.
  head = variables["params"]["head"]
  np.testing.assert_allclose(logits, features @ head["kernel"] + head["bias"], rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(model.apply(variables, images), logits, rtol=1e-6)


def test_the_dense_layer_reads_the_last_block_flattened_after_its_pool():
  # Two blocks, each followed by a 2×2 pool: 12×12 → 6×6 → 3×3, with 8 channels.
  model = ConvClassifier(num_classes=2, widths=(4, 8), groups=2, dense_width=6)
  variables = model.init(jax.random.key(0), jnp.zeros((1, 12, 12, 1)))
  assert variables["params"]["dense"]["kernel"].shape == (3 * 3 * 8, 6)
