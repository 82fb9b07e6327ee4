"""Tests for jgen.data.sources: offline TFDS builds, load_split, errors, mock_data."""

import json
from pathlib import Path
import sys
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jgen import data

# CI checks out ../shared beside the clone.
SHARED_DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
MNIST_TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _tiny_npz(npz_dir, name, shape, splits=(("train", 64), ("test", 16)), labels=True):
  """Random uint8 images (and labels) written as <npz_dir>/<name>.npz."""
  rng = np.random.default_rng(0)
  arrays = {}
  for split, n in splits:
    arrays[f"x_{split}"] = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    if labels:
      arrays[f"y_{split}"] = rng.integers(0, 10, n, dtype=np.uint8)
  np.savez(Path(npz_dir) / f"{name}.npz", **arrays)
  return arrays


def _sorted_examples(images, labels=None):
  """Examples in a canonical order (by image bytes), to compare as multisets."""
  flat = images.reshape(len(images), -1)
  order = sorted(range(len(flat)), key=lambda i: flat[i].tobytes())
  return flat[order], (None if labels is None else np.asarray(labels)[order])


def _assert_same_examples(loaded, images, labels=None):
  got_images, got_labels = _sorted_examples(loaded["image"], loaded.get("label"))
  want_images, want_labels = _sorted_examples(images, labels)
  np.testing.assert_array_equal(got_images, want_images)
  if labels is None:
    assert "label" not in loaded
  else:
    np.testing.assert_array_equal(got_labels, want_labels)


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28)), ("cifar10", (32, 32, 3))])
def test_prepare_from_npz_round_trip(tmp_path, name, shape):
  arrays = _tiny_npz(tmp_path, name, shape)
  data_dir = tmp_path / "tfds"
  data.prepare_from_npz(name, tmp_path, data_dir)
  assert [p.name for p in data_dir.iterdir()] == [name]  # No downloads/ left behind.
  builder = tfds.builder(name, data_dir=data_dir)  # TFDS's own builder reads it.
  assert builder.is_prepared()
  assert builder.version == tfds.builder_cls(name).VERSION
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {"train": 64, "test": 16}
  for split in ("train", "test"):
    loaded = data.load_split(name, split, data_dir=data_dir)
    n = len(arrays[f"x_{split}"])
    assert loaded["image"].shape == (n, *shape[:2], shape[2] if len(shape) == 3 else 1)
    assert loaded["image"].dtype == np.uint8 and loaded["label"].dtype == np.int32
    _assert_same_examples(loaded, arrays[f"x_{split}"], arrays[f"y_{split}"])
    # Order: TFDS's record order, as its plain data source yields it.
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    np.testing.assert_array_equal(loaded["image"][[0, -1]],
                                  np.stack([source[0]["image"], source[n - 1]["image"]]))
    assert loaded["label"][0] == source[0]["label"]
  if name == "cifar10":
    assert builder.info.features["label"].names[:2] == ["airplane", "automobile"]
  # Idempotent, and nothing rebuilt.
  stamp = (data_dir / name).stat().st_mtime_ns
  data.prepare_from_npz(name, tmp_path, data_dir)
  assert (data_dir / name).stat().st_mtime_ns == stamp
  assert "tensorflow" not in sys.modules


def test_binarized_mnist_has_three_splits_and_no_label(tmp_path):
  splits = (("train", 24), ("valid", 8), ("test", 8))
  arrays = _tiny_npz(tmp_path, "binarized_mnist", (28, 28), splits=splits, labels=False)
  for key in arrays:
    arrays[key] %= 2
  np.savez(tmp_path / "binarized_mnist.npz", **arrays)
  loaded = data.load_split("binarized_mnist", "validation", data_dir=tmp_path / "tfds",
                           npz_dir=tmp_path)
  assert set(loaded) == {"image"} and loaded["image"].shape == (8, 28, 28, 1)
  _assert_same_examples(loaded, arrays["x_valid"])
  assert set(np.unique(loaded["image"])) <= {0, 1}


def test_load_split_builds_from_npz_once_then_reads_the_prepared_dataset(tmp_path):
  arrays = _tiny_npz(tmp_path, "fashion_mnist", (28, 28))
  data_dir = tmp_path / "tfds"
  first = data.load_split("fashion_mnist", "test", data_dir=data_dir, npz_dir=tmp_path)
  (tmp_path / "fashion_mnist.npz").unlink()  # Now only the prepared dataset can serve.
  again = data.load_split("fashion_mnist", "test", data_dir=data_dir)
  for key in ("image", "label"):
    np.testing.assert_array_equal(first[key], again[key])
  _assert_same_examples(again, arrays["x_test"], arrays["y_test"])
  part = data.load_split("fashion_mnist", "train[:10]", data_dir=data_dir)
  assert part["image"].shape == (10, 28, 28, 1)


