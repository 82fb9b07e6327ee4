"""Tests for jgen.metrics.two_sample: MMD, classifier and discriminator two-sample tests.

The calibration tests check the rejection rate under ``H0`` at α = 0.05 against the 99%
binomial interval of the number of rejections; the power tests check that a clear
alternative is rejected almost always. Repetitions are vmapped, so each runs as one
compiled program.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import spatial
from scipy import stats

from jgen.metrics import kernels
from jgen.metrics import two_sample

ALPHA = 0.05
# Repetitions for both the null and the power runs: equal shapes share one compilation.
REPS = 200
# The discriminator test is cheap, so it affords a tighter check; with 1 + B = 100
# permutations P(p ≤ 0.05) is still exactly 0.05.
DISCRIMINATOR_REPS = 1000
DISCRIMINATOR_PERMUTATIONS = 99
# Permutations for the repeated tests: with 1 + B = 200, P(p ≤ 0.05) = 0.05 exactly.
PERMUTATIONS = 199
# Permutations and sample sizes of the small exact tests (one compilation each).
SMALL_B, SMALL_N, SMALL_M = 9, 10, 12


def _gaussians(seed, n, m, dim, shift=0.0, scale=1.0, reps=REPS):
  """x ~ N(0, I), y ~ N(shift·1, scale² I): (reps, n, dim), (reps, m, dim), float32."""
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((reps, n, dim)).astype(np.float32)
  y = (shift + scale * rng.standard_normal((reps, m, dim))).astype(np.float32)
  return x, y


def _small_pair(seed, shift=0.0):
  x, y = _gaussians(seed, SMALL_N, SMALL_M, 2, shift=shift, reps=1)
  return x[0], y[0]


def _keys(seed, reps=REPS):
  return jax.random.split(jax.random.key(seed), reps)


def _rejection_rate(p_values, reps=REPS):
  p_values = np.asarray(p_values)
  assert p_values.shape == (reps,) and np.all(np.isfinite(p_values))
  return float(np.mean(p_values <= ALPHA))


def _assert_calibrated(rate, reps=REPS, size=ALPHA):
  """``rate`` lies in the 99% binomial interval of ``reps`` tests of exact size ``size``."""
  lo, hi = stats.binom.interval(0.99, reps, size)
  assert lo / reps <= rate <= hi / reps, (rate, lo / reps, hi / reps)


def _binomial_test_size(trials):
  """The exact size of the level-α one-sided binomial test: P(Bin(trials, 1/2) ≥ c*)."""
  tails = stats.binom.sf(np.arange(trials + 1) - 1, trials, 0.5)
  return float(tails[tails <= ALPHA].max())


# A bandwidth chosen on a separate split (PITFALLS): a fresh draw, never a test sample.
_BANDWIDTH_2D = two_sample.median_heuristic_bandwidth(
    *(a[0] for a in _gaussians(12345, 200, 200, 2, reps=1)))


@jax.jit
def _mmd_batch(keys, x, y, bandwidth):
  # The bandwidth is traced here: the test must not need a concrete one.
  return jax.vmap(lambda k, a, b: two_sample.mmd_permutation_test(
      a, b, k, bandwidth=bandwidth, num_permutations=PERMUTATIONS))(keys, x, y)


@jax.jit
def _c2st_batch(keys, x, y):
  return jax.vmap(lambda k, a, b: two_sample.classifier_two_sample_test(
      a, b, k, hidden=16, steps=100, learning_rate=3e-2))(keys, x, y)


@jax.jit
def _discriminator_batch(keys, real_scores, generated_scores):
  return jax.vmap(lambda k, r, g: two_sample.discriminator_two_sample_test(
      r, g, k, num_permutations=DISCRIMINATOR_PERMUTATIONS))(keys, real_scores,
                                                             generated_scores)


def _biased_critic(z):
  """A fixed, non-optimal 'discriminator', not centred at 0: (..., N, 2) → (..., N)."""
  return z[..., 0] + 0.5 * z[..., 1] ** 2 - 0.3


def _symmetric_critic(z):
  """P(score > 0) = 1/2 under N(0, I), so the sign rule's count is exactly binomial."""
  return z[..., 0] + 0.5 * np.tanh(z[..., 1])


