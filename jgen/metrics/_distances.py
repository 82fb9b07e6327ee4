"""Pairwise distances and k-nearest neighbours in chunks, so memory stays bounded.

A 10,000 × 60,000 distance matrix is 2.4 GB in float32; these helpers never hold more
than ``chunk × M`` of it. Shared by precision/recall, density/coverage, the data-copying
test and the nearest-neighbour figures.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jgen.typing import Array
from jgen.typing import ArrayLike


@jax.jit
def squared_distances(x: ArrayLike, y: ArrayLike) -> Array:
  """``‖x_i − y_j‖²`` for ``x`` (N, D), ``y`` (M, D) → (N, M), clipped at 0.

  Computed as ``‖x‖² + ‖y‖² − 2 x·y`` (one matmul) with float32 inputs.
  """
  x = jnp.asarray(x, jnp.float32)
  y = jnp.asarray(y, jnp.float32)
  d = (jnp.sum(x * x, 1)[:, None] + jnp.sum(y * y, 1)[None, :]
       - 2.0 * jnp.dot(x, y.T, precision=jax.lax.Precision.HIGHEST))
  return jnp.maximum(d, 0.0)


@functools.partial(jax.jit, static_argnames="k")
def _knn_chunk(queries, references, k):
  neg, index = jax.lax.top_k(-squared_distances(queries, references), k)
  return jnp.sqrt(-neg), index


def nearest_neighbours(queries: ArrayLike, references: ArrayLike, k: int,
                       chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
  """The ``k`` nearest references of each query, in Euclidean distance.

  Args:
    queries: ``(N, D)``.
    references: ``(M, D)``, ``M ≥ k``.
    k: number of neighbours.
    chunk: queries per step (memory ``chunk × M``).

  Returns:
    ``(distances, indices)``, each ``(N, k)``, nearest first.

  Raises:
    ValueError: if ``k`` is not in ``[1, M]`` or the feature dims differ.
  """
  queries = np.asarray(queries, np.float32)
  references = np.asarray(references, np.float32)
  if queries.ndim != 2 or references.ndim != 2 or queries.shape[1] != references.shape[1]:
    raise ValueError(f"nearest_neighbours: queries {queries.shape} and references "
                     f"{references.shape} must be (N, D) and (M, D).")
  if not 1 <= k <= references.shape[0]:
    raise ValueError(f"k={k} must lie in [1, {references.shape[0]}] (the references).")
  parts = [_knn_chunk(queries[s:s + chunk], references, k)
           for s in range(0, queries.shape[0], chunk)]
  return (np.concatenate([np.asarray(p[0]) for p in parts]),
          np.concatenate([np.asarray(p[1]) for p in parts]))


def kth_neighbour_radii(features: ArrayLike, k: int, chunk: int = 1024) -> np.ndarray:
  """Distance of each point to its ``k``-th nearest *other* point of the same set.

  The nearest neighbour of a point in its own set is itself (distance 0), so this
  takes the ``(k+1)``-th (Kynkäänniemi et al. 2019; Naeem et al. 2020). Shape (N,).
  """
  distances, _ = nearest_neighbours(features, features, k + 1, chunk)
  return distances[:, k]


__all__ = ["kth_neighbour_radii", "nearest_neighbours", "squared_distances"]
