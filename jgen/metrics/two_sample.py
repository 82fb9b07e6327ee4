"""Two-sample tests: is a generator's sample distinguishable from held-out data?

Three tests of ``H0: P = Q`` from samples ``x ~ P`` (real) and ``y ~ Q`` (generated),
each returning a ``TwoSampleResult(statistic, p_value, extras)``:

- ``mmd_permutation_test``: the unbiased MMD² with a Gaussian kernel (Gretton et al.
  2012), calibrated by relabelling the pooled sample;
- ``classifier_two_sample_test``: the held-out accuracy of a classifier trained to tell
  the samples apart, with a binomial p-value (Lopez-Paz & Oquab 2017);
- ``discriminator_two_sample_test``: a trained GAN discriminator (or WGAN critic) used
  as the test statistic on held-out real images and fresh samples.

All three are pure in ``(inputs, key)`` and jittable, so repetitions can be ``vmap``-ped;
the fields of the result are 0-d arrays (``float(result.p_value)`` gives a number). A
non-finite statistic (e.g. NaN samples from a diverged generator) gives a NaN p-value
rather than a spuriously small one.

Choose any tuning parameter (the kernel bandwidth, the classifier's size) on a split
that the test does not see: tuning on the test data makes the p-values invalid.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen.metrics._checks import feature_sets
from jgen.metrics._distances import squared_distances
from jgen.metrics.kernels import gaussian_kernel
from jgen.models.mlp import MLP
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class TwoSampleResult(NamedTuple):
  """The outcome of a two-sample test (a pytree, so it passes through ``jit``/``vmap``).

  Attributes:
    statistic: the test statistic, a 0-d array; large values speak against ``H0``.
    p_value: a 0-d array in ``[0, 1]`` (permutation p-values are ``≥ 1/(1 + B)``; binomial
      ones underflow to 0 in float32 below about 1e-38); reject ``H0`` at level α when
      ``p_value ≤ α``.
    extras: a dict of further 0-d arrays, specific to each test (see its docstring).
  """

  statistic: Array
  p_value: Array
  extras: dict


# --------------------------------------------------------------------------- validation


_REAL = int | float | np.integer | np.floating


def _is_concrete(value) -> bool:
  return not isinstance(value, jax.core.Tracer)


def _check_num_permutations(num_permutations, caller: str) -> None:
  if (isinstance(num_permutations, bool) or not isinstance(num_permutations, int | np.integer)
      or num_permutations < 1):
    raise ValueError(f"{caller}: num_permutations must be an integer ≥ 1; got "
                     f"{num_permutations!r}.")


def _random_relabellings(key: PRNGKey, labels: Array, num_permutations: int) -> Array:
  """``(B, N)`` uniformly random rearrangements of ``labels`` (N,), one per row.

  One batched sort on 32-bit random keys (as ``jax.random.permutation`` does for one
  round); ties between keys, of probability about ``N² / 2³³`` per row, keep their order.
  """
  sort_keys = jax.random.bits(key, (num_permutations, labels.shape[0]), jnp.uint32)
  return labels[jnp.argsort(sort_keys, axis=-1)]


def _permutation_p_value(observed: Array, permuted: Array) -> Array:
  """``(1 + #{b : T_b ≥ T}) / (1 + B)``; NaN when ``T`` is not finite.

  Counting the observed labelling as one of the permutations makes the p-value valid
  in finite samples (``P(p ≤ α) ≤ α`` under ``H0``) and never 0 (Phipson & Smyth 2010).
  """
  count = jnp.sum(permuted >= observed)
  p_value = (1.0 + count) / (1.0 + permuted.shape[0])
  return jnp.where(jnp.isfinite(observed), p_value, jnp.nan)


# ------------------------------------------------------------------------------ binomial


@jax.jit
def _binomial_tail(successes, trials, p):
  k = jnp.asarray(successes, jnp.float32)
  n = jnp.asarray(trials, jnp.float32)
  p = jnp.asarray(p, jnp.float32)
  # P(X ≥ k) = I_p(k, n − k + 1) for 1 ≤ k ≤ n; clamp the arguments so that betainc is
  # never evaluated at a = 0 or b = 0 in the branches that jnp.where discards.
  a = jnp.clip(k, 1.0, jnp.maximum(n, 1.0))
  tail = jax.scipy.special.betainc(a, n - a + 1.0, p)
  return jnp.where(k <= 0, 1.0, jnp.where(k > n, 0.0, tail))


def binomial_tail(successes: ArrayLike, trials: ArrayLike, p: ArrayLike = 0.5) -> Array:
  """The upper tail ``P(X ≥ k)`` of ``X ~ Binomial(n, p)``.

  ``P(X ≥ k) = Σ_{j=k}^{n} C(n, j) p^j (1 − p)^{n−j} = I_p(k, n − k + 1)`` for
  ``1 ≤ k ≤ n``, the regularized incomplete beta function; ``1`` for ``k ≤ 0`` and ``0``
  for ``k > n``. Evaluated in float32 with ``jax.scipy.special.betainc``; jittable and
  broadcasting over its arguments.

  Args:
    successes: ``k``, integer-valued, any shape.
    trials: ``n ≥ 0``, integer-valued, broadcastable with ``successes``.
    p: the success probability in ``[0, 1]``.

  Returns:
    ``P(X ≥ k)``, the broadcast shape of the arguments.

  Raises:
    ValueError: if (concrete) ``trials`` is negative or ``p`` lies outside ``[0, 1]``.

  Example:
    >>> round(float(binomial_tail(8, 10)), 4)  # 56 / 1024
    0.0547
  """
  if _is_concrete(trials) and np.any(np.asarray(trials) < 0):
    raise ValueError(f"binomial_tail: trials must be ≥ 0; got {trials!r}.")
  if _is_concrete(p) and np.any((np.asarray(p) < 0) | (np.asarray(p) > 1)):
    raise ValueError(f"binomial_tail: p must lie in [0, 1]; got {p!r}.")
  return _binomial_tail(successes, trials, p)


# ----------------------------------------------------------------------------------- MMD


def median_heuristic_bandwidth(x: ArrayLike, y: ArrayLike | None = None,
                               max_points: int = 1000) -> float:
  """The median pairwise Euclidean distance of the pooled points, a Gaussian bandwidth.

  ``σ = median_{i<j} ‖z_i − z_j‖`` over ``z = [x; y]`` (Gretton et al. 2012, §8). For
  speed, more than ``max_points`` pooled points are thinned to ``max_points`` evenly
  spaced rows (a fixed rule: the same inputs always give the same σ).

  Choose the bandwidth on a split separate from the data you then test with
  ``mmd_permutation_test``: a bandwidth tuned on the test data makes its p-value invalid.
  (The pooled median is invariant to relabelling, so it is the mildest case; the
  separate split keeps the habit for any choice tuned for power.)

  Args:
    x: ``(n, D)`` points.
    y: optional ``(m, D)`` points, pooled with ``x``.
    max_points: the most points used, ``≥ 2``.

  Returns:
    ``σ > 0`` as a Python float.

  Raises:
    ValueError: if the inputs are not ``(·, D)`` arrays with matching ``D``, if fewer
      than 2 points are given, or if the median distance is 0 (most points coincide).

  References:
    Gretton et al. A Kernel Two-Sample Test. JMLR 2012.
  """
  z = np.asarray(x, np.float32)
  if y is not None:
    y = np.asarray(y, np.float32)
    if z.ndim != 2 or y.ndim != 2 or z.shape[1] != y.shape[1]:
      raise ValueError(f"median_heuristic_bandwidth: x and y must be (n, D) and (m, D); "
                       f"got shapes {z.shape} and {y.shape}.")
    z = np.concatenate([z, y])
  if z.ndim != 2:
    raise ValueError(f"median_heuristic_bandwidth: x must be (n, D); got shape {z.shape}.")
  if max_points < 2:
    raise ValueError(f"median_heuristic_bandwidth: max_points must be ≥ 2; got {max_points}.")
  if z.shape[0] < 2:
    raise ValueError(f"median_heuristic_bandwidth: need at least 2 points; got {z.shape[0]}.")
  if z.shape[0] > max_points:
    # The step (N − 1)/(max_points − 1) exceeds 1, so the rounded indices are distinct.
    z = z[np.round(np.linspace(0, z.shape[0] - 1, max_points)).astype(np.int64)]
  distances = np.sqrt(np.asarray(squared_distances(z, z), np.float64))
  sigma = float(np.median(distances[np.triu_indices(z.shape[0], 1)]))
  if not sigma > 0:
    raise ValueError(f"median_heuristic_bandwidth: the median pairwise distance is {sigma}; "
                     "most points coincide, so pass an explicit bandwidth instead.")
  return sigma


def _mmd2_from_labels(kernel: Array, labels: Array, diagonal: Array, n: int, m: int) -> Array:
  """Unbiased MMD² of the split of the pooled kernel matrix given by 0/1 ``labels``.

  With ``s`` the indicator of the first sample and ``t = 1 − s``,
  ``Σ_{i≠j∈X} k_ij = sᵀKs − sᵀ diag K``, so each relabelling costs one product ``K s``.
  """
  s = labels
  t = 1.0 - labels
  ks = jnp.dot(kernel, s, precision=jax.lax.Precision.HIGHEST)
  kt = jnp.dot(kernel, t, precision=jax.lax.Precision.HIGHEST)
  sum_xx = (jnp.dot(s, ks) - jnp.dot(s, diagonal)) / (n * (n - 1))
  sum_yy = (jnp.dot(t, kt) - jnp.dot(t, diagonal)) / (m * (m - 1))
  return sum_xx + sum_yy - 2.0 * jnp.dot(t, ks) / (n * m)


@functools.partial(jax.jit, static_argnames="num_permutations")
def _mmd_permutation_test(x, y, key, bandwidth, num_permutations):
  n, m = x.shape[0], y.shape[0]
  z = jnp.concatenate([x, y])
  kernel = gaussian_kernel(z, z, bandwidth)  # (n + m, n + m), computed once.
  diagonal = jnp.diagonal(kernel)
  labels = jnp.concatenate([jnp.ones(n), jnp.zeros(m)])
  statistic = _mmd2_from_labels(kernel, labels, diagonal, n, m)
  permuted_labels = _random_relabellings(key, labels, num_permutations)  # (B, n + m)
  permuted = jax.vmap(lambda s: _mmd2_from_labels(kernel, s, diagonal, n, m))(permuted_labels)
  return TwoSampleResult(statistic, _permutation_p_value(statistic, permuted), {})


def mmd_permutation_test(x: ArrayLike, y: ArrayLike, key: PRNGKey, *,
                         bandwidth: float | Array,
                         num_permutations: int = 500) -> TwoSampleResult:
  """The kernel two-sample test: unbiased MMD² with a permutation p-value.

  ``T = MMD²_u(x, y)`` with ``k(a, b) = exp(−‖a − b‖² / (2σ²))`` (``mmd2_unbiased``,
  Gretton et al. 2012, Lemma 6). The pooled ``(n+m) × (n+m)`` kernel matrix is built
  once; each of the ``B = num_permutations`` null draws relabels the pooled points at
  random (``n`` as ``x``, ``m`` as ``y``) and recomputes ``T_b`` from the same matrix.
  ``p = (1 + #{b : T_b ≥ T}) / (1 + B)``, valid for any ``n``, ``m`` and ``B`` and at
  least ``1/(1 + B)``.

  Choose ``bandwidth`` (e.g. ``median_heuristic_bandwidth``) on a split separate from
  ``x`` and ``y``.

  Args:
    x: ``(n, D)`` real points (features or flattened images), ``n ≥ 2``.
    y: ``(m, D)`` generated points, ``m ≥ 2``.
    key: a PRNG key for the permutations.
    bandwidth: the kernel width ``σ > 0`` (may be traced under ``jit``).
    num_permutations: ``B ≥ 1`` (static); memory ``O((n + m)(n + m + B))``.

  Returns:
    ``TwoSampleResult(statistic=T, p_value=p, extras={})``, 0-d arrays.

  Raises:
    ValueError: on inputs that are not ``(·, D)`` arrays with matching ``D`` and at least
      2 points each, ``num_permutations < 1``, or a (concrete) ``bandwidth ≤ 0``.

  References:
    Gretton et al. A Kernel Two-Sample Test. JMLR 2012.

  Example:
    >>> x = jax.random.normal(jax.random.key(0), (50, 2))
    >>> y = jax.random.normal(jax.random.key(1), (50, 2)) + 1.0
    >>> result = mmd_permutation_test(x, y, jax.random.key(2), bandwidth=1.5)
    >>> float(result.p_value) < 0.05
    True
  """
  x, y = feature_sets({"x": x, "y": y}, min_points=2, caller="mmd_permutation_test",
                      finite=False)
  _check_num_permutations(num_permutations, "mmd_permutation_test")
  if _is_concrete(bandwidth):
    if np.ndim(bandwidth) != 0 or not float(bandwidth) > 0:
      raise ValueError(f"mmd_permutation_test: bandwidth must be a positive scalar; got "
                       f"{bandwidth!r}.")
  return _mmd_permutation_test(x, y, key, jnp.asarray(bandwidth, jnp.float32),
                               int(num_permutations))


# ---------------------------------------------------------------------------------- C2ST


def _split(key: PRNGKey, points: Array, num_test: int) -> tuple[Array, Array]:
  """A random ``(train, test)`` split of the rows with ``num_test`` test rows."""
  points = jax.random.permutation(key, points)
  return points[num_test:], points[:num_test]


@functools.partial(jax.jit,
                   static_argnames=("hidden", "steps", "learning_rate", "num_test_per_side"))
def _classifier_two_sample_test(x, y, key, hidden, steps, learning_rate, num_test_per_side):
  key_x, key_y, key_init = jax.random.split(key, 3)
  x_train, x_test = _split(key_x, x, num_test_per_side)
  y_train, y_test = _split(key_y, y, num_test_per_side)
  # Standardise with the training statistics only: the test split stays unseen.
  train = jnp.concatenate([x_train, y_train])
  mean = jnp.mean(train, 0)
  std = jnp.std(train, 0)
  std = jnp.where(std > 0, std, 1.0)  # Constant features (e.g. image borders) stay 0.
  x_train, y_train, x_test, y_test = ((a - mean) / std for a in (x_train, y_train, x_test, y_test))

  model = MLP(hidden=(hidden,) if hidden else (), out_features=1)
  params = model.init(key_init, x_train[:1])
  optimizer = optax.adam(learning_rate)

  def loss_fn(params):
    # Each class weighs 1/2 whatever the sample sizes, so the classifier does not simply
    # learn the larger class.
    logits_x = model.apply(params, x_train)[:, 0]
    logits_y = model.apply(params, y_train)[:, 0]
    return 0.5 * (jnp.mean(optax.sigmoid_binary_cross_entropy(logits_x, 1.0))
                  + jnp.mean(optax.sigmoid_binary_cross_entropy(logits_y, 0.0)))

  def step(carry, _):
    params, opt_state = carry
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
  correct = (jnp.sum(model.apply(params, x_test)[:, 0] > 0)
             + jnp.sum(model.apply(params, y_test)[:, 0] <= 0))
  num_test = 2 * num_test_per_side
  accuracy = correct / num_test
  p_value = binomial_tail(correct, num_test, 0.5)
  p_value = jnp.where(jnp.isfinite(accuracy), p_value, jnp.nan)
  return TwoSampleResult(accuracy, p_value,
                         {"num_correct": correct, "num_test": jnp.asarray(num_test)})


def classifier_two_sample_test(x: ArrayLike, y: ArrayLike, key: PRNGKey, *, hidden: int = 64,
                               steps: int = 200, learning_rate: float = 1e-2,
                               train_fraction: float = 0.5) -> TwoSampleResult:
  """The classifier two-sample test (C2ST): held-out accuracy with a binomial p-value.

  Label ``x`` as 1 and ``y`` as 0 and split each side at random: ``k = ⌊(1 −
  train_fraction) · min(n, m)⌋`` points of *each* side form the test set and the rest
  the training set. A one-hidden-layer ReLU MLP (logistic regression when ``hidden=0``)
  is trained full-batch with Adam for ``steps`` steps on class-balanced binary cross
  entropy, with inputs standardised by the training mean and standard deviation. The
  statistic is the test accuracy ``T = c / (2k)`` with ``c`` the correct predictions
  (logit > 0 means ``x``), and ``p = P(Binomial(2k, 1/2) ≥ c)``.

  Why balanced test sets: under ``H0`` the trained classifier is independent of the
  test points, so with ``k`` points per class its correct count has mean exactly ``k``
  and variance at most ``k/2`` whatever it learnt, which makes the binomial p-value
  valid (Hoeffding 1956). With unbalanced test sets, a classifier that always predicts
  the larger class beats 1/2 under ``H0``. The binomial p-value is discrete, so the
  test's size is at most, and usually a little below, α.

  Args:
    x: ``(n, D)`` real points (features or flattened images), ``n ≥ 2``.
    y: ``(m, D)`` generated points, ``m ≥ 2``.
    key: a PRNG key for the split and the initialisation.
    hidden: width of the hidden layer; 0 gives logistic regression (static).
    steps: Adam steps, ``≥ 1`` (static).
    learning_rate: Adam's learning rate, ``> 0`` (static).
    train_fraction: fraction of each side used for training, in ``(0, 1)`` (static);
      it must leave at least one test and one training point per side.

  Returns:
    ``TwoSampleResult(statistic=T, p_value=p, extras={"num_correct": c,
    "num_test": 2k})``, 0-d arrays.

  Raises:
    ValueError: on inputs that are not ``(·, D)`` arrays with matching ``D`` and at least
      2 points each, or on out-of-range ``hidden``, ``steps``, ``learning_rate`` or
      ``train_fraction``.

  References:
    Lopez-Paz & Oquab. Revisiting Classifier Two-Sample Tests. ICLR 2017.
    arXiv:1610.06545.
  """
  x, y = feature_sets({"x": x, "y": y}, min_points=2, caller="classifier_two_sample_test",
                      finite=False)
  if isinstance(hidden, bool) or not isinstance(hidden, int | np.integer) or hidden < 0:
    raise ValueError(f"classifier_two_sample_test: hidden must be an integer ≥ 0 (0 for "
                     f"logistic regression); got {hidden!r}.")
  if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
    raise ValueError(f"classifier_two_sample_test: steps must be an integer ≥ 1; got "
                     f"{steps!r}.")
  if not (isinstance(learning_rate, _REAL) and learning_rate > 0):
    raise ValueError(f"classifier_two_sample_test: learning_rate must be a positive number; "
                     f"got {learning_rate!r}.")
  if not (isinstance(train_fraction, _REAL) and 0 < train_fraction < 1):
    raise ValueError(f"classifier_two_sample_test: train_fraction must lie in (0, 1); got "
                     f"{train_fraction!r}.")
  smaller = min(x.shape[0], y.shape[0])
  num_test_per_side = int(np.floor((1.0 - train_fraction) * smaller))
  if not 1 <= num_test_per_side <= smaller - 1:
    raise ValueError(f"classifier_two_sample_test: train_fraction={train_fraction} with "
                     f"{smaller} points in the smaller sample gives {num_test_per_side} test "
                     f"points per side; need between 1 and {smaller - 1}.")
  return _classifier_two_sample_test(x, y, key, int(hidden), int(steps), float(learning_rate),
                                     num_test_per_side)


# ------------------------------------------------------------------------- discriminator


@functools.partial(jax.jit, static_argnames="num_permutations")
def _discriminator_two_sample_test(real_scores, generated_scores, key, num_permutations):
  n, m = real_scores.shape[0], generated_scores.shape[0]
  scores = jnp.concatenate([real_scores, generated_scores])
  # T is invariant to a common offset; removing it keeps float32 precision for critics
  # whose scores sit far from 0.
  scores = scores - jnp.mean(scores)

  def mean_difference(labels):
    return jnp.dot(labels, scores) / n - jnp.dot(1.0 - labels, scores) / m

  labels = jnp.concatenate([jnp.ones(n), jnp.zeros(m)])
  statistic = mean_difference(labels)
  permuted = jax.vmap(mean_difference)(_random_relabellings(key, labels, num_permutations))
  p_value = _permutation_p_value(statistic, permuted)

  # The sign rule on k = min(n, m) scores per side: with equal counts its chance
  # accuracy is exactly 1/2 whatever its threshold (see classifier_two_sample_test).
  k = min(n, m)
  correct = jnp.sum(real_scores[:k] > 0) + jnp.sum(generated_scores[:k] <= 0)
  sign_p_value = binomial_tail(correct, 2 * k, 0.5)
  sign_p_value = jnp.where(jnp.isfinite(statistic), sign_p_value, jnp.nan)
  extras = {"sign_accuracy": correct / (2 * k), "sign_p_value": sign_p_value}
  return TwoSampleResult(statistic, p_value, extras)


def discriminator_two_sample_test(real_scores: ArrayLike, generated_scores: ArrayLike,
                                  key: PRNGKey, *,
                                  num_permutations: int = 1000) -> TwoSampleResult:
  """A trained GAN discriminator or critic as a two-sample test statistic.

  Given its raw outputs (logits or critic scores) ``r`` on ``n`` held-out real images
  and ``g`` on ``m`` fresh samples — neither seen in training, so the discriminator is
  a fixed function of the test data — the statistic is
  ``T = mean(r) − mean(g)``, with the one-sided permutation p-value
  ``p = (1 + #{b : T_b ≥ T}) / (1 + B)`` over random relabellings of the pooled scores.
  ``T`` needs no threshold, so it suits WGAN critics, whose scores have an arbitrary
  offset. For logit discriminators, ``extras`` also reports the sign rule (score > 0
  means real) on the first ``k = min(n, m)`` scores of each side: its accuracy
  ``c / (2k)`` and ``P(Binomial(2k, 1/2) ≥ c)``; equal counts keep its chance level at
  1/2 even for a biased discriminator.

  A discriminator that still tells held-out real data from samples (small p) shows the
  generator has not matched the data distribution, as seen by that discriminator; a
  large p is weak evidence, limited by the discriminator's power.

  Args:
    real_scores: ``(n,)`` scores on held-out real data, ``n ≥ 2``.
    generated_scores: ``(m,)`` scores on fresh generated samples, ``m ≥ 2``.
    key: a PRNG key for the permutations.
    num_permutations: ``B ≥ 1`` (static).

  Returns:
    ``TwoSampleResult(statistic=T, p_value=p, extras={"sign_accuracy",
    "sign_p_value"})``, 0-d arrays.

  Raises:
    ValueError: if the scores are not 1-D with at least 2 entries each, or
      ``num_permutations < 1``.

  References:
    Lopez-Paz & Oquab. Revisiting Classifier Two-Sample Tests. ICLR 2017.
    arXiv:1610.06545 (Sec. 5, evaluating GANs with their discriminators).
  """
  real_scores = jnp.asarray(real_scores, jnp.float32)
  generated_scores = jnp.asarray(generated_scores, jnp.float32)
  if real_scores.ndim != 1 or generated_scores.ndim != 1:
    raise ValueError(f"discriminator_two_sample_test: scores must be 1-D, one per example; got "
                     f"shapes {real_scores.shape} and {generated_scores.shape}.")
  if real_scores.shape[0] < 2 or generated_scores.shape[0] < 2:
    raise ValueError(f"discriminator_two_sample_test: need at least 2 scores per side; got "
                     f"{real_scores.shape[0]} real and {generated_scores.shape[0]} generated.")
  _check_num_permutations(num_permutations, "discriminator_two_sample_test")
  return _discriminator_two_sample_test(real_scores, generated_scores, key,
                                        int(num_permutations))


__all__ = [
    "TwoSampleResult",
    "binomial_tail",
    "classifier_two_sample_test",
    "discriminator_two_sample_test",
    "median_heuristic_bandwidth",
    "mmd_permutation_test",
]
