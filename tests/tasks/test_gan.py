"""The GAN task's zoo options: config checks, labels for conditional models, the configs."""

import jax
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
  # StyleGAN's running mean of w is model state of the generator.
  assert ("w_avg" in state.g_batch_stats) == (model == "stylegan")
  z = np.zeros((2, gan.latent_size(config, MNIST)), np.float32)
  assert gan.generate_from(state, z, gan.sample_labels(config, MNIST, 2)).shape == (2, 28, 28, 1)
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
    ({"model.arch": "stylegan", "model.conditional": True}, "mnist",
     "model.arch='stylegan' is unconditional"),
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
  with pytest.raises(ValueError, match="Unknown config variant 'stylegan3'"):
    gan_zoo.get_config("stylegan3")
  with pytest.raises(ValueError, match="One model per config"):
    gan_zoo.get_config("sngan,sagan")


def test_weight_clipping_with_spectral_norm_is_refused():
  config = _zoo("sngan")
  config.loss.name = "wasserstein"
  with pytest.raises(ValueError, match="use 'hinge' or 'wgan_gp'"):
    gan.validate(config, MNIST)


def test_progressive_step_follows_the_schedule_and_returns_plain_players():
  config = _zoo("progressive")
  gan.validate(config, MNIST)
  state = gan.init_state(config, MNIST)
  step = jax.jit(gan.train_step(config, MNIST))
  batch = {"image": np.random.default_rng(0).integers(0, 256, (1, 16, 28, 28, 1), np.uint8),
           "label": np.zeros((1, 16), np.int32)}
  progress = []
  for _ in range(5):
    new, metrics = step(state, batch)
    assert new.g_apply is state.g_apply and new.d_apply is state.d_apply
    state = new
    progress.append(float(metrics["progress"]))
  assert progress == [0.0, 0.0, 1.0, 1.0, 2.0]  # Phases of one step in the tiny config.
  # Samples at the run's progress: at p = 2 the full 28×28 level.
  images = gan.sampler(config, MNIST)(state, jax.random.key(0), 4)
  assert images.shape == (4, 28, 28, 1) and images.dtype == np.uint8


def test_progressive_refuses_the_dcgan_options():
  config = _zoo("progressive")
  config.model.conditional = True
  with pytest.raises(ValueError, match="'progressive' is unconditional"):
    gan.validate(config, MNIST)
