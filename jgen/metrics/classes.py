"""Metrics from a classifier's posteriors ``p(y|x)`` on generated samples.

The Inception Score rewards confident posteriors (sharp ``p(y|x)``) whose average
``p(y)`` is spread over the classes; the predicted-class histogram shows mode
collapse on labelled image data directly (an MNIST generator that draws only 1s and
7s covers 2 of 10 classes). All inputs are raw logits ``(N, C)``; posteriors are taken
with a float64 log-softmax, so confident logits (±1e4) are exact, not ``log 0``.
"""

import math

import numpy as np

from jgen.typing import ArrayLike


def _as_logits(logits: ArrayLike) -> np.ndarray:
  logits = np.asarray(logits, dtype=np.float64)
  if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 1:
    raise ValueError(f"logits must be 2-D (num_samples, num_classes) and non-empty; got "
                     f"shape {logits.shape}.")
  if np.isnan(logits).any() or np.isposinf(logits).any():
    raise ValueError("logits contain NaN or +inf; -inf (probability 0) is the only "
                     "non-finite value accepted.")
  return logits


def _log_softmax(logits: np.ndarray) -> np.ndarray:
  # Subtract the row maximum so exp never overflows; a row's maximum is finite
  # unless the whole row is -inf, which has no posterior.
  shift = logits.max(axis=1, keepdims=True)
  if not np.isfinite(shift).all():
    raise ValueError("a row of logits is all -inf: it defines no class posterior.")
  shifted = logits - shift
  return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def inception_score(logits: ArrayLike, num_splits: int = 10) -> dict:
  """Inception Score: ``exp(E_x KL(p(y|x) ‖ p(y)))``, its mean and std over splits.

  The ``N`` samples are cut into ``num_splits`` contiguous, near-equal splits (the
  original code's ``[i N / S, (i+1) N / S)``); within each, ``p(y) = mean_x p(y|x)``
  and ``IS = exp(mean_x Σ_y p(y|x) (log p(y|x) − log p(y)))``. It lies in
  ``[1, C]``: 1 when every posterior is the same, ``C`` for confident predictions
  spread evenly over the ``C`` classes. The reported numbers (50,000 samples, 10
  splits, Inception-v3's 1,008 logits) are only comparable with exactly that setup.

  Args:
    logits: ``(N, C)`` classifier logits of generated samples.
    num_splits: number of splits ``S``, in ``[1, N]``.

  Returns:
    A dict of Python floats: ``inception_score`` (mean over splits) and
    ``inception_score_std`` (standard deviation over splits, ``ddof=0`` as in the
    original code).

  Raises:
    ValueError: if ``logits`` is not a non-empty ``(N, C)`` array, holds NaN or
      +inf, or ``num_splits`` is not in ``[1, N]``.

  References:
    Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen. Improved Techniques for
    Training GANs. NeurIPS 2016. arXiv:1606.03498.

  Example:
    >>> import numpy as np
    >>> confident = 50.0 * np.eye(4)[np.arange(400) % 4]  # 4 balanced classes
    >>> round(inception_score(confident, num_splits=2)["inception_score"], 6)
    4.0
  """
  logits = _as_logits(logits)
  n = logits.shape[0]
  if not 1 <= num_splits <= n:
    raise ValueError(f"num_splits={num_splits} must lie in [1, {n}] (the number of "
                     f"samples).")
  log_p = _log_softmax(logits)
  p = np.exp(log_p)
  scores = []
  for i in range(num_splits):
    part_log_p = log_p[i * n // num_splits:(i + 1) * n // num_splits]
    part_p = p[i * n // num_splits:(i + 1) * n // num_splits]
    # log p(y) = logsumexp_x log p(y|x) − log n, computed stably per class.
    top = part_log_p.max(axis=0)
    finite_top = np.where(np.isfinite(top), top, 0.0)
    # A class that is -inf throughout the split has log p(y) = −inf; its terms are
    # 0 · (−inf + inf) and masked out below, so silence the warnings they raise.
    with np.errstate(divide="ignore", invalid="ignore"):
      log_marginal = finite_top + np.log(np.mean(np.exp(part_log_p - finite_top), axis=0))
      # 0 · log 0 = 0: classes with p(y|x) = 0 contribute nothing.
      terms = np.where(part_p > 0, part_p * (part_log_p - log_marginal), 0.0)
    scores.append(math.exp(np.mean(np.sum(terms, axis=1))))
  scores = np.asarray(scores)
  return {"inception_score": float(scores.mean()),
          "inception_score_std": float(scores.std())}


def class_histogram(logits: ArrayLike) -> np.ndarray:
  """Counts of the predicted classes ``argmax_y logits[i, y]``.

  Args:
    logits: ``(N, C)`` classifier logits (or probabilities: only the argmax counts).

  Returns:
    ``(C,)`` int64 counts summing to ``N``.

  Raises:
    ValueError: if ``logits`` is not a non-empty ``(N, C)`` array or holds NaN/+inf.
  """
  logits = _as_logits(logits)
  return np.bincount(np.argmax(logits, axis=1), minlength=logits.shape[1])


def class_histogram_kl(logits: ArrayLike) -> float:
  """``KL(p̂ ‖ U) = log C − H(p̂)`` of the predicted-class histogram ``p̂``.

  ``p̂_c = #{i : argmax logits_i = c} / N`` against the uniform ``U_c = 1/C`` of a
  balanced dataset, with ``0 log 0 = 0``: 0 when the classes are predicted equally
  often, ``log C`` when every sample is predicted as one class (total mode
  collapse). The class-balance half of the mode-collapse diagnostics on labelled
  images (e.g. MNIST digits), as the reverse KL of ``jgen.metrics.mode_coverage`` is
  on 2-D mixtures.

  Args:
    logits: ``(N, C)`` classifier logits of generated samples.

  Returns:
    The KL divergence in nats, a Python float in ``[0, log C]``.

  Raises:
    ValueError: if ``logits`` is not a non-empty ``(N, C)`` array or holds NaN/+inf.

  References:
    Srivastava et al. VEEGAN. NeurIPS 2017, Sec. 5 (KL of the mode histogram to the
    data's). arXiv:1705.07761.
  """
  counts = class_histogram(logits)
  p = counts[counts > 0] / counts.sum()
  # Clamp the round-off of a perfectly balanced histogram (KL would be −1e-16).
  return max(float(np.sum(p * np.log(len(counts) * p))), 0.0)


def num_classes_covered(logits: ArrayLike, min_fraction: float = 0.0) -> int:
  """Number of classes predicted for more than ``min_fraction`` of the samples.

  ``#{c : p̂_c > min_fraction}`` with ``p̂`` the predicted-class histogram of
  ``class_histogram``; the default 0 counts every class predicted at least once.

  Args:
    logits: ``(N, C)`` classifier logits of generated samples.
    min_fraction: threshold in ``[0, 1)``; e.g. ``0.1 / C`` ignores classes drawn
      ten times less often than under balance.

  Returns:
    An int in ``[1, C]`` (``[0, C]`` for ``min_fraction > 0``).

  Raises:
    ValueError: if ``logits`` is invalid (as in ``class_histogram``) or
      ``min_fraction`` is not in ``[0, 1)``.
  """
  if not 0.0 <= min_fraction < 1.0:
    raise ValueError(f"min_fraction={min_fraction} must lie in [0, 1).")
  counts = class_histogram(logits)
  return int(np.count_nonzero(counts / counts.sum() > min_fraction))


__all__ = ["class_histogram", "class_histogram_kl", "inception_score", "num_classes_covered"]
