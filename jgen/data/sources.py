"""Whole TFDS splits in RAM, never downloaded, optionally built offline from ``.npz``.

jgen reads the real TFDS datasets (same names, versions and features as
``tfds.builder(name)``) from a TFDS data dir in ArrayRecord format, the format with
random access. It never lets TFDS download: an offline ``download_and_prepare`` retries
the original URLs for minutes before failing. A dataset gets into the data dir in one
of two ways:

- online, once: ``tfds.builder(name, data_dir=...).download_and_prepare(
  file_format='array_record')``;
- offline: ``prepare_from_npz`` (or ``load_split(..., npz_dir=...)``) builds the same
  TFDS dataset from a NumPy archive ``<name>.npz`` with keys ``x_<split>`` (uint8
  images) and ``y_<split>`` (labels), e.g. the archives of ``../shared/data``.

Offline building subclasses TFDS's own builder and overrides only
``_split_generators``; images are handed over as PNG bytes encoded with Pillow,
because TFDS encodes NumPy images with TensorFlow, which jgen never requires.

Reading skips TFDS's image decoding and decodes the PNG bytes with Pillow straight into
one preallocated array (1.6–1.9 times as fast as TFDS's decoder on MNIST).

Under ``tfds.testing.mock_data`` (which makes ``is_prepared()`` False and breaks batched
``__getitems__``), ``load_split`` reads the fake examples one by one.

References:
  LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document
  recognition. Proc. IEEE 1998 (MNIST).
  Xiao, Rasul, Vollgraf. Fashion-MNIST. arXiv:1708.07747.
  Krizhevsky. Learning Multiple Layers of Features from Tiny Images. 2009 (CIFAR-10).
  Salakhutdinov, Murray. On the Quantitative Analysis of Deep Belief Networks.
  ICML 2008; Larochelle, Murray. The Neural Autoregressive Distribution Estimator.
  AISTATS 2011 (binarized MNIST).
"""

from collections.abc import Iterator, Mapping
import functools
import io
import os
from pathlib import Path
import tempfile
import time
import types
from typing import Any

from absl import logging
import numpy as np
import PIL.Image
import tensorflow_datasets as tfds

from jgen.data import toy2d
from jgen.data.datasets import DATASETS
from jgen.data.datasets import DatasetInfo

# Records per __getitems__ call: big enough to amortise the call, small enough that
# the encoded chunk stays a few MB.
_CHUNK = 4096
# Pillow checks only these decoders' magic bytes (faster than probing every format).
_PIL_FORMATS = ("PNG", "JPEG")
_CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                  "ship", "truck")


# Stored (TFDS) datasets, from the one dataset table.
_NPZ_SPECS: Mapping[str, DatasetInfo] = types.MappingProxyType(
    {name: info for name, info in DATASETS.items() if not info.is_toy})
_VALID_NAMES = (*_NPZ_SPECS, *toy2d.TOY_NAMES)


class DatasetNotAvailableError(RuntimeError):
  """A dataset is not prepared (in a random-access format) and jgen won't download it."""


def _check_name(name: str) -> None:
  if name in toy2d.TOY_NAMES:
    raise ValueError(
        f"{name!r} is a 2-D toy generated in code, not a stored split: pass the name to "
        "BatchIterator, or draw points with sample_toy.")
  if name not in _NPZ_SPECS:
    raise ValueError(f"Unknown dataset {name!r}; valid names: {', '.join(_VALID_NAMES)}.")


def _png_bytes(image: np.ndarray) -> bytes:
  """uint8 (H, W), (H, W, 1) or (H, W, 3) -> PNG bytes, with Pillow (no TensorFlow)."""
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  buffer = io.BytesIO()
  PIL.Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
  return buffer.getvalue()


