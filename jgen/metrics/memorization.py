"""Memorisation checks: nearest training examples, their figure, and the data-copying test.

Two complementary looks at whether a generator reproduces its training set:

- *By eye*: ``nearest_training_examples`` finds each sample's nearest training
  examples, in pixel space (pass uint8 images) or in a feature space (pass
  features), and ``nearest_neighbour_figure`` shows them next to the sample, as in
  the memorisation figures of GAN papers and lecture slides. Pixel distance finds
  near-verbatim copies; feature distance also finds copies that are shifted or
  re-coloured. Neither proves the absence of copying: a sample only looks novel
  against the neighbours shown.
- *By a test*: ``data_copying_test`` is the three-sample test of Meehan, Chaudhuri
  and Dasgupta (2020): within cells of a partition of feature space, are generated
  points closer to the training set than held-out real points are?

Distances are Euclidean, computed in float32 in chunks (``jgen.metrics._distances``),
so memory stays at ``chunk × (training set size)`` floats.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jgen.figures import image_grid
from jgen.metrics._checks import feature_sets
from jgen.metrics._distances import nearest_neighbours
from jgen.metrics._distances import squared_distances
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

_CHANNELS = (1, 3)
# Grey of the strips between the figure's groups (sample | pixel NNs | feature NNs):
# distinct from the white padding of `image_grid` and from black MNIST backgrounds.
_SEPARATOR = 128


# --------------------------------------------------------------------------------------
# Nearest training examples and their figure.
# --------------------------------------------------------------------------------------


def _as_vectors(x: ArrayLike, name: str) -> np.ndarray:
  """(N, ...) images or features → float32 (N, D); uint8 is scaled to [0, 1]."""
  x = np.asarray(x)
  if x.ndim < 2:
    raise ValueError(f"{name} must be features (N, D) or images (N, H, W, C); "
                     f"got shape {x.shape}.")
  if x.shape[0] == 0:
    raise ValueError(f"{name} is empty; need at least one example.")
  if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
    raise ValueError(f"{name} must be numeric; got dtype {x.dtype}.")
  scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
  x = x.reshape(x.shape[0], -1).astype(np.float32) * np.float32(scale)
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} has non-finite values (NaN or inf).")
  return x


def nearest_training_examples(
    queries: ArrayLike, train: ArrayLike, *, k: int = 3, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
  """The ``k`` training examples nearest to each query, in Euclidean distance.

  ``d(q, t) = ‖vec(q) − vec(t)‖₂``: images are flattened, uint8 images are first
  scaled by 1/255 (so pixel distances are those of [0, 1] images whatever the
  dtype), other dtypes are used as they are (pass float images in [0, 1]).

  - Pixel space: pass uint8 images ``(N, H, W, C)`` (or ``(N, H, W)``).
  - Feature space: pass features ``(N, D)`` of the same network for both sets
    (e.g. a domain classifier's penultimate layer; see PITFALLS.md on MNIST).

  Args:
    queries: ``(N, ...)``, typically generated samples.
    train: ``(M, ...)`` with the same trailing shape, ``M ≥ k``.
    k: neighbours per query, ``1 ≤ k ≤ M``.
    chunk: queries per step; memory is ``chunk × M`` float32.

  Returns:
    ``(distances, indices)``, float32 and int32 ``(N, k)``, nearest first;
    ``indices`` index ``train``.

  Raises:
    ValueError: if either input is empty, not numeric, non-finite or of rank < 2,
      if their trailing shapes differ, or if ``k`` is not in ``[1, M]``.

  Example:
    >>> import numpy as np
    >>> train = np.random.default_rng(0).integers(0, 256, (100, 8, 8, 1), np.uint8)
    >>> distances, indices = nearest_training_examples(train[[7, 42]], train, k=2)
    >>> indices[:, 0].tolist(), bool(np.all(distances[:, 0] < 1e-2))
    ([7, 42], True)
  """
  q_shape, t_shape = np.shape(queries), np.shape(train)
  if len(q_shape) >= 2 and len(t_shape) >= 2 and q_shape[1:] != t_shape[1:]:
    raise ValueError(f"queries {q_shape} and train {t_shape} must have the same shape "
                     "after the first axis.")
  queries = _as_vectors(queries, "queries")
  train = _as_vectors(train, "train")
  if not 1 <= k <= train.shape[0]:
    raise ValueError(f"k={k} must lie in [1, {train.shape[0]}] (the training examples).")
  if chunk < 1:
    raise ValueError(f"chunk must be at least 1; got {chunk}.")
  distances, indices = nearest_neighbours(queries, train, k, chunk)
  return distances.astype(np.float32), indices.astype(np.int32)


def _check_images(images: ArrayLike, name: str) -> np.ndarray:
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] not in _CHANNELS:
    raise ValueError(f"{name} must have shape (N, H, W, C) with C in {_CHANNELS}; "
                     f"got {images.shape}.")
  if images.dtype != np.uint8:
    raise ValueError(f"{name} must be uint8 in [0, 255]; got {images.dtype}.")
  if images.shape[0] == 0:
    raise ValueError(f"{name} is empty; need at least one image.")
  return images


def _check_indices(indices: ArrayLike, name: str, rows: int, size: int) -> np.ndarray:
  indices = np.asarray(indices)
  if indices.ndim != 2 or indices.shape[1] == 0 or not np.issubdtype(indices.dtype, np.integer):
    raise ValueError(f"{name} must be integer (N, k) with k ≥ 1, e.g. from "
                     f"nearest_training_examples; got {indices.dtype} {indices.shape}.")
  if indices.shape[0] < rows:
    raise ValueError(f"{name} has {indices.shape[0]} rows; need one per sample shown "
                     f"({rows}).")
  indices = indices[:rows]
  if np.any(indices < 0) or np.any(indices >= size):
    raise ValueError(f"{name} must index train_images, i.e. lie in [0, {size}); got values "
                     f"in [{indices.min()}, {indices.max()}].")
  return indices


def nearest_neighbour_figure(
    samples: ArrayLike,
    train_images: ArrayLike,
    pixel_indices: ArrayLike | None,
    feature_indices: ArrayLike | None,
    *,
    num: int = 8,
) -> np.ndarray:
  """A memorisation figure: each sample beside its nearest training images.

  Row ``i`` (one per sample, ``R = min(num, N)`` rows) shows ``samples[i]``, a grey
  strip, its ``k_p`` nearest training images in pixel space
  (``train_images[pixel_indices[i]]``, nearest first), a grey strip, and its
  ``k_f`` nearest in feature space (``train_images[feature_indices[i]]``). Each of
  the three groups is an ``image_grid`` (``padding = 2`` white pixels), and the
  strips are ``s = max(2, w // 4)`` pixels of grey 128, so

  ``H = R·h + 2(R + 1)`` and
  ``W = (w + 4) + (k_p·w + 2(k_p + 1)) + (k_f·w + 2(k_f + 1)) + 2s``

  (a group passed as ``None`` is left out with its strip). A sample that looks
  like its pixel neighbours is a near-verbatim copy; one that looks like its
  feature neighbours only may be a shifted or re-coloured copy.

  Args:
    samples: uint8 ``(N, h, w, c)`` generated images, ``c`` 1 or 3.
    train_images: uint8 ``(M, h, w, c)``, the set the indices refer to.
    pixel_indices: int ``(N', k_p)``, ``N' ≥ R``: row ``i`` holds the nearest
      training images of ``samples[i]`` in pixel space, e.g. the indices of
      ``nearest_training_examples(samples, train_images)``; or ``None``.
    feature_indices: int ``(N', k_f)``, the same in feature space, e.g. from
      ``nearest_training_examples(sample_features, train_features)``; or ``None``.
    num: samples (rows) to show, ``≥ 1``.

  Returns:
    uint8 ``(H, W, c)``, for ``save_png`` or ``MetricWriter.write_images``.

  Raises:
    ValueError: on images that are not uint8 ``(N, h, w, c)`` or differ in
      ``(h, w, c)``; indices that are not integer ``(N', k)``, have too few rows
      or fall outside ``[0, M)``; both indices ``None``; or ``num < 1``.

  Example:
    >>> import numpy as np
    >>> train = np.random.default_rng(0).integers(0, 256, (50, 28, 28, 1), np.uint8)
    >>> _, pixel = nearest_training_examples(train[:8], train, k=3)
    >>> nearest_neighbour_figure(train[:8], train, pixel, pixel[:, :2]).shape  # 32+7+92+7+62
    (242, 200, 1)
  """
  samples = _check_images(samples, "samples")
  train_images = _check_images(train_images, "train_images")
  if samples.shape[1:] != train_images.shape[1:]:
    raise ValueError(f"samples {samples.shape} and train_images {train_images.shape} must "
                     "have the same (h, w, c).")
  if num < 1:
    raise ValueError(f"num must be at least 1; got {num}.")
  if pixel_indices is None and feature_indices is None:
    raise ValueError("Pass pixel_indices, feature_indices or both; got neither.")
  rows = min(int(num), samples.shape[0])
  _, h, w, c = samples.shape

  groups = [image_grid(samples[:rows], ncol=1)]
  for name, indices in (("pixel_indices", pixel_indices), ("feature_indices", feature_indices)):
    if indices is None:
      continue
    indices = _check_indices(indices, name, rows, train_images.shape[0])
    neighbours = train_images[indices.reshape(-1)]  # Row-major: row i's k images in order.
    groups.append(image_grid(neighbours, ncol=indices.shape[1]))
  strip = np.full((groups[0].shape[0], max(2, w // 4), c), _SEPARATOR, np.uint8)
  parts = [groups[0]]
  for group in groups[1:]:
    parts += [strip, group]
  return np.concatenate(parts, axis=1)


# --------------------------------------------------------------------------------------
# The data-copying test.
# --------------------------------------------------------------------------------------


def _kmeans_plus_plus(key: PRNGKey, x: jax.Array, num_cells: int) -> jax.Array:
  """k-means++ seeding (Arthur & Vassilvitskii 2007): D²-weighted draws from x."""
  first_key, rest_key = jax.random.split(key)
  first = x[jax.random.randint(first_key, (), 0, x.shape[0])]
  centroids = jnp.zeros((num_cells, x.shape[1]), x.dtype).at[0].set(first)
  d2 = jnp.sum(jnp.square(x - first), axis=1)

  def draw(i, carry):
    centroids, d2 = carry
    # log 0 = −inf: points already chosen (or duplicates of them) are never redrawn.
    index = jax.random.categorical(jax.random.fold_in(rest_key, i), jnp.log(d2))
    centroid = x[index]
    return centroids.at[i].set(centroid), jnp.minimum(d2, jnp.sum(jnp.square(x - centroid), 1))

  centroids, _ = jax.lax.fori_loop(1, num_cells, draw, (centroids, d2))
  return centroids


@functools.partial(jax.jit, static_argnames=("num_cells", "steps"))
def _kmeans(key: PRNGKey, x: jax.Array, num_cells: int, steps: int) -> jax.Array:
  """Centroids (num_cells, D) after k-means++ seeding and ``steps`` Lloyd iterations."""

  def lloyd(_, centroids):
    cell = jnp.argmin(squared_distances(x, centroids), axis=1)
    sums = jax.ops.segment_sum(x, cell, num_segments=num_cells)
    counts = jax.ops.segment_sum(jnp.ones(x.shape[0], x.dtype), cell, num_segments=num_cells)
    # An empty cell keeps its centroid rather than becoming 0/0.
    return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], centroids)

  return jax.lax.fori_loop(0, steps, lloyd, _kmeans_plus_plus(key, x, num_cells))


@jax.jit
def _nearest_cell(x: jax.Array, centroids: jax.Array) -> jax.Array:
  return jnp.argmin(squared_distances(x, centroids), axis=1).astype(jnp.int32)


@jax.jit
def _train_distances_chunk(queries, query_cells, train, train_cells):
  """Distance of each query to its nearest training point overall and within its cell."""
  d2 = squared_distances(queries, train)
  same_cell = query_cells[:, None] == train_cells[None, :]
  return (jnp.sqrt(jnp.min(d2, axis=1)),
          jnp.sqrt(jnp.min(jnp.where(same_cell, d2, jnp.inf), axis=1)))


def _train_distances(queries: np.ndarray, query_cells: np.ndarray, train: np.ndarray,
                     train_cells: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
  """Chunked ``_train_distances_chunk``: (N,), (N,); inf where a cell has no train point."""
  n = queries.shape[0]
  rows = min(chunk, n)
  overall, in_cell = [], []
  for start in range(0, n, rows):
    q, c = queries[start:start + rows], query_cells[start:start + rows]
    pad = rows - q.shape[0]  # Pad the last chunk so every chunk reuses one compilation.
    if pad:
      q = np.concatenate([q, np.zeros((pad, q.shape[1]), q.dtype)])
      c = np.concatenate([c, np.full(pad, -1, c.dtype)])
    d_all, d_cell = _train_distances_chunk(q, c, train, train_cells)
    overall.append(np.asarray(d_all)[:rows - pad])
    in_cell.append(np.asarray(d_cell)[:rows - pad])
  return np.concatenate(overall), np.concatenate(in_cell)


def _mann_whitney_z(generated: np.ndarray, test: np.ndarray) -> float:
  """Z-scored Mann–Whitney U of ``generated`` (m,) against ``test`` (n,), both ≥ 1.

  ``U = #{(i, j): g_j > t_i} + ½ #{(i, j): g_j = t_i}`` (SciPy's ``mannwhitneyu(g,
  t).statistic``), ``Z = (U − mn/2) / √(mn(m + n + 1)/12)``, no tie correction.
  """
  m, n = generated.shape[0], test.shape[0]
  test = np.sort(test)
  below = np.searchsorted(test, generated, side="left")    # #{i: t_i < g_j}
  at_most = np.searchsorted(test, generated, side="right")  # #{i: t_i ≤ g_j}
  u = float(np.sum(below, dtype=np.float64)) + 0.5 * float(np.sum(at_most - below))
  return (u - m * n / 2.0) / math.sqrt(m * n * (m + n + 1) / 12.0)


def data_copying_test(
    train_features: ArrayLike,
    test_features: ArrayLike,
    generated_features: ArrayLike,
    key: PRNGKey,
    *,
    num_cells: int = 50,
    min_generated: int = 20,
    min_test: int = 1,
    kmeans_steps: int = 50,
    chunk: int = 1024,
    per_cell: bool = False,
) -> dict:
  """The data-copying statistic ``C_T`` of Meehan, Chaudhuri & Dasgupta (2020).

  Let ``T`` be the training set, ``P_n`` held-out real points (never trained on)
  and ``Q_m`` generated points. Partition feature space into cells ``π`` by
  k-means on ``T`` (k-means++ seeding with ``key``, then ``kmeans_steps`` Lloyd
  iterations; a point belongs to the cell of its nearest centroid). For a point
  ``x`` in cell ``π`` let ``L(x) = min_{t ∈ T ∩ π} ‖x − t‖``, its distance to the
  nearest training point of its cell. In each cell, the Mann–Whitney U statistic
  compares the generated distances with the held-out ones,

  ``U(π) = #{(i, j): L(q_j) > L(p_i)} + ½ #{(i, j): L(q_j) = L(p_i)}`` over
  ``p_i ∈ P_n ∩ π``, ``q_j ∈ Q_m ∩ π`` (``n_π``, ``m_π`` points),

  ``Z_U(π) = (U(π) − m_π n_π / 2) / √(m_π n_π (m_π + n_π + 1) / 12)``,

  and the statistic is their average weighted by the held-out mass of each cell,
  over the cells ``Π_τ`` the generator visits often enough:

  ``C_T = Σ_{π ∈ Π_τ} P_n(π) Z_U(π) / Σ_{π ∈ Π_τ} P_n(π)``,  ``P_n(π) = n_π / n``,

  ``Π_τ = {π : m_π ≥ min_generated, n_π ≥ min_test, π ∩ T ≠ ∅}``. The authors
  write the threshold as a fraction ``Q_m(π) > τ``; their experiments use
  ``τ = 20 / m``, i.e. about ``min_generated = 20``. The global statistic
  ``Z_U`` is the same test with one cell (distances to all of ``T``).

  Interpretation: under the null (``Q_m`` as far from ``T`` as fresh real data
  is) each ``Z_U(π)`` is approximately standard normal and ``C_T ≈ 0`` (with a
  standard deviation below 1, as it averages several cells).

  - ``C_T ≪ 0`` (say below −3): generated points sit closer to training points
    than real unseen data does — *data copying* (memorisation).
  - ``C_T ≈ 0``: no evidence of copying.
  - ``C_T ≫ 0``: generated points are farther from the training data than real
    data is — underfitting (e.g. blurry or over-dispersed samples).

  A copying region can hide behind an underfit one in the global ``Z_U``; that
  is why ``C_T`` tests cell by cell, and why ``per_cell=True`` returns each cell's
  ``Z_U``. Copying confined to a few points can still average out (Bhattacharjee,
  Dasgupta & Chaudhuri 2023). Run it in a meaningful feature space (the authors'
  MNIST experiment uses 64-D autoencoder codes and 50 cells), with ``m``
  comparable to ``n`` and at least tens of held-out points per cell.

  Sources: the definitions above follow the abstract and introduction of the
  paper and the authors' companion code (github.com/casey-meehan/data-copying,
  ``data_copying_tests.py``: in-cell training neighbours, ``P_n``-weighted
  average over cells with ``Q_m(π) > τ``; 50 k-means cells for MNIST); the full
  text of the paper's Section 3 could not be read here. Differences from that
  code: no −½ continuity correction on the mean of ``U``; ``m_π ≥ min_generated``
  instead of ``> τ``; cells without held-out or training points are skipped
  rather than an error.

  Args:
    train_features: ``(l, D)`` features of the generator's training set, ``l ≥
      num_cells``.
    test_features: ``(n, D)`` features of held-out real data, not used in
      training.
    generated_features: ``(m, D)`` features of generated samples, ``m ≥
      min_generated``.
    key: PRNG key for the k-means++ seeding.
    num_cells: k-means cells, ``≥ 1``.
    min_generated: least generated points for a cell to count, ``≥ 1``.
    min_test: least held-out points for a cell to count, ``≥ 1``.
    kmeans_steps: Lloyd iterations, ``≥ 0``.
    chunk: query rows per distance block; memory is ``chunk × l`` float32.
    per_cell: also return the per-cell arrays below.

  Returns:
    A dict with Python scalars ``c_t`` (float; NaN when no cell qualifies),
    ``global_z`` (float), ``num_cells_used`` (int, ``|Π_τ|``),
    ``generated_fraction_used`` (float, ``Σ_{π ∈ Π_τ} m_π / m``, how much of the
    generator the statistic sees), ``num_cells`` (int), and
    ``generated_mean_distance`` and ``test_mean_distance`` (floats, the mean of
    ``min_{t ∈ T} ‖x − t‖`` over ``Q_m`` and over ``P_n``). With ``per_cell=True``
    also NumPy arrays ``cell_z`` (``(num_cells,)``, ``Z_U(π)``; NaN where a cell
    lacks generated, held-out or training points), ``cell_test_fraction``
    (``P_n(π)``), ``cell_generated_fraction`` (``Q_m(π)``), ``cells_used``
    (bool) and ``centroids`` (``(num_cells, D)`` float32).

  Raises:
    ValueError: if a feature array is not a non-empty finite ``(N, D)`` array,
      the three differ in ``D``, ``num_cells`` is not in ``[1, l]``,
      ``min_generated`` or ``min_test`` is below 1 or ``min_generated > m``,
      ``kmeans_steps < 0`` or ``chunk < 1``.

  References:
    Meehan, Chaudhuri, Dasgupta. A Non-Parametric Test to Detect Data-Copying in
    Generative Models. AISTATS 2020. arXiv:2004.05675.
    Bhattacharjee, Dasgupta, Chaudhuri. Data-Copying in Generative Models: A
    Formal Framework. ICML 2023. arXiv:2302.13181.

  Example:
    >>> import jax, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.normal(size=(2, 1000, 8))
    >>> copies = train[:500] + 1e-3 * rng.normal(size=(500, 8))
    >>> result = data_copying_test(train, test, copies, jax.random.key(0), num_cells=5)
    >>> result["num_cells_used"], bool(result["c_t"] < -3), bool(result["global_z"] < -3)
    (5, True, True)
  """
  train, test, generated = map(np.asarray, feature_sets(
      {"train_features": train_features, "test_features": test_features,
       "generated_features": generated_features}))
  if not 1 <= num_cells <= train.shape[0]:
    raise ValueError(f"num_cells={num_cells} must lie in [1, {train.shape[0]}] (the "
                     "training points).")
  if not 1 <= min_generated <= generated.shape[0]:
    raise ValueError(f"min_generated={min_generated} must lie in [1, {generated.shape[0]}] "
                     "(the generated points); draw more samples or lower it.")
  if min_test < 1:
    raise ValueError(f"min_test must be at least 1; got {min_test}.")
  if kmeans_steps < 0:
    raise ValueError(f"kmeans_steps must be non-negative; got {kmeans_steps}.")
  if chunk < 1:
    raise ValueError(f"chunk must be at least 1; got {chunk}.")
  num_cells, kmeans_steps = int(num_cells), int(kmeans_steps)

  centroids = _kmeans(key, jnp.asarray(train), num_cells, kmeans_steps)
  train_cells, test_cells, gen_cells = (
      np.asarray(_nearest_cell(x, centroids)) for x in (train, test, generated))
  test_all, test_in_cell = _train_distances(test, test_cells, train, train_cells, chunk)
  gen_all, gen_in_cell = _train_distances(generated, gen_cells, train, train_cells, chunk)

  n_train = np.bincount(train_cells, minlength=num_cells)
  n_test = np.bincount(test_cells, minlength=num_cells)
  n_gen = np.bincount(gen_cells, minlength=num_cells)
  cell_z = np.full(num_cells, np.nan)
  for cell in np.flatnonzero((n_train > 0) & (n_test > 0) & (n_gen > 0)):
    cell_z[cell] = _mann_whitney_z(gen_in_cell[gen_cells == cell],
                                   test_in_cell[test_cells == cell])
  used = (n_gen >= min_generated) & (n_test >= min_test) & (n_train > 0)
  test_fraction = n_test / test.shape[0]
  generated_fraction = n_gen / generated.shape[0]
  weights = test_fraction[used]
  c_t = float(np.sum(weights * cell_z[used]) / np.sum(weights)) if used.any() else math.nan

  result = {
      "c_t": c_t,
      "global_z": _mann_whitney_z(gen_all, test_all),
      "num_cells_used": int(used.sum()),
      "generated_fraction_used": float(generated_fraction[used].sum()),
      "num_cells": num_cells,
      "generated_mean_distance": float(np.mean(gen_all)),
      "test_mean_distance": float(np.mean(test_all)),
  }
  if per_cell:
    result.update(cell_z=cell_z, cell_test_fraction=test_fraction,
                  cell_generated_fraction=generated_fraction, cells_used=used,
                  centroids=np.asarray(centroids))
  return result


__all__ = ["data_copying_test", "nearest_neighbour_figure", "nearest_training_examples"]
