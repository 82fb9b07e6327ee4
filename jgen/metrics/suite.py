"""The sample-quality suite: every metric of `jgen.metrics` on one set of generated images.

``score_samples(samples, reference, network, key, metrics=...)`` scores uint8 images
against a `Reference` (the real train and test splits, with their features computed
once); ``python -m experiments.evaluate`` and the trainer's sample evaluator
(`jgen.tasks.sample_quality`) both call it. Real features come from the test split
(FID, KID, precision/recall, density/coverage, the two-sample tests); the training
split is what memorisation is measured against.

Metric names (``METRICS``) and what each reports:

- ``fid``: Fréchet distance of the features (Heusel et al. 2017);
- ``kid``: ``kid_mean``, ``kid_std`` (Bińkowski et al. 2018);
- ``inception_score``: ``inception_score``, ``inception_score_std`` (Salimans et al. 2016),
  with the feature network's softmax;
- ``class_kl``: KL of the predicted-class histogram to uniform (mode collapse);
- ``class_accuracy``: for samples with labels (conditional models), the fraction the
  feature network's classifier assigns to the class they were drawn for;
- ``precision_recall`` (k = 3), ``density_coverage`` (k = 5);
- ``mmd_test``: kernel MMD permutation test, ``mmd2`` and ``mmd_p_value``;
- ``c2st``: classifier two-sample test, ``c2st_accuracy`` and ``c2st_p_value``;
- ``data_copying``: Meehan et al. (2020) ``data_copying_c_t`` (≪ 0: copies), and the mean
  nearest-training-example distances of samples and held-out test images in features;
- ``cas``: Classification Accuracy Score (Ravuri & Vinyals 2019), for samples with labels.
"""

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np

from jgen import data
from jgen.metrics import cas as cas_lib
from jgen.metrics import classes
from jgen.metrics import fid as fid_lib
from jgen.metrics import kid as kid_lib
from jgen.metrics import memorization
from jgen.metrics import prdc
from jgen.metrics import two_sample
from jgen.metrics.feature_networks import FeatureNetwork
from jgen.typing import PRNGKey

# Appended, never inserted: each metric's key is fold_in(key, its index).
METRICS = ("fid", "kid", "inception_score", "class_kl", "precision_recall",
           "density_coverage", "mmd_test", "c2st", "data_copying", "cas", "class_accuracy")
# Cheap enough to run during training on a few thousand samples.
PERIODIC_METRICS = ("fid", "class_kl")


class Reference(NamedTuple):
  """Real images and their features, computed once per dataset and network.

  Attributes:
    train_images, test_images: uint8 ``(N, H, W, C)`` with pixel values 0-255.
    train_features, test_features: ``(N, D)`` feature-network features.
    test_labels: int ``(N,)`` or None.
  """

  train_images: np.ndarray
  train_features: np.ndarray
  test_images: np.ndarray
  test_features: np.ndarray
  test_labels: np.ndarray | None


def make_reference(network: FeatureNetwork, train_images: np.ndarray,
                   test_images: np.ndarray, test_labels: np.ndarray | None = None
                   ) -> Reference:
  """Computes the features of the real splits (uint8 images, pixel values 0-255)."""
  return Reference(train_images=train_images,
                   train_features=network.features_and_logits(train_images)[0],
                   test_images=test_images,
                   test_features=network.features_and_logits(test_images)[0],
                   test_labels=test_labels)


def load_reference(network: FeatureNetwork, dataset: str, *, split: str = "test",
                   npz_dir: str | None = None, data_dir: str | None = None) -> Reference:
  """`make_reference` on a stored dataset's train split and ``split`` (TFDS or .npz).

  Binary datasets (values {0, 1}) are scaled to {0, 255}, as their samples are.

  Raises:
    jgen.data.DatasetNotAvailableError: when the dataset is not prepared.
  """
  info = data.dataset_info(dataset)
  scale = np.uint8(255 if info.binary else 1)
  train = data.load_split(dataset, "train", data_dir=data_dir, npz_dir=npz_dir)
  test = data.load_split(dataset, split, data_dir=data_dir, npz_dir=npz_dir)
  return make_reference(network, train["image"] * scale, test["image"] * scale,
                        test.get("label"))


def check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
  """Returns ``metrics`` as a tuple; raises ``ValueError`` naming an unknown one."""
  bad = [m for m in metrics if m not in METRICS]
  if bad or not metrics:
    raise ValueError(f"metrics={tuple(metrics)!r}: {bad or 'none given'} not valid; choose "
                     f"from {METRICS}.")
  return tuple(metrics)


