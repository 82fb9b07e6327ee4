"""jgen's feature networks: trained classifiers whose features the sample metrics compare.

Standard FID uses Inception-v3 features; its weights cannot be fetched offline and do not
fit MNIST-like data (pytorch-fid #12). jgen ships one small `ConvClassifier` per
dataset, trained by jgen itself (``experiments/configs/feature_network.py``), as a
weights file ``jgen/metrics/weights/<name>.npz``: plain arrays (loaded with
``allow_pickle=False``), the architecture as JSON, and a SHA-256 checked on load.
Scores computed with these networks compare with each other, not with published
Inception-FID numbers. Every metric takes features, so any other network plugs in.
"""

from collections.abc import Mapping
import functools
import hashlib
import json
import os
import types
from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jgen.models.classifier import ConvClassifier
from jgen.typing import ArrayLike

WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")
_ARCH_KEY = "__architecture__"

# name → SHA-256 of the shipped weights file (printed by experiments.export_feature_network).
CHECKSUMS: Mapping[str, str] = types.MappingProxyType({
    "mnist": "ed1070d6420ca93d355b25ef236cd2fcb5ceb0b4ba5003ba013cc7661b900530",
    "binarized_mnist": "7eab5575e1372fce541597ee7b1094637536342ceaf7c93301a3bbc0c48299cf",
    "fashion_mnist": "4288dfa1a24c00222fe03d4613330f744e7d639c16f81c0410fa5922efc9ada7",
    "cifar10": "b7249de4b49d3abad42313f8794588bd84bfac94ba873033dff7e52c4c96dbf7",
})


class FeatureNetwork(NamedTuple):
  """A trained classifier as two batched functions of uint8 images.

  Attributes:
    name: the dataset it was trained on (or the file's name).
    model: the `ConvClassifier`.
    params: its parameters.
  """

  name: str
  model: ConvClassifier
  params: Any

  def features_and_logits(self, images: ArrayLike, batch_size: int = 500
                          ) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, D), logits (N, C))`` of uint8 ``(N, H, W, C)`` images, in batches.

    Pixels are read as ``x / 255`` (binary images must hold {0, 255}).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
      raise ValueError(f"FeatureNetwork({self.name}): images must be uint8 0-255, got "
                       f"{images.dtype}.")
    parts = [_apply(self.model, self.params, images[s:s + batch_size])
             for s in range(0, images.shape[0], batch_size)]
    return (np.concatenate([np.asarray(p[0]) for p in parts]),
            np.concatenate([np.asarray(p[1]) for p in parts]))


@functools.partial(jax.jit, static_argnums=0)
def _apply(model, params, images):
  return model.apply({"params": params}, images.astype(jnp.float32) / 255.0,
                     method="features_and_logits")


def _sha256(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def save_feature_network(path: str, model: ConvClassifier, params: Any) -> str:
  """Writes ``model``'s architecture and ``params`` to ``path`` (.npz); returns its SHA-256."""
  arrays = {"/".join(k): np.asarray(v)
            for k, v in flax.traverse_util.flatten_dict(flax.core.unfreeze(params)).items()}
  arch = {"num_classes": model.num_classes, "widths": list(model.widths),
          "convs_per_block": model.convs_per_block, "groups": model.groups,
          "dense_width": model.dense_width}
  arrays[_ARCH_KEY] = np.frombuffer(json.dumps(arch).encode(), np.uint8)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "wb") as f:
    np.savez(f, **arrays)
  return _sha256(path)


def load_feature_network(name_or_path: str) -> FeatureNetwork:
  """jgen's feature network for a dataset name (checksum-verified), or any saved file.

  Args:
    name_or_path: a name of ``CHECKSUMS`` (e.g. ``'mnist'``) or the path of a file
      written by `save_feature_network`.

  Raises:
    ValueError: for an unknown name, or a shipped file whose checksum differs.
    FileNotFoundError: when the file does not exist.
  """
  if name_or_path in CHECKSUMS:
    path = os.path.join(WEIGHTS_DIR, f"{name_or_path}.npz")
    digest = _sha256(path)
    if digest != CHECKSUMS[name_or_path]:
      raise ValueError(f"{path}: SHA-256 {digest} is not the shipped "
                       f"{CHECKSUMS[name_or_path]}; retrain it with "
                       "experiments/configs/feature_network.py or reinstall jgen.")
    name = name_or_path
  elif os.path.sep in name_or_path or name_or_path.endswith(".npz"):
    path, name = name_or_path, os.path.splitext(os.path.basename(name_or_path))[0]
    if not os.path.exists(path):
      raise FileNotFoundError(f"No feature-network file {path}.")
  else:
    raise ValueError(f"feature network {name_or_path!r} is not valid; choose from "
                     f"{tuple(CHECKSUMS)} or give the path of a saved .npz.")
  with np.load(path, allow_pickle=False) as f:
    arrays = dict(f)
  arch = json.loads(arrays.pop(_ARCH_KEY).tobytes().decode())
  arch["widths"] = tuple(arch["widths"])
  params = flax.traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v)
                                              for k, v in arrays.items()})
  return FeatureNetwork(name=name, model=ConvClassifier(**arch), params=params)


__all__ = ["CHECKSUMS", "FeatureNetwork", "WEIGHTS_DIR", "load_feature_network",
           "save_feature_network"]
