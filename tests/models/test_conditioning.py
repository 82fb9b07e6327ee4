"""ConditionalBatchNorm (plain BN at c = 0, the formula, pmean over the axis) and ProjectionOutput."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.conditioning import ConditionalBatchNorm
from jgen.models.conditioning import ProjectionOutput

X_SHAPE = (8, 3, 3, 5)


def _x():
  return 2.0 + 3.0 * jax.random.normal(jax.random.key(0), X_SHAPE)


@pytest.mark.parametrize("train", [True, False])
def test_zero_condition_is_plain_batch_norm(train):
  x, c = _x(), jnp.zeros((X_SHAPE[0], 4))
  cbn, bn = ConditionalBatchNorm(), nn.BatchNorm(use_running_average=not train, momentum=0.9)
  v = cbn.init(jax.random.key(1), x, c, train=False)
  v["params"] = jax.tree.map(lambda p: p + 0.5, v["params"])  # Non-zero maps: c = 0 anyway.
  v["batch_stats"] = jax.tree.map(lambda s: s + 0.3, v["batch_stats"])
  ref_v = bn.init(jax.random.key(1), x)
  ref_v["batch_stats"] = v["batch_stats"]["BatchNorm_0"]
  y, new = cbn.apply(v, x, c, train=train, mutable=["batch_stats"])
  y_ref, ref_new = bn.apply(ref_v, x, mutable=["batch_stats"])
  np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-6)
  for a, b in zip(jax.tree.leaves(new["batch_stats"]["BatchNorm_0"]),
                  jax.tree.leaves(ref_new["batch_stats"]), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_gain_and_bias_are_linear_in_c():
  x = _x()
  c = jax.random.normal(jax.random.key(2), (X_SHAPE[0], 4))
  cbn = ConditionalBatchNorm()
  v = cbn.init(jax.random.key(1), x, c)
  y = cbn.apply(v, x, c, mutable=["batch_stats"])[0]
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  normed = (x - mean) / jnp.sqrt(var + 1e-5)
  gain = 1 + c @ v["params"]["gain"]["kernel"]
  bias = c @ v["params"]["bias"]["kernel"]
  np.testing.assert_allclose(y, gain[:, None, None] * normed + bias[:, None, None],
                             rtol=1e-4, atol=1e-5)


def test_statistics_synchronised_over_the_axis():
  """Four shards with axis_name (vmap stands in for pmap) == the global batch."""
  x = _x()
  c = jax.random.normal(jax.random.key(2), (X_SHAPE[0], 4))
  v = ConditionalBatchNorm().init(jax.random.key(1), x, c)
  whole, _ = ConditionalBatchNorm().apply(v, x, c, mutable=["batch_stats"])
  sharded = jax.vmap(functools.partial(ConditionalBatchNorm(axis_name="i").apply, v,
                                       mutable=["batch_stats"]), axis_name="i")
  y, stats = sharded(x.reshape(4, 2, *X_SHAPE[1:]), c.reshape(4, 2, 4))
  np.testing.assert_allclose(y.reshape(X_SHAPE), whole, rtol=1e-5, atol=1e-5)
  ref_stats = ConditionalBatchNorm().apply(v, x, c, mutable=["batch_stats"])[1]
  np.testing.assert_allclose(stats["batch_stats"]["BatchNorm_0"]["mean"][0],
                             ref_stats["batch_stats"]["BatchNorm_0"]["mean"], rtol=1e-5)


def test_bad_condition_shape():
  with pytest.raises(ValueError, match=r"c of shape \(8, D\)"):
    ConditionalBatchNorm().init(jax.random.key(0), _x(), jnp.zeros((4, 3)))


def _spectrally_normalised(matrix, u):
  """flax's SpectralNorm: one power-iteration step from the stored u, then W / σ."""
  v = u @ matrix.T
  v = v / np.linalg.norm(v)
  u = v @ matrix
  u = u / np.linalg.norm(u)
  return matrix / (v @ matrix @ u.T)[0, 0]


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_projection_output_formula(spectral_norm):
  h = jax.random.normal(jax.random.key(0), (6, 7))
  y = jnp.array([0, 1, 2, 2, 1, 0])
  head = ProjectionOutput(num_classes=3, spectral_norm=spectral_norm)
  v = head.init(jax.random.key(1), h, y)
  out = head.apply(v, h, y, train=False)
  assert out.shape == (6,)
  p = jax.tree.map(np.asarray, v["params"])
  psi_kernel, embedding = p["psi"]["kernel"], p["embed"]["embedding"]
  if spectral_norm:
    stats = jax.tree.map(np.asarray, v["batch_stats"])
    psi_kernel = _spectrally_normalised(psi_kernel, stats["psi_sn"]["psi/kernel/u"])
    embedding = _spectrally_normalised(embedding, stats["embed_sn"]["embed/embedding/u"])
    assert abs(np.linalg.svd(embedding, compute_uv=False)[0] - 1) < 0.5
  ref = h @ psi_kernel[:, 0] + p["psi"]["bias"][0] + np.sum(embedding[y] * h, -1)
  np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
  # Labels enter only through ⟨V e_y, h⟩: the difference of two labels' scores.
  other = head.apply(v, h, (y + 1) % 3, train=False)
  diff = np.sum((embedding[y] - embedding[(y + 1) % 3]) * h, -1)
  np.testing.assert_allclose(out - other, diff, rtol=1e-4, atol=1e-5)


def test_projection_output_bad_shapes():
  with pytest.raises(ValueError, match="h \\(B, F\\) and labels y \\(B,\\)"):
    ProjectionOutput(3).init(jax.random.key(0), jnp.zeros((4, 2)), jnp.zeros((3,), int))
