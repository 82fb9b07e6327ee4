"""Tests for jgen.train.summaries: metric files, image grids, scatter plots, PNGs."""

import json
import math

import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest

from jgen import figures
from jgen.train import summaries


def _event_files(workdir):
  return sorted((workdir / "tb").glob("events.out.tfevents.*"))


# --- MetricWriter. ---


def test_metric_writer_writes_json_lines(tmp_path):
  writer = summaries.MetricWriter(tmp_path)
  writer.write_scalars(1, {"train_loss": 0.5, "train_acc": np.float32(0.25)})
  writer.write_scalars(np.int64(2), {"train_loss": jnp.asarray(0.125), "eval_count": 3})
  # Flushed at every write: readable before close.
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert [json.loads(line) for line in lines] == [
      {"step": 1, "train_loss": 0.5, "train_acc": 0.25},
      {"step": 2, "train_loss": 0.125, "eval_count": 3.0},
  ]
  assert all(isinstance(v, float) for v in json.loads(lines[1]).values() if v != 2)
  writer.close()


def test_metric_writer_appends_on_resume(tmp_path):
  with summaries.MetricWriter(tmp_path) as writer:
    writer.write_scalars(1, {"loss": 1.0})
  with summaries.MetricWriter(tmp_path) as writer:
    writer.write_scalars(2, {"loss": 2.0})
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert [json.loads(line)["step"] for line in lines] == [1, 2]


def test_metric_writer_non_finite_values_round_trip(tmp_path):
  with summaries.MetricWriter(tmp_path) as writer:
    writer.write_scalars(5, {"loss": float("nan"), "grad_norm": np.inf})
  record = json.loads((tmp_path / "metrics.jsonl").read_text())
  assert math.isnan(record["loss"]) and record["grad_norm"] == math.inf


def test_metric_writer_creates_tensorboard_event_file(tmp_path):
  with summaries.MetricWriter(tmp_path) as writer:
    writer.write_scalars(1, {"train_loss": 0.5})
    writer.write_images(1, {"samples": np.zeros((8, 8, 3), np.uint8),
                            "gray": np.zeros((8, 8, 1), np.uint8)})
    writer.write_config({"model": {"latent_dim": 64}})
    writer.flush()
    files = _event_files(tmp_path)
    assert len(files) == 1 and files[0].stat().st_size > 0
  assert _event_files(tmp_path)[0].stat().st_size > 0


def test_metric_writer_writes_config(tmp_path):
  class FakeConfigDict:  # ml_collections-style: not a Mapping, has to_dict().

    def to_dict(self):
      return {"optim": {"lr": 2e-4, "betas": (0.5, 0.999)}, "seed": np.int64(3),
              "mean": np.zeros(2, np.float32), "act": len}

  with summaries.MetricWriter(tmp_path) as writer:
    writer.write_config(FakeConfigDict())
    with pytest.raises(TypeError, match="mapping"):
      writer.write_config(["not", "a", "mapping"])
  config = json.loads((tmp_path / "config.json").read_text())
  assert config == {"optim": {"lr": 2e-4, "betas": [0.5, 0.999]}, "seed": 3,
                    "mean": [0.0, 0.0], "act": repr(len)}
  assert not list(tmp_path.glob("*.tmp"))


def test_disabled_metric_writer_writes_nothing(tmp_path):
  workdir = tmp_path / "run"
  writer = summaries.MetricWriter(workdir, enabled=False)
  writer.write_scalars(1, {"loss": 1.0})
  writer.write_images(1, {"x": np.zeros((4, 4, 3), np.uint8)})
  writer.write_config({"a": 1})
  writer.flush()
  writer.close()
  assert not workdir.exists()
  assert list(tmp_path.iterdir()) == []


