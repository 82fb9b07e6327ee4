"""A trained VQ-VAE as code maps: nearest codes by brute force, decoding, clear errors."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import vqvae_fashion_mnist
from jgen import data
from jgen.tasks import vq_codes
from jgen.train.vae_step import vq_codebooks


def test_codes_are_the_nearest_codebook_vectors_and_decode_like_the_vqvae(vqvae_run):
  workdir, config, state = vqvae_run
  codes = vq_codes.load(workdir)
  assert (codes.shapes, codes.num_codes, codes.dataset) == (((7, 7, 1),), 16, "fashion_mnist")
  images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
  (maps,) = codes.encode(images)
  assert maps.shape == (5, 7, 7, 1) and maps.dtype == np.uint16
  # Brute force: squared distances of each encoder output to every code.
  z_e = np.asarray(state.apply_fn({"params": state.params}, jnp.asarray(images / 255.0,
                                                                        jnp.float32),
                                  method="encode"), np.float64)
  (book,) = [np.asarray(b, np.float64) for b in vq_codebooks(state)]
  distances = ((z_e[..., None, :] - book) ** 2).sum(-1)
  np.testing.assert_array_equal(maps[..., 0], distances.argmin(-1))
  assert len(np.unique(maps)) > 1
  decoded = np.asarray(codes.decode(maps))
  mean = state.apply_fn({"params": state.params}, jnp.asarray(book[maps[..., 0]], jnp.float32),
                        method="decode").mean()
  np.testing.assert_array_equal(decoded, data.to_uint8(mean, config.data.preprocess))
  assert decoded.shape == (5, 28, 28, 1) and decoded.dtype == np.uint8


def _nearest(z, book):
  """Brute-force nearest codes: squared distances to every code, in float64."""
  z, book = np.asarray(z, np.float64), np.asarray(book, np.float64)
  return ((z[..., None, :] - book) ** 2).sum(-1).argmin(-1)


def test_a_vqvae2_gives_top_and_bottom_maps_and_decodes_both(vqvae2_run):
  workdir, config, state = vqvae2_run
  codes = vq_codes.load(workdir)
  assert codes.shapes == ((7, 7, 1), (14, 14, 1)) and codes.num_codes == 16
  images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
  top, bottom = codes.encode(images)
  assert top.shape == (5, 7, 7, 1) and bottom.shape == (5, 14, 14, 1)
  x = jnp.asarray(images / 255.0, jnp.float32)
  books = [np.asarray(b) for b in vq_codebooks(state)]
  (z_top, _), (z_bottom, _) = state.apply_fn({"params": state.params}, x, books,
                                             method="quantize")
  np.testing.assert_array_equal(top[..., 0], _nearest(z_top, books[0]))
  np.testing.assert_array_equal(bottom[..., 0], _nearest(z_bottom, books[1]))
  assert len(np.unique(top)) > 1 and len(np.unique(bottom)) > 1
  mean = state.apply_fn({"params": state.params}, jnp.asarray(books[0][top[..., 0]]),
                        jnp.asarray(books[1][bottom[..., 0]]), method="decode").mean()
  np.testing.assert_array_equal(np.asarray(codes.decode(top, bottom)),
                                data.to_uint8(mean, config.data.preprocess))


def test_a_workdir_without_a_vqvae_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="holds no config.json: train a VQ-VAE there first"):
    vq_codes.load(str(tmp_path))
  (tmp_path / "config.json").write_text(json.dumps({"task": "gan", "model": {"arch": "mlp"}}))
  with pytest.raises(ValueError, match=r"holds a task='gan', model.arch='mlp' run; a prior "
                                       r"needs a VQ-VAE"):
    vq_codes.load(str(tmp_path))
  config = vqvae_fashion_mnist.get_config("tiny").to_dict()
  (tmp_path / "config.json").write_text(json.dumps(config))
  with pytest.raises(ValueError, match="No checkpoint in"):
    vq_codes.load(str(tmp_path))
