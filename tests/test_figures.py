"""Tests for jgen.figures' heatmap and side-by-side layout."""

import numpy as np
import pytest

from jgen.figures import heatmap
from jgen.figures import side_by_side


def test_heatmap_maps_zero_to_purple_and_vmax_to_yellow_and_clips():
  image = heatmap(np.array([[0.0, 0.5, 1.0, 2.0, np.nan]]), vmax=1.0)
  assert image.shape == (1, 5, 3) and image.dtype == np.uint8
  np.testing.assert_array_equal(image[0, 0], [68, 1, 84])  # viridis(0)
  np.testing.assert_array_equal(image[0, 1], [33, 145, 140])  # viridis(½)
  np.testing.assert_array_equal(image[0, 2], [253, 231, 37])  # viridis(1)
  np.testing.assert_array_equal(image[0, 3], image[0, 2])  # Clipped above vmax.
  np.testing.assert_array_equal(image[0, 4], image[0, 0])  # NaN shows as 0.
  # Brightness (the green channel) rises with the value.
  ramp = heatmap(np.linspace(0, 1, 50)[None])
  assert (np.diff(ramp[0, :, 1].astype(int)) >= 0).all()
  with pytest.raises(ValueError, match=r"2-D array; got shape \(3,\)"):
    heatmap(np.zeros(3))


def test_side_by_side_keeps_each_image_and_pads_white():
  a = np.zeros((4, 3, 3), np.uint8)
  b = np.full((2, 5, 3), 7, np.uint8)
  out = side_by_side(a, b, gap=2)
  assert out.shape == (4, 10, 3)
  np.testing.assert_array_equal(out[:, :3], a)
  np.testing.assert_array_equal(out[:2, 5:], b)
  assert (out[:, 3:5] == 255).all() and (out[2:, 5:] == 255).all()
  with pytest.raises(ValueError, match="mix channel counts"):
    side_by_side(a, np.zeros((2, 2, 1), np.uint8))


def test_line_chart_draws_each_series_in_its_colour():
  from jgen.figures import line_chart  # pylint: disable=g-import-not-at-top
  image = line_chart([0.5, 1.0, 2.0], {"precision": [0.9, 0.8, 0.7], "recall": [0.1, 0.3, 0.5]},
                     x_label="truncation")
  assert image.shape == (320, 480, 3) and image.dtype == np.uint8
  colours = {tuple(c) for c in image.reshape(-1, 3)}
  assert (31, 119, 180) in colours and (255, 127, 14) in colours
  with pytest.raises(ValueError, match="series 'b' has shape \\(2,\\); x has \\(3,\\)"):
    line_chart([1, 2, 3], {"b": [1, 2]})
