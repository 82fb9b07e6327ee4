"""Figures as uint8 images: grids of samples, 2-D scatter plots, PNG files.

``image_grid``, ``scatter_plot`` and ``line_chart`` turn samples (and curves) into uint8 images (for
``jgen.train.MetricWriter.write_images`` and ``save_png``); they draw with NumPy and
Pillow only. All images here are uint8 ``(H, W, C)`` arrays with ``C`` 1 (grayscale)
or 3 (RGB).
"""

import math
import os
import pathlib

import numpy as np
from PIL import Image
from PIL import ImageDraw

from jgen.typing import ArrayLike

_CHANNELS = (1, 3)

# Scatter-plot colours (RGB): matplotlib's tab:blue and tab:red, light grey.
_BACKGROUND = (255, 255, 255)
_FRAME = (150, 150, 150)
_REFERENCE = (200, 200, 200)
_POINT = (31, 119, 180)
_MODE = (214, 39, 40)


def check_image(image: ArrayLike, name: str) -> np.ndarray:
  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] not in _CHANNELS:
    raise ValueError(f"{name} must have shape (H, W, C) with C in {_CHANNELS}; "
                     f"got {image.shape}.")
  if image.dtype != np.uint8:
    raise ValueError(f"{name} must be uint8 in [0, 255]; got {image.dtype}.")
  return image



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


# Viridis at 0, ¼, ½, ¾, 1 (matplotlib's table), interpolated linearly in between.
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                     [253, 231, 37]], np.float64)


def heatmap(values: ArrayLike, *, vmax: float | None = None) -> np.ndarray:
  """Colours a 2-D array of non-negative values (e.g. a density on a grid) as RGB.

  Row 0 is the top of the image: pass ``values[i, j]`` at ``(x_j, y_{H−1−i})`` to put
  ``y`` up, as `scatter_plot` does. Values map linearly onto viridis, 0 ↦ dark
  purple, ``vmax`` (default the array's maximum) ↦ yellow, clipped above; non-finite
  values show as 0.

  Args:
    values: ``(H, W)`` floats.
    vmax: the value shown as the top colour; default ``max(values)``.

  Returns:
    uint8 ``(H, W, 3)``.

  Raises:
    ValueError: if ``values`` is not 2-D.
  """
  values = np.nan_to_num(np.asarray(values, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
  if values.ndim != 2:
    raise ValueError(f"heatmap needs a 2-D array; got shape {values.shape}.")
  top = float(values.max()) if vmax is None else float(vmax)
  t = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)
  position = t * (len(_VIRIDIS) - 1)
  low = np.minimum(np.floor(position).astype(int), len(_VIRIDIS) - 2)
  frac = (position - low)[..., None]
  rgb = _VIRIDIS[low] * (1.0 - frac) + _VIRIDIS[low + 1] * frac
  return np.round(rgb).astype(np.uint8)


def side_by_side(*images: ArrayLike, gap: int = 8) -> np.ndarray:
  """Joins RGB (or grey) images left to right on white, tops aligned, ``gap`` pixels apart.

  Raises:
    ValueError: if an image is not uint8 ``(H, W, C)`` or they mix channel counts.
  """
  images = [check_image(im, f"images[{i}]") for i, im in enumerate(images)]
  if len({im.shape[-1] for im in images}) != 1:
    raise ValueError(f"side_by_side: images mix channel counts "
                     f"{[im.shape[-1] for im in images]}.")
  height = max(im.shape[0] for im in images)
  width = sum(im.shape[1] for im in images) + gap * (len(images) - 1)
  out = np.full((height, width, images[0].shape[-1]), 255, np.uint8)
  col = 0
  for im in images:
    out[:im.shape[0], col:col + im.shape[1]] = im
    col += im.shape[1] + gap
  return out


# Line colours: matplotlib's tab10.
_LINES = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75))


