"""The likelihood figures' grid: cell centres, y up, as the heatmap expects."""

import numpy as np

from jgen.tasks.likelihood_figures import toy_grid


def test_toy_grid_puts_row_zero_at_the_top_and_tiles_the_square():
  grid, step = toy_grid(half_width=2.0, size=4)
  assert step == 1.0 and grid.shape == (16, 2)
  cells = grid.reshape(4, 4, 2)
  np.testing.assert_array_equal(cells[0, :, 0], [-1.5, -0.5, 0.5, 1.5])  # x left → right.
  np.testing.assert_array_equal(cells[:, 0, 1], [1.5, 0.5, -0.5, -1.5])  # y top → bottom.
  # The cells tile [−2, 2]²: a density of 1/16 integrates to 1.
  assert np.isclose((np.full(16, 1 / 16) * step**2).sum(), 1.0)
