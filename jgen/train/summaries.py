"""Training summaries: scalars to JSON lines and TensorBoard, images, ``summary.json``.

``MetricWriter`` is the training loop's only sink: scalars go to
``workdir/metrics.jsonl`` (one JSON object per line, readable with nothing but the
standard library) and to TensorBoard event files in ``workdir/tb`` (written by
tensorboardX, no TensorFlow). The figures themselves (``image_grid``,
``scatter_plot``, ``save_png``) live in `jgen.figures` and are re-exported here.
"""

from collections.abc import Mapping
import json
import os
import pathlib
from typing import Any

import jax
import numpy as np
import tensorboardX

from jgen.figures import check_image
from jgen.typing import ArrayLike


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
    checked = {name: check_image(image, f"Image {name!r}") for name, image in images.items()}
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


def open_run(workdir: str | os.PathLike, config: Mapping[str, Any]) -> MetricWriter:
  """Creates ``workdir`` and a writer (enabled on process 0 only) holding ``config``."""
  os.makedirs(workdir, exist_ok=True)
  writer = MetricWriter(workdir, enabled=jax.process_index() == 0)
  writer.write_config(config)
  return writer


def read_config(workdir: str | os.PathLike) -> dict[str, Any] | None:
  """The config a run wrote to ``workdir/config.json`` (``write_config``); None if none."""
  path = pathlib.Path(workdir) / "config.json"
  if not path.exists():
    return None
  return json.loads(path.read_text(encoding="utf-8"))


def write_summary(workdir: str | os.PathLike, summary: Mapping[str, Any]) -> None:
  """Writes ``workdir/summary.json`` (process 0 only)."""
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "summary.json"), "w") as f:
      json.dump(dict(summary), f, indent=2, default=_json_default)
