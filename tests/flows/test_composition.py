"""Chain, Inverse, Flow and BoundBijector: order, log-dets, mixed members, pytrees."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.flows import ActNorm
from jgen.flows import AffineAutoregressive
from jgen.flows import AffineCoupling
from jgen.flows import BoundBijector
from jgen.flows import Chain
from jgen.flows import Flow
from jgen.flows import Inverse
from jgen.flows import Logit
from jgen.flows import MLPConditioner
from jgen.flows import Permute
from jgen.flows import RationalQuadraticSpline
from jgen.flows import Reverse
from jgen.flows import SplineCoupling
from jgen.flows import num_spline_params


def _spline(seed):
  params = np.random.default_rng(seed).normal(size=(3, num_spline_params(4)))
  return RationalQuadraticSpline(params.astype(np.float32))


def _pure(method):
  return lambda b, x: getattr(b, method)(x)


def test_chain_applies_the_last_bijector_first(checker):
  f, g = _spline(0), Permute((2, 0, 1))
  x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)

  @jax.jit
  def evaluate(f, g, x):
    y, log_det = Chain((f, g)).forward_and_log_det(x)
    return dict(y=y, log_det=log_det, f_after_g=f.forward_and_log_det(g.forward(x)),
                g_after_f=g.forward(f.forward(x)),
                back=Chain((f, g)).inverse_and_log_det(y))

  out = jax.tree.map(np.asarray, evaluate(f, g, x))
  np.testing.assert_allclose(out["y"], out["f_after_g"][0], rtol=1e-6)
  np.testing.assert_allclose(out["log_det"], out["f_after_g"][1], rtol=1e-6)
  assert np.abs(out["y"] - out["g_after_f"]).max() > 1e-2
  np.testing.assert_allclose(out["back"][0], x, atol=1e-5)
  np.testing.assert_allclose(out["back"][1], -out["log_det"], atol=1e-5)
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  check.assert_contract(Chain((f, Reverse(), _spline(2), g)), x)
  check.assert_contract(Chain((f, Reverse(), _spline(3), g)), x)  # New leaves, same tree.
  assert check.traces == 1


def test_inverse_swaps_directions():
  f = _spline(4)
  x = np.random.default_rng(5).normal(size=(4, 3)).astype(np.float32)
  inv = Inverse(f)
  for (a, b), (c, d) in ((inv.forward_and_log_det(x), f.inverse_and_log_det(x)),
                         (inv.inverse_and_log_det(x), f.forward_and_log_det(x))):
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
  assert inv.event_ndims == f.event_ndims == 1


def test_empty_chain_raises():
  with pytest.raises(ValueError, match="Chain needs at least one bijector"):
    Chain(()).forward(np.zeros((1, 2)))


def _mixed_flow():
  return Flow([ActNorm(), AffineCoupling(MLPConditioner((8,)), "half"), Reverse(),
               Inverse(AffineAutoregressive(hidden=(8,))),
               SplineCoupling(MLPConditioner((8,)), "alternating", num_bins=4)])


def test_flow_of_modules_and_parameter_free_bijectors(module_checker, perturb, key):
  flow = _mixed_flow()
  x = (3.0 * np.random.default_rng(6).normal(size=(4, 3)) + 1.0).astype(np.float32)
  variables = jax.jit(flow.init)(key(), x)
  assert set(variables["params"]) == {"bijectors_0", "bijectors_1", "bijectors_3_bijector",
                                      "bijectors_4"}
  assert flow.event_ndims == 1
  check = module_checker(flow)
  check.assert_contract(variables, x)
  params = perturb(variables, scale=1.0)
  out = check.assert_contract(params, x)
  assert check.traces == 1

  # The same map as a Chain of the members bound one by one.
  p = params["params"]
  members = flow.bijectors
  chain = Chain((BoundBijector(members[0], {"params": p["bijectors_0"]}),
                 BoundBijector(members[1], {"params": p["bijectors_1"]}),
                 members[2],
                 Inverse(BoundBijector(members[3].bijector,
                                       {"params": p["bijectors_3_bijector"]})),
                 BoundBijector(members[4], {"params": p["bijectors_4"]})))
  y, log_det = jax.jit(lambda c, x: c.forward_and_log_det(x))(chain, x)
  np.testing.assert_allclose(y, out["y"], atol=1e-5)
  np.testing.assert_allclose(log_det, out["log_det"], atol=1e-5)


def test_flow_init_runs_members_in_data_order(key):
  """ActNorm after a Logit initialises on the logits, not on the data."""
  x = np.random.default_rng(7).beta(0.5, 2.0, size=(256, 2)).astype(np.float32)
  flow = Flow([Logit(event_ndims=1), ActNorm()])
  variables = jax.jit(flow.init)(key(), x)
  z, _ = jax.jit(flow.apply)(variables, x)
  np.testing.assert_allclose(np.asarray(z).mean(0), 0.0, atol=1e-4)
  np.testing.assert_allclose(np.asarray(z).std(0), 1.0, rtol=1e-4)
  logits, _ = Logit(event_ndims=1).inverse_and_log_det(x)
  np.testing.assert_allclose(variables["params"]["bijectors_1"]["bias"],
                             np.asarray(logits).mean(0), rtol=1e-5)


def test_bound_bijector_is_a_pytree_with_gradients(perturb, key):
  flow = _mixed_flow()
  x = np.random.default_rng(8).normal(size=(4, 3)).astype(np.float32)
  bound = BoundBijector(flow, perturb(jax.jit(flow.init)(key(), x), scale=1.0))
  assert len(jax.tree.leaves(bound)) == len(jax.tree.leaves(bound.variables))

  traces = []

  @jax.jit
  def loss(bound, x):
    traces.append(None)
    z, log_det = bound.inverse_and_log_det(x)
    return jnp.mean(0.5 * jnp.sum(z**2, -1) - log_det)

  loss(bound, x)
  loss(jax.tree.map(lambda v: v + 0.1, bound), x + 1.0)  # New leaves, same structure.
  assert len(traces) == 1
  grads = jax.grad(loss)(bound, x)
  assert isinstance(grads, BoundBijector)
  norms = [float(jnp.abs(g).max()) for g in jax.tree.leaves(grads.variables)]
  assert all(np.isfinite(norms)) and max(norms) > 0


def test_flow_bad_rank_raises_from_the_member(key):
  with pytest.raises(ValueError, match=r"ActNorm expects inputs of rank 2, \(B, D\)"):
    _mixed_flow().init(key(), np.zeros((2, 4, 4, 3), np.float32))