def _good_critic(z):
  """Scores real N(0, I) above generated N(1, I): minus the sum of the coordinates."""
  return -np.sum(z, -1)


# ------------------------------------------------------------------------- calibration


def test_mmd_calibrated_under_null():
  x, y = _gaussians(0, 50, 50, 2)
  rate = _rejection_rate(_mmd_batch(_keys(0), x, y, _BANDWIDTH_2D).p_value)
  print(f"MMD null rejection rate: {rate:.3f}")
  _assert_calibrated(rate)


def test_c2st_calibrated_under_null():
  # 2·50 test points: the binomial test's exact size is P(Bin(100, 1/2) ≥ 59) ≈ 0.044.
  x, y = _gaussians(1, 100, 100, 8)
  result = _c2st_batch(_keys(1), x, y)
  rate = _rejection_rate(result.p_value)
  print(f"C2ST null rejection rate: {rate:.3f}")
  _assert_calibrated(rate)
  # Every repetition: statistic = correct / 100 and p = P(Bin(100, 1/2) ≥ correct).
  correct = np.asarray(result.extras["num_correct"])
  assert np.all(np.asarray(result.extras["num_test"]) == 100)
  np.testing.assert_allclose(result.statistic, correct / 100, rtol=1e-6)
  np.testing.assert_allclose(result.p_value, stats.binom.sf(correct - 1, 100, 0.5), rtol=1e-4)


def test_discriminator_calibrated_under_null():
  x, y = _gaussians(2, 50, 50, 2, reps=DISCRIMINATOR_REPS)
  result = _discriminator_batch(_keys(2, DISCRIMINATOR_REPS), _biased_critic(x),
                                _biased_critic(y))
  rate = _rejection_rate(result.p_value, DISCRIMINATOR_REPS)
  print(f"discriminator null rejection rate: {rate:.3f}")
  _assert_calibrated(rate, DISCRIMINATOR_REPS)


def test_discriminator_sign_rule_calibrated_under_null():
  # With P(score > 0) = 1/2 the 100 sign decisions are exactly Binomial(100, 1/2), so the
  # rate is checked against the discrete test's exact size P(Bin(100, 1/2) ≥ 59) ≈ 0.044.
  x, y = _gaussians(3, 50, 50, 2, reps=DISCRIMINATOR_REPS)
  result = _discriminator_batch(_keys(3, DISCRIMINATOR_REPS), _symmetric_critic(x),
                                _symmetric_critic(y))
  rate = _rejection_rate(result.extras["sign_p_value"], DISCRIMINATOR_REPS)
  print(f"discriminator sign-rule null rejection rate: {rate:.3f}")
  _assert_calibrated(rate, DISCRIMINATOR_REPS, size=_binomial_test_size(100))


def test_sign_rule_is_not_fooled_by_unequal_sizes():
  # A critic biased towards "real" (P(score > 0) = Φ(0.5) ≈ 0.69) on 3× more real than
  # generated points: counting all 200 points gives ≈ 0.6 accuracy under H0 and rejects
  # almost always; the balanced count must stay at or below the level.
  x, y = _gaussians(4, 150, 50, 2)
  real, generated = x[..., 0] + 0.5, y[..., 0] + 0.5
  rate = _rejection_rate(_discriminator_batch(_keys(4), real, generated)
                         .extras["sign_p_value"])
  correct = np.sum(real > 0, 1) + np.sum(generated <= 0, 1)
  naive_rate = np.mean(stats.binom.sf(correct - 1, 200, 0.5) <= ALPHA)
  print(f"sign rule, unequal sizes: balanced {rate:.3f}, naive {naive_rate:.3f}")
  assert naive_rate > 0.5  # the failure this guards against is real
  assert rate <= stats.binom.interval(0.99, REPS, ALPHA)[1] / REPS


# ------------------------------------------------------------------------------- power


