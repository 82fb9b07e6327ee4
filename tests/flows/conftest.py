"""Shared bijector checks: one jitted program per bijector computes every contract check.

XLA:CPU compiles slowly, so each test builds one ``jit``-ted function of
``(params, x, context)`` and calls it with several parameter sets and inputs of one
shape; the trace counter then also shows that the bijector does not retrace.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest


def _log_abs_det_jacobian(fn, params, x, context):
  """(B,) ``log|det J|`` of ``fn(params, ·, context)`` on each single event of ``x``."""

  def one(event, ctx):
    ctx = None if ctx is None else ctx[None]

    def flat_fn(flat):
      return fn(params, flat.reshape((1,) + event.shape), ctx)[0].ravel()

    return jnp.linalg.slogdet(jax.jacfwd(flat_fn)(event.ravel()))[1]

  return jax.vmap(one)(x, context)


class BijectorChecker:
  """``checker(params, x, context=None)``: contract errors and outputs, from one jit.

  ``forward`` and ``inverse`` are ``(params, x, context) -> (values, log_det)``. Keys:
  ``y``/``log_det`` (forward outputs), ``x_back`` (``inverse(forward(x))``),
  ``inv_log_det`` and ``jac_log_det`` (``slogdet(jacfwd(forward))`` per event). With
  the round trip and ``inv_log_det = −log_det``, the forward Jacobian check also
  fixes the inverse log-det (sign included).
  """

  def __init__(self, forward, inverse):
    self.traces = 0

    def run(params, x, context):
      self.traces += 1
      y, log_det = forward(params, x, context)
      x_back, inv_log_det = inverse(params, y, context)
      return dict(y=y, log_det=log_det, x_back=x_back, inv_log_det=inv_log_det,
                  jac_log_det=_log_abs_det_jacobian(forward, params, x, context))

    self._run = jax.jit(run)

  def __call__(self, params, x, context=None):
    return jax.tree.map(np.asarray, self._run(params, x, context))

  def assert_contract(self, params, x, context=None, *, round_trip_atol=1e-5,
                      log_det_atol=1e-4):
    """Round trip, forward = −inverse log-det, log-det = slogdet of the Jacobian."""
    out = self(params, x, context)
    x = np.asarray(x)
    assert out["y"].size == x.size and out["x_back"].shape == x.shape
    assert out["log_det"].shape == out["inv_log_det"].shape == (x.shape[0],)
    scale = max(1.0, float(np.abs(x).max()))
    np.testing.assert_allclose(out["x_back"], x, atol=round_trip_atol * scale, rtol=0)
    # Relative tolerances too: float32 log-dets of steep maps are O(10).
    np.testing.assert_allclose(out["inv_log_det"], -out["log_det"], atol=log_det_atol,
                               rtol=1e-4)
    np.testing.assert_allclose(out["log_det"], out["jac_log_det"], atol=log_det_atol,
                               rtol=1e-4)
    return out


@pytest.fixture(name="checker")
def _checker():
  """``checker(forward, inverse)`` → `BijectorChecker` of pure ``(bijector, x)`` maps."""

  def make(forward, inverse):
    return BijectorChecker(lambda b, x, c: forward(b, x), lambda b, y, c: inverse(b, y))

  return make


@pytest.fixture(name="module_checker")
def _module_checker():
  """``module_checker(module)``: a `BijectorChecker` of a Flax bijector."""

  def make(module):
    return BijectorChecker(
        lambda v, x, c: module.apply(v, x, c, method="forward_and_log_det"),
        lambda v, y, c: module.apply(v, y, c, method="inverse_and_log_det"))

  return make


@pytest.fixture(name="perturb")
def _perturb():
  """``perturb(variables, scale, seed)``: random, well-scaled parameters.

  Adds N(0, scale²/fan_in) to kernels (fan-in: all but the last axis) and N(0, scale²)
  to vectors, so that zero-initialised last layers become generic but outputs stay
  O(scale): NumPy-drawn, no JAX random programs to compile.
  """

  def perturb(variables, scale=0.5, seed=0):
    rng = np.random.default_rng(seed)

    def one(v):
      v = np.asarray(v)
      fan_in = int(np.prod(v.shape[:-1])) if v.ndim >= 2 else 1
      return (v + scale / np.sqrt(fan_in) * rng.normal(size=v.shape)).astype(np.float32)

    return jax.tree.map(one, variables)

  return perturb


@pytest.fixture(name="key")
def _key():
  """``key(seed)``: an RBG-backed typed key; its programs compile in a fraction of
  threefry's time on XLA:CPU, and these tests need no particular random stream."""
  return lambda seed=0: jax.random.key(seed, impl="rbg")
