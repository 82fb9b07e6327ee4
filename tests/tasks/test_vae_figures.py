"""Tests for jgen.tasks.vae_figures: which figures each model draws, as uint8 images."""

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import vae_binarized_mnist
from experiments.configs import vqvae_fashion_mnist
from jgen import data
from jgen.tasks import vae
from jgen.tasks import vae_figures


def _test(config, n=16):
  images = np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
  if config.data.preprocess == "binary":
    images = (images > 127).astype(np.uint8)
  x = np.asarray(data.preprocess_images(jnp.asarray(images), config.data.preprocess))
  return {"x": x, "label": np.arange(n, dtype=np.int32) % 10}


@pytest.mark.parametrize("config,names", [
    (vae_binarized_mnist.get_config("tiny"),
     {"reconstructions", "prior_samples", "latent_traversal", "interpolation_linear",
      "interpolation_slerp", "editing", "manifold"}),
    (vqvae_fashion_mnist.get_config("tiny"), {"reconstructions", "codebook_usage"}),
])
def test_figures_of_each_model(config, names):
  info = data.dataset_info(config.data.name)
  state = vae.init_state(config, info)
  images = vae_figures.make_figures(config, info, _test(config))(state)
  assert set(images) == names
  for image in images.values():
    assert image.dtype == np.uint8 and image.ndim == 3
  # Reconstructions: 16 inputs over their 16 reconstructions, 28-pixel tiles + padding.
  assert images["reconstructions"].shape[:2] == (2 * 28 + 3 * 2, 16 * 28 + 17 * 2)
  if "latent_traversal" in images:  # Two latents (tiny): two rows of 11 values.
    assert images["latent_traversal"].shape[0] == 2 * 28 + 3 * 2
