"""NADE: normalisation, causality, prefix sums == naive recursion, exact sampling.

Small models (D ≤ 10) with NumPy-drawn, deliberately large parameters, so the model is
far from uniform and the checks below can fail; shapes and parameter counts of the
full-size model come from ``jax.eval_shape`` (tracing only).
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.mlp import count_params
from jgen.models.nade import NADE

EVENT = (2, 5, 1)  # D = 10.
D = 10
HIDDEN = 12


def _params(model, event_shape, seed=0):
  """Parameters with the model's structure: W ~ N(0, 2²), V, b, c ~ N(0, 1)."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1,) + event_shape)))
  scale = {"W": 2.0, "V": 1.0, "b": 1.0, "c": 1.0}
  return {"params": {name: (scale[name] * rng.normal(size=leaf.shape)).astype(np.float32)
                     for name, leaf in shapes["params"].items()}}


def _all_binary(d):
  """(2^d, d) float32: every binary vector of length d."""
  return np.array(list(itertools.product([0.0, 1.0], repeat=d)), np.float32)


def _naive_logits(params, x):
  """Each ``a_i = c + Σ_{j<i} x_j W_j`` recomputed from scratch, in float64."""
  p = {k: np.asarray(v, np.float64) for k, v in params["params"].items()}
  x = np.asarray(x, np.float64).reshape(x.shape[0], -1)
  logits = np.empty_like(x)
  for i in range(x.shape[1]):
    a = p["c"] + x[:, :i] @ p["W"][:i]
    logits[:, i] = p["b"][i] + (1.0 / (1.0 + np.exp(-a))) @ p["V"][i]
  return logits


def test_parameter_count_shapes_and_dtypes():
  big = NADE(event_shape=(28, 28, 1), hidden=500)
  shapes = jax.eval_shape(lambda: big.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1))))
  assert count_params(shapes) == 2 * 784 * 500 + 500 + 784 == 785_284  # As documented.
  assert shapes["params"]["W"].shape == shapes["params"]["V"].shape == (784, 500)

  model = NADE(event_shape=EVENT, hidden=HIDDEN)
  params = _params(model, EVENT)
  x = np.random.default_rng(1).integers(0, 2, size=(3,) + EVENT).astype(np.uint8)
  dist = jax.jit(model.apply)(params, x)
  assert dist.logits.shape == (3,) + EVENT and dist.logits.dtype == jnp.float32
  assert dist.event_ndims == len(EVENT) and dist.log_prob(x).shape == (3,)
  samples = jax.jit(lambda p, k: model.apply(p, k, 7, method="sample"))(params, jax.random.key(2))
  assert samples.shape == (7,) + EVENT and samples.dtype == jnp.float32
  assert set(np.unique(samples)) <= {0.0, 1.0}
  with pytest.raises(ValueError, match="expects inputs of shape"):
    model.apply(params, x.reshape(3, 10))
  with pytest.raises(ValueError, match="prefix_sum"):
    NADE(event_shape=EVENT, hidden=HIDDEN, prefix_sum="loop").apply(params, x)


@pytest.mark.parametrize("prefix_sum", ["scan", "cumsum"])
def test_logits_match_naive_recomputation(prefix_sum):
  model = NADE(event_shape=EVENT, hidden=HIDDEN, prefix_sum=prefix_sum)
  params = _params(model, EVENT)
  rng = np.random.default_rng(3)
  x = np.concatenate([rng.integers(0, 2, size=(6,) + EVENT),
                      rng.uniform(size=(2,) + EVENT)]).astype(np.float32)  # Binary and continuous.
  logits = model.apply(params, x).logits.reshape(8, D)
  np.testing.assert_allclose(logits, _naive_logits(params, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("prefix_sum", ["scan", "cumsum"])
def test_probabilities_of_all_inputs_sum_to_one(prefix_sum):
  model = NADE(event_shape=EVENT, hidden=HIDDEN, prefix_sum=prefix_sum)
  params = _params(model, EVENT)
  x = _all_binary(D).reshape((-1,) + EVENT)
  log_p = jax.jit(lambda p, x: model.apply(p, x).log_prob(x))(params, x)
  p = np.exp(np.asarray(log_p, np.float64))
  assert p.std() > 1e-3  # Far from uniform.
  assert abs(p.sum() - 1.0) < 1e-4


@pytest.mark.parametrize("prefix_sum", ["scan", "cumsum"])
def test_jacobian_is_strictly_lower_triangular(prefix_sum):
  model = NADE(event_shape=EVENT, hidden=HIDDEN, prefix_sum=prefix_sum)
  params = _params(model, EVENT)
  x = np.random.default_rng(4).uniform(size=EVENT).astype(np.float32)  # Continuous x.
  jac = jax.jit(jax.jacfwd(lambda x: model.apply(params, x[None]).logits.reshape(D)))(x)
  jac = np.asarray(jac).reshape(D, D)  # [output i, input j].
  upper = np.triu(np.ones((D, D), bool))  # j >= i: at or after output i in raster order.
  assert np.all(jac[upper] == 0.0)
  assert np.all(jac[~upper] != 0.0)  # Every earlier input reaches every later output.


def test_sampler_uses_the_incremental_prefix():
  """The scan sampler's per-step logits equal ``__call__`` on its own samples."""
  model = NADE(event_shape=EVENT, hidden=HIDDEN)
  params = _params(model, EVENT)

  @jax.jit
  def sample(key):
    samples, logits = model.apply(params, key, 64, True, method="sample")
    return samples, logits, model.apply(params, samples).logits

  samples, logits, call_logits = sample(jax.random.key(5))
  assert logits.shape == samples.shape == (64,) + EVENT
  np.testing.assert_allclose(logits, call_logits, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(logits.reshape(64, D), _naive_logits(params, samples),
                             rtol=1e-5, atol=1e-5)
  # Same key, same samples; the draw is not just the mode.
  np.testing.assert_array_equal(samples, sample(jax.random.key(5))[0])
  assert np.any(samples != (logits > 0))


def test_samples_follow_the_exact_distribution():
  d, n = 5, 20_000
  model = NADE(event_shape=(d,), hidden=8)
  params = _params(model, (d,), seed=6)
  x = _all_binary(d)

  @jax.jit
  def sample_and_enumerate(key):
    return model.apply(params, key, n, method="sample"), model.apply(params, x).log_prob(x)

  samples, log_p = jax.tree.map(np.asarray, sample_and_enumerate(jax.random.key(7)))
  p = np.exp(log_p.astype(np.float64))
  # Marginals P(x_i = 1), within 4 standard errors.
  exact, empirical = p @ x, samples.mean(0)
  assert np.all(np.abs(empirical - exact) < 4 * np.sqrt(exact * (1 - exact) / n) + 1e-3)
  # The full joint: the frequency of each of the 2^d configurations.
  codes = (samples @ (2 ** np.arange(d - 1, -1, -1))).astype(int)
  freq = np.bincount(codes, minlength=2**d) / n
  assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n) + 2 / n)
