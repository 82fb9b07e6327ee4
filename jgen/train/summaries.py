"""Training summaries: scalars to JSON lines and TensorBoard, image grids, scatter plots.

``MetricWriter`` is the training loop's only sink: scalars go to
``workdir/metrics.jsonl`` (one JSON object per line, readable with nothing but the
standard library) and to TensorBoard event files in ``workdir/tb`` (written by
tensorboardX, no TensorFlow). ``image_grid`` and ``scatter_plot`` turn samples into
uint8 images for ``MetricWriter.write_images`` and ``save_png``; they draw with
NumPy and Pillow only.

All images here are uint8 ``(H, W, C)`` arrays with ``C`` 1 (grayscale) or 3 (RGB).
"""

from collections.abc import Mapping
import json
import math
import os
import pathlib
from typing import Any

import jax
import numpy as np
from PIL import Image
from PIL import ImageDraw
import tensorboardX

from jgen.typing import ArrayLike

_CHANNELS = (1, 3)

# Scatter-plot colours (RGB): matplotlib's tab:blue and tab:red, light grey.
_BACKGROUND = (255, 255, 255)
_FRAME = (150, 150, 150)
_REFERENCE = (200, 200, 200)
_POINT = (31, 119, 180)
_MODE = (214, 39, 40)


def _check_image(image: ArrayLike, name: str) -> np.ndarray:
  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] not in _CHANNELS:
    raise ValueError(f"{name} must have shape (H, W, C) with C in {_CHANNELS}; "
                     f"got {image.shape}.")
  if image.dtype != np.uint8:
    raise ValueError(f"{name} must be uint8 in [0, 255]; got {image.dtype}.")
  return image


def _to_float(name: str, value: Any) -> float:
  array = np.asarray(value)
  if array.ndim != 0:
    raise ValueError(f"Scalar {name!r} must be 0-d; got shape {array.shape} "
                     "(unreplicate or reduce it first).")
  return float(array)


def _json_default(value: Any) -> Any:
  """Makes NumPy/JAX values and anything else in a config JSON-serialisable."""
  if isinstance(value, np.generic):
    return value.item()
  if hasattr(value, "__array__"):
    return np.asarray(value).tolist()
  if isinstance(value, (set, frozenset)):
    return sorted(value, key=repr)
  return repr(value)


