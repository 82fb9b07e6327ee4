"""ActNorm: functional data-dependent init (also across a named axis), contract, errors."""

import jax
import numpy as np
import pytest

from jgen.flows import ActNorm


def _data(shape, seed=0):
  rng = np.random.default_rng(seed)
  channels = shape[-1]
  return (rng.normal(size=shape) * np.linspace(0.5, 3.0, channels)
          + np.linspace(-2.0, 4.0, channels)).astype(np.float32)


@pytest.mark.parametrize("shape", [(64, 3), (8, 4, 4, 2)])
def test_init_standardises_the_init_batch(module_checker, perturb, key, shape):
  layer = ActNorm(event_ndims=len(shape) - 1)
  x = _data(shape)
  variables = jax.jit(layer.init)(key(), x)
  assert set(variables) == {"params"}  # Ordinary parameters: saved and restored as such.
  assert set(variables["params"]) == {"bias", "log_scale"}
  axes = tuple(range(len(shape) - 1))
  np.testing.assert_allclose(variables["params"]["bias"], x.mean(axes), rtol=1e-5)
  np.testing.assert_allclose(variables["params"]["log_scale"], np.log(x.std(axes)),
                             rtol=1e-5, atol=1e-6)

  check = module_checker(layer)
  check.assert_contract(variables, x)
  z, _ = layer.apply(variables, x)  # __call__: the normalising direction.
  np.testing.assert_allclose(np.asarray(z).mean(axes), 0.0, atol=1e-5)
  np.testing.assert_allclose(np.asarray(z).var(axes), 1.0, rtol=1e-4)
  check.assert_contract(perturb(variables), 2.0 * x)
  assert check.traces == 1

  # apply never re-initialises: another batch is normalised with the stored statistics.
  other = 3.0 * x[:4] + 1.0
  z_other, log_det = layer.apply(variables, other)
  np.testing.assert_allclose(z_other, (other - x.mean(axes)) / x.std(axes), rtol=1e-4,
                             atol=1e-5)
  positions = int(np.prod(shape[1:-1]))
  np.testing.assert_allclose(log_det, -positions * np.log(x.std(axes)).sum(), rtol=1e-5)


def test_identity_on_standardised_data(key):
  x = _data((32, 4, 4, 3), seed=1)
  x = (x - x.mean((0, 1, 2))) / x.std((0, 1, 2))
  layer = ActNorm(event_ndims=3)
  variables = layer.init(key(), x)
  z, log_det = layer.apply(variables, x)
  np.testing.assert_allclose(z, x, atol=1e-5)
  np.testing.assert_allclose(log_det, 0.0, atol=1e-4)


def test_init_through_forward_is_the_identity(key):
  x = _data((16, 3))
  variables = ActNorm().init(key(), x, method="forward_and_log_det")
  np.testing.assert_array_equal(variables["params"]["bias"], 0.0)
  np.testing.assert_array_equal(variables["params"]["log_scale"], 0.0)


def test_named_axis_pools_the_statistics(key):
  """Under vmap (or pmap) with axis_name, every shard gets the global batch statistics."""
  x = _data((4, 8, 2, 2, 3), seed=2)  # 4 shards of 8 images; shards differ in mean.
  x = x + np.arange(4, dtype=np.float32)[:, None, None, None, None]
  layer = ActNorm(event_ndims=3, axis_name="devices")
  k = key()
  sharded = jax.vmap(lambda shard: layer.init(k, shard), axis_name="devices")(x)
  pooled = ActNorm(event_ndims=3).init(k, x.reshape(32, 2, 2, 3))
  for name in ("bias", "log_scale"):
    shards = np.asarray(sharded["params"][name])
    assert shards.shape == (4, 3)
    np.testing.assert_allclose(shards, np.broadcast_to(pooled["params"][name], (4, 3)),
                               rtol=1e-5, atol=1e-6)
  local = ActNorm(event_ndims=3).init(k, x[0])  # Without the axis: the shard's own.
  assert np.abs(np.asarray(local["params"]["bias"]) - pooled["params"]["bias"]).min() > 0.5


@pytest.mark.parametrize("layer, shape, match", [
    (ActNorm(), (4,), r"ActNorm expects inputs of rank 2, \(B, D\).*got shape \(4,\)"),
    (ActNorm(event_ndims=3), (2, 4, 3),
     r"ActNorm expects inputs of rank 4, \(B, H, W, C\).*got shape \(2, 4, 3\)"),
])
def test_bad_rank_raises(key, layer, shape, match):
  with pytest.raises(ValueError, match=match):
    layer.init(key(), np.zeros(shape, np.float32))


def test_wrong_channel_count_raises(key):
  variables = ActNorm().init(key(), _data((8, 3)))
  with pytest.raises(ValueError, match=r"initialised for 3 channels; got input of shape "
                                       r"\(8, 4\)"):
    ActNorm().apply(variables, _data((8, 4)))