def line_chart(x: ArrayLike, series: dict[str, ArrayLike], *, x_label: str = "",
               y_range: tuple[float, float] = (0.0, 1.0), size: tuple[int, int] = (480, 320)
               ) -> np.ndarray:
  """Lines ``y(x)`` with markers, on axes with ticks, and a legend; an RGB image.

  Args:
    x: ``(N,)`` abscissae (any order; each line is drawn in increasing x).
    series: ``{name: (N,) values}``, at most 6 lines; non-finite values are skipped.
    x_label: text under the x axis.
    y_range: the y axis's ``(low, high)``; values outside are clipped to the frame.
    size: ``(width, height)`` in pixels, each ``≥ 160``.

  Returns:
    uint8 ``(height, width, 3)``.

  Raises:
    ValueError: for mismatched lengths, more than 6 series, an empty range or a small
      size.
  """
  x = np.asarray(x, np.float64)
  width, height = map(int, size)
  if x.ndim != 1 or not x.size:
    raise ValueError(f"x must be a non-empty vector; got shape {x.shape}.")
  if not 1 <= len(series) <= len(_LINES):
    raise ValueError(f"line_chart draws 1 to {len(_LINES)} series; got {len(series)}.")
  ys = {name: np.asarray(v, np.float64) for name, v in series.items()}
  bad = [name for name, v in ys.items() if v.shape != x.shape]
  if bad:
    raise ValueError(f"series {bad[0]!r} has shape {ys[bad[0]].shape}; x has {x.shape}.")
  low, high = map(float, y_range)
  if not high > low or min(width, height) < 160:
    raise ValueError(f"need y_range low < high and size >= 160; got {y_range}, {size}.")
  left, right, top, bottom = 44, width - 12, 12, height - 40
  x_min, x_max = float(x.min()), float(x.max())
  x_span = x_max - x_min or 1.0

  def to_pixel(xv, yv):
    col = left + (xv - x_min) / x_span * (right - left)
    row = bottom - (np.clip(yv, low, high) - low) / (high - low) * (bottom - top)
    return float(col), float(row)

  image = Image.new("RGB", (width, height), _BACKGROUND)
  draw = ImageDraw.Draw(image)
  draw.rectangle([left, top, right, bottom], outline=_FRAME)
  for i in range(5):  # y ticks at quarters
    yv = low + i * (high - low) / 4
    _, row = to_pixel(x_min, yv)
    draw.line([left - 4, row, left, row], fill=_FRAME)
    draw.text((2, row - 5), f"{yv:.2f}", fill=(60, 60, 60))
  for xv in np.unique(x):
    col, _ = to_pixel(xv, low)
    draw.line([col, bottom, col, bottom + 4], fill=_FRAME)
    draw.text((col - 8, bottom + 6), f"{xv:g}", fill=(60, 60, 60))
  draw.text(((left + right) // 2 - 3 * len(x_label), bottom + 22), x_label, fill=(0, 0, 0))
  order = np.argsort(x)
  for i, y in enumerate(ys.values()):
    points = [to_pixel(x[j], y[j]) for j in order if np.isfinite(y[j])]
    if len(points) > 1:
      draw.line(points, fill=_LINES[i], width=2)
    for col, row in points:
      draw.ellipse([col - 3, row - 3, col + 3, row + 3], fill=_LINES[i])
  # The legend, in a box over the lines.
  draw.rectangle([right - 114, top + 2, right - 2, top + 6 + 14 * len(ys)], fill=_BACKGROUND,
                 outline=_FRAME)
  for i, name in enumerate(ys):
    draw.rectangle([right - 110, top + 6 + 14 * i, right - 100, top + 14 + 14 * i],
                   fill=_LINES[i])
    draw.text((right - 95, top + 4 + 14 * i), name, fill=(0, 0, 0))
  return np.asarray(image, dtype=np.uint8).copy()


def save_png(path: str | os.PathLike, image: ArrayLike) -> None:
  """Saves a uint8 ``(H, W, C)`` image as PNG, creating parent directories.

  Args:
    path: the file to write.
    image: uint8 ``(H, W, 1)`` (saved as 8-bit grayscale) or ``(H, W, 3)`` (RGB).

  Raises:
    ValueError: on another dtype or shape.
  """
  image = check_image(image, "image")
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  pil.save(path, format="PNG")


__all__ = ["check_image", "image_grid", "line_chart", "save_png", "scatter_plot"]
