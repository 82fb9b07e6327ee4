"""Precision, recall, density and coverage: fidelity and diversity from k-NN balls.

Each sample ``x`` of a set gets the ball ``B(x, NND_k(x))`` reaching its ``k``-th
nearest *other* sample of the same set; the union of the real balls estimates the
real manifold, that of the generated balls the generated one.

- *precision*: the fraction of generated samples inside the real manifold (fidelity);
- *recall*: the fraction of real samples inside the generated manifold (diversity)
  (Kynkäänniemi et al. 2019);
- *density*: how many real balls hold a generated sample, ``/ k``, on average (1 in
  expectation when the two distributions are equal; not bounded by 1);
- *coverage*: the fraction of real balls holding at least one generated sample
  (Naeem et al. 2020; robust to real outliers, whose large balls inflate precision).

The real/generated roles are not symmetric, so both functions name their arguments
``real_features`` and ``generated_features``, real first; pass them by keyword to
make call sites explicit (torch-fidelity computed them with the sets swapped, #58). Distances run in chunks of generated (or real) rows against the
whole other set, so memory is ``chunk × N``, never the full ``N × M`` matrix.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jgen.metrics._checks import feature_sets
from jgen.metrics._distances import kth_neighbour_radii
from jgen.metrics._distances import nearest_neighbours
from jgen.metrics._distances import squared_distances
from jgen.typing import Array
from jgen.typing import ArrayLike


def _as_feature_pair(real_features: ArrayLike, generated_features: ArrayLike,
                     k: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
  real, generated = map(np.asarray, feature_sets(
      {"real_features": real_features, "generated_features": generated_features}))
  smallest = min(real.shape[0], generated.shape[0])
  if not 1 <= k < smallest:
    raise ValueError(
        f"k={k} must lie in [1, {smallest - 1}]: each of the {real.shape[0]} real and "
        f"{generated.shape[0]} generated samples needs k other samples in its set.")
  if chunk < 1:
    raise ValueError(f"chunk={chunk} must be at least 1.")
  return real, generated


@jax.jit
def _ball_counts_chunk(queries: Array, centres: Array, radii: Array) -> Array:
  """For each query, the number of balls ``B(centres_j, radii_j)`` holding it, (n,)."""
  # sqrt of the same squared distances as the radii (kth_neighbour_radii), so a
  # point on a ball's boundary compares consistently.
  distances = jnp.sqrt(squared_distances(queries, centres))
  return jnp.sum(distances <= radii[None, :], axis=1)


def _ball_counts(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                 chunk: int) -> np.ndarray:
  """``#{j : ‖q_i − c_j‖ ≤ r_j}`` for every query, in chunks of queries, (n,)."""
  n = queries.shape[0]
  chunk = min(chunk, n)
  # Pad the last chunk to full size so every chunk reuses one compiled shape.
  padded = np.pad(queries, ((0, -n % chunk), (0, 0)))
  centres, radii = jnp.asarray(centres), jnp.asarray(radii)
  counts = [np.asarray(_ball_counts_chunk(padded[s:s + chunk], centres, radii))
            for s in range(0, n, chunk)]
  return np.concatenate(counts)[:n]


