r"""The evaluation suite's cost on 10,000 samples, and its reference rows.

  python -m benchmarks.sample_quality --dataset=mnist --npz_dir=../shared/data

Prints JSON lines:

- ``timing``: seconds for 10,000 samples through feature extraction, FID, KID (100
  subsets of 1,000), Inception Score, precision/recall and density/coverage (the issue's
  ≤ 2-minute budget), then separately the two-sample tests at ``--two_sample_size``
  points per side and the data-copying test (which also needs the training features);
- one row per reference set, scored against the test split with every metric:
  ``train`` (10,000 real training images: the floor; its data-copying score flags them,
  as they are training images), ``blurred`` (the same, Gaussian blur σ = 1 px),
  ``noise`` (uniform pixels), ``one_image`` (a single test image repeated).
"""

import json
import time

from absl import app
from absl import flags
import jax
import numpy as np

from jgen import data
from jgen.metrics import feature_networks
from jgen.metrics import suite

_DATASET = flags.DEFINE_string("dataset", "mnist", "Dataset (TFDS name).")
_NETWORK = flags.DEFINE_string("feature_network", None, "Default: the dataset's.")
_NPZ_DIR = flags.DEFINE_string("npz_dir", "../shared/data", "Directory of the .npz files.")
_NUM = flags.DEFINE_integer("num_samples", 10_000, "Samples per row.")
_TWO_SAMPLE_SIZE = flags.DEFINE_integer("two_sample_size", 1000, "Points per side.")
_ROWS = flags.DEFINE_list("rows", ["train", "blurred", "noise", "one_image"], "Rows.")

FAST = ("fid", "kid", "inception_score", "class_kl", "precision_recall", "density_coverage")


def gaussian_blur(images: np.ndarray, sigma: float = 1.0) -> np.ndarray:
  """Separable Gaussian blur of uint8 NHWC images (radius 3σ, edges clamped)."""
  radius = int(3 * sigma)
  taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
  taps /= taps.sum()
  x = images.astype(np.float32)
  for axis in (1, 2):
    padded = np.pad(x, [(radius, radius) if a == axis else (0, 0) for a in range(4)],
                    mode="edge")
    x = sum(w * np.take(padded, np.arange(i, i + x.shape[axis]), axis=axis)
            for i, w in enumerate(taps))
  return np.clip(np.round(x), 0, 255).astype(np.uint8)


def main(argv):
  del argv
  info = data.dataset_info(_DATASET.value)
  network = feature_networks.load_feature_network(_NETWORK.value or info.name)
  t = time.perf_counter()
  reference = suite.load_reference(network, info.name, npz_dir=_NPZ_DIR.value)
  reference_s = time.perf_counter() - t
  rng = np.random.default_rng(0)
  train = reference.train_images[:_NUM.value]
  rows = {
      "train": lambda: train,
      "blurred": lambda: gaussian_blur(train),
      "noise": lambda: rng.integers(0, 256, train.shape, dtype=np.uint8),
      "one_image": lambda: np.repeat(reference.test_images[:1], _NUM.value, axis=0),
  }
  key = jax.random.key(0)

  def timed(metrics, samples):
    t = time.perf_counter()
    scores = suite.score_samples(samples, reference, network, key, metrics=metrics,
                                 two_sample_size=_TWO_SAMPLE_SIZE.value)
    return scores, round(time.perf_counter() - t, 1)

  suite.score_samples(train[:2000], reference, network, key, metrics=FAST)  # Compile.
  _, fast_s = timed(FAST, train)
  _, two_sample_s = timed(("mmd_test", "c2st"), train)
  _, copying_s = timed(("data_copying",), train)
  print(json.dumps({"timing": info.name, "num_samples": int(train.shape[0]),
                    "reference_features_s": round(reference_s, 1),
                    "features_fid_kid_is_prdc_s": fast_s,
                    "two_sample_tests_s": two_sample_s,
                    "two_sample_size": _TWO_SAMPLE_SIZE.value,
                    "data_copying_s": copying_s, "device": jax.devices()[0].device_kind}),
        flush=True)
  for name in _ROWS.value:
    scores, seconds = timed(suite.METRICS, rows[name]())
    print(json.dumps({"row": name, "dataset": info.name, **scores, "seconds": seconds}),
          flush=True)


if __name__ == "__main__":
  app.run(main)
