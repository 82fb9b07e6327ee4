"""A VQ-VAE prior's level: the bottom prior's data and labels, and the config's errors."""

import json

import jax
import numpy as np
import pytest

from experiments.configs import pixelcnn
from jgen.tasks import likelihood
from jgen.tasks import vq_codes
from jgen.tasks import vq_prior
from jgen.train import trainer


def _config(variant, vqvae, **data):
  config = pixelcnn.get_config(f"tiny,{variant}")
  config.data.vqvae_workdir = vqvae
  config.data.update(data)
  return config


def _write_top_run(path, vqvae, level="top", checkpoint=True, **pixelcnn):
  """A top prior's workdir as the bottom run's validation reads it: ``config.json`` and,
  with ``checkpoint``, a (not restorable) step directory."""
  config = _config("vq2_top", vqvae, vq_level=level)
  config.model.pixelcnn.update(pixelcnn)
  (path / "checkpoints" / "7" if checkpoint else path).mkdir(parents=True)
  (path / "config.json").write_text(json.dumps(config.to_dict()))
  return str(path)


def test_bottom_prior_data_are_bottom_maps_labelled_by_the_top_maps(vqvae2_run, tmp_path):
  config = _config("vq2_bottom", vqvae2_run[0],
                   top_prior_workdir=_write_top_run(tmp_path / "top", vqvae2_run[0]))
  images = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1), dtype=np.uint8)
  top, bottom = vq_codes.load(vqvae2_run[0]).encode(images)
  arrays = vq_prior.arrays(config, images, "x")
  np.testing.assert_array_equal(arrays["x"], bottom)
  np.testing.assert_array_equal(arrays["label"], top[..., 0])
  assert arrays["label"].dtype == np.int32
  assert vq_prior.model_kwargs(config) == {
      "event_shape": (14, 14, 1), "num_categories": 16, "num_classes": 16,
      "condition_shape": (7, 7)}
  # The model is built from the data: a gated PixelCNN whose labels are 7x7 maps.
  model = likelihood.build_model(config, None)
  assert (model.event_shape, model.num_classes, model.condition_shape) == (
      (14, 14, 1), 16, (7, 7))
  top_config = _config("vq2_top", vqvae2_run[0])
  assert vq_prior.arrays(top_config, images, "x").keys() == {"x"}
  np.testing.assert_array_equal(vq_prior.arrays(top_config, images, "x")["x"], top)
  assert not vq_prior.draws_images(top_config) and vq_prior.draws_images(config)
  # The decoder of a bottom prior's data reads the top maps as its labels.
  np.testing.assert_array_equal(np.asarray(vq_prior.decoder(config)(bottom, top[..., 0])),
                                np.asarray(vq_codes.load(vqvae2_run[0]).decode(top, bottom)))


def test_bad_levels_and_top_priors_are_named(vqvae_run, vqvae2_run, tmp_path):
  one, two = vqvae_run[0], vqvae2_run[0]
  top = _write_top_run(tmp_path / "top", two)
  wrong = _write_top_run(tmp_path / "wrong", one, level="")
  untrained = _write_top_run(tmp_path / "untrained", two, checkpoint=False)
  conditional = _write_top_run(tmp_path / "conditional", two, num_classes=10)
  cases = [
      (_config("pixelcnn", "", vq_level="top"),
       "data.vq_level='top' is for a VQ-VAE prior: set data.vqvae_workdir too"),
      (_config("vq2_bottom", two, top_prior_workdir=untrained),
       "holds no checkpoint yet: train the top prior first"),
      (_config("vq2_bottom", two, top_prior_workdir=conditional),
       "holds a class-conditional top prior"),
      (_config("vq2_top", one), "data.vq_level='top' does not fit the 1-level VQ-VAE"),
      (_config("vq_prior", two), "data.vq_level='' does not fit the 2-level VQ-VAE"),
      (_config("vq2_top", two, vq_level="middle"), "data.vq_level='middle' is not valid"),
      (_config("vq2_bottom", two), "data.vq_level='bottom' needs data.top_prior_workdir"),
      (_config("vq2_top", two, top_prior_workdir=top),
       "data.top_prior_workdir=" + repr(top) + " is for a bottom prior"),
      (_config("vq2_bottom", two, top_prior_workdir=str(tmp_path / "none")),
       "holds no config.json: train the top prior there first"),
      (_config("vq2_bottom", two, top_prior_workdir=wrong),
       f"data.top_prior_workdir={wrong!r} holds no top prior of"),
  ]
  bottom_pixelcnn = _config("vq2_bottom,pixelcnn", two, top_prior_workdir=top)
  bottom_pixelcnn.model.pixelcnn.update(embed_dim=2)
  cases.append((bottom_pixelcnn, "reads the top map as a map of labels, which "
                                 "model.arch='gated_pixelcnn' offers; got 'pixelcnn'"))
  labelled = _config("vq2_bottom", two, top_prior_workdir=top)
  labelled.model.pixelcnn.num_classes = 0
  cases.append((labelled, "a bottom prior's labels are the top codes, set by the task"))
  stacked = _config("vq2_top", two)
  stacked.model.pixelcnn.condition_layers = 2
  cases.append((stacked, "model.pixelcnn.condition_layers=2 is for a map of labels"))
  for config, message in cases:
    with pytest.raises(ValueError) as error:
      trainer.validate_config(config)
    assert message in str(error.value)
  trainer.validate_config(_config("vq2_bottom", two, top_prior_workdir=top))  # Valid.


def test_a_top_prior_whose_checkpoint_does_not_restore_is_a_clear_error(vqvae2_run, tmp_path):
  config = _config("vq2_bottom", vqvae2_run[0],
                   top_prior_workdir=_write_top_run(tmp_path / "top", vqvae2_run[0]))
  draw = vq_prior.top_sampler(config, None, likelihood.init_state)  # Restores lazily.
  with pytest.raises(ValueError, match="top_prior_workdir=.*No checkpoint in"):
    draw(jax.random.key(0), 2)
