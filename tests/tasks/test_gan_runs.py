"""Tests for restoring a trained GAN run (the happy path: tests/experiments/test_gan.py)."""

import json

import pytest

from experiments.configs import gan_ring8
from experiments.configs import vae_binarized_mnist
from jgen.tasks import gan_runs


def test_load_trained_run_refuses_what_is_not_an_image_gan_run(tmp_path):
  with pytest.raises(ValueError, match="holds no config.json: not a jgen run"):
    gan_runs.load_trained_run(str(tmp_path))
  for config, task, dataset in [(vae_binarized_mnist.get_config("tiny"), "vae", "binarized_mnist"),
                                (gan_ring8.get_config(), "gan", "ring8")]:
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    with pytest.raises(ValueError, match=f"is a '{task}' run on '{dataset}', not an image GAN"):
      gan_runs.load_trained_run(str(tmp_path))
