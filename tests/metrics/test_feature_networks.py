"""Feature networks: shipped files match their checksums; save/load round-trips."""

import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.metrics import feature_networks
from jgen.models import ConvClassifier

# CI clones the repo with ../shared beside it.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.parametrize("dense_width", [0, 24])
def test_save_load_round_trip_gives_the_same_features(tmp_path, dense_width):
  model = ConvClassifier(num_classes=3, widths=(8, 16), groups=4, dense_width=dense_width)
  params = model.init(jax.random.key(0), jnp.zeros((1, 12, 12, 1)))["params"]
  path = str(tmp_path / "net.npz")
  digest = feature_networks.save_feature_network(path, model, params)
  assert len(digest) == 64
  with np.load(path, allow_pickle=False):  # Plain arrays only.
    pass
  net = feature_networks.load_feature_network(path)
  assert net.model == model
  images = np.random.default_rng(0).integers(0, 256, (5, 12, 12, 1), dtype=np.uint8)
  features, logits = net.features_and_logits(images, batch_size=2)
  x = jnp.asarray(images, jnp.float32) / 255.0
  np.testing.assert_allclose(features, model.apply({"params": params}, x, method="features"),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(logits, model.apply({"params": params}, x), rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="must be uint8"):
    net.features_and_logits(images.astype(np.float32))


@pytest.mark.parametrize("name", sorted(feature_networks.CHECKSUMS))
def test_shipped_networks_load_and_match_their_checksums(name):
  net = feature_networks.load_feature_network(name)
  assert net.model.num_classes == 10
  shape = (32, 32, 3) if name == "cifar10" else (28, 28, 1)
  features, logits = net.features_and_logits(np.zeros((2, *shape), np.uint8))
  assert features.shape == (2, net.model.feature_dim) and logits.shape == (2, 10)


def test_checksum_mismatch_and_unknown_names_are_clear(tmp_path, monkeypatch):
  model = ConvClassifier(num_classes=2, widths=(4,), groups=2)
  params = model.init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))["params"]
  feature_networks.save_feature_network(str(tmp_path / "toy.npz"), model, params)
  monkeypatch.setattr(feature_networks, "WEIGHTS_DIR", str(tmp_path))
  monkeypatch.setattr(feature_networks, "CHECKSUMS", {"toy": "0" * 64})
  with pytest.raises(ValueError, match="SHA-256 .* is not the shipped"):
    feature_networks.load_feature_network("toy")
  with pytest.raises(ValueError, match="'imagenet' is not valid; choose from"):
    feature_networks.load_feature_network("imagenet")
  with pytest.raises(FileNotFoundError):
    feature_networks.load_feature_network(os.path.join(str(tmp_path), "missing.npz"))


@pytest.mark.parametrize("name,archive,binarize,accuracy", [
    ("mnist", "mnist", False, 0.985),
    ("binarized_mnist", "mnist", True, 0.975),
    ("fashion_mnist", "fashion_mnist", False, 0.86),
])
def test_shipped_networks_classify_real_test_images(name, archive, binarize, accuracy):
  path = SHARED_DATA / f"{archive}.npz"
  if not path.exists():
    pytest.skip(f"{path} not present")
  with np.load(path) as f:
    images, labels = f["x_test"][:1000, ..., None], f["y_test"][:1000]
  if binarize:  # One dynamic binarization, as the network was tested on.
    images = (np.random.default_rng(0).random(images.shape) < images / 255.0)
    images = images.astype(np.uint8) * 255
  _, logits = feature_networks.load_feature_network(name).features_and_logits(images)
  assert np.mean(logits.argmax(-1) == labels) > accuracy
