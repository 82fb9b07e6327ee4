"""Squeeze and FactorOut: the index map, contract, multi-scale levels, errors."""

import jax
import numpy as np
import pytest

from jgen.flows import AffineCoupling
from jgen.flows import ConvConditioner
from jgen.flows import FactorOut
from jgen.flows import Flow
from jgen.flows import Inverse
from jgen.flows import RationalQuadraticSpline
from jgen.flows import Reshape
from jgen.flows import Squeeze
from jgen.flows import num_spline_params


def _pure(method):
  return lambda b, x: getattr(b, method)(x)


def test_squeeze_index_map_and_contract(checker):
  x = np.random.default_rng(0).normal(size=(2, 4, 6, 3)).astype(np.float32)
  z = np.asarray(Squeeze().inverse(x))
  assert z.shape == (2, 2, 3, 12)
  for i, j, di, dj, c in np.ndindex(2, 3, 2, 2, 3):
    assert z[1, i, j, (2 * di + dj) * 3 + c] == x[1, 2 * i + di, 2 * j + dj, c]
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  out = check.assert_contract(Inverse(Squeeze()), x)  # Forward of the inverse squeezes.
  np.testing.assert_array_equal(out["y"], z)
  np.testing.assert_array_equal(out["log_det"], 0.0)
  check.assert_contract(Inverse(Squeeze()), x - 1.0)
  assert check.traces == 1


def test_factor_out_with_a_parameter_free_inner_bijector(checker):
  rng = np.random.default_rng(1)
  x = rng.normal(size=(3, 2, 2, 5)).astype(np.float32)
  params = rng.normal(size=(3, num_spline_params(4))).astype(np.float32)
  bijector = FactorOut(RationalQuadraticSpline(params, event_ndims=3))  # Keeps ⌈5/2⌉ = 3.
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  out = check.assert_contract(bijector, x)
  np.testing.assert_array_equal(out["y"][..., 3:], x[..., 3:])  # Factored out.
  assert np.abs(out["y"][..., :3] - x[..., :3]).max() > 1e-2
  assert check.traces == 1


def test_multiscale_level_in_a_flow(module_checker, perturb, key):
  """A level: squeeze, a step, factor out half, the deeper level, un-squeeze."""
  x = np.random.default_rng(2).normal(size=(2, 4, 4, 2)).astype(np.float32)
  deeper = Flow([AffineCoupling(ConvConditioner(4), "checkerboard")])
  level = Flow([Squeeze(), AffineCoupling(ConvConditioner(4), "channel"),
                FactorOut(deeper), Inverse(Squeeze())])
  variables = jax.jit(level.init)(key(), x)
  assert set(variables["params"]) == {"bijectors_1", "bijectors_2_bijector"}
  check = module_checker(level)
  params = perturb(variables, scale=1.0)
  out = check.assert_contract(params, x)
  assert out["y"].shape == x.shape
  # The deeper level only touches the kept channels: changing its parameters leaves the
  # factored-out coordinates (channels 4..7 after the squeeze) of z unchanged.
  other = perturb(variables, scale=1.0, seed=1)
  other["params"]["bijectors_1"] = params["params"]["bijectors_1"]
  apply = jax.jit(level.apply)
  z, _ = apply(params, x)
  z_other, _ = apply(other, x)
  z_sq, z_other_sq = Squeeze().inverse(z), Squeeze().inverse(z_other)
  np.testing.assert_allclose(z_sq[..., 4:], z_other_sq[..., 4:], atol=1e-6)
  assert np.abs(np.asarray(z_sq[..., :4] - z_other_sq[..., :4])).max() > 1e-2
  assert check.traces == 1


def test_bad_shapes_raise():
  with pytest.raises(ValueError, match=r"even height and width.*got shape \(1, 3, 4, 1\)"):
    Squeeze().inverse(np.zeros((1, 3, 4, 1)))
  with pytest.raises(ValueError, match=r"divisible by 4.*got shape \(1, 2, 2, 6\)"):
    Squeeze().forward(np.zeros((1, 2, 2, 6)))
  with pytest.raises(ValueError, match=r"Squeeze expects inputs of rank 4"):
    Squeeze().forward(np.zeros((2, 8)))
  with pytest.raises(ValueError, match=r"num_keep must be in \[1, C − 1\] = \[1, 3\]; got 4"):
    FactorOut(Squeeze(), num_keep=4).inverse(np.zeros((1, 2, 2, 4)))
  with pytest.raises(ValueError, match=r"must preserve the shape of the kept channels, "
                                       r"\(1, 2, 2, 2\); got \(1, 1, 1, 8\)"):
    FactorOut(Squeeze()).inverse(np.zeros((1, 2, 2, 4)))


def test_reshape_is_a_volume_preserving_relabelling(checker):
  x = np.random.default_rng(3).normal(size=(2, 2, 3, 1)).astype(np.float32)
  bijector = Reshape((2, 3, 1), (6,))
  z, log_det = bijector.inverse_and_log_det(x)
  np.testing.assert_array_equal(z, x.reshape(2, 6))
  np.testing.assert_array_equal(log_det, 0.0)
  check = checker(_pure("forward_and_log_det"), _pure("inverse_and_log_det"))
  check.assert_contract(Inverse(bijector), x)  # Its forward flattens images.
  with pytest.raises(ValueError, match=r"Reshape expects events of shape \(6,\); got input "
                                       r"of shape \(2, 5\)"):
    bijector.forward(np.zeros((2, 5)))
  with pytest.raises(ValueError, match=r"different numbers of entries"):
    Reshape((2, 3, 1), (5,)).inverse(x)
