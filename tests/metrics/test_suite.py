"""The sample-quality suite: real-vs-real scores near the floor, noise and copies flagged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.metrics import FeatureNetwork
from jgen.metrics import suite
from jgen.models import ConvClassifier


def _digits(rng, n):
  """Synthetic 12×12 'digits': a bright bar at one of 4 positions/orientations + noise."""
  images = rng.normal(20, 10, (n, 12, 12, 1))
  kind = rng.integers(0, 4, n)
  for i, k in enumerate(kind):
    offset = rng.integers(2, 9)
    if k < 2:
      images[i, offset, 1 + 5 * k:6 + 5 * k] = 230
    else:
      images[i, 1 + 5 * (k - 2):6 + 5 * (k - 2), offset] = 230
  return np.clip(images, 0, 255).astype(np.uint8)


@pytest.fixture(name="setup", scope="module")
def _setup():
  rng = np.random.default_rng(0)
  model = ConvClassifier(num_classes=4, widths=(8, 16), groups=4)
  params = model.init(jax.random.key(0), jnp.zeros((1, 12, 12, 1)))["params"]
  network = FeatureNetwork("toy", model, params)
  reference = suite.make_reference(network, _digits(rng, 1500), _digits(rng, 600),
                                   rng.integers(0, 4, 600))
  return rng, network, reference


def _score(setup, samples, metrics):
  _, network, reference = setup
  return suite.score_samples(samples, reference, network, jax.random.key(1), metrics=metrics,
                             two_sample_size=200, kid_subset_size=200)


def test_fresh_real_images_score_near_the_floor_and_noise_far_from_it(setup):
  rng = setup[0]
  metrics = ("fid", "kid", "precision_recall", "density_coverage", "mmd_test", "c2st",
             "inception_score", "class_kl")
  real = _score(setup, _digits(rng, 600), metrics)
  noise = _score(setup, rng.integers(0, 256, (600, 12, 12, 1), dtype=np.uint8), metrics)
  assert real["fid"] < 0.1 * noise["fid"]
  assert abs(real["kid_mean"]) < 3 * real["kid_std"] + 1e-3 < noise["kid_mean"]
  assert real["precision"] > 0.6 and real["recall"] > 0.6
  assert noise["precision"] < 0.05 and noise["coverage"] < 0.05
  assert real["mmd_p_value"] > 0.01 and noise["mmd_p_value"] < 0.01
  assert real["c2st_p_value"] > 0.01 and noise["c2st_p_value"] < 0.01
  assert 0.35 < real["c2st_accuracy"] < 0.65 < 0.95 < noise["c2st_accuracy"]
  assert real["num_samples"] == 600 and real["two_sample_size"] == 200
  assert real["inception_score"] >= 1.0 and real["class_kl"] >= 0.0


def test_training_copies_are_flagged_and_held_out_images_are_not(setup):
  rng, _, reference = setup
  copies = np.clip(reference.train_images[:600].astype(int) + rng.integers(-1, 2, (600, 12, 12, 1)),
                   0, 255).astype(np.uint8)
  copied = _score(setup, copies, ("data_copying",))
  fresh = _score(setup, _digits(rng, 600), ("data_copying",))
  assert copied["data_copying_c_t"] < -3
  assert abs(fresh["data_copying_c_t"]) < 3


def test_memorisation_figure_and_bad_input_messages(setup):
  rng, network, reference = setup
  figure = suite.memorisation_figure(_digits(rng, 10), reference, network, num=4, k=2)
  assert figure.dtype == np.uint8 and figure.ndim == 3
  with pytest.raises(ValueError, match="dtype float32; expected uint8"):
    suite.check_samples(np.zeros((4, 12, 12, 1), np.float32), (12, 12, 1))
  with pytest.raises(ValueError, match=r"shape \(4, 12, 12\); expected \(N, 12, 12, 1\)"):
    suite.check_samples(np.zeros((4, 12, 12), np.uint8), (12, 12, 1))
  with pytest.raises(ValueError, match="only hold values \\[0, 1\\]"):
    suite.check_samples(np.eye(12, dtype=np.uint8)[None, ..., None].repeat(3, 0), (12, 12, 1))
  with pytest.raises(ValueError, match=r"\['fud'\] not valid; choose from"):
    suite.check_metrics(["fid", "fud"])


def test_class_accuracy_is_the_classifiers_agreement_with_the_sample_labels(setup):
  rng, network, reference = setup
  samples = _digits(rng, 200)
  predicted = np.argmax(network.features_and_logits(samples)[1], axis=-1)
  wrong = (predicted + 1) % 4
  half = np.where(np.arange(200) < 50, predicted, wrong)  # A quarter right.
  for labels, expected in ((predicted, 1.0), (wrong, 0.0), (half, 0.25)):
    scores = suite.score_samples(samples, reference, network, jax.random.key(1),
                                 metrics=("class_accuracy",), labels=labels)
    assert scores["class_accuracy"] == pytest.approx(expected)
  assert "class_accuracy" not in suite.score_samples(  # Unconditional samples: skipped.
      samples, reference, network, jax.random.key(1), metrics=("class_accuracy",))
