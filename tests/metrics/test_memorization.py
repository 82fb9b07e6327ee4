"""Tests for jgen.metrics.memorization: nearest training examples, their figure, C_T."""

import jax
import numpy as np
import pytest
from scipy import spatial
from scipy import stats

from jgen.metrics import memorization

DIM = 16
NUM_COMPONENTS = 8
NUM_POINTS = 2000
NUM_CELLS = 10


def _mixture(rng, n, means):
  """n points of an equal-weight mixture of unit-variance Gaussians at `means`."""
  return means[rng.integers(0, len(means), n)] + rng.normal(size=(n, means.shape[1]))


@pytest.fixture(name="mixture", scope="module")
def _mixture_fixture():
  """(means, train, test): a 16-D, 8-component mixture and two independent samples of it."""
  rng = np.random.default_rng(0)
  means = 4.0 * rng.normal(size=(NUM_COMPONENTS, DIM))
  return means, _mixture(rng, NUM_POINTS, means), _mixture(rng, NUM_POINTS, means)


def _c_t(train, test, generated, seed=0, **kwargs):
  kwargs.setdefault("num_cells", NUM_CELLS)
  return memorization.data_copying_test(train, test, generated, jax.random.key(seed), **kwargs)


# ------------------------------------------------------------------ data-copying test


def test_copying_generator_is_flagged(mixture):
  _, train, test = mixture
  rng = np.random.default_rng(1)
  copies = train[rng.integers(0, NUM_POINTS, NUM_POINTS)] + 0.01 * rng.normal(size=(NUM_POINTS, DIM))
  result = _c_t(train, test, copies)
  assert result["c_t"] < -3, result
  assert result["global_z"] < -10, result
  assert result["num_cells_used"] == NUM_CELLS
  assert result["generated_fraction_used"] == pytest.approx(1.0)
  assert result["generated_mean_distance"] < 0.1 * result["test_mean_distance"]


def test_held_out_real_data_is_not_flagged(mixture):
  means, train, test = mixture
  values = []
  for seed in range(4):
    fresh = _mixture(np.random.default_rng(10 + seed), NUM_POINTS, means)
    values.append(_c_t(train, test, fresh, seed=seed)["c_t"])
  # Under the null each Z_U(π) ≈ N(0, 1), and C_T averages 10 of them: SD ≈ 0.35.
  assert abs(values[0]) < 2.5, values
  assert abs(np.mean(values)) < 0.75, values


def test_over_dispersed_generator_is_underfitting(mixture):
  means, train, test = mixture
  rng = np.random.default_rng(2)
  blurry = _mixture(rng, NUM_POINTS, means) + rng.normal(size=(NUM_POINTS, DIM))
  result = _c_t(train, test, blurry)
  assert result["c_t"] > 3, result
  assert result["global_z"] > 3, result


def test_partial_copying_lies_between(mixture):
  means, train, test = mixture
  rng = np.random.default_rng(3)
  half = NUM_POINTS // 2
  generated = np.concatenate([train[:half] + 0.01 * rng.normal(size=(half, DIM)),
                              _mixture(rng, half, means)])
  copying = _c_t(train, test, train + 0.01 * rng.normal(size=train.shape))["c_t"]
  partial = _c_t(train, test, generated)["c_t"]
  assert copying < partial < -3