@functools.cache
def _offline_builder_cls(name: str) -> type[tfds.core.DatasetBuilder]:
  """TFDS's registered builder for ``name``, reading ``<name>.npz`` instead of URLs."""
  base = tfds.builder_cls(name)
  spec = _NPZ_SPECS[name]

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    if name == "cifar10":  # TFDS's builder reads these from batches.meta.txt.
      self.info.features["label"].names = list(_CIFAR10_NAMES)
    with np.load(self._npz_path) as archive:
      arrays = {split: (archive[f"x_{key}"], archive[f"y_{key}"] if spec.has_labels else None)
                for split, key in spec.splits.items()}
    return {split: self._generate_npz_examples(split, x, y)
            for split, (x, y) in arrays.items()}

  def _generate_npz_examples(self, split, images, labels):
    features = self.info.features
    for i in range(len(images)):
      example = {"image": _png_bytes(images[i])}
      if labels is not None:
        example["label"] = int(labels[i])
      if "id" in features:  # cifar10: 'train_00000', as TFDS's builder names them.
        example["id"] = f"{split}_{i:05d}"
      # TFDS's builders key examples by their index too, so the stored (hash-shuffled)
      # record order is the one a download would give for the same source order.
      yield i, example

  namespace = {
      "name": base.name,
      # Our module, not TFDS's: a subclass must not register into TFDS's namespace.
      "__module__": __name__,
      # Skips the checksums-file lookup that DatasetBuilder.code_path does for classes
      # in packages (it needs importlib_resources, which TFDS doesn't install).
      "code_path": None,
      "_split_generators": _split_generators,
      "_generate_npz_examples": _generate_npz_examples,
  }
  return types.new_class(f"Npz{base.__name__}", (base,), {"skip_registration": True},
                         lambda ns: ns.update(namespace))


def _check_npz(name: str, path: Path, image_shape: tuple[int, ...]) -> None:
  """Raises ValueError unless the archive holds every split the builder needs."""
  spec = _NPZ_SPECS[name]
  with np.load(path) as archive:
    for key in spec.splits.values():
      needed = [f"x_{key}"] + ([f"y_{key}"] if spec.has_labels else [])
      missing = [k for k in needed if k not in archive.files]
      if missing:
        raise ValueError(
            f"{path} lacks {', '.join(missing)}; a {name} archive needs keys "
            f"{', '.join(_npz_keys(name))} (it has {', '.join(archive.files)}).")
      x = archive[f"x_{key}"]
      # Grayscale images may come without their channel axis: (N, 28, 28).
      shapes = {image_shape, image_shape[:2]} if image_shape[-1] == 1 else {image_shape}
      if x.dtype != np.uint8 or x.shape[1:] not in shapes:
        raise ValueError(
            f"{path}: x_{key} must be uint8 images of shape {image_shape}; got "
            f"{x.dtype} {x.shape[1:]}.")
      if spec.has_labels and len(archive[f"y_{key}"]) != len(x):
        raise ValueError(f"{path}: x_{key} and y_{key} have different lengths.")


def _npz_keys(name: str) -> list[str]:
  spec = _NPZ_SPECS[name]
  return [f"{a}_{k}" for k in spec.splits.values()
          for a in (("x", "y") if spec.has_labels else ("x",))]