def test_metric_writer_rejects_bad_input(tmp_path):
  with summaries.MetricWriter(tmp_path) as writer:
    with pytest.raises(ValueError, match="must be 0-d"):
      writer.write_scalars(1, {"loss": np.ones(8)})
    with pytest.raises(ValueError, match="'step'"):
      writer.write_scalars(1, {"step": 1.0})
    with pytest.raises(ValueError, match="uint8"):
      writer.write_images(1, {"x": np.zeros((4, 4, 3), np.float32)})
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
      writer.write_images(1, {"x": np.zeros((4, 4), np.uint8)})
  assert (tmp_path / "metrics.jsonl").read_text() == ""  # Nothing half-written.
  with pytest.raises(ValueError, match="closed"):
    writer.write_scalars(2, {"loss": 1.0})
  writer.close()  # Twice is fine.


# --- image_grid. ---


def test_image_grid_layout():
  # Image i is filled with value 10·(i + 1), so each cell says where it came from.
  n, h, w = 5, 3, 4
  images = (10 * np.arange(1, n + 1, dtype=np.uint8))[:, None, None, None] * np.ones(
      (1, h, w, 3), np.uint8)
  grid = figures.image_grid(images, padding=1, pad_value=255)  # ncol = ⌈√5⌉ = 3.
  assert grid.shape == (2 * h + 3, 3 * w + 4, 3) and grid.dtype == np.uint8
  for i in range(n):
    row, col = divmod(i, 3)
    top, left = 1 + row * (h + 1), 1 + col * (w + 1)
    np.testing.assert_array_equal(grid[top:top + h, left:left + w], 10 * (i + 1))
  # Padding rows/columns and the blank sixth cell hold pad_value.
  assert np.all(grid[0] == 255) and np.all(grid[:, 0] == 255) and np.all(grid[h + 1] == 255)
  assert np.all(grid[1 + h + 1:, 1 + 2 * (w + 1):-1] == 255)


def test_image_grid_pixel_order_within_cells_and_grayscale():
  images = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3, 1)
  grid = figures.image_grid(images, ncol=2, padding=0)
  assert grid.shape == (2, 6, 1)
  side_by_side = np.concatenate([images[0, ..., 0], images[1, ..., 0]], axis=1)
  np.testing.assert_array_equal(grid[..., 0], side_by_side)
  tall = figures.image_grid(images, ncol=1, padding=2, pad_value=7)
  assert tall.shape == (2 * 2 + 3 * 2, 3 + 2 * 2, 1)
  np.testing.assert_array_equal(tall[2:4, 2:5, 0], images[0, ..., 0])
  np.testing.assert_array_equal(tall[6:8, 2:5, 0], images[1, ..., 0])
  assert tall[0, 0, 0] == 7


@pytest.mark.parametrize("images, kwargs, match", [
    (np.zeros((2, 4, 4, 3), np.float32), {}, "uint8"),
    (np.zeros((2, 4, 4), np.uint8), {}, r"\(N, h, w, c\)"),
    (np.zeros((2, 4, 4, 2), np.uint8), {}, r"\(N, h, w, c\)"),
    (np.zeros((0, 4, 4, 3), np.uint8), {}, "empty"),
    (np.zeros((2, 4, 4, 3), np.uint8), {"ncol": 0}, "ncol"),
    (np.zeros((2, 4, 4, 3), np.uint8), {"padding": -1}, "padding"),
    (np.zeros((2, 4, 4, 3), np.uint8), {"pad_value": 256}, "pad_value"),
])
def test_image_grid_rejects_bad_input(images, kwargs, match):
  with pytest.raises(ValueError, match=match):
    figures.image_grid(images, **kwargs)


# --- scatter_plot. ---


def _is_blue(rgb):
  r, g, b = (int(v) for v in rgb)
  return b > 150 and r < 100 and b > g


def _is_red(rgb):
  r, g, b = (int(v) for v in rgb)
  return r > 150 and g < 100 and b < 100


def _is_light_grey(rgb):
  r, g, b = (int(v) for v in rgb)
  return r == g == b and 170 < r < 250