class MetricWriter:
  """Writes training scalars, images and the config of one run to its workdir.

  Files (``workdir`` is created if missing):

  - ``metrics.jsonl``: one line ``{"step": step, name: value, ...}`` per
    ``write_scalars`` call, values as Python floats, flushed at every call so a
    crash loses nothing already written. The file is opened in append mode: a
    resumed run adds its lines after the old ones (a step replayed after a restore
    from an older checkpoint appears twice; readers keep the last). Non-finite
    values are written as ``NaN``/``Infinity``, which Python's ``json`` reads back
    (as does big_vision's JSON-lines writer) though strict JSON parsers do not.
  - ``tb/events.out.tfevents.*``: TensorBoard scalars, images and the config as
    text, via tensorboardX (flushed by ``flush``/``close`` and every 2 minutes).
  - ``config.json``: the run's config, from ``write_config``.

  With ``enabled=False`` the writer touches no file and every method is a no-op,
  so every process of a multi-host run can call it and only process 0 writes:
  ``MetricWriter(workdir, enabled=jax.process_index() == 0)``.

  Args:
    workdir: the run's directory, a local path.
    enabled: whether to write at all.

  Example:
    >>> import json, tempfile
    >>> workdir = tempfile.mkdtemp()
    >>> with MetricWriter(workdir) as writer:
    ...   writer.write_scalars(100, {"train_loss": 0.25, "train_steps_per_sec": 12})
    >>> with open(f"{workdir}/metrics.jsonl") as f:
    ...   [json.loads(line) for line in f]
    [{'step': 100, 'train_loss': 0.25, 'train_steps_per_sec': 12.0}]
  """

  def __init__(self, workdir: str | os.PathLike, *, enabled: bool = True):
    self._workdir = pathlib.Path(workdir)
    self._enabled = enabled
    self._closed = False
    if not enabled:
      return
    self._workdir.mkdir(parents=True, exist_ok=True)
    self._jsonl = open(self._workdir / "metrics.jsonl", "a", encoding="utf-8")
    self._tb = tensorboardX.SummaryWriter(str(self._workdir / "tb"))

  @property
  def workdir(self) -> pathlib.Path:
    return self._workdir

  @property
  def enabled(self) -> bool:
    return self._enabled

  def _active(self) -> bool:
    if self._closed:
      raise ValueError("MetricWriter is closed.")
    return self._enabled

  def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
    """Appends ``{"step": step, **scalars}`` to metrics.jsonl and to TensorBoard.

    Args:
      step: the training step (anything ``int()`` accepts, e.g. a 0-d array).
      scalars: name → 0-d number (Python, NumPy or JAX). Use ``train_``/``eval_``
        prefixes; TensorBoard groups tags by their text before the first ``/``.

    Raises:
      ValueError: if a value is not 0-d, a name is not a string, a name is the
        reserved ``'step'``, or the writer is closed.
    """
    if not self._active():
      return
    step = int(step)
    values = {}
    for name, value in scalars.items():
      if not isinstance(name, str) or name == "step":
        raise ValueError(f"Scalar names must be strings other than 'step'; got {name!r}.")
      values[name] = _to_float(name, value)
    self._jsonl.write(json.dumps({"step": step, **values}) + "\n")
    self._jsonl.flush()
    for name, value in values.items():
      self._tb.add_scalar(name, value, step)

  def write_images(self, step: int, images: Mapping[str, ArrayLike]) -> None:
    """Adds images to TensorBoard (only; save PNGs with ``save_png``).

    Args:
      step: the training step.
      images: name → uint8 ``(H, W, C)`` image, ``C`` 1 or 3, e.g. from
        ``image_grid`` or ``scatter_plot``.

    Raises:
      ValueError: on an image of another dtype or shape, or a closed writer.
    """
    if not self._active():
      return
    checked = {name: _check_image(image, f"Image {name!r}") for name, image in images.items()}
    for name, image in checked.items():
      self._tb.add_image(name, image, int(step), dataformats="HWC")

  def write_config(self, config: Mapping[str, Any]) -> None:
    """Writes the config to ``workdir/config.json`` and to TensorBoard as text.

    ``config.json`` is replaced atomically (a resumed run rewrites it). Values JSON
    cannot hold are written as lists (arrays) or their ``repr``.

    Args:
      config: a mapping, or anything with ``to_dict()`` (an ml_collections
        ``ConfigDict``).

    Raises:
      TypeError: if ``config`` is neither.
      ValueError: if the writer is closed.
    """
    if not self._active():
      return
    if hasattr(config, "to_dict"):
      config = config.to_dict()
    if not isinstance(config, Mapping):
      raise TypeError(f"config must be a mapping; got {type(config).__name__}.")
    text = json.dumps(dict(config), indent=2, default=_json_default)
    path = self._workdir / "config.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    # Four-space indent: a Markdown code block in TensorBoard's text tab.
    self._tb.add_text("config", "\n".join("    " + line for line in text.splitlines()), 0)

  def flush(self) -> None:
    """Flushes both files to the operating system."""
    if not self._active():
      return
    self._jsonl.flush()
    self._tb.flush()

  def close(self) -> None:
    """Flushes and closes the files; later writes raise. Closing twice is fine."""
    if self._closed:
      return
    self._closed = True
    if self._enabled:
      self._jsonl.close()
      self._tb.close()

  def __enter__(self) -> "MetricWriter":
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def image_grid(
    images: ArrayLike, ncol: int | None = None, padding: int = 2, pad_value: int = 255
) -> np.ndarray:
  """Tiles a batch of images into one grid image, row by row.

  Image ``i`` goes to row ``i // ncol``, column ``i % ncol``, its top-left corner
  at ``(padding + row·(h + padding), padding + col·(w + padding))``: ``padding``
  pixels of ``pad_value`` separate the cells and frame the grid (as in
  torchvision's ``make_grid``), and cells past the last image are blank. Grayscale
  stays single-channel (TensorBoard and ``save_png`` both take ``C = 1``).

  ``H = nrow·h + (nrow + 1)·padding`` and ``W = ncol·w + (ncol + 1)·padding`` with
  ``nrow = ⌈N / ncol⌉``.

  Args:
    images: uint8 ``(N, h, w, c)``, ``c`` 1 or 3, ``N ≥ 1``.
    ncol: images per row; default ``⌈√N⌉``.
    padding: pixels between and around the images, ``≥ 0``.
    pad_value: the padding's grey level, 0–255.

  Returns:
    uint8 ``(H, W, c)``.

  Raises:
    ValueError: on another dtype or shape, an empty batch, ``ncol < 1``,
      ``padding < 0`` or ``pad_value`` outside 0–255.

  Example:
    >>> import numpy as np
    >>> image_grid(np.zeros((10, 28, 28, 1), np.uint8)).shape  # 4 columns, 3 rows
    (92, 122, 1)
  """
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] not in _CHANNELS:
    raise ValueError(f"images must have shape (N, h, w, c) with c in {_CHANNELS}; "
                     f"got {images.shape}.")
  if images.dtype != np.uint8:
    raise ValueError(f"images must be uint8 in [0, 255]; got {images.dtype}.")
  n, h, w, c = images.shape
  if n == 0:
    raise ValueError("images is empty; need at least one image.")
  ncol = math.ceil(math.sqrt(n)) if ncol is None else int(ncol)
  if ncol < 1:
    raise ValueError(f"ncol must be at least 1; got {ncol}.")
  if padding < 0:
    raise ValueError(f"padding must be non-negative; got {padding}.")
  if not 0 <= pad_value <= 255:
    raise ValueError(f"pad_value must be in [0, 255]; got {pad_value}.")
  nrow = math.ceil(n / ncol)
  grid = np.full((nrow * h + (nrow + 1) * padding, ncol * w + (ncol + 1) * padding, c),
                 pad_value, dtype=np.uint8)
  for i, image in enumerate(images):
    row, col = divmod(i, ncol)
    top, left = padding + row * (h + padding), padding + col * (w + padding)
    grid[top:top + h, left:left + w] = image
  return grid


