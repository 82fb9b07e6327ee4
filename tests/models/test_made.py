"""MADE: masks and degrees, normalisation per mask, causality in the drawn ordering, sampling.

Small models (D ≤ 10) with NumPy-drawn, deliberately large parameters, so the model is
far from uniform and the checks below can fail; shapes and parameter counts of the
full-size model come from ``jax.eval_shape`` (tracing only). XLA:CPU takes seconds to
compile each program that draws random numbers (here: the masks), so each test jits
one function of a traced mask key and reuses it for every key.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.made import MADE
from jgen.models.made import made_masks
from jgen.models.mlp import count_params

D = 10
MASK_KEYS = [None, 1, 2]  # Seeds of the mask keys; None: natural order, fixed degrees.


def _key(seed):
  return None if seed is None else jax.random.key(seed)


def _params(model, seed=0, scale=1.0):
  """Parameters with the model's structure: kernels N(0, scale²), biases N(0, 0.5²)."""
  rng = np.random.default_rng(seed)
  x = jnp.zeros((1,) + tuple(model.event_shape))
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), x))
  return jax.tree.map(
      lambda leaf: ((scale if leaf.ndim == 2 else 0.5) * rng.normal(size=leaf.shape)
                    ).astype(np.float32), shapes)


def _all_binary(d):
  """(2^d, d) float32: every binary vector of length d."""
  return np.array(list(itertools.product([0.0, 1.0], repeat=d)), np.float32)


def _positions(ordering):
  """``pos[d]``: the step at which input d is generated (``m⁰ − 1``)."""
  return np.argsort(np.asarray(ordering))


def _reach(masks):
  """(D, D) number of paths from input j to output d through the masks."""
  reach = np.asarray(masks[0])
  for m in masks[1:]:
    reach = reach @ np.asarray(m)
  return reach


def test_made_masks_degrees_and_orderings():
  hidden = (7, 12)

  @jax.jit
  def all_masks(keys):  # One program: XLA:CPU is slow to compile random draws.
    drawn = jax.vmap(lambda key: made_masks(key, D, hidden))(keys)
    flags_off = jax.vmap(lambda key: made_masks(
        key, D, hidden, order_agnostic=False, connectivity_agnostic=False))(keys)
    return made_masks(None, D, hidden), made_masks(None, D, (D - 1,)), drawn, flags_off

  natural, wide, (masks, orderings), (fixed, natural_orderings) = jax.tree.map(
      np.asarray, all_masks(jax.random.split(jax.random.key(1), 3)))
  assert [m.shape for m in natural[0]] == [(D, 7), (7, 12), (12, D)]
  np.testing.assert_array_equal(natural[1], np.arange(D))
  # Deterministic degrees m(k) = 1 + ⌊k·(D − 1)/7⌋, evenly over 1..D−1: input j (degree
  # j + 1) feeds unit k iff m(k) >= j + 1.
  degrees = 1 + np.arange(7) * (D - 1) // 7
  assert degrees.min() == 1 and degrees.max() == D - 2 and len(set(degrees)) == 7
  np.testing.assert_array_equal(natural[0][0], degrees[None] >= np.arange(D)[:, None] + 1)
  # With enough units, the deterministic masks connect every allowed (j < d) pair.
  np.testing.assert_array_equal(_reach(wide[0]) > 0, np.triu(np.ones((D, D)), 1) > 0)
  assert not np.array_equal(orderings[0], orderings[1])
  for i in range(3):
    ordering, layer_masks = orderings[i], [m[i] for m in masks]
    assert sorted(ordering.tolist()) == list(range(D))
    assert set(np.unique(np.concatenate([m.ravel() for m in layer_masks]))) <= {0.0, 1.0}
    # Degrees in {min of the layer below, …, D − 1}: every hidden unit has an input
    # (a column of ones somewhere) and feeds at least the last output (a row of ones).
    assert all(np.all(m.max(0) == 1) for m in layer_masks[:-1])
    assert np.all(layer_masks[-1].max(1) == 1)
    # Input j reaches output d only if j comes first in the ordering.
    pos = _positions(ordering)
    reach = _reach(layer_masks)
    assert np.all(reach[pos[:, None] >= pos[None, :]] == 0) and np.any(reach > 0)
    # Flags off: the natural ordering and the deterministic degrees, whatever the key.
    np.testing.assert_array_equal(natural_orderings[i], np.arange(D))
    for m, m_none in zip(fixed, natural[0], strict=True):
      np.testing.assert_array_equal(m[i], m_none)
  with pytest.raises(ValueError, match="num_inputs >= 2"):
    made_masks(None, 1, (4,))


