"""Chunked distances and k-NN: equal to brute force, whatever the chunk."""

import numpy as np
import pytest

from jgen.metrics import _distances


def test_nearest_neighbours_match_brute_force_for_any_chunk():
  rng = np.random.default_rng(0)
  queries, references = rng.normal(size=(37, 5)), rng.normal(size=(50, 5))
  full = np.sqrt(((queries[:, None] - references[None]) ** 2).sum(-1))
  order = np.argsort(full, axis=1)[:, :4]
  for chunk in (7, 1024):
    distances, indices = _distances.nearest_neighbours(queries, references, 4, chunk=chunk)
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(distances, np.take_along_axis(full, order, 1), rtol=1e-4,
                               atol=1e-5)


def test_kth_radius_skips_the_point_itself():
  points = np.array([[0.0], [1.0], [3.0], [7.0]])
  # Nearest others: 0→1 (1), 1→0 (1), 3→1 (2), 7→3 (4); second nearest: 3, 2, 3, 6.
  np.testing.assert_allclose(_distances.kth_neighbour_radii(points, 1), [1, 1, 2, 4])
  np.testing.assert_allclose(_distances.kth_neighbour_radii(points, 2), [3, 2, 3, 6])


def test_bad_shapes_and_k_are_named():
  with pytest.raises(ValueError, match=r"must be \(N, D\) and \(M, D\)"):
    _distances.nearest_neighbours(np.zeros((3, 2)), np.zeros((3, 4)), 1)
  with pytest.raises(ValueError, match=r"k=5 must lie in \[1, 3\]"):
    _distances.nearest_neighbours(np.zeros((3, 2)), np.zeros((3, 2)), 5)
