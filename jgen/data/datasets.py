"""The one table of datasets jgen knows: name → example shape, splits, labels.

Every part of jgen that needs a dataset's shape or splits reads it here: the TFDS
offline builder (`jgen.data.sources`), the tasks that build models before any data is
loaded (restoring a checkpoint to sample from needs only the shape), and config
validation.

- Stored datasets (TFDS names): uint8 images ``(H, W, C)``; ``splits`` maps each
  TFDS split to the key suffix of its ``.npz`` archive (split ``'validation'`` of
  ``binarized_mnist`` reads ``x_valid``).
- 2-D toys (`jgen.data.toy2d`): float32 points ``(2,)``, an endless stream, no splits.
"""

from collections.abc import Mapping
import types
from typing import NamedTuple

from jgen.data import toy2d


class DatasetInfo(NamedTuple):
  """What jgen knows about a dataset without loading it.

  Attributes:
    name: the TFDS (or toy) name.
    shape: the shape of one example, ``(H, W, C)`` or ``(2,)`` for a toy.
    splits: TFDS split → ``.npz`` key suffix; empty for a toy.
    num_classes: number of label classes; 0 when the dataset has no labels.
    binary: pixel values are {0, 1} (binarized MNIST), not 0-255.
  """

  name: str
  shape: tuple[int, ...]
  splits: Mapping[str, str]
  num_classes: int
  binary: bool = False

  @property
  def is_toy(self) -> bool:
    return not self.splits

  @property
  def has_labels(self) -> bool:
    return self.num_classes > 0


_TRAIN_TEST = types.MappingProxyType({"train": "train", "test": "test"})

DATASETS: Mapping[str, DatasetInfo] = types.MappingProxyType({
    "mnist": DatasetInfo("mnist", (28, 28, 1), _TRAIN_TEST, 10),
    "fashion_mnist": DatasetInfo("fashion_mnist", (28, 28, 1), _TRAIN_TEST, 10),
    "cifar10": DatasetInfo("cifar10", (32, 32, 3), _TRAIN_TEST, 10),
    # TFDS's binarized_mnist has no label feature (an npz may hold y_*; unused).
    "binarized_mnist": DatasetInfo(
        "binarized_mnist", (28, 28, 1),
        types.MappingProxyType({"train": "train", "validation": "valid", "test": "test"}),
        0, binary=True),
    **{name: DatasetInfo(name, (2,), types.MappingProxyType({}), 0)
       for name in toy2d.TOY_NAMES},
})


def dataset_info(name: str) -> DatasetInfo:
  """The ``DatasetInfo`` of ``name``.

  Raises:
    ValueError: naming the bad value and the valid names.
  """
  if name not in DATASETS:
    raise ValueError(f"data.name={name!r} is not valid; choose from {tuple(DATASETS)}.")
  return DATASETS[name]


__all__ = ["DATASETS", "DatasetInfo", "dataset_info"]