def test_not_available_error_is_fast_clear_and_touches_nothing(tmp_path):
  data_dir, npz_dir = tmp_path / "tfds", tmp_path / "npz"
  npz_dir.mkdir()
  start = time.perf_counter()
  with pytest.raises(data.DatasetNotAvailableError) as error:
    data.load_split("mnist", "train", data_dir=data_dir, npz_dir=npz_dir)
  assert time.perf_counter() - start < 5  # No download attempt (it would retry ~200 s).
  message = str(error.value)
  for part in ("'mnist'", str(data_dir), f"{npz_dir / 'mnist.npz'} does not exist",
               f"tfds.builder('mnist', data_dir='{data_dir}')"
               ".download_and_prepare(file_format='array_record')",
               "mnist.npz with keys x_train, y_train, x_test, y_test", "../shared/data"):
    assert part in message
  assert "\n" not in message
  assert not data_dir.exists() and list(npz_dir.iterdir()) == []
  with pytest.raises(data.DatasetNotAvailableError, match="x_train, x_valid, x_test>"):
    data.load_split("binarized_mnist", "test", data_dir=data_dir)


def test_tfrecord_prepared_dataset_gets_a_clear_message(tmp_path):
  # Writing TFRecord needs TensorFlow: fake what a plain tfds.load leaves behind.
  _tiny_npz(tmp_path, "mnist", (28, 28))
  data.prepare_from_npz("mnist", tmp_path, tmp_path / "tfds")
  info = next((tmp_path / "tfds" / "mnist").glob("*/dataset_info.json"))
  meta = json.loads(info.read_text())
  meta["fileFormat"] = "tfrecord"
  info.write_text(json.dumps(meta))
  with pytest.raises(data.DatasetNotAvailableError, match="as tfrecord .* needs array_record"):
    data.load_split("mnist", "train", data_dir=tmp_path / "tfds", npz_dir=tmp_path)


def test_unknown_names_and_bad_archives(tmp_path):
  with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10, binarized_mnist, "
                     "ring8, grid25"):
    data.load_split("mnist2", "train")
  with pytest.raises(ValueError, match="BatchIterator"):
    data.load_split("ring8", "train")
  with pytest.raises(ValueError, match="valid names"):
    data.prepare_from_npz("imagenet", tmp_path, tmp_path)
  with pytest.raises(FileNotFoundError, match="mnist.npz"):
    data.prepare_from_npz("mnist", tmp_path, tmp_path / "tfds")
  np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8))
  with pytest.raises(ValueError, match="lacks y_train"):
    data.prepare_from_npz("mnist", tmp_path, tmp_path / "tfds")
  _tiny_npz(tmp_path, "mnist", (32, 32, 3))
  with pytest.raises(ValueError, match=r"uint8 images of shape \(28, 28, 1\)"):
    data.prepare_from_npz("mnist", tmp_path, tmp_path / "tfds")


def test_load_split_under_tfds_mock_data(tmp_path):
  with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
    mnist = data.load_split("mnist", "train", data_dir=tmp_path)
    binarized = data.load_split("binarized_mnist", "test")
  assert mnist["image"].shape == (5, 28, 28, 1) and mnist["image"].dtype == np.uint8
  assert mnist["label"].shape == (5,) and mnist["label"].dtype == np.int32
  assert ((0 <= mnist["label"]) & (mnist["label"] < 10)).all()
  assert set(binarized) == {"image"} and binarized["image"].shape == (5, 28, 28, 1)
  assert list(tmp_path.iterdir()) == []
  assert "tensorflow" not in sys.modules


@pytest.mark.skipif(not (SHARED_DATA / "mnist.npz").is_file(),
                    reason="needs ../shared/data/mnist.npz beside the clone")
def test_real_mnist_test_split(tmp_path):
  # The real test split (10,000 images) plus a token train split: building all 70,000
  # takes ~10 s, too slow for a unit test.
  with np.load(SHARED_DATA / "mnist.npz") as archive:
    x_test, y_test = archive["x_test"], archive["y_test"]
    np.savez(tmp_path / "mnist.npz", x_train=archive["x_train"][:16],
             y_train=archive["y_train"][:16], x_test=x_test, y_test=y_test)
  loaded = data.load_split("mnist", "test", data_dir=tmp_path / "tfds", npz_dir=tmp_path)
  assert loaded["image"].shape == (10_000, 28, 28, 1)
  assert np.bincount(loaded["label"], minlength=10).tolist() == MNIST_TEST_HISTOGRAM
  _assert_same_examples(loaded, x_test, y_test)
