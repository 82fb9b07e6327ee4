"""Coupling layers: masks, identity at init, contract, the inverse log-det sign, context."""

import jax
import numpy as np
import pytest

from jgen.flows import AdditiveCoupling
from jgen.flows import AffineCoupling
from jgen.flows import ConvConditioner
from jgen.flows import MLPConditioner
from jgen.flows import SplineCoupling
from jgen.flows import coupling_mask


def test_masks():
  np.testing.assert_array_equal(coupling_mask("half", (5,)), [1, 1, 0, 0, 0])
  np.testing.assert_array_equal(coupling_mask("half", (5,), parity=1), [0, 0, 1, 1, 1])
  np.testing.assert_array_equal(coupling_mask("alternating", (4,)), [0, 1, 0, 1])
  board = coupling_mask("checkerboard", (2, 3, 4))
  assert board.shape == (2, 3, 1)
  np.testing.assert_array_equal(board[..., 0], [[0, 1, 0], [1, 0, 1]])
  np.testing.assert_array_equal(coupling_mask("checkerboard", (2, 3, 4), 1), 1 - board)
  np.testing.assert_array_equal(coupling_mask("channel", (2, 2, 4)), [1, 1, 0, 0])


@pytest.mark.parametrize("kind, shape, match", [
    ("half", (1,), r"'half' needs vector events \(D,\) with D ≥ 2; got event shape \(1,\)"),
    ("half", (2, 2, 2), r"'half' needs vector events"),
    ("checkerboard", (4,), r"'checkerboard' needs image events \(H, W, C\)"),
    ("channel", (4, 4, 1), r"'channel' needs C ≥ 2"),
    ("stripes", (4,), r"kind must be one of"),
])
def test_bad_masks_raise(kind, shape, match):
  with pytest.raises(ValueError, match=match):
    coupling_mask(kind, shape)


VECTOR = (3, 4)
IMAGE = (2, 2, 4, 2)


def _layer(cls, mask, parity=0, **kwargs):
  conditioner = MLPConditioner((8,)) if mask in ("half", "alternating") else ConvConditioner(4)
  return cls(conditioner, mask=mask, parity=parity, **kwargs)


@pytest.mark.parametrize("cls, mask, parity, shape", [
    (AdditiveCoupling, "alternating", 0, VECTOR),
    (AffineCoupling, "half", 1, VECTOR),
    (SplineCoupling, "half", 0, VECTOR),
    (AdditiveCoupling, "channel", 1, IMAGE),
    (AffineCoupling, "checkerboard", 0, IMAGE),
    (SplineCoupling, "channel", 0, IMAGE),
])
def test_identity_at_init_and_contract(module_checker, perturb, key, cls, mask, parity,
                                       shape):
  kwargs = {"num_bins": 4} if cls is SplineCoupling else {}
  layer = _layer(cls, mask, parity, **kwargs)
  x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
  x[0].flat[0] = 5.0  # Beyond the spline's bound B = 3: the identity tail.
  variables = jax.jit(layer.init)(key(), x)
  check = module_checker(layer)

  fresh = check(variables, x)  # Zero-initialised last layer: the identity.
  np.testing.assert_allclose(fresh["y"], x, atol=1e-6)
  np.testing.assert_allclose(fresh["log_det"], 0.0, atol=1e-6)

  params = perturb(variables, scale=1.0)
  out = check.assert_contract(params, x)
  keep = np.broadcast_to(coupling_mask(mask, shape[1:], parity), shape[1:]).astype(bool)
  np.testing.assert_array_equal(out["y"][:, keep], x[:, keep])  # Passed through.
  assert np.abs(out["y"][:, ~keep] - x[:, ~keep]).max() > 1e-2  # Transformed.
  if cls is AdditiveCoupling:
    np.testing.assert_array_equal(out["log_det"], 0.0)
  else:
    assert np.abs(out["log_det"]).min() > 1e-3
  check.assert_contract(params, 0.5 * x)
  assert check.traces == 1