def prepare_from_npz(name: str, npz_dir: str | os.PathLike, data_dir: str | os.PathLike) -> None:
  """Builds the TFDS dataset ``name`` from ``<npz_dir>/<name>.npz``, offline.

  The result is the dataset ``tfds.builder(name, data_dir=data_dir)`` expects: TFDS's
  own name, version and features, ArrayRecord files, split sizes from the archive.
  Split ``s`` comes from keys ``x_<s>`` (uint8 images, ``(N, H, W)`` or
  ``(N, H, W, C)``) and ``y_<s>`` (labels ``(N,)``); ``binarized_mnist`` reads
  ``x_train``, ``x_valid`` (split ``validation``) and ``x_test``, and no labels. TFDS
  stores the examples in its deterministic hash-shuffled order. Does nothing if the
  dataset is already prepared there (in any format). Takes about 10 s for MNIST.

  Args:
    name: ``'mnist'``, ``'fashion_mnist'``, ``'cifar10'`` or ``'binarized_mnist'``.
    npz_dir: folder holding ``<name>.npz``.
    data_dir: TFDS data dir to build into (``<data_dir>/<name>/<version>/``).

  Raises:
    ValueError: on an unknown name, or an archive with missing keys or wrong shapes.
    FileNotFoundError: if ``<npz_dir>/<name>.npz`` does not exist.

  References:
    TFDS, "Add a dataset": https://www.tensorflow.org/datasets/add_dataset.
  """
  _check_name(name)
  builder = _offline_builder_cls(name)(data_dir=os.fspath(data_dir),
                                       file_format="array_record")
  if builder.is_prepared():
    logging.info("%s %s is already prepared in %s.", name, builder.version, builder.data_dir)
    return
  path = Path(npz_dir) / f"{name}.npz"
  if not path.is_file():
    raise FileNotFoundError(f"No {path.name} in {npz_dir} (looked for {path}).")
  _check_npz(name, path, tuple(builder.info.features["image"].shape))
  builder._npz_path = path  # pylint: disable=protected-access
  logging.info("Building %s %s from %s into %s (offline).", name, builder.version, path,
               builder.data_dir)
  start = time.perf_counter()
  # A throwaway download dir, else an empty <data_dir>/downloads/ stays behind.
  with tempfile.TemporaryDirectory() as download_dir:
    try:
      builder.download_and_prepare(
          download_dir=download_dir,
          download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    except FileExistsError:
      # Several processes of a multi-host run built into one shared data_dir at once:
      # another one finished first, and its copy is the same.
      fresh = _offline_builder_cls(name)(data_dir=os.fspath(data_dir),
                                         file_format="array_record")
      if not fresh.is_prepared():
        raise
      logging.info("%s was built by another process meanwhile.", name)
      return
  logging.info("Built %s in %.1f s: %s.", name, time.perf_counter() - start,
               {s: info.num_examples for s, info in builder.info.splits.items()})


def _tfds_is_mocked() -> bool:
  """Whether ``tfds.testing.mock_data`` is active.

  The mock replaces ``DatasetBuilder.as_data_source`` by a generator of fake examples
  (and makes ``is_prepared()`` False), so we look for TFDS's own method by name.
  """
  method = tfds.core.DatasetBuilder.as_data_source
  return (getattr(method, "__module__", None), getattr(method, "__qualname__", None)) != (
      "tensorflow_datasets.core.dataset_builder", "DatasetBuilder.as_data_source")


def _not_available_message(name: str, builder: tfds.core.DatasetBuilder,
                           npz_dir: str | os.PathLike | None) -> str:
  root = builder.data_dir_root
  npz_note = "" if npz_dir is None else f" and {Path(npz_dir) / f'{name}.npz'} does not exist"
  return (
      f"Dataset {name!r} (TFDS {name} {builder.version}) is not prepared in data_dir "
      f"{root} (no {builder.data_dir}){npz_note}, and jgen never downloads. Provide it "
      f"in one of two ways: online, once: tfds.builder({name!r}, data_dir={str(root)!r})"
      ".download_and_prepare(file_format='array_record'); or offline: pass npz_dir=<a "
      f"folder holding {name}.npz with keys {', '.join(_npz_keys(name))}> (e.g. "
      "../shared/data) and jgen builds the dataset into data_dir.")


def _decode_image(value: Any, shape: tuple[int, ...]) -> np.ndarray:
  if isinstance(value, bytes):
    with PIL.Image.open(io.BytesIO(value), formats=_PIL_FORMATS) as image:
      value = np.asarray(image)
  return np.asarray(value).reshape(shape)


def _chunks(n: int, size: int) -> Iterator[range]:
  for start in range(0, n, size):
    yield range(start, min(n, start + size))


def _read_all(source, *, image_shape: tuple[int, ...], has_label: bool, batched: bool,
              what: str) -> dict[str, np.ndarray]:
  """Reads every record of a random-access source into preallocated arrays."""
  n = len(source)
  images = np.empty((n, *image_shape), np.uint8)
  labels = np.empty((n,), np.int32) if has_label else None
  start, next_log = time.perf_counter(), n // 4
  for keys in _chunks(n, _CHUNK):
    records = source.__getitems__(list(keys)) if batched else [source[i] for i in keys]
    for i, record in zip(keys, records, strict=True):
      images[i] = _decode_image(record["image"], image_shape)
      if labels is not None:
        labels[i] = record["label"]
    if keys.stop >= next_log and keys.stop < n:
      logging.info("Reading %s: %d/%d examples.", what, keys.stop, n)
      next_log += n // 4
  logging.info("Read %s: %d examples in %.1f s.", what, n, time.perf_counter() - start)
  return {"image": images} if labels is None else {"image": images, "label": labels}


def load_split(name: str, split: str, *, data_dir: str | os.PathLike | None = None,
               npz_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
  """Loads a whole TFDS split into RAM as NumPy arrays, without ever downloading.

  Looks for TFDS's ``name`` in ``data_dir``; if it is not prepared there and
  ``npz_dir`` holds ``<name>.npz``, builds it first with ``prepare_from_npz``. Records
  keep TFDS's stored order (a deterministic hash shuffle of the source order).
  MNIST train (60,000 images) takes about 5 s on a busy 2-core machine, mostly TFDS's
  record parsing and Pillow's PNG decoding.

  Args:
    name: ``'mnist'``, ``'fashion_mnist'``, ``'cifar10'`` or ``'binarized_mnist'``.
    split: a TFDS split, e.g. ``'train'``, ``'test'``, ``'validation'`` (binarized
      MNIST) or a slice such as ``'train[:1000]'``.
    data_dir: TFDS data dir; default TFDS's (``$TFDS_DATA_DIR`` or
      ``~/tensorflow_datasets``).
    npz_dir: optional folder holding ``<name>.npz`` to build from when the dataset is
      not prepared.

  Returns:
    ``{'image': uint8 (N, H, W, C), 'label': int32 (N,)}``; binarized MNIST has no
    ``'label'`` and pixel values ``{0, 1}``.

  Raises:
    ValueError: on an unknown (or toy) dataset name.
    DatasetNotAvailableError: if the dataset is neither prepared in ``data_dir`` nor
      buildable from ``npz_dir``, or is prepared in a format without random access
      (TFRecord, as a plain ``tfds.load`` writes).

  Example:
    >>> from jgen import data
    >>> train = data.load_split("mnist", "train", npz_dir="../shared/data")  # doctest: +SKIP
    >>> train["image"].shape, train["label"].shape  # doctest: +SKIP
    ((60000, 28, 28, 1), (60000,))
  """
  _check_name(name)
  data_dir = None if data_dir is None else os.fspath(data_dir)
  what = f"{name}/{split}"
  builder = tfds.builder(name, data_dir=data_dir)
  features = builder.info.features
  read = functools.partial(_read_all, image_shape=tuple(features["image"].shape),
                           has_label="label" in features, what=what)
  if _tfds_is_mocked():
    # Fake examples come decoded; the mock's __getitems__ is broken in TFDS 4.9.10.
    return read(builder.as_data_source(split=split), batched=False)

  if not builder.is_prepared():
    if npz_dir is None or not (Path(npz_dir) / f"{name}.npz").is_file():
      raise DatasetNotAvailableError(_not_available_message(name, builder, npz_dir))
    prepare_from_npz(name, npz_dir, builder.data_dir_root)
    builder = tfds.builder(name, data_dir=os.fspath(builder.data_dir_root))

  usable = builder.info.available_file_formats() & set(
      tfds.core.file_adapters.FileFormat.with_random_access())
  if not usable:
    stored = ", ".join(sorted(f.value for f in builder.info.available_file_formats()))
    raise DatasetNotAvailableError(
        f"Dataset {name!r} is prepared in {builder.data_dir} as {stored or 'unknown'} "
        "(as a plain tfds.load writes it), but jgen reads records by index, which needs "
        f"array_record. Prepare it again in another data_dir: online, "
        f"tfds.builder({name!r}, data_dir=...).download_and_prepare("
        "file_format='array_record'); or offline, pass that data_dir and npz_dir=<a "
        f"folder holding {name}.npz> (e.g. ../shared/data).")
  logging.info("Loading %s from %s.", what, builder.data_dir)
  # Keep the PNG bytes: decoding them ourselves into one array beats TFDS's decoder.
  source = builder.as_data_source(split=split,
                                  decoders={"image": tfds.decode.SkipDecoding()})
  return read(source, batched=hasattr(source, "__getitems__"))