def test_parameter_counts_and_input_checks():
  x = jnp.zeros((2, 28, 28, 1))
  for direct, count in [(False, 785_284), (True, 1_399_940)]:  # As documented.
    big = MADE(event_shape=(28, 28, 1), hidden=(500,), direct=direct)
    shapes = jax.eval_shape(lambda m=big: m.init(jax.random.key(0), x))
    assert count_params(shapes) == count
  assert count == 784 * 500 + 500 + 500 * 784 + 784 + 784 * 784
  model = MADE(event_shape=(2, 5, 1), hidden=(16,))
  params = _params(model)
  xb = np.random.default_rng(1).integers(0, 2, size=(3, 2, 5, 1)).astype(np.uint8)
  dist = jax.jit(model.apply)(params, xb)  # Integer input, natural masks.
  assert dist.logits.shape == (3, 2, 5, 1) and dist.logits.dtype == jnp.float32
  assert dist.event_ndims == 3 and dist.log_prob(xb).shape == (3,)
  with pytest.raises(ValueError, match="expects inputs of shape"):
    model.apply(params, xb.reshape(3, 10))


# (hidden, direct, activation): one and two hidden layers, and the direct connection.
ARCHITECTURES = [((16,), False, jax.nn.relu), ((16, 16), False, jnp.tanh),
                 ((8,), True, jax.nn.relu)]


@pytest.mark.parametrize("hidden,direct,activation", ARCHITECTURES)
def test_normalised_and_causal_for_every_mask(hidden, direct, activation):
  model = MADE(event_shape=(D,), hidden=hidden, direct=direct, activation=activation)
  params = _params(model)
  # Small weights for the Jacobian so that tanh does not saturate to a zero slope.
  small = jax.tree.map(lambda p: 0.1 * p, params)
  x_all = _all_binary(D)
  x = np.random.default_rng(4).uniform(size=(D,)).astype(np.float32)  # Continuous x.

  @jax.jit
  def check(key):
    log_p = model.apply(params, x_all, key).log_prob(x_all)
    jac = jax.jacfwd(lambda x: model.apply(small, x[None], key).logits[0])(x)  # [out, in].
    return log_p, jac, made_masks(key, D, hidden)

  for seed in MASK_KEYS:
    log_p, jac, (masks, ordering) = jax.tree.map(np.asarray, check(_key(seed)))
    # Normalisation: Σ_x p(x) = 1 over all 2^D inputs.
    p = np.exp(log_p.astype(np.float64))
    assert p.std() > 1e-3 and abs(p.sum() - 1.0) < 1e-4, seed  # Far from uniform; sums to 1.
    # Causality in the mask's ordering.
    pos = _positions(ordering)
    later = pos[None, :] >= pos[:, None]  # jac[i, j] with input j at or after output i.
    assert np.all(jac[later] == 0.0), seed
    assert np.any(jac[~later] != 0.0), seed
    if direct:  # The direct weights connect every allowed pair.
      assert np.all(jac[~later] != 0.0), seed
    elif activation is jnp.tanh:  # tanh' > 0: nonzero exactly where the masks connect.
      np.testing.assert_array_equal(jac != 0.0, _reach(masks).T > 0)


@pytest.mark.parametrize("seed", [None, 5])
def test_samples_follow_the_exact_distribution(seed):
  event, d, n = (1, 5, 1), 5, 20_000
  model = MADE(event_shape=event, hidden=(16,))
  params = _params(model, seed=6)
  mask_key = _key(seed)

  @jax.jit
  def sample_and_enumerate(key, mask_key):
    x = _all_binary(d).reshape((-1,) + event)
    log_p = model.apply(params, x, mask_key).log_prob(x)
    return (model.apply(params, key, n, mask_key, method="sample"), log_p,
            model.apply(params, mask_key, method="masks")[1])

  samples, log_p, ordering = sample_and_enumerate(jax.random.key(7), mask_key)
  assert samples.shape == (n,) + event and samples.dtype == jnp.float32
  assert set(np.unique(samples)) <= {0.0, 1.0}
  if seed is not None:
    assert not np.array_equal(ordering, np.arange(d))  # A random ordering.
  p, x = np.exp(np.asarray(log_p, np.float64)), _all_binary(d)
  samples = np.asarray(samples).reshape(n, d)
  # Marginals P(x_i = 1), within 4 standard errors.
  exact, empirical = p @ x, samples.mean(0)
  assert np.all(np.abs(empirical - exact) < 4 * np.sqrt(exact * (1 - exact) / n) + 1e-3)
  # The full joint: the frequency of each of the 2^d configurations.
  codes = (samples @ (2 ** np.arange(d - 1, -1, -1))).astype(int)
  freq = np.bincount(codes, minlength=2**d) / n
  assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n) + 2 / n)