def _check_points(points: ArrayLike, name: str) -> np.ndarray:
  points = np.asarray(points, dtype=np.float64)
  if points.ndim != 2 or points.shape[1] != 2:
    raise ValueError(f"{name} must have shape (N, 2); got {points.shape}.")
  return points


def _default_extent(*point_sets: np.ndarray) -> tuple[float, float, float, float]:
  """A square around every finite point, with a 5% margin on each side."""
  finite = [p[np.all(np.isfinite(p), axis=1)] for p in point_sets]
  finite = np.concatenate(finite) if finite else np.zeros((0, 2))
  if finite.shape[0] == 0:
    return (-1.0, 1.0, -1.0, 1.0)
  low, high = finite.min(axis=0), finite.max(axis=0)
  centre, half = (low + high) / 2, float(np.max(high - low)) / 2 * 1.1
  half = half if half > 0 else 1.0  # A single distinct point.
  return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _disc(radius: int) -> list[tuple[int, int]]:
  """Pixel offsets of a filled disc; r² + r rounds it (radius 1: 3×3, 2: 5×5 less corners)."""
  return [(dx, dy) for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1)
          if dx * dx + dy * dy <= radius * radius + radius]


def _cross(arm: int) -> list[tuple[int, int]]:
  """Pixel offsets of a symmetric '×' with 2-pixel-thick strokes of half-length arm."""
  return [(dx, dy) for dx in range(-arm, arm + 1) for dy in range(-arm, arm + 1)
          if abs(dx - dy) <= 1 or abs(dx + dy) <= 1]


def _stamp(draw: ImageDraw.ImageDraw, xy: np.ndarray, offsets, fill) -> None:
  """Draws the shape given by pixel offsets at each (x, y) pixel of xy (K, 2)."""
  if xy.shape[0] == 0:
    return
  # One vectorised `point` call per offset, not one call per point; Pillow clips.
  for offset in offsets:
    draw.point((xy + offset).ravel().tolist(), fill=fill)