def test_c_t_matches_a_naive_reference(mixture):
  """Cells from the returned centroids, in-cell neighbours by brute force, U from SciPy."""
  means, train, test = mixture
  rng = np.random.default_rng(4)
  # Copies in components 0-3, over-dispersed points in 4-6, nothing in 7: cells of both
  # signs and cells left out. The shapes are those of the other tests, so the jitted
  # kernels are reused.
  component = np.argmin(spatial.distance.cdist(train, means), axis=1)
  pool = train[component < 4]
  half = NUM_POINTS // 2
  copies = pool[rng.integers(0, len(pool), half)] + 0.05 * rng.normal(size=(half, DIM))
  blurry = _mixture(rng, half, means[4:7]) + 0.7 * rng.normal(size=(half, DIM))
  generated = np.concatenate([copies, blurry])
  result = _c_t(train, test, generated, per_cell=True)

  def cells(x):
    return np.argmin(spatial.distance.cdist(x, result["centroids"]), axis=1)

  train_cells, test_cells, gen_cells = cells(train), cells(test), cells(generated)
  z, weight = [], []
  for cell in range(NUM_CELLS):
    t, p, q = train[train_cells == cell], test[test_cells == cell], generated[gen_cells == cell]
    if len(q) < 20 or len(p) < 1 or len(t) < 1:  # The default min_generated = 20.
      assert not result["cells_used"][cell]
      continue
    assert result["cells_used"][cell]
    d_test = spatial.distance.cdist(p, t).min(axis=1)
    d_gen = spatial.distance.cdist(q, t).min(axis=1)
    u = stats.mannwhitneyu(d_gen, d_test).statistic  # #{d_gen > d_test} + ½ ties.
    m, n = len(q), len(p)
    z.append((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))
    weight.append(n / len(test))
    # float32 distances may swap a near-tied pair: ±1 in U is ±1/σ_U ≈ ±6e-4 in Z here.
    np.testing.assert_allclose(result["cell_z"][cell], z[-1], atol=2e-3)
  assert min(z) < -3 and max(z) > 3, z
  assert 3 <= result["num_cells_used"] == len(z) < NUM_CELLS
  np.testing.assert_allclose(result["c_t"], np.dot(weight, z) / np.sum(weight), atol=2e-3)
  used_points = np.isin(gen_cells, np.flatnonzero(result["cells_used"]))
  assert result["generated_fraction_used"] == pytest.approx(used_points.mean())
  np.testing.assert_allclose(result["cell_test_fraction"],
                             np.bincount(test_cells, minlength=NUM_CELLS) / len(test))

  d_test = spatial.distance.cdist(test, train).min(axis=1)
  d_gen = spatial.distance.cdist(generated, train).min(axis=1)
  u = stats.mannwhitneyu(d_gen, d_test).statistic
  m, n = len(generated), len(test)
  sigma = np.sqrt(m * n * (m + n + 1) / 12)
  np.testing.assert_allclose(result["global_z"], (u - m * n / 2) / sigma, atol=5 / sigma)
  np.testing.assert_allclose(result["generated_mean_distance"], d_gen.mean(), rtol=1e-4)
  np.testing.assert_allclose(result["test_mean_distance"], d_test.mean(), rtol=1e-4)


def test_mann_whitney_z_counts_ties_as_half():
  rng = np.random.default_rng(5)
  generated, test = rng.integers(0, 5, 37).astype(float), rng.integers(0, 5, 23).astype(float)
  u = stats.mannwhitneyu(generated, test).statistic
  expected = (u - 37 * 23 / 2) / np.sqrt(37 * 23 * 61 / 12)
  assert memorization._mann_whitney_z(generated, test) == pytest.approx(expected, rel=1e-12)
  # All generated below all test: U = 0, the most negative Z.
  assert memorization._mann_whitney_z(np.zeros(4), np.ones(6)) == pytest.approx(
      -12 / np.sqrt(4 * 6 * 11 / 12))