@pytest.mark.parametrize("shift, scale", [(1.0, 1.0), (0.0, 2.0)])
def test_mmd_power(shift, scale):
  x, y = _gaussians(10, 50, 50, 2, shift=shift, scale=scale)
  rate = _rejection_rate(_mmd_batch(_keys(10), x, y, _BANDWIDTH_2D).p_value)
  print(f"MMD power (shift {shift}, scale {scale}): {rate:.3f}")
  assert rate >= 0.95


def test_c2st_power_mean_shift():
  x, y = _gaussians(12, 100, 100, 8, shift=1.0)
  rate = _rejection_rate(_c2st_batch(_keys(12), x, y).p_value)
  print(f"C2ST power (mean shift 1): {rate:.3f}")
  assert rate >= 0.95


def test_discriminator_power_mean_shift():
  x, y = _gaussians(13, 50, 50, 2, shift=1.0, reps=DISCRIMINATOR_REPS)
  result = _discriminator_batch(_keys(13, DISCRIMINATOR_REPS), _good_critic(x), _good_critic(y))
  rate = _rejection_rate(result.p_value, DISCRIMINATOR_REPS)
  print(f"discriminator power (mean shift 1): {rate:.3f}")
  assert rate >= 0.95


# ---------------------------------------------------------------------- exact behaviour


def test_binomial_tail_matches_scipy():
  k = np.arange(-2, 204)[:, None, None]
  trials = np.array([1, 10, 51, 200])[None, :, None]
  p = np.array([0.0, 0.1, 0.5, 0.83, 1.0])[None, None, :]
  got = np.asarray(jax.jit(two_sample.binomial_tail)(k, trials, p), np.float64)
  want = stats.binom.sf(k - 1, trials, p)  # sf(k − 1) = P(X ≥ k).
  assert got.shape == want.shape
  np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
  assert np.all(got[k[:, 0, 0] <= 0] == 1.0)
  assert np.all(got[np.broadcast_to(k > trials, got.shape)] == 0.0)
  assert float(two_sample.binomial_tail(8, 10)) == pytest.approx(56 / 1024, rel=1e-5)


def _naive_mmd2(a, b, bandwidth):
  """Unbiased MMD² from explicit NumPy kernel matrices."""
  def k(u, v):
    return np.exp(-spatial.distance.cdist(u, v, "sqeuclidean") / (2 * bandwidth**2))
  k_aa, k_bb = k(a, a), k(b, b)
  n, m = len(a), len(b)
  return ((k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
          + (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1)) - 2 * k(a, b).mean())


