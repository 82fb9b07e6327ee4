"""Transformed: log_prob, sampling, pytree behaviour, and a 2-D density that integrates to 1."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.distributions import Normal
from jgen.flows import AffineCoupling
from jgen.flows import BoundBijector
from jgen.flows import Flow
from jgen.flows import MLPConditioner
from jgen.flows import RationalQuadraticSpline
from jgen.flows import Reverse
from jgen.flows import SplineCoupling
from jgen.flows import Transformed
from jgen.flows import num_spline_params


def _base(d=2, log_var=0.0):
  return Normal(jnp.zeros(d), log_var, event_ndims=1)


def _flow():
  return Flow([AffineCoupling(MLPConditioner((16,)), "half", parity=0), Reverse(),
               AffineCoupling(MLPConditioner((16,)), "half", parity=0),
               SplineCoupling(MLPConditioner((16,)), "half", parity=1, num_bins=6)])


def _dist(perturb, key, log_var=0.0, scale=1.0):
  flow = _flow()
  variables = perturb(jax.jit(flow.init)(key(), jnp.zeros((1, 2))), scale=scale)
  return Transformed(_base(log_var=log_var), BoundBijector(flow, variables))


def test_density_integrates_to_one_on_a_grid(perturb, key):
  dist = _dist(perturb, key, log_var=np.log(0.8**2), scale=0.5)
  grid = np.linspace(-6.0, 6.0, 400, dtype=np.float32)
  points = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)

  @jax.jit
  def evaluate(dist, points, key):
    return jnp.exp(dist.log_prob(points)), dist.sample(key, 20_000)

  density, samples = map(np.asarray, evaluate(dist, points, key(1)))
  assert (np.abs(samples) < 6.0).all(1).mean() > 0.999  # The mass is inside the box.
  density = density.reshape(400, 400).astype(np.float64)
  mass = np.trapezoid(np.trapezoid(density, grid, axis=1), grid)
  assert mass == pytest.approx(1.0, abs=0.01)
  # Far from the base density: the flow is not (close to) the identity.
  base = np.exp(np.asarray(_base(log_var=np.log(0.8**2)).log_prob(points)))
  assert np.abs(density.ravel() - base).max() > 0.1  # Base peak: 0.25.


def test_log_prob_and_sampling_agree(perturb, key):
  dist = _dist(perturb, key)
  x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)

  @jax.jit
  def evaluate(dist, x, key):
    z, inv_log_det = dist.bijector.inverse_and_log_det(x)
    samples, log_prob = dist.sample_and_log_prob(key, 7)
    return dict(log_prob_x=dist.log_prob(x), manual=_base().log_prob(z) + inv_log_det,
                samples=samples, log_prob=log_prob, again=dist.log_prob(samples),
                sampled=dist.sample(key, 7))

  out = jax.tree.map(np.asarray, evaluate(dist, x, key(1)))
  np.testing.assert_allclose(out["log_prob_x"], out["manual"], rtol=1e-6)
  assert out["samples"].shape == (7, 2) and out["log_prob"].shape == (7,)
  # Float32: a sample's inverse lands within rounding of its z, steep maps amplify it.
  np.testing.assert_allclose(out["log_prob"], out["again"], atol=1e-3, rtol=1e-4)
  np.testing.assert_array_equal(out["sampled"], out["samples"])
  # Leading sample/batch shapes are flattened into the bijectors' one batch axis.
  shapes = jax.eval_shape(lambda d, k, x: (d.sample(k, (2, 3)), d.log_prob(x)),
                          dist, key(2), jnp.zeros((2, 3, 2)))
  assert shapes[0].shape == (2, 3, 2) and shapes[1].shape == (2, 3)


def test_parameter_free_bijector_and_image_events(key):
  params = np.random.default_rng(1).normal(size=(2, 2, 1, num_spline_params(3)))
  spline = RationalQuadraticSpline(params.astype(np.float32), event_ndims=3)
  dist = Transformed(Normal(jnp.zeros((2, 2, 1)), 0.0, event_ndims=3), spline)

  @jax.jit
  def evaluate(dist, key):
    samples, log_prob = dist.sample_and_log_prob(key, 4)
    return samples, log_prob, dist.log_prob(samples)

  samples, log_prob, again = evaluate(dist, key())
  assert samples.shape == (4, 2, 2, 1)
  np.testing.assert_allclose(log_prob, again, atol=1e-5)


def test_conditional_flow(perturb, key):
  flow = Flow([AffineCoupling(MLPConditioner((8,)), "half"), Reverse(),
               AffineCoupling(MLPConditioner((8,)), "half")])
  context = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
  variables = perturb(jax.jit(flow.init)(key(), jnp.zeros((6, 2)), context), scale=1.0)
  dist = Transformed(_base(), BoundBijector(flow, variables))

  @jax.jit
  def evaluate(dist, key, context):
    samples, log_prob = dist.sample_and_log_prob(key, 6, context=context)
    return log_prob, dist.log_prob(samples, context), dist.log_prob(samples, -context)

  log_prob, again, other = map(np.asarray, evaluate(dist, key(1), context))
  np.testing.assert_allclose(log_prob, again, atol=1e-5)
  assert np.abs(other - log_prob).max() > 1e-3


def test_mean_and_mode_are_not_available():
  dist = Transformed(_base(), Reverse())
  with pytest.raises(NotImplementedError, match="no closed form"):
    dist.mean()
  with pytest.raises(NotImplementedError, match="no closed form"):
    dist.mode()
