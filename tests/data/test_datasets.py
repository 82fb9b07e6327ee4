"""Tests for jgen.data.datasets: the one dataset table agrees with TFDS and the toys."""

import pytest
import tensorflow_datasets as tfds

from jgen import data


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "binarized_mnist"])
def test_stored_datasets_match_tfds_features_and_splits(name):
  info = data.dataset_info(name)
  builder_info = tfds.builder_cls(name)
  features = builder_info(data_dir="/nonexistent").info.features
  assert tuple(features["image"].shape) == info.shape
  assert ("label" in features) == info.has_labels
  if info.has_labels:
    assert features["label"].num_classes == info.num_classes
  assert "train" in info.splits and "test" in info.splits and not info.is_toy


def test_toys_and_bad_names():
  for name in data.TOY_NAMES:
    info = data.dataset_info(name)
    assert info.is_toy and info.shape == (2,) and not info.has_labels
  with pytest.raises(ValueError, match=r"data.name='mnits' is not valid; choose from \('mnist'"):
    data.dataset_info("mnits")
