"""The sample-quality evaluator the trainer adds to every image task (`jgen.metrics.suite`).

Config (``eval`` section; every field optional, off by default):

- ``sample_metrics``: metric names run at the end on the samples of ``samples.npz``
  (``eval.num_samples`` of them), e.g. ``('fid', 'kid', 'precision_recall')``;
- ``periodic_sample_metrics``: a cheap subset run every ``eval.every`` steps on
  ``eval.periodic_num_samples`` fresh samples (the ``'eval'`` stream), e.g. ``('fid',)``;
- ``feature_network``: a name of `jgen.metrics.feature_networks.CHECKSUMS` or a path;
  default: the dataset's own (the metrics are skipped, with a warning, when jgen ships
  none for the dataset).

Metrics are logged as ``eval_<name>`` (``eval_fid``, ``eval_kid_mean``, …); the final
evaluation also saves the nearest-training-neighbour figure.
"""

from collections.abc import Callable
import os

from absl import logging
import jax
import ml_collections
import numpy as np

from jgen.data import DatasetInfo
from jgen.figures import save_png
from jgen.metrics import feature_networks
from jgen.metrics import suite

# A module import, not names: the trainer imports this module while jgen.tasks.base
# is still initialising.
from jgen.tasks import base
from jgen.train import rng

# (state, stream, num) -> (uint8 images, labels or None): the trainer's cached sampler.
Draw = Callable[..., tuple[np.ndarray, np.ndarray | None]]


def _names(config: ml_collections.ConfigDict) -> tuple[tuple[str, ...], tuple[str, ...]]:
  return (tuple(config.eval.get("sample_metrics", ())),
          tuple(config.eval.get("periodic_sample_metrics", ())))


def network_name(config: ml_collections.ConfigDict) -> str | None:
  """``eval.feature_network``, or the dataset's own; None when that one is not shipped."""
  if config.eval.get("feature_network", ""):
    return config.eval.feature_network
  name = config.data.name
  return name if name in feature_networks.CHECKSUMS else None


def validate(config: ml_collections.ConfigDict, info: DatasetInfo) -> None:
  """Checks the sample-metric fields; raises ``ValueError`` naming a bad value."""
  final, periodic = _names(config)
  if not (final or periodic):
    return
  if info.is_toy:
    raise ValueError(f"eval.sample_metrics are for images; data.name={info.name!r} is a "
                     "2-D toy.")
  for name, metrics in (("eval.sample_metrics", final),
                        ("eval.periodic_sample_metrics", periodic)):
    if metrics:
      try:
        suite.check_metrics(metrics)
      except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
  if periodic:
    base.check_positive(config, "eval.periodic_num_samples")
  network = network_name(config)
  if network is None:
    logging.warning("No feature network ships for %s (choose from %s): sample-quality "
                    "metrics are off; set eval.feature_network to a weights file to run "
                    "them.", info.name, tuple(feature_networks.CHECKSUMS))
  elif network not in feature_networks.CHECKSUMS and not os.path.exists(network):
    raise ValueError(f"eval.feature_network={network!r} is not valid; choose from "
                     f"{tuple(feature_networks.CHECKSUMS)} or give the path of a weights "
                     "file (experiments/configs/feature_network.py trains one).")


def make_evaluator(config: ml_collections.ConfigDict, info: DatasetInfo, draw: Draw,
                   workdir: str) -> Callable[..., dict] | None:
  """The evaluator scoring the task's samples, or None when no sample metric is set."""
  final_metrics, periodic_metrics = _names(config)
  if not (final_metrics or periodic_metrics) or network_name(config) is None:
    return None
  cache = {}

  def reference():
    if not cache:  # Real features: once per run, at the first evaluation.
      cache["network"] = feature_networks.load_feature_network(network_name(config))
      cache["reference"] = suite.load_reference(
          cache["network"], info.name, split=config.eval.split,
          npz_dir=config.data.npz_dir or None, data_dir=config.data.data_dir or None)
    return cache["network"], cache["reference"]

  def evaluate(state, final):
    metrics = final_metrics if final else periodic_metrics
    if not metrics:
      return {}
    network, real = reference()
    if final:
      samples, labels = draw(state, "samples", config.eval.num_samples)
    else:
      samples, labels = draw(state, "eval", config.eval.periodic_num_samples)
    key = rng.stream_key(state.base_key, "eval")
    scores = suite.score_samples(samples, real, network, key, metrics=metrics, labels=labels)
    scores["num_scored_samples"] = scores.pop("num_samples")
    if final and jax.process_index() == 0:
      step = int(state.step)
      save_png(os.path.join(workdir, "figures", f"nearest_neighbours_{step:07d}.png"),
               suite.memorisation_figure(samples, real, network))
    return scores
  return evaluate


__all__ = ["make_evaluator", "network_name", "validate"]
