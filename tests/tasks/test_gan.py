"""The GAN task's zoo options: config checks, labels for conditional models, the configs."""

import numpy as np
import pytest

from experiments.configs import gan_ring8
from experiments.configs import gan_zoo
from jgen import data
from jgen.tasks import gan

MNIST = data.dataset_info("mnist")


def _zoo(variant):
  return gan_zoo.get_config(f"{variant},tiny")


@pytest.mark.parametrize("model", gan_zoo.MODELS)
def test_every_zoo_config_validates_and_builds_its_players(model):
  config = _zoo(model)
  gan.validate(config, MNIST)
  state = gan.init_state(config, MNIST)
  conditional = model in ("cgan_concat", "cgan_projection", "biggan")
  assert (gan.num_classes(config, MNIST) == 10) == conditional
  # Spectral norm puts its vectors in the players' model state, never in the params.
  assert bool(state.d_batch_stats) == (config.model.d_spectral_norm or model == "biggan")
  assert ("attention" in state.d_params) == (model == "sagan")
  labels = gan.sample_labels(config, MNIST, 25)
  if conditional:
    np.testing.assert_array_equal(labels, np.arange(25) % 10)
    assert {"class_accuracy", "cas"} <= set(config.eval.sample_metrics)
  else:
    assert labels is None


@pytest.mark.parametrize("overrides,name,match", [
    ({"model.conditional": True}, "ring8", "options of the 'dcgan' players"),
    ({"model.conditional": True}, "binarized_mnist", "needs class labels"),
    ({"model.conditional": True, "model.g_conditioning": "film"}, "mnist",
     "model.g_conditioning='film' is not valid; choose from \\('concat', 'cbn'\\)"),
    ({"model.conditional": True, "model.d_conditioning": "cbn"}, "mnist",
     "model.d_conditioning='cbn'"),
    ({"model.attention_resolution": 7}, "mnist", "model: .*one of \\(14,\\)"),
    ({"model.arch": "biggan"}, "mnist", "'biggan' is class-conditional"),
    ({"loss.g_orthogonal_weight": -1.0}, "mnist", "g_orthogonal_weight=-1.0 must be >= 0"),
])
def test_bad_zoo_options_are_clear_errors(overrides, name, match):
  info = data.dataset_info(name)
  config = gan_ring8.get_config("tiny") if info.is_toy else _zoo("dcgan")
  config.data.name = name
  for key, value in overrides.items():
    section, field = key.split(".")
    config[section][field] = value
  with pytest.raises(ValueError, match=match):
    gan.validate(config, info)


def test_zoo_config_errors():
  with pytest.raises(ValueError, match="Unknown config variant 'stylegan'"):
    gan_zoo.get_config("stylegan")
  with pytest.raises(ValueError, match="One model per config"):
    gan_zoo.get_config("sngan,sagan")


def test_weight_clipping_with_spectral_norm_is_refused():
  config = _zoo("sngan")
  config.loss.name = "wasserstein"
  with pytest.raises(ValueError, match="use 'hinge' or 'wgan_gp'"):
    gan.validate(config, MNIST)
