"""Image attributes for latent-vector arithmetic (Radford et al. 2016): ink and slant.

Two attributes of a handwritten digit measured from its pixels alone, so that an
attribute vector found in a generator's latent space can be checked on the images it
produces: ``ink`` (the mean intensity, which for a fixed digit grows with the stroke
thickness) and ``slant`` (the shear of the intensity distribution, positive for
strokes leaning right, like ``/``).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from jgen.typing import ArrayLike

ATTRIBUTES = ("ink", "slant")


def ink(images: ArrayLike) -> np.ndarray:
  """Mean intensity in [0, 1] of each uint8 image ``(N, H, W, C)``; ``(N,)``.

  For one digit class, more ink means thicker strokes (the digit's length is fixed by
  its shape).
  """
  images = np.asarray(images, np.float64) / 255.0
  return images.reshape(images.shape[0], -1).mean(axis=1)


def slant(images: ArrayLike) -> np.ndarray:
  """The horizontal shear of each image's intensity: ``−cov(x, y) / var(y)``; ``(N,)``.

  With pixel coordinates ``x`` (column, rightwards) and ``y`` (row, downwards) weighted
  by intensity, a stroke leaning right (top to the right of its bottom, ``/``) has
  ``x`` falling as ``y`` grows: the slant ``−dx/dy`` is positive; upright strokes give
  0. This is the shear that deskewing undoes (e.g. LeCun et al.'s MNIST deskewing).

  Args:
    images: uint8 ``(N, H, W, C)``, channels averaged.

  Returns:
    ``(N,)`` slants (0 for a blank image).
  """
  images = np.asarray(images, np.float64).mean(axis=-1)
  n, h, w = images.shape
  weights = images.reshape(n, -1)
  total = np.maximum(weights.sum(axis=1), 1e-12)
  y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  x, y = x.ravel(), y.ravel()
  mx, my = weights @ x / total, weights @ y / total
  cov = (weights * (x[None] - mx[:, None]) * (y[None] - my[:, None])).sum(axis=1) / total
  var_y = (weights * (y[None] - my[:, None]) ** 2).sum(axis=1) / total
  return np.where(var_y > 0, -cov / np.maximum(var_y, 1e-12), 0.0)


def attribute_vector(z: ArrayLike, scores: ArrayLike, groups: ArrayLike | None = None,
                     fraction: float = 0.25) -> np.ndarray:
  """The latent direction of an attribute: mean z of its top minus its bottom ``fraction``.

  ``v = mean{z : score in the top q} − mean{z : score in the bottom q}``, as the
  attribute vectors of Radford et al. (2016, Sec. 6.3) and White (2016), but found by
  ranking samples on a measured score rather than by hand-picked exemplars. With
  ``groups`` (e.g. the predicted class of each sample) the ranking and the difference
  are taken within each group and averaged over the groups, and v is then projected
  off the span of the group-mean directions (``mean{z : group g} − mean z``), so that
  an attribute that differs between classes (a 1 has less ink than an 8), or that
  shares a latent direction with the class, does not turn v into a class direction.

  Args:
    z: ``(N, d)`` latents.
    scores: ``(N,)`` the attribute of each latent's image.
    groups: optional ``(N,)`` group ids; groups with fewer than ``2/fraction`` members
      are skipped.
    fraction: q, in (0, 0.5].

  Returns:
    ``(d,)``.

  Raises:
    ValueError: for mismatched shapes, a bad fraction, or no group large enough.
  """
  z, scores = np.asarray(z, np.float64), np.asarray(scores, np.float64)
  if z.ndim != 2 or scores.shape != (z.shape[0],):
    raise ValueError(f"attribute_vector expects z (N, d) and scores (N,); got {z.shape}, "
                     f"{scores.shape}.")
  if not 0 < fraction <= 0.5:
    raise ValueError(f"fraction must be in (0, 0.5]; got {fraction}.")
  groups = np.zeros(len(z), int) if groups is None else np.asarray(groups)
  directions = []
  for g in np.unique(groups):
    idx = np.flatnonzero(groups == g)
    k = int(len(idx) * fraction)
    if k < 2:
      continue
    ranked = idx[np.argsort(scores[idx], kind="stable")]
    directions.append(z[ranked[-k:]].mean(axis=0) - z[ranked[:k]].mean(axis=0))
  if not directions:
    raise ValueError(f"No group has {int(np.ceil(2 / fraction))} or more samples.")
  v = np.mean(directions, axis=0)
  if len(np.unique(groups)) > 1:
    means = np.stack([z[groups == g].mean(axis=0) - z.mean(axis=0) for g in np.unique(groups)])
    # The span's orthonormal basis by SVD: the centred means are linearly dependent.
    u, sv, _ = np.linalg.svd(means.T, full_matrices=False)
    basis = u[:, sv > 1e-8 * sv.max()]
    v = v - basis @ (basis.T @ v)
  return v


class AttributeSweep(NamedTuple):
  """The images ``G(z + k·v)`` over steps k, and what they measure.

  Attributes:
    steps: ``(K,)`` the k's.
    attribute: ``(K,)`` the attribute's mean over the latents at each k.
    same_class: ``(K,)`` the fraction of images classified as at k = 0 (1.0 at k = 0).
    images: uint8 ``(R, K, H, W, C)``, the first R latents' images (for a figure).
  """

  steps: np.ndarray
  attribute: np.ndarray
  same_class: np.ndarray
  images: np.ndarray


def attribute_sweep(generate: Callable[[np.ndarray], np.ndarray],
                    classify: Callable[[np.ndarray], np.ndarray],
                    measure: Callable[[np.ndarray], np.ndarray], z: ArrayLike,
                    direction: ArrayLike, steps: ArrayLike, rows: int = 8
                    ) -> AttributeSweep:
  """Walks every latent along ``direction`` and measures the images at each step.

  Args:
    generate: ``(M, d)`` latents → uint8 ``(M, H, W, C)`` images.
    classify: images → ``(M,)`` predicted classes (e.g. the feature network's argmax).
    measure: images → ``(M,)`` attribute values (`ink`, `slant`).
    z: ``(N, d)`` latents.
    direction: ``(d,)`` the attribute vector v.
    steps: ``(K,)`` the k's, 0 among them.
    rows: latents kept as images.

  Returns:
    An `AttributeSweep`.

  Raises:
    ValueError: when 0 is not among the steps.
  """
  z, direction = np.asarray(z, np.float32), np.asarray(direction, np.float32)
  steps = np.asarray(steps, np.float64)
  if not np.any(steps == 0):
    raise ValueError(f"steps must include 0 (the reference class); got {steps.tolist()}.")
  images = [generate(z + np.float32(k) * direction) for k in steps]
  classes = [np.asarray(classify(im)) for im in images]
  reference = classes[int(np.flatnonzero(steps == 0)[0])]
  return AttributeSweep(
      steps=steps,
      attribute=np.array([float(np.mean(measure(im))) for im in images]),
      same_class=np.array([float(np.mean(c == reference)) for c in classes]),
      images=np.stack([im[:rows] for im in images], axis=1))
