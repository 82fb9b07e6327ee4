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