def scatter_plot(
    points: ArrayLike,
    *,
    reference: ArrayLike | None = None,
    modes: ArrayLike | None = None,
    size: int = 400,
    extent: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
  """Draws 2-D samples over reference data and mode centres, as an RGB image.

  Layers, bottom to top: white background, ``reference`` as light-grey dots,
  ``points`` as blue dots, ``modes`` as red crosses, a thin grey frame. The extent
  ``(x_min, x_max, y_min, y_max)`` maps linearly onto the image with ``y`` up:
  ``(x, y) → (col, row) = round(((x − x_min)/(x_max − x_min)·(size − 1),
  (y_max − y)/(y_max − y_min)·(size − 1)))``. Points outside it are clipped;
  non-finite points are skipped. No axes: fix ``extent`` across a run so frames are
  comparable.

  Args:
    points: ``(N, 2)`` samples (``N`` may be 0).
    reference: optional ``(K, 2)`` data points.
    modes: optional ``(M, 2)`` mode centres.
    size: the image's side in pixels, ``≥ 16``.
    extent: ``(x_min, x_max, y_min, y_max)``; default a square around all finite
      points of the three sets with a 5% margin. A non-square extent stretches
      the plot.

  Returns:
    uint8 ``(size, size, 3)``.

  Raises:
    ValueError: if a point set is not ``(·, 2)``, ``size < 16``, or ``extent`` is
      empty.

  Example:
    >>> import numpy as np
    >>> ring = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
    >>> scatter_plot(ring + 0.01, modes=ring, extent=(-1.5, 1.5, -1.5, 1.5)).shape
    (400, 400, 3)
  """
  points = _check_points(points, "points")
  sets = {"points": points}
  if reference is not None:
    sets["reference"] = _check_points(reference, "reference")
  if modes is not None:
    sets["modes"] = _check_points(modes, "modes")
  size = int(size)
  if size < 16:
    raise ValueError(f"size must be at least 16 pixels; got {size}.")
  x_min, x_max, y_min, y_max = (
      _default_extent(*sets.values()) if extent is None else map(float, extent))
  if not (x_max > x_min and y_max > y_min):
    raise ValueError(f"extent must have x_min < x_max and y_min < y_max; got {extent}.")

  def to_pixels(xy: np.ndarray) -> np.ndarray:
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    col = (xy[:, 0] - x_min) / (x_max - x_min) * (size - 1)
    row = (y_max - xy[:, 1]) / (y_max - y_min) * (size - 1)
    pixels = np.stack([col, row], axis=1)
    # Far-off points would overflow Pillow's integer coordinates; they are off-image anyway.
    inside = np.all((pixels > -size) & (pixels < 2 * size), axis=1)
    return np.round(pixels[inside]).astype(np.int64)

  image = Image.new("RGB", (size, size), _BACKGROUND)
  draw = ImageDraw.Draw(image)
  if "reference" in sets:
    _stamp(draw, to_pixels(sets["reference"]), _disc(1), _REFERENCE)
  _stamp(draw, to_pixels(points), _disc(2), _POINT)
  if "modes" in sets:
    _stamp(draw, to_pixels(sets["modes"]), _cross(max(3, size // 80)), _MODE)
  draw.rectangle([0, 0, size - 1, size - 1], outline=_FRAME, width=1)
  return np.asarray(image, dtype=np.uint8).copy()


def save_png(path: str | os.PathLike, image: ArrayLike) -> None:
  """Saves a uint8 ``(H, W, C)`` image as PNG, creating parent directories.

  Args:
    path: the file to write.
    image: uint8 ``(H, W, 1)`` (saved as 8-bit grayscale) or ``(H, W, 3)`` (RGB).

  Raises:
    ValueError: on another dtype or shape.
  """
  image = _check_image(image, "image")
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  pil.save(path, format="PNG")


def open_run(workdir: str | os.PathLike, config: Mapping[str, Any]) -> MetricWriter:
  """Creates ``workdir`` and a writer (enabled on process 0 only) holding ``config``."""
  os.makedirs(workdir, exist_ok=True)
  writer = MetricWriter(workdir, enabled=jax.process_index() == 0)
  writer.write_config(config)
  return writer


def write_summary(workdir: str | os.PathLike, summary: Mapping[str, Any]) -> None:
  """Writes ``workdir/summary.json`` (process 0 only)."""
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "summary.json"), "w") as f:
      json.dump(dict(summary), f, indent=2, default=_json_default)