def test_kmeans_finds_separated_blobs_and_is_deterministic():
  rng = np.random.default_rng(6)
  # Ten unit-variance blobs 50·√2 apart; (2000, 16) and 10 cells, as above (one compile).
  centres = 50.0 * np.eye(NUM_CELLS, DIM)
  x = centres[np.repeat(np.arange(NUM_CELLS), NUM_POINTS // NUM_CELLS)]
  x = (x + rng.normal(size=x.shape)).astype(np.float32)
  centroids = np.asarray(memorization._kmeans(jax.random.key(0), x, NUM_CELLS, 50))
  nearest = np.argmin(spatial.distance.cdist(centres, centroids), axis=1)
  assert sorted(nearest) == list(range(NUM_CELLS))
  np.testing.assert_allclose(centroids[nearest], centres, atol=0.5)
  again = memorization._kmeans(jax.random.key(0), x, NUM_CELLS, 50)
  np.testing.assert_array_equal(np.asarray(again), centroids)


def test_cells_without_enough_generated_points_are_left_out(mixture):
  means, train, test = mixture
  # Samples from one component only: the other components' cells get (almost) none.
  one_mode = means[0] + np.random.default_rng(7).normal(size=(NUM_POINTS, DIM))
  result = _c_t(train, test, one_mode, per_cell=True)
  assert 1 <= result["num_cells_used"] < NUM_CELLS
  assert np.all(result["cell_generated_fraction"][~result["cells_used"]] * NUM_POINTS < 20)
  assert result["generated_fraction_used"] > 0.9
  assert np.isfinite(result["c_t"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_cells=0), "num_cells"),
    (dict(num_cells=NUM_POINTS + 1), "num_cells"),
    (dict(min_generated=0), "min_generated"),
    (dict(min_generated=NUM_POINTS + 1), "min_generated"),
    (dict(min_test=0), "min_test"),
    (dict(kmeans_steps=-1), "kmeans_steps"),
])
def test_data_copying_bad_settings_raise(mixture, kwargs, message):
  _, train, test = mixture
  with pytest.raises(ValueError, match=message):
    _c_t(train, test, test, **kwargs)


def test_data_copying_bad_features_raise(mixture):
  _, train, test = mixture
  with pytest.raises(ValueError, match="feature dim"):
    _c_t(train, test, test[:, :8])
  with pytest.raises(ValueError, match=r"generated_features must be .*\(N, D\)"):
    _c_t(train, test, test[:, 0])
  with pytest.raises(ValueError, match="test_features has 0 rows"):
    _c_t(train, test[:0], test)
  bad = test.copy()
  bad[3, 2] = np.nan
  with pytest.raises(ValueError, match="generated_features has non-finite"):
    _c_t(train, test, bad)


# ------------------------------------------------------------ nearest training examples


def test_exact_copies_are_found_at_distance_zero():
  train = np.random.default_rng(8).integers(0, 256, (300, 28, 28, 1), np.uint8)
  which = np.array([5, 299, 0, 17])
  distances, indices = memorization.nearest_training_examples(train[which], train, k=3)
  assert distances.shape == indices.shape == (4, 3)
  assert distances.dtype == np.float32
  np.testing.assert_array_equal(indices[:, 0], which)
  np.testing.assert_allclose(distances[:, 0], 0.0, atol=2e-2)  # float32 ‖x‖²+‖y‖²−2x·y.
  assert np.all(distances[:, 1] > 5.0)  # Random images are ~11 apart in [0, 1] pixels.
  assert np.all(np.diff(distances, axis=1) >= 0)


def test_pixel_distances_are_those_of_unit_range_images():
  rng = np.random.default_rng(9)
  train = rng.integers(0, 256, (50, 6, 6, 3), np.uint8)
  queries = rng.integers(0, 256, (7, 6, 6, 3), np.uint8)
  distances, indices = memorization.nearest_training_examples(queries, train, k=4, chunk=3)
  reference = spatial.distance.cdist(queries.reshape(7, -1) / 255.0, train.reshape(50, -1) / 255.0)
  np.testing.assert_array_equal(indices, np.argsort(reference, axis=1)[:, :4])
  np.testing.assert_allclose(distances, np.sort(reference, axis=1)[:, :4], rtol=1e-4)
  # Float images in [0, 1] give the same distances; features (N, D) work too.
  as_float = memorization.nearest_training_examples(queries / 255.0, train / 255.0, k=4)
  np.testing.assert_allclose(as_float[0], distances, rtol=1e-5)
  features = memorization.nearest_training_examples(queries.reshape(7, -1) / 255.0,
                                                    train.reshape(50, -1) / 255.0, k=4)
  np.testing.assert_array_equal(features[1], indices)