def test_mmd_statistic_equals_mmd2_unbiased():
  x, y = _small_pair(20, shift=0.5)
  bandwidth = 1.3
  result = two_sample.mmd_permutation_test(x, y, jax.random.key(0), bandwidth=bandwidth,
                                           num_permutations=SMALL_B)
  want = kernels.mmd2_unbiased(kernels.gaussian_kernel(x, x, bandwidth),
                               kernels.gaussian_kernel(y, y, bandwidth),
                               kernels.gaussian_kernel(x, y, bandwidth))
  np.testing.assert_allclose(result.statistic, want, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(result.statistic, _naive_mmd2(x, y, bandwidth), rtol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_p_values_match_a_naive_permutation_test(seed):
  # Replays the tests' relabellings (same key) with explicit subsets and formulas.
  x, y = _small_pair(30 + seed, shift=0.3)
  key = jax.random.key(seed)
  labels = np.concatenate([np.ones(SMALL_N), np.zeros(SMALL_M)])
  relabellings = np.asarray(two_sample._random_relabellings(key, jnp.asarray(labels),
                                                            SMALL_B)) > 0.5
  assert np.all(relabellings.sum(1) == SMALL_N)
  z = np.concatenate([x, y])
  scores = z[:, 0] - z[:, 1] ** 2

  mmd = two_sample.mmd_permutation_test(x, y, key, bandwidth=0.8, num_permutations=SMALL_B)
  permuted = [_naive_mmd2(z[s], z[~s], 0.8) for s in relabellings]
  want = (1 + np.sum(np.asarray(permuted) >= float(mmd.statistic) - 1e-6)) / (1 + SMALL_B)
  assert float(mmd.p_value) == pytest.approx(want)

  disc = two_sample.discriminator_two_sample_test(scores[:SMALL_N], scores[SMALL_N:], key,
                                                  num_permutations=SMALL_B)
  observed = scores[:SMALL_N].mean() - scores[SMALL_N:].mean()
  assert float(disc.statistic) == pytest.approx(observed, abs=1e-5)
  permuted = [scores[s].mean() - scores[~s].mean() for s in relabellings]
  want = (1 + np.sum(np.asarray(permuted) >= observed - 1e-5)) / (1 + SMALL_B)
  assert float(disc.p_value) == pytest.approx(want)
  # p lies on the grid {1, …, 1 + B} / (1 + B).
  for p in (float(mmd.p_value), float(disc.p_value)):
    assert 1 / (1 + SMALL_B) - 1e-7 <= p <= 1.0
    assert p * (1 + SMALL_B) == pytest.approx(round(p * (1 + SMALL_B)), abs=1e-4)


def test_clear_difference_gives_the_smallest_p_value():
  x, y = _small_pair(22, shift=10.0)
  mmd = two_sample.mmd_permutation_test(x, y, jax.random.key(0), bandwidth=1.0,
                                        num_permutations=SMALL_B)
  # A good critic scores the real points higher; the one-sided test then rejects...
  disc = two_sample.discriminator_two_sample_test(-x[:, 0], -y[:, 0], jax.random.key(0),
                                                  num_permutations=SMALL_B)
  # ...and a critic that prefers the samples gives no evidence at all.
  wrong_way = two_sample.discriminator_two_sample_test(x[:, 0], y[:, 0], jax.random.key(0),
                                                       num_permutations=SMALL_B)
  assert float(mmd.p_value) == pytest.approx(1 / (1 + SMALL_B))
  assert float(disc.p_value) == pytest.approx(1 / (1 + SMALL_B))
  assert float(wrong_way.p_value) == 1.0


def test_discriminator_sign_rule_counts_balanced_pairs():
  rng = np.random.default_rng(0)
  real = rng.normal(0.5, 1.0, SMALL_M).astype(np.float32)  # more real than generated
  generated = rng.normal(-0.5, 1.0, SMALL_N).astype(np.float32)
  result = two_sample.discriminator_two_sample_test(real, generated, jax.random.key(0),
                                                    num_permutations=SMALL_B)
  k = SMALL_N  # = min(n, m): the first k scores of each side.
  correct = int(np.sum(real[:k] > 0) + np.sum(generated[:k] <= 0))
  assert float(result.statistic) == pytest.approx(real.mean() - generated.mean(), abs=1e-5)
  assert float(result.extras["sign_accuracy"]) == pytest.approx(correct / (2 * k))
  assert float(result.extras["sign_p_value"]) == pytest.approx(
      stats.binom.sf(correct - 1, 2 * k, 0.5), rel=1e-4)


def test_discriminator_test_ignores_a_critic_offset():
  # WGAN critics have an arbitrary offset: T and p must not depend on it.
  x, y = _small_pair(23, shift=0.3)
  base = two_sample.discriminator_two_sample_test(x[:, 0], y[:, 0], jax.random.key(5),
                                                  num_permutations=SMALL_B)
  shifted = two_sample.discriminator_two_sample_test(x[:, 0] + 100.0, y[:, 0] + 100.0,
                                                     jax.random.key(5),
                                                     num_permutations=SMALL_B)
  np.testing.assert_allclose(shifted.statistic, base.statistic, atol=1e-4)
  assert float(shifted.p_value) == float(base.p_value)


def test_nan_samples_give_nan_p_values():
  x, y = _small_pair(24)
  y[0, 0] = np.nan
  assert np.isnan(float(two_sample.mmd_permutation_test(
      x, y, jax.random.key(0), bandwidth=1.0, num_permutations=SMALL_B).p_value))
  assert np.isnan(float(two_sample.discriminator_two_sample_test(
      x[:, 0], y[:, 0], jax.random.key(0), num_permutations=SMALL_B).p_value))


def test_logistic_c2st_result_and_determinism():
  x, y = _gaussians(25, 21, 33, 4, shift=3.0, reps=1)
  x, y = x[0], y[0]
  first = two_sample.classifier_two_sample_test(x, y, jax.random.key(1), hidden=0, steps=50)
  again = two_sample.classifier_two_sample_test(x, y, jax.random.key(1), hidden=0, steps=50)
  assert int(first.extras["num_test"]) == 20  # 2 · ⌊0.5 · min(21, 33)⌋
  correct = int(first.extras["num_correct"])
  assert float(first.statistic) == pytest.approx(correct / 20)
  assert float(first.p_value) == pytest.approx(stats.binom.sf(correct - 1, 20, 0.5), rel=1e-4)
  assert float(first.statistic) >= 0.9  # shift 3 in each of 4 dims: Bayes accuracy Φ(3) ≈ 0.999
  assert float(again.p_value) == float(first.p_value)


def test_median_heuristic_matches_pdist():
  x, y = _gaussians(27, 30, 20, 3, reps=1)
  x, y = x[0], y[0]
  want = np.median(spatial.distance.pdist(np.concatenate([x, y])))
  assert two_sample.median_heuristic_bandwidth(x, y) == pytest.approx(want, rel=1e-4)
  assert two_sample.median_heuristic_bandwidth(np.concatenate([x, y])) == pytest.approx(
      want, rel=1e-4)


def test_median_heuristic_subsamples_with_a_fixed_rule():
  x = np.random.default_rng(0).normal(size=(2500, 2))
  rows = np.round(np.linspace(0, 2499, 1000)).astype(int)
  want = np.median(spatial.distance.pdist(x[rows]))
  assert two_sample.median_heuristic_bandwidth(x) == pytest.approx(want, rel=1e-4)


# --------------------------------------------------------------------------- bad inputs


_KEY = jax.random.key(0)
_X = np.zeros((5, 2))
_Y = np.ones((6, 2))


@pytest.mark.parametrize("call, match", [
    (lambda: two_sample.mmd_permutation_test(_X[:, 0], _Y, _KEY, bandwidth=1.0), "2-D"),
    (lambda: two_sample.mmd_permutation_test(_X, np.ones((6, 3)), _KEY, bandwidth=1.0),
     "same feature dimension"),
    (lambda: two_sample.mmd_permutation_test(_X[:1], _Y, _KEY, bandwidth=1.0),
     "at least 2 points"),
    (lambda: two_sample.mmd_permutation_test(_X, _Y, _KEY, bandwidth=0.0), "bandwidth"),
    (lambda: two_sample.mmd_permutation_test(_X, _Y, _KEY, bandwidth=-1.0), "bandwidth"),
    (lambda: two_sample.mmd_permutation_test(_X, _Y, _KEY, bandwidth=1.0, num_permutations=0),
     "num_permutations"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y[:, :1], _KEY),
     "same feature dimension"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, train_fraction=1.0),
     "train_fraction"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, train_fraction=0.0),
     "train_fraction"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, train_fraction=0.9),
     "test points per side"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, hidden=-1), "hidden"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, steps=0), "steps"),
    (lambda: two_sample.classifier_two_sample_test(_X, _Y, _KEY, learning_rate=0.0),
     "learning_rate"),
    (lambda: two_sample.discriminator_two_sample_test(_X, _Y, _KEY), "1-D"),
    (lambda: two_sample.discriminator_two_sample_test(_X[:1, 0], _Y[:, 0], _KEY),
     "at least 2 scores"),
    (lambda: two_sample.discriminator_two_sample_test(_X[:, 0], _Y[:, 0], _KEY,
                                                      num_permutations=0),
     "num_permutations"),
    (lambda: two_sample.binomial_tail(3, -1), "trials"),
    (lambda: two_sample.binomial_tail(3, 10, 1.5), "p must lie"),
    (lambda: two_sample.median_heuristic_bandwidth(_X[:1]), "at least 2 points"),
    (lambda: two_sample.median_heuristic_bandwidth(_X, np.ones((3, 4))), r"\(m, D\)"),
    (lambda: two_sample.median_heuristic_bandwidth(np.zeros((10, 2))), "coincide"),
])
def test_bad_inputs_raise(call, match):
  with pytest.raises(ValueError, match=match):
    call()
