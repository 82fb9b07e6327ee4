"""The trainer's sample-quality evaluator: which network, which metrics, when it is off."""

import pytest

from experiments.configs import dcgan_mnist
from experiments.configs import gan_ring8
from jgen import data
from jgen.metrics import feature_networks
from jgen.tasks import sample_quality


def test_the_datasets_own_network_by_default_and_off_where_none_ships(monkeypatch):
  config = dcgan_mnist.get_config("tiny")
  assert sample_quality.network_name(config) == "mnist"
  monkeypatch.setattr(feature_networks, "CHECKSUMS",  # As if no CIFAR-10 network shipped.
                      {k: v for k, v in feature_networks.CHECKSUMS.items() if k != "cifar10"})
  config.data.name = "cifar10"
  assert sample_quality.network_name(config) is None
  sample_quality.validate(config, data.dataset_info("cifar10"))  # A warning, no error.
  assert sample_quality.make_evaluator(config, data.dataset_info("cifar10"),
                                       draw=None, workdir="/unused") is None
  config.eval.feature_network = "mnist"  # Named explicitly: used.
  assert sample_quality.network_name(config) == "mnist"


def test_no_metrics_means_no_evaluator_and_toys_are_refused():
  config = dcgan_mnist.get_config("tiny")
  config.eval.sample_metrics = ()
  config.eval.periodic_sample_metrics = ()
  assert sample_quality.make_evaluator(config, data.dataset_info("mnist"), draw=None,
                                       workdir="/unused") is None
  toy = gan_ring8.get_config("tiny")
  toy.eval.sample_metrics = ("fid",)
  with pytest.raises(ValueError, match="are for images"):
    sample_quality.validate(toy, data.dataset_info("ring8"))
  config.eval.periodic_sample_metrics = ("fid",)
  config.eval.periodic_num_samples = 0
  with pytest.raises(ValueError, match="eval.periodic_num_samples=0 is not valid"):
    sample_quality.validate(config, data.dataset_info("mnist"))
