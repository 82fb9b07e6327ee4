r"""Scores any ``samples.npz`` with jgen's sample-quality suite.

  python -m experiments.evaluate --samples=/tmp/dcgan/samples.npz --dataset=mnist \
      --npz_dir=../shared/data [--metrics=fid,kid,precision_recall]

``samples.npz`` holds ``samples``: uint8 ``(N, H, W, C)`` images with pixel values 0-255
(binary images as 0/255), and optionally ``labels`` (N,) for the Classification
Accuracy Score. Writes ``evaluation.json`` and ``nearest_neighbours.png`` (each of the
first 8 samples beside its 3 nearest training images in pixels, then in features) next
to the samples, and prints the scores as one JSON line. See `jgen.metrics.suite` for the
metrics and their names.
"""

import json
import os
import time

from absl import app
from absl import flags

_SAMPLES = flags.DEFINE_string("samples", None, "The samples.npz to score.")
_DATASET = flags.DEFINE_string("dataset", None, "The real dataset (TFDS name), e.g. mnist.")
_METRICS = flags.DEFINE_list("metrics", None, "Metrics to run (default: all).")
_FEATURE_NETWORK = flags.DEFINE_string(
    "feature_network", None, "A shipped feature network's name or a weights file "
    "(default: the dataset's).")
_NPZ_DIR = flags.DEFINE_string("npz_dir", None, "Directory of <dataset>.npz (offline).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data directory.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the metrics' random draws.")
_TWO_SAMPLE_SIZE = flags.DEFINE_integer("two_sample_size", 1000,
                                        "Points per side in the two-sample tests.")
flags.mark_flags_as_required(["samples", "dataset"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  from jgen import data  # pylint: disable=g-import-not-at-top
  from jgen.figures import save_png  # pylint: disable=g-import-not-at-top
  from jgen.metrics import feature_networks  # pylint: disable=g-import-not-at-top
  from jgen.metrics import suite  # pylint: disable=g-import-not-at-top

  t0 = time.perf_counter()
  try:  # User mistakes: one message each, no traceback.
    info = data.dataset_info(_DATASET.value)
    if info.is_toy:
      raise ValueError(f"--dataset={info.name!r} is a 2-D toy; the suite scores images.")
    metrics = suite.check_metrics(_METRICS.value or suite.METRICS)
    if not os.path.exists(_SAMPLES.value):
      raise ValueError(f"--samples={_SAMPLES.value!r} does not exist.")
    with np.load(_SAMPLES.value, allow_pickle=False) as f:
      if "samples" not in f:
        raise ValueError(f"{_SAMPLES.value} has no array 'samples' (it has {list(f)}).")
      samples = suite.check_samples(f["samples"], info.shape)
      labels = f["labels"] if "labels" in f else None
    network = feature_networks.load_feature_network(_FEATURE_NETWORK.value or info.name)
    reference = suite.load_reference(network, info.name, npz_dir=_NPZ_DIR.value,
                                     data_dir=_DATA_DIR.value)
  except (ValueError, FileNotFoundError, data.DatasetNotAvailableError) as e:
    raise app.UsageError(str(e)) from None
  scores = suite.score_samples(samples, reference, network, jax.random.key(_SEED.value),
                               metrics=metrics, labels=labels,
                               two_sample_size=_TWO_SAMPLE_SIZE.value)
  scores |= {"dataset": info.name, "feature_network": network.name,
             "seconds": round(time.perf_counter() - t0, 1)}
  folder = os.path.dirname(os.path.abspath(_SAMPLES.value))
  with open(os.path.join(folder, "evaluation.json"), "w") as f:
    json.dump(scores, f, indent=2)
  save_png(os.path.join(folder, "nearest_neighbours.png"),
           suite.memorisation_figure(samples, reference, network))
  print(json.dumps(scores))


if __name__ == "__main__":
  app.run(main)
