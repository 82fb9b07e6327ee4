"""Tests for jgen.metrics.classes: Inception Score and the predicted-class histogram."""

import math

import numpy as np
import pytest
from scipy import special
from scipy import stats

from jgen.metrics import classes

C = 10


def _inception_score_reference(logits, num_splits):
  """The original (Salimans et al.) computation: softmax, then entropy per split."""
  preds = special.softmax(np.asarray(logits, np.float64), axis=1)
  n = len(preds)
  scores = []
  for i in range(num_splits):
    part = preds[i * n // num_splits:(i + 1) * n // num_splits]
    py = part.mean(axis=0)
    scores.append(np.exp(np.mean(stats.entropy(part, py[None, :], axis=1))))
  return np.mean(scores), np.std(scores)


def _balanced_one_hot(n, num_classes=C, scale=50.0):
  return scale * np.eye(num_classes)[np.arange(n) % num_classes]


def test_uniform_logits_score_one():
  result = classes.inception_score(np.zeros((100, C)))
  assert set(result) == {"inception_score", "inception_score_std"}
  assert isinstance(result["inception_score"], float)
  np.testing.assert_allclose(result["inception_score"], 1.0, atol=1e-12)
  assert result["inception_score_std"] < 1e-12


@pytest.mark.parametrize("scale", [50.0, 1e4])
def test_confident_balanced_scores_num_classes(scale):
  # Splits of 100 hold every class 10 times; ±1e4 logits stay exact (no log 0).
  result = classes.inception_score(_balanced_one_hot(1000, scale=scale), num_splits=10)
  np.testing.assert_allclose(result["inception_score"], C, rtol=1e-9)
  assert result["inception_score_std"] < 1e-9


def test_one_class_scores_one_and_maximal_kl():
  logits = np.tile(50.0 * np.eye(C)[3], (200, 1))
  np.testing.assert_allclose(classes.inception_score(logits)["inception_score"], 1.0,
                             atol=1e-9)
  np.testing.assert_allclose(classes.class_histogram_kl(logits), math.log(C), rtol=1e-12)
  assert classes.num_classes_covered(logits) == 1
  np.testing.assert_array_equal(classes.class_histogram(logits),
                                200 * np.eye(C, dtype=int)[3])


def test_balanced_histogram():
  logits = _balanced_one_hot(300)
  assert classes.class_histogram_kl(logits) == 0.0
  np.testing.assert_array_equal(classes.class_histogram(logits), np.full(C, 30))
  assert classes.num_classes_covered(logits) == C


@pytest.mark.parametrize("num_splits", [1, 3, 10])
def test_matches_reference_on_random_logits(num_splits):
  logits = np.random.default_rng(num_splits).normal(scale=3.0, size=(503, C))
  mean, std = _inception_score_reference(logits, num_splits)
  result = classes.inception_score(logits, num_splits=num_splits)
  np.testing.assert_allclose(result["inception_score"], mean, rtol=1e-10)
  np.testing.assert_allclose(result["inception_score_std"], std, rtol=1e-8, atol=1e-12)
  # Adding a constant per row leaves every posterior unchanged.
  shifted = logits + np.random.default_rng(0).normal(scale=100.0, size=(503, 1))
  np.testing.assert_allclose(classes.inception_score(shifted, num_splits)["inception_score"],
                             mean, rtol=1e-9)


def test_minus_inf_logits_are_zero_probabilities():
  logits = _balanced_one_hot(40, num_classes=4, scale=5.0)
  masked = logits.copy()
  masked[:, 3] = -np.inf  # class 3 never possible
  expected, _ = _inception_score_reference(masked[:, :3], 2)
  np.testing.assert_allclose(classes.inception_score(masked, 2)["inception_score"],
                             expected, rtol=1e-10)


def test_class_histogram_kl_matches_scipy():
  logits = np.random.default_rng(7).normal(size=(97, C)) + np.linspace(0, 2, C)
  counts = classes.class_histogram(logits)
  assert counts.sum() == 97 and counts.shape == (C,)
  np.testing.assert_array_equal(counts, np.bincount(logits.argmax(1), minlength=C))
  expected = stats.entropy(counts / 97, np.full(C, 1 / C))
  np.testing.assert_allclose(classes.class_histogram_kl(logits), expected, rtol=1e-12)
  np.testing.assert_allclose(classes.class_histogram_kl(logits),
                             math.log(C) - stats.entropy(counts / 97), rtol=1e-12)


def test_num_classes_covered_threshold():
  labels = np.array([0] * 50 + [1] * 45 + [2] * 5)
  logits = np.eye(4)[labels]
  assert classes.num_classes_covered(logits) == 3
  assert classes.num_classes_covered(logits, min_fraction=0.05) == 2
  assert classes.num_classes_covered(logits, min_fraction=0.049) == 3
  with pytest.raises(ValueError, match="min_fraction=1.5"):
    classes.num_classes_covered(logits, min_fraction=1.5)


def test_errors():
  with pytest.raises(ValueError, match="num_splits=11"):
    classes.inception_score(np.zeros((10, 3)), num_splits=11)
  with pytest.raises(ValueError, match="num_splits=0"):
    classes.inception_score(np.zeros((10, 3)), num_splits=0)
  with pytest.raises(ValueError, match=r"shape \(10,\)"):
    classes.class_histogram(np.zeros(10))
  with pytest.raises(ValueError, match="NaN"):
    classes.inception_score(np.full((10, 3), np.nan))
  with pytest.raises(ValueError, match="all -inf"):
    classes.inception_score(np.full((10, 3), -np.inf), num_splits=1)
