"""The Fréchet distance between Gaussians fitted to features: FID and its kin.

``FID = ‖μ_r − μ_g‖² + tr Σ_r + tr Σ_g − 2 tr((√Σ_r Σ_g √Σ_r)^{1/2})``, the squared
2-Wasserstein distance between the Gaussians ``N(μ_r, Σ_r)`` and ``N(μ_g, Σ_g)`` fitted
to real and generated features (Heusel et al. 2017). Everything is float64 NumPy:
the statistics of 2,048-D features are ill-conditioned, and the trace term is a small
difference of large numbers.

The trace term uses the symmetric matrix ``√Σ_r Σ_g √Σ_r``, which has the same
eigenvalues as the product ``Σ_r Σ_g``, so two symmetric eigendecompositions give it
with no ``scipy.linalg.sqrtm`` (whose imaginary parts on rank-deficient covariances,
pytorch-fid #13, and regressions, pytorch-fid #100, have bitten FID code). Taking
``eigvalsh`` of ``Σ_r Σ_g`` itself is wrong: the product is not symmetric
(torch-fidelity #46).
"""

import numpy as np

from jgen.typing import ArrayLike


def gaussian_statistics(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  """Mean and unbiased covariance of features, rows being samples, in float64.

  ``μ = (1/N) Σᵢ xᵢ``, ``Σ = (1/(N−1)) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ``: ``np.cov`` with
  ``rowvar=False`` (rows are samples, columns are feature dimensions; the transposed
  convention is a classic FID bug, lucidrains #213).

  Args:
    features: ``(N, D)`` features of ``N ≥ 2`` samples.

  Returns:
    ``(mean, cov)``: float64 arrays of shapes ``(D,)`` and ``(D, D)``.

  Raises:
    ValueError: if ``features`` is not 2-D or has fewer than 2 rows.
  """
  features = np.asarray(features, dtype=np.float64)
  if features.ndim != 2:
    raise ValueError(
        f"features must be 2-D (num_samples, feature_dim); got shape {features.shape}.")
  if features.shape[0] < 2:
    raise ValueError(
        f"features needs at least 2 samples (rows) for a covariance; got {features.shape[0]}.")
  mean = features.mean(axis=0)
  cov = np.cov(features, rowvar=False)
  # np.cov returns a 0-D array for a single feature.
  return mean, np.atleast_2d(cov)


def _check_statistics(mean: np.ndarray, cov: np.ndarray, name: str) -> None:
  if mean.ndim != 1:
    raise ValueError(f"mean{name} must be 1-D (D,); got shape {mean.shape}.")
  if cov.shape != (mean.shape[0], mean.shape[0]):
    raise ValueError(f"cov{name} must be (D, D) = {(mean.shape[0],) * 2} to match "
                     f"mean{name}; got shape {cov.shape}.")


def frechet_distance(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike,
                     cov2: ArrayLike) -> float:
  """Fréchet (2-Wasserstein²) distance between ``N(μ₁, Σ₁)`` and ``N(μ₂, Σ₂)``.

  ``d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr((√Σ₁ Σ₂ √Σ₁)^{1/2})`` (Dowson & Landau
  1982). In float64: ``√Σ₁ = V diag(√max(λ, 0)) Vᵀ`` from ``eigh(Σ₁)``; the trace
  term is ``Σⱼ √max(νⱼ, 0)`` over the eigenvalues ``νⱼ`` of the symmetrised
  ``M = √Σ₁ Σ₂ √Σ₁``. Clipping the eigenvalues at 0 makes rank-deficient
  (fewer samples than dimensions) covariances safe, and the result is clipped at 0
  against round-off. Symmetric in its two Gaussians.

  Args:
    mean1: ``(D,)`` mean of the first Gaussian.
    cov1: ``(D, D)`` its covariance (symmetric positive semi-definite).
    mean2: ``(D,)`` mean of the second Gaussian.
    cov2: ``(D, D)`` its covariance.

  Returns:
    The squared distance, a Python float ``≥ 0``.

  Raises:
    ValueError: if a mean is not 1-D, a covariance is not ``(D, D)`` for its mean,
      or the two Gaussians have different dimensions.

  References:
    Dowson, Landau. The Fréchet distance between multivariate normal distributions.
    J. Multivariate Analysis 12(3), 1982.
  """
  mean1, cov1, mean2, cov2 = (np.asarray(a, dtype=np.float64)
                              for a in (mean1, cov1, mean2, cov2))
  _check_statistics(mean1, cov1, "1")
  _check_statistics(mean2, cov2, "2")
  if mean1.shape != mean2.shape:
    raise ValueError(f"The Gaussians have different dimensions: mean1 {mean1.shape} vs "
                     f"mean2 {mean2.shape}.")
  # eigh reads one triangle only; symmetrise so both inputs count.
  cov1 = 0.5 * (cov1 + cov1.T)
  cov2 = 0.5 * (cov2 + cov2.T)
  eigenvalues, eigenvectors = np.linalg.eigh(cov1)
  sqrt_cov1 = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ eigenvectors.T
  m = sqrt_cov1 @ cov2 @ sqrt_cov1
  m = 0.5 * (m + m.T)
  trace_sqrt = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh(m), 0.0)))
  diff = mean1 - mean2
  distance = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt
  return max(float(distance), 0.0)


def frechet_inception_distance(real_features: ArrayLike,
                               generated_features: ArrayLike) -> float:
  """FID: the Fréchet distance of Gaussians fitted to real and generated features.

  ``FID = ‖μ_r − μ_g‖² + tr Σ_r + tr Σ_g − 2 tr((√Σ_r Σ_g √Σ_r)^{1/2})`` with
  ``(μ, Σ) = gaussian_statistics(features)``. Named after the Inception-v3 pool
  features of Heusel et al., but works with any features: jgen's feature networks
  (a domain classifier is the right yardstick on MNIST, pytorch-fid #12) or a user's.
  The score depends on the feature network and the sample sizes (it is biased
  upwards for small ``N``; below ~``D`` samples the covariances are rank-deficient),
  so compare only numbers computed the same way. Run the feature network in
  inference mode (pytorch-fid #118).

  Args:
    real_features: ``(N, D)`` features of real samples, ``N ≥ 2``.
    generated_features: ``(M, D)`` features of generated samples, ``M ≥ 2``.

  Returns:
    The FID, a Python float ``≥ 0`` (lower is better).

  Raises:
    ValueError: if an input is not 2-D with at least 2 rows, or the feature
      dimensions differ.

  References:
    Heusel, Ramsauer, Unterthiner, Nessler, Hochreiter. GANs Trained by a Two
    Time-Scale Update Rule Converge to a Local Nash Equilibrium. NeurIPS 2017.
    arXiv:1706.08500.

  Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(5000, 2))
    >>> shifted = rng.normal(size=(5000, 2)) + np.array([3.0, 4.0])
    >>> round(frechet_inception_distance(real, shifted))  # ‖Δμ‖² = 25
    25
  """
  real_features = np.asarray(real_features)
  generated_features = np.asarray(generated_features)
  if (real_features.ndim == 2 and generated_features.ndim == 2
      and real_features.shape[1] != generated_features.shape[1]):
    raise ValueError(f"real_features {real_features.shape} and generated_features "
                     f"{generated_features.shape} have different feature dimensions.")
  return frechet_distance(*gaussian_statistics(real_features),
                          *gaussian_statistics(generated_features))


__all__ = ["frechet_distance", "frechet_inception_distance", "gaussian_statistics"]