def test_nearest_training_examples_bad_inputs_raise():
  images = np.zeros((10, 28, 28, 1), np.uint8)
  with pytest.raises(ValueError, match="same shape after the first axis"):
    memorization.nearest_training_examples(images, np.zeros((10, 32, 32, 1), np.uint8))
  with pytest.raises(ValueError, match=r"k=11 must lie in \[1, 10\]"):
    memorization.nearest_training_examples(images, images, k=11)
  with pytest.raises(ValueError, match="k=0"):
    memorization.nearest_training_examples(images, images, k=0)
  with pytest.raises(ValueError, match="queries must be features"):
    memorization.nearest_training_examples(np.zeros(5), images)
  with pytest.raises(ValueError, match="train is empty"):
    memorization.nearest_training_examples(images, images[:0])


# ------------------------------------------------------------------------------ figure


def test_figure_layout_shape_and_content():
  rng = np.random.default_rng(10)
  h, w = 12, 16
  train = rng.integers(0, 256, (40, h, w, 3), np.uint8)
  samples = rng.integers(0, 256, (10, h, w, 3), np.uint8)
  pixel = rng.integers(0, 40, (10, 3))
  feature = rng.integers(0, 40, (10, 2))
  figure = memorization.nearest_neighbour_figure(samples, train, pixel, feature, num=5)
  strip = max(2, w // 4)
  widths = [w + 4, 3 * w + 8, 2 * w + 6]
  assert figure.dtype == np.uint8
  assert figure.shape == (5 * h + 12, sum(widths) + 2 * strip, 3)

  def cell(x0, row, col):
    top, left = 2 + row * (h + 2), x0 + 2 + col * (w + 2)
    return figure[top:top + h, left:left + w]

  pixel_x0 = widths[0] + strip
  feature_x0 = pixel_x0 + widths[1] + strip
  np.testing.assert_array_equal(figure[:, widths[0]:pixel_x0], 128)  # The grey strip.
  np.testing.assert_array_equal(figure[:, pixel_x0 + widths[1]:feature_x0], 128)
  for row in (0, 4):
    np.testing.assert_array_equal(cell(0, row, 0), samples[row])
    for col in range(3):
      np.testing.assert_array_equal(cell(pixel_x0, row, col), train[pixel[row, col]])
    for col in range(2):
      np.testing.assert_array_equal(cell(feature_x0, row, col), train[feature[row, col]])


def test_figure_grayscale_and_one_group():
  images = np.random.default_rng(11).integers(0, 256, (20, 28, 28, 1), np.uint8)
  _, pixel = memorization.nearest_training_examples(images[:3], images, k=3)
  figure = memorization.nearest_neighbour_figure(images[:3], images, pixel, None)
  assert figure.shape == (3 * 28 + 8, (28 + 4) + 7 + (3 * 28 + 8), 1)
  assert figure.dtype == np.uint8


def test_figure_bad_inputs_raise():
  images = np.zeros((8, 28, 28, 1), np.uint8)
  index = np.zeros((8, 3), np.int64)
  figure = memorization.nearest_neighbour_figure
  with pytest.raises(ValueError, match="samples must be uint8"):
    figure(images.astype(np.float32), images, index, index)
  with pytest.raises(ValueError, match="C in"):
    figure(np.zeros((8, 28, 28, 2), np.uint8), images, index, index)
  with pytest.raises(ValueError, match="same \\(h, w, c\\)"):
    figure(images, np.zeros((8, 32, 32, 1), np.uint8), index, index)
  with pytest.raises(ValueError, match=r"feature_indices must index train_images.*\[0, 8\)"):
    figure(images, images, index, index + 8)
  with pytest.raises(ValueError, match="pixel_indices has 4 rows"):
    figure(images, images, index[:4], index)
  with pytest.raises(ValueError, match="pixel_indices must be integer"):
    figure(images, images, index.astype(float), index)
  with pytest.raises(ValueError, match="neither"):
    figure(images, images, None, None)
  with pytest.raises(ValueError, match="num must be at least 1"):
    figure(images, images, index, index, num=0)