def check_samples(samples: np.ndarray, shape: Sequence[int], name: str = "samples"
                  ) -> np.ndarray:
  """Checks generated images are uint8 ``(N, *shape)``, ``N ≥ 2``, pixel values 0-255.

  Raises:
    ValueError: naming the bad dtype, shape or value range and the expected one.
  """
  samples = np.asarray(samples)
  if samples.dtype != np.uint8:
    raise ValueError(f"{name} have dtype {samples.dtype}; expected uint8 pixel values "
                     "0-255 (e.g. np.clip(np.round(x * 255), 0, 255).astype(np.uint8)).")
  if samples.shape[1:] != tuple(shape) or samples.shape[0] < 2:
    raise ValueError(f"{name} have shape {samples.shape}; expected "
                     f"(N, {', '.join(map(str, shape))}) with N >= 2 (NHWC).")
  if samples.max() <= 1:
    raise ValueError(f"{name} only hold values {sorted(np.unique(samples).tolist())}; "
                     "expected pixel values 0-255 (binary images as 0/255).")
  return samples


def score_samples(samples: np.ndarray, reference: Reference, network: FeatureNetwork,
                  key: PRNGKey, *, metrics: Sequence[str] = METRICS,
                  labels: np.ndarray | None = None, two_sample_size: int = 1000,
                  kid_subset_size: int = 1000) -> dict[str, float]:
  """Scores generated images with each metric of ``metrics``.

  Args:
    samples: uint8 ``(N, H, W, C)`` generated images.
    reference: the real data (`make_reference`) on the same network.
    network: the feature network.
    key: PRNG key (KID subsets, permutations, classifier initialisations).
    metrics: names from ``METRICS``; ``class_accuracy`` and ``cas`` are skipped when
      ``labels`` is None.
    labels: class labels of the samples (conditional models), for ``class_accuracy``
      and ``cas``.
    two_sample_size: points per side in the two-sample tests (the bandwidth of the MMD
      test is chosen on a disjoint split of the same size).
    kid_subset_size: KID's subset size, capped at the smaller set.

  Returns:
    Flat ``{name: float}``.
  """
  metrics = check_metrics(metrics)
  check_samples(samples, reference.test_images.shape[1:])
  features, logits = network.features_and_logits(samples)
  real = reference.test_features
  keys = {m: jax.random.fold_in(key, i) for i, m in enumerate(METRICS)}
  out: dict[str, float] = {"num_samples": int(samples.shape[0])}
  if "fid" in metrics:
    out["fid"] = fid_lib.frechet_inception_distance(real, features)
  if "kid" in metrics:
    size = min(kid_subset_size, real.shape[0], features.shape[0])
    out |= kid_lib.kernel_inception_distance(real, features, keys["kid"], subset_size=size)
  if "inception_score" in metrics:
    out |= classes.inception_score(logits)
  if "class_kl" in metrics:
    out["class_kl"] = classes.class_histogram_kl(logits)
  if "class_accuracy" in metrics and labels is not None:
    out["class_accuracy"] = float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))
  if "precision_recall" in metrics:
    out |= prdc.precision_recall(real_features=real, generated_features=features)
  if "density_coverage" in metrics:
    out |= prdc.density_coverage(real_features=real, generated_features=features)
  if "mmd_test" in metrics or "c2st" in metrics:
    n = min(two_sample_size, real.shape[0] // 2, features.shape[0] // 2)
    x, y = real[:n], features[:n]  # Test split; the bandwidth comes from the rest.
    if "mmd_test" in metrics:
      bandwidth = two_sample.median_heuristic_bandwidth(real[n:2 * n], features[n:2 * n])
      result = two_sample.mmd_permutation_test(x, y, keys["mmd_test"], bandwidth=bandwidth)
      out |= {"mmd2": float(result.statistic), "mmd_p_value": float(result.p_value),
              "two_sample_size": n}
    if "c2st" in metrics:
      result = two_sample.classifier_two_sample_test(x, y, keys["c2st"])
      out |= {"c2st_accuracy": float(result.statistic), "c2st_p_value": float(result.p_value),
              "two_sample_size": n}
  if "data_copying" in metrics:
    result = memorization.data_copying_test(reference.train_features, real, features,
                                            keys["data_copying"])
    out |= {f"data_copying_{k}": float(v) for k, v in result.items()}
  if "cas" in metrics and labels is not None:
    if reference.test_labels is None:
      raise ValueError("cas needs a labelled test split.")
    out["cas"] = cas_lib.classification_accuracy_score(
        samples, labels, reference.test_images, reference.test_labels, keys["cas"])
  return out


def memorisation_figure(samples: np.ndarray, reference: Reference, network: FeatureNetwork,
                        num: int = 8, k: int = 3) -> np.ndarray:
  """``num`` samples beside their ``k`` nearest training images in pixels, then features."""
  samples = samples[:num]
  _, pixel = memorization.nearest_training_examples(samples, reference.train_images, k=k)
  features = network.features_and_logits(samples)[0]
  _, feature = memorization.nearest_training_examples(features, reference.train_features, k=k)
  return memorization.nearest_neighbour_figure(samples, reference.train_images, pixel,
                                               feature, num=num)


__all__ = ["METRICS", "PERIODIC_METRICS", "Reference", "check_metrics", "check_samples",
           "load_reference", "make_reference", "memorisation_figure", "score_samples"]