def precision_recall(real_features: ArrayLike, generated_features: ArrayLike, *,
                     k: int = 3, chunk: int = 1024) -> dict:
  """Improved precision and recall of generated samples against real ones.

  With ``NND_k(x)`` the distance from ``x`` to its ``k``-th nearest other sample of
  its own set, real samples ``r_j`` (``N``) and generated ``g_i`` (``M``):

  ``precision = (1/M) Σ_i 1[∃ j : ‖g_i − r_j‖ ≤ NND_k(r_j)]``,
  ``recall = (1/N) Σ_j 1[∃ i : ‖r_j − g_i‖ ≤ NND_k(g_i)]``.

  Swapping the two sets swaps the two numbers. Euclidean distances in float32;
  ``prdc`` (Naeem et al.'s package) uses ``<`` where this uses ``≤``, which differs
  only on exact ties (duplicated points).

  Args:
    real_features: ``(N, D)`` features of real samples.
    generated_features: ``(M, D)`` features of generated samples.
    k: neighbourhood size, in ``[1, min(N, M) − 1]``; 3 in the paper.
    chunk: rows per distance block (memory ``chunk × max(N, M)``).

  Returns:
    A dict of Python floats in ``[0, 1]``: ``precision`` and ``recall``.

  Raises:
    ValueError: if the features are not ``(N, D)`` and ``(M, D)`` with the same ``D``,
      ``k`` is out of range, or ``chunk < 1``.

  References:
    Kynkäänniemi, Karras, Laine, Lehtinen, Aila. Improved Precision and Recall Metric
    for Assessing Generative Models. NeurIPS 2019. arXiv:1904.06991.

  Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(500, 2))
    >>> collapsed = 0.1 * rng.normal(size=(500, 2))  # good samples, little diversity
    >>> result = precision_recall(real_features=real, generated_features=collapsed)
    >>> result["precision"] > 0.99, result["recall"] < 0.2
    (True, True)
  """
  real, generated = _as_feature_pair(real_features, generated_features, k, chunk)
  real_radii = kth_neighbour_radii(real, k, chunk)
  generated_radii = kth_neighbour_radii(generated, k, chunk)
  precision = np.mean(_ball_counts(generated, real, real_radii, chunk) > 0)
  recall = np.mean(_ball_counts(real, generated, generated_radii, chunk) > 0)
  return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real_features: ArrayLike, generated_features: ArrayLike, *,
                     k: int = 5, chunk: int = 1024) -> dict:
  """Density and coverage of generated samples against real ones.

  With ``NND_k(r_j)`` the distance from real ``r_j`` (``N``) to its ``k``-th nearest
  other real sample, and generated ``g_i`` (``M``):

  ``density = (1/(kM)) Σ_i Σ_j 1[‖g_i − r_j‖ ≤ NND_k(r_j)]``,
  ``coverage = (1/N) Σ_j 1[min_i ‖r_j − g_i‖ ≤ NND_k(r_j)]``.

  Only the real balls are used, so real outliers cannot inflate them as they do
  precision. When the two distributions are equal, ``E[density] = 1`` and
  ``E[coverage] = 1 − Π_{i=1..k} (N − i) / (N + M − i)`` (``≈ 1 − 2⁻ᵏ`` for
  ``M = N``). ``prdc`` uses ``<`` where this uses ``≤`` (differs only on ties).

  Args:
    real_features: ``(N, D)`` features of real samples.
    generated_features: ``(M, D)`` features of generated samples.
    k: neighbourhood size, in ``[1, min(N, M) − 1]``; 5 in the paper.
    chunk: rows per distance block (memory ``chunk × max(N, M)``).

  Returns:
    A dict of Python floats: ``density`` (``≥ 0``, may exceed 1) and ``coverage``
    (in ``[0, 1]``).

  Raises:
    ValueError: if the features are not ``(N, D)`` and ``(M, D)`` with the same ``D``,
      ``k`` is out of range, or ``chunk < 1``.

  References:
    Naeem, Oh, Uh, Choi, Yoo. Reliable Fidelity and Diversity Metrics for Generative
    Models. ICML 2020. arXiv:2002.09797.

  Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(500, 2))
    >>> result = density_coverage(real_features=real, generated_features=real + 10.0)
    >>> result["density"], result["coverage"]
    (0.0, 0.0)
  """
  real, generated = _as_feature_pair(real_features, generated_features, k, chunk)
  real_radii = kth_neighbour_radii(real, k, chunk)
  density = np.mean(_ball_counts(generated, real, real_radii, chunk)) / k
  nearest_generated, _ = nearest_neighbours(real, generated, 1, chunk)
  coverage = np.mean(nearest_generated[:, 0] <= real_radii)
  return {"density": float(density), "coverage": float(coverage)}


__all__ = ["density_coverage", "precision_recall"]
