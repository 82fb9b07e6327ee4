"""The evaluation-suite fields every image config shares (`jgen.tasks.sample_quality`)."""

import ml_collections

# Everything but the Classification Accuracy Score, which needs labelled samples.
UNCONDITIONAL = ("fid", "kid", "inception_score", "class_kl", "precision_recall",
                 "density_coverage", "mmd_test", "c2st", "data_copying")


def add_sample_metrics(config: ml_collections.ConfigDict, *,
                       periodic: tuple[str, ...] = ("fid", "class_kl")) -> None:
  """Sets ``config.eval``'s suite fields: all metrics at the end, ``periodic`` on 2,000
  fresh samples every ``eval.every`` steps, the dataset's own feature network."""
  config.eval.sample_metrics = UNCONDITIONAL
  config.eval.periodic_sample_metrics = periodic
  config.eval.periodic_num_samples = 2000
  config.eval.feature_network = ""  # The dataset's own (jgen.metrics.feature_networks).


def make_tiny(config: ml_collections.ConfigDict) -> None:
  """Cheap suite fields for the ``tiny`` test variants (a few dozen samples)."""
  config.eval.sample_metrics = ("fid", "class_kl", "precision_recall")
  config.eval.periodic_sample_metrics = ("fid",) if config.eval.periodic_sample_metrics else ()
  config.eval.periodic_num_samples = 20