def test_scatter_plot_draws_points_where_expected():
  # Extent [-1, 1]² on 101 pixels: (x, y) -> (col, row) = (50 + 50x, 50 − 50y).
  image = figures.scatter_plot(
      np.array([[0.5, 0.5]]), reference=np.array([[-0.5, -0.5]]),
      modes=np.array([[-0.5, 0.5]]), size=101, extent=(-1, 1, -1, 1))
  assert image.shape == (101, 101, 3) and image.dtype == np.uint8
  assert _is_blue(image[25, 75]) and _is_blue(image[26, 76])  # The dot has a radius.
  assert _is_light_grey(image[75, 25])
  assert _is_red(image[25, 25]) and _is_red(image[22, 22]) and _is_red(image[22, 28])
  np.testing.assert_array_equal(image[50, 50], 255)  # Empty space stays white.
  np.testing.assert_array_equal(image[10, 50], 255)
  frame = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
  assert np.all(frame == frame[0]) and frame[0, 0] < 255  # A thin grey frame.
  assert np.all(image[1, 2:-2] == 255)


def test_scatter_plot_layer_order():
  p = np.array([[0.0, 0.0]])
  image = figures.scatter_plot(p, reference=p, modes=p, size=64, extent=(-1, 1, -1, 1))
  centre = image[32, 32]  # Pixel (31.5 rounds to 32).
  assert _is_red(centre)  # Modes over points over reference.
  image = figures.scatter_plot(p, reference=p, size=64, extent=(-1, 1, -1, 1))
  assert _is_blue(image[32, 32])


def test_scatter_plot_default_extent_contains_all_points():
  rng = np.random.default_rng(0)
  points = rng.normal(size=(300, 2)) * [3.0, 0.5] + [10.0, -4.0]
  image = figures.scatter_plot(points, size=128)
  blue = np.array([[_is_blue(px) for px in row] for row in image])
  rows, cols = np.nonzero(blue)
  assert blue.sum() > 300
  # Dots reach near both sides along x (the wide axis) but stay inside the frame.
  assert cols.min() < 15 and cols.max() > 112 and cols.min() >= 1 and cols.max() <= 126
  assert rows.min() > 30 and rows.max() < 98  # Square extent: y range is narrow.


def test_scatter_plot_skips_non_finite_and_handles_empty():
  image = figures.scatter_plot(np.array([[np.nan, 0.0], [0.0, np.inf], [0.0, 0.0]]), size=32)
  assert image.shape == (32, 32, 3) and np.any([_is_blue(px) for px in image.reshape(-1, 3)])
  empty = figures.scatter_plot(np.zeros((0, 2)), size=32)
  assert np.all(empty[1:-1, 1:-1] == 255)
  far = figures.scatter_plot(np.array([[1e30, 0.0]]), size=32, extent=(-1, 1, -1, 1))
  assert np.all(far[1:-1, 1:-1] == 255)


@pytest.mark.parametrize("kwargs, match", [
    ({"points": np.zeros((3, 3))}, r"points must have shape \(N, 2\)"),
    ({"points": np.zeros((3, 2)), "modes": np.zeros(2)}, "modes must have shape"),
    ({"points": np.zeros((3, 2)), "size": 8}, "size"),
    ({"points": np.zeros((3, 2)), "extent": (1, 0, 0, 1)}, "extent"),
])
def test_scatter_plot_rejects_bad_input(kwargs, match):
  points = kwargs.pop("points")
  with pytest.raises(ValueError, match=match):
    figures.scatter_plot(points, **kwargs)


# --- save_png. ---


@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (1, "L")])
def test_save_png_round_trips(tmp_path, channels, mode):
  image = np.random.default_rng(1).integers(0, 256, (5, 7, channels), dtype=np.uint8)
  path = tmp_path / "nested" / "dir" / "samples.png"
  figures.save_png(path, image)
  with Image.open(path) as loaded:
    assert loaded.format == "PNG" and loaded.mode == mode
    np.testing.assert_array_equal(np.asarray(loaded).reshape(5, 7, channels), image)


def test_save_png_rejects_bad_input(tmp_path):
  with pytest.raises(ValueError, match="uint8"):
    figures.save_png(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))
  with pytest.raises(ValueError, match=r"\(H, W, C\)"):
    figures.save_png(tmp_path / "x.png", np.zeros((4, 4, 4), np.uint8))
  assert not (tmp_path / "x.png").exists()
