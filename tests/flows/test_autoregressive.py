"""MAF / IAF / spline autoregressive layers on MADE: identity, contract, causality, errors."""

import jax
import numpy as np
import pytest

from jgen.flows import AffineAutoregressive
from jgen.flows import Flow
from jgen.flows import Inverse
from jgen.flows import MADEConditioner
from jgen.flows import SplineAutoregressive
from jgen.models.made import made_masks

D = 5


def _x(seed=0, batch=3):
  x = np.random.default_rng(seed).normal(size=(batch, D)).astype(np.float32)
  x[0, 0] = 4.0  # Beyond the spline's bound: the identity tail.
  return x


@pytest.mark.parametrize("layer", [
    AffineAutoregressive(hidden=(16,)),
    SplineAutoregressive(hidden=(16,), num_bins=4),
    Flow([Inverse(AffineAutoregressive(hidden=(16,)))]),  # IAF.
])
def test_identity_at_init_and_contract(module_checker, perturb, key, layer):
  x = _x()
  variables = jax.jit(layer.init)(key(), x)
  check = module_checker(layer)
  fresh = check(variables, x)
  np.testing.assert_allclose(fresh["y"], x, atol=1e-6)
  np.testing.assert_allclose(fresh["log_det"], 0.0, atol=1e-6)
  params = perturb(variables, scale=1.0)
  out = check.assert_contract(params, x)
  assert np.abs(out["y"] - x).max() > 1e-2 and np.abs(out["log_det"]).min() > 1e-3
  check.assert_contract(params, 0.5 * x)
  assert check.traces == 1


@pytest.mark.parametrize("cls", [AffineAutoregressive, SplineAutoregressive])
def test_causality_in_the_made_ordering(perturb, key, cls):
  """Both directions have Jacobians triangular in the ordering: ∂z_d/∂x_j = 0 if j is later."""
  seed, hidden = 7, (32, 32)
  layer = cls(hidden=hidden, mask_seed=seed)
  _, ordering = made_masks(jax.random.key(seed), D, hidden)
  ordering = np.asarray(ordering)
  assert (ordering != np.arange(D)).any()
  position = np.argsort(ordering)  # position[d]: step at which input d is generated.
  later = position[None, :] > position[:, None]  # later[d, j]: j after d.
  x = _x(1, batch=1)
  params = perturb(jax.jit(layer.init)(key(), x), scale=1.0)

  @jax.jit
  def jacobians(params, x):
    def fn(method):
      return lambda e: layer.apply(params, e[None], method=method)[0][0]
    return (jax.jacfwd(fn("inverse_and_log_det"))(x[0]),
            jax.jacfwd(fn("forward_and_log_det"))(x[0]))

  for jac in map(np.asarray, jacobians(params, x)):
    np.testing.assert_array_equal(jac[later], 0.0)
    assert (np.abs(np.diag(jac)) > 1e-3).all()
    assert (np.abs(jac[~later & ~np.eye(D, dtype=bool)]) > 1e-6).sum() >= D


def test_made_conditioner_outputs_and_context(key):
  made = MADEConditioner(hidden=(8,), num_params=3)
  x, context = _x(), np.ones((3, 2), np.float32)
  variables = jax.jit(made.init)(key(), x, context)
  params = np.asarray(jax.jit(made.apply)(variables, x, context))
  assert params.shape == (3, D, 3)
  np.testing.assert_array_equal(params, 0.0)  # Zero-initialised last layer.


def test_context_conditions_the_flow(module_checker, perturb, key):
  layer = AffineAutoregressive(hidden=(16,))
  x = _x(2)
  context = np.random.default_rng(3).normal(size=(3, 2)).astype(np.float32)
  params = perturb(jax.jit(layer.init)(key(), x, context), scale=1.0)
  check = module_checker(layer)
  out = check.assert_contract(params, x, context)
  assert np.abs(out["y"] - check(params, x, 2.0 * context)["y"]).max() > 1e-2


def test_bad_shapes_raise(key):
  layer = AffineAutoregressive(hidden=(8,))
  with pytest.raises(ValueError, match=r"AffineAutoregressive expects inputs of rank 2, "
                                       r"\(B, D\).*got shape \(2, 2, 2, 1\)"):
    layer.init(key(), np.zeros((2, 2, 2, 1), np.float32))
  with pytest.raises(ValueError, match=r"num_inputs >= 2; got 1"):
    layer.init(key(), np.zeros((2, 1), np.float32))
  variables = layer.init(key(), np.zeros((2, D), np.float32))
  for method in ("forward_and_log_det", "inverse_and_log_det"):
    with pytest.raises(ValueError, match=rf"initialised for {D} features in the last axis; "
                                         rf"got input of shape \(2, 4\)"):
      layer.apply(variables, np.zeros((2, D - 1), np.float32), method=method)