def test_affine_inverse_log_det_sign(key):
  """The inverse (data → noise) log-det is +Σ log s: the sign jax-flows got wrong."""
  layer = AffineCoupling(MLPConditioner((8,)), mask="half")
  x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
  variables = jax.jit(layer.init)(key(), x)
  c, shift = -3.0, 0.7
  bias = np.zeros(8, np.float32)
  bias[0::2], bias[1::2] = c, shift  # θ (B, D, 2) = (h, t) = (c, 0.7) everywhere.
  params = jax.tree.map(np.asarray, variables)
  params["params"]["last_layer"]["bias"] = bias
  s = jax.nn.sigmoid(c + 2.0) / jax.nn.sigmoid(2.0)  # < 1: z contracts.

  apply = jax.jit(layer.apply, static_argnames="method")
  z, inv_log_det = apply(params, x, method="inverse_and_log_det")
  expected = np.concatenate([x[:, :2], s * x[:, 2:] + shift], axis=1)
  np.testing.assert_allclose(z, expected, rtol=1e-6)
  np.testing.assert_allclose(inv_log_det, 2 * np.log(s), rtol=1e-6)
  assert (np.asarray(inv_log_det) < 0).all()
  x_back, log_det = apply(params, z, method="forward_and_log_det")
  np.testing.assert_allclose(x_back, x, atol=1e-6)
  np.testing.assert_allclose(log_det, -2 * np.log(s), rtol=1e-6)


@pytest.mark.parametrize("cls, mask, shape, context_shape", [
    (AffineCoupling, "alternating", VECTOR, (3, 2)),
    (SplineCoupling, "half", VECTOR, (3, 2)),
    (AffineCoupling, "checkerboard", IMAGE, (2, 3)),  # Broadcast over the image.
])
def test_context_conditions_the_coupling(module_checker, perturb, key, cls, mask, shape,
                                         context_shape):
  layer = _layer(cls, mask)
  rng = np.random.default_rng(2)
  x = rng.normal(size=shape).astype(np.float32)
  context = rng.normal(size=context_shape).astype(np.float32)
  params = perturb(jax.jit(layer.init)(key(), x, context), scale=1.0)
  first = params["params"]["conditioner"][f"{'Dense' if len(shape) == 2 else 'Conv'}_0"]
  assert first["kernel"].shape[-2] == shape[-1] + context_shape[-1]  # Concatenated.
  check = module_checker(layer)
  out = check.assert_contract(params, x, context)
  other = check(params, x, -context)
  assert np.abs(out["y"] - other["y"]).max() > 1e-2
  assert check.traces == 1


@pytest.mark.parametrize("mask, shape, match", [
    ("half", (2, 4, 4, 2), r"AffineCoupling expects inputs of rank 2, \(B, D\).*"
                           r"got shape \(2, 4, 4, 2\)"),
    ("checkerboard", (3, 4), r"AffineCoupling expects inputs of rank 4, \(B, H, W, C\).*"
                             r"got shape \(3, 4\)"),
    ("channel", (2, 4, 4, 1), r"'channel' needs C ≥ 2; got event shape \(4, 4, 1\)"),
])
def test_bad_shapes_raise(key, mask, shape, match):
  layer = _layer(AffineCoupling, mask)
  for method in ("forward_and_log_det", "inverse_and_log_det"):
    with pytest.raises(ValueError, match=match):
      layer.init(key(), np.zeros(shape, np.float32), method=method)


@pytest.mark.parametrize("mask, shape, other", [
    ("half", (3, 4), (3, 5)), ("channel", (2, 2, 2, 4), (2, 2, 2, 6))])
def test_wrong_feature_count_after_init_raises(key, mask, shape, other):
  layer = _layer(SplineCoupling, mask, num_bins=3)
  variables = layer.init(key(), np.zeros(shape, np.float32))
  match = (rf"SplineCoupling was initialised for {shape[-1]} features in the last axis; "
           rf"got input of shape \({', '.join(map(str, other))}\)")
  for method in ("forward_and_log_det", "inverse_and_log_det"):
    with pytest.raises(ValueError, match=match):
      layer.apply(variables, np.zeros(other, np.float32), method=method)
