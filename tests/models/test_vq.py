"""Tests for jgen.models.vq: nearest-code quantization and the EMA codebook.

References are independent of the code under test: closed forms written out here and
brute force.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jgen.models import vq


def _key(seed):
  # Every function takes any typed key; RBG keys compile ~3x faster than threefry on
  # XLA:CPU, which dominates the runtime of these small tests.
  return jax.random.key(seed, impl="rbg")





# --- VQ-VAE. ---


def _normal(seed, shape, scale=1.0):
  return np.random.default_rng(seed).normal(scale=scale, size=shape)


def _brute_force_nearest(z, codebook):
  d = ((z[..., None, :] - codebook) ** 2).sum(-1)
  return d.argmin(-1)


def test_vector_quantize_nearest_code_and_losses():
  z = _normal(60, (2, 3, 3, 4)).astype(np.float32)
  codebook = _normal(61, (7, 4)).astype(np.float32)
  out = jax.device_get(jax.jit(vq.vector_quantize)(z, codebook))
  idx = _brute_force_nearest(z.astype(np.float64), codebook.astype(np.float64))
  np.testing.assert_array_equal(out.indices, idx)
  assert out.indices.shape == (2, 3, 3) and out.indices.dtype == jnp.int32
  np.testing.assert_allclose(out.quantized, codebook[idx], rtol=1e-6, atol=1e-6)
  # Mean over vectors of the squared Euclidean distance (summed over D).
  sq = ((z - codebook[idx]) ** 2).sum(-1).mean()
  np.testing.assert_allclose(out.codebook_loss, sq, rtol=1e-5)
  np.testing.assert_allclose(out.commitment_loss, sq, rtol=1e-5)
  usage = np.bincount(idx.ravel(), minlength=7) / idx.size
  np.testing.assert_allclose(out.perplexity, np.exp(-special.xlogy(usage, usage).sum()),
                             rtol=1e-5)


def test_vector_quantize_gradients():
  z = _normal(62, (3, 4)).astype(np.float32)
  codebook = _normal(63, (5, 4)).astype(np.float32)

  def quantized(z, c):
    return vq.vector_quantize(z, c).quantized

  def loss_grads(name):
    return jax.grad(lambda z, c: getattr(vq.vector_quantize(z, c), name), (0, 1))

  @jax.jit
  def everything(z, c):
    return dict(fwd=jax.jacfwd(quantized, (0, 1))(z, c), rev=jax.jacrev(quantized, (0, 1))(z, c),
                codebook=loss_grads("codebook_loss")(z, c),
                commitment=loss_grads("commitment_loss")(z, c),
                indices=vq.vector_quantize(z, c).indices)

  out = jax.device_get(everything(z, codebook))
  # Straight-through: ∂quantized/∂z_e = I, and nothing reaches the codebook.
  for dq_dz, dq_dc in (out["fwd"], out["rev"]):
    np.testing.assert_array_equal(np.asarray(dq_dz).reshape(12, 12), np.eye(12))
    np.testing.assert_array_equal(dq_dc, 0.0)

  idx = np.asarray(out["indices"])
  assigned = codebook[idx]
  g_z, g_c = out["codebook"]
  np.testing.assert_array_equal(g_z, 0.0)  # Codebook loss: codebook only.
  want_c = np.zeros_like(codebook)
  np.add.at(want_c, idx, 2.0 * (assigned - z) / len(z))
  np.testing.assert_allclose(g_c, want_c, rtol=1e-5, atol=1e-6)
  g_z, g_c = out["commitment"]
  np.testing.assert_array_equal(g_c, 0.0)  # Commitment loss: encoder only.
  np.testing.assert_allclose(g_z, 2.0 * (z - assigned) / len(z), rtol=1e-5, atol=1e-6)


def test_vector_quantize_perplexity():
  codebook = _normal(64, (6, 3)).astype(np.float32)
  perplexity = jax.jit(lambda z: vq.vector_quantize(z, codebook).perplexity)
  np.testing.assert_allclose(perplexity(codebook), 6.0, rtol=1e-6)  # Uniform usage: K.
  np.testing.assert_allclose(perplexity(codebook[[2] * 6]), 1.0)  # A single code.
  np.testing.assert_allclose(perplexity(codebook[[0, 1, 1, 0, 0, 1]]), 2.0, rtol=1e-6)

  # With axis_name, usage is averaged over the data-parallel axis: two shards that each
  # use one code have local perplexity 1 and global perplexity 2.
  shards = np.stack([codebook[[0, 0]], codebook[[1, 1]]])
  ppl = jax.jit(jax.vmap(
      lambda z: vq.vector_quantize(z, codebook, axis_name="data").perplexity,
      axis_name="data"))(shards)
  np.testing.assert_allclose(ppl, [2.0, 2.0], rtol=1e-6)


def test_init_ema_codebook():
  init = jax.jit(vq.init_ema_codebook, static_argnums=(1, 2))
  state = jax.device_get(init(_key(0), 16, 4))
  assert state.codebook.shape == (16, 4) and state.embed_sum.shape == (16, 4)
  np.testing.assert_array_equal(state.cluster_size, np.ones(16))
  np.testing.assert_array_equal(state.embed_sum, state.codebook)
  assert np.all(np.abs(state.codebook) <= math.sqrt(3 / 4))
  np.testing.assert_array_equal(state.codebook, init(_key(0), 16, 4).codebook)
  assert not np.allclose(state.codebook, init(_key(1), 16, 4).codebook)


def _smoothed(cluster_size, eps):
  n = cluster_size.sum()
  return (cluster_size + eps) / (n + len(cluster_size) * eps) * n


def test_ema_codebook_update_formula():
  codes = _normal(71, (5, 3)).astype(np.float32)
  state = vq.EMACodebookState(codes, np.ones(5, np.float32), codes)
  z = _normal(70, (4, 3, 3)).astype(np.float32)
  idx = np.array([[0, 0, 2], [2, 2, 0], [0, 3, 3], [0, 2, 0]])  # Codes 1 and 4 unused.
  update = jax.jit(vq.ema_codebook_update, static_argnames=("epsilon",))
  counts = np.bincount(idx.ravel(), minlength=5).astype(np.float64)
  sums = np.zeros((5, 3))
  np.add.at(sums, idx.ravel(), z.reshape(-1, 3))
  means = sums / np.maximum(counts, 1)[:, None]

  # γ = 0: each used code becomes the mean of its vectors, up to the ε-smoothing;
  # unused codes become 0.
  new = jax.device_get(update(state, z, idx, decay=0.0))
  np.testing.assert_allclose(new.cluster_size, counts)
  np.testing.assert_allclose(new.embed_sum, sums, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(
      new.codebook, sums / _smoothed(counts, 1e-5)[:, None], rtol=1e-6, atol=1e-7)
  used, unused = np.array([0, 2, 3]), np.array([1, 4])
  new_codebook = np.asarray(new.codebook)
  np.testing.assert_allclose(new_codebook[used], means[used], rtol=1e-4)
  np.testing.assert_array_equal(new_codebook[unused], 0.0)

  # γ = 0.99 from the pseudo-count-1 init: a used code moves to the weighted average
  # (γ·e + (1 − γ)·s)/(γ + (1 − γ)·n), towards the mean of its vectors; unused codes stay.
  old = np.asarray(state.codebook, np.float64)
  new = jax.device_get(update(state, z, idx, decay=0.99))
  size = 0.99 + 0.01 * counts
  embed = 0.99 * old + 0.01 * sums
  np.testing.assert_allclose(new.cluster_size, size, rtol=1e-6)
  np.testing.assert_allclose(new.embed_sum, embed, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(new.codebook, embed / _smoothed(size, 1e-5)[:, None],
                             rtol=1e-5, atol=1e-7)
  new_codebook = np.asarray(new.codebook)
  np.testing.assert_allclose(new_codebook[unused], old[unused], rtol=1e-4)
  for k in used:
    assert np.linalg.norm(new_codebook[k] - means[k]) < np.linalg.norm(old[k] - means[k])

  with pytest.raises(ValueError, match="decay"):
    vq.ema_codebook_update(state, z, idx, decay=1.5)
  with pytest.raises(ValueError, match="indices its leading shape"):
    vq.ema_codebook_update(state, z, idx[:, :2])


def test_ema_codebook_converges_to_cluster_means():
  """Repeated quantise + EMA steps on a fixed batch are online k-means: codes → means."""
  rng = np.random.default_rng(80)
  centres = np.array([[3.0, 3.0], [-3.0, 3.0], [3.0, -3.0], [-3.0, -3.0]])
  data = (centres[rng.integers(0, 4, 400)] + 0.5 * rng.normal(size=(400, 2))).astype(np.float32)
  init = centres + rng.normal(scale=0.8, size=centres.shape)
  state = vq.EMACodebookState(jnp.asarray(init, jnp.float32), jnp.ones(4),
                                  jnp.asarray(init, jnp.float32))

  def step(state, _):
    out = vq.vector_quantize(data, state.codebook)
    return vq.ema_codebook_update(state, data, out.indices, decay=0.9), out.commitment_loss

  state, commitment = jax.device_get(jax.jit(lambda s: jax.lax.scan(step, s, length=300))(state))
  labels = _brute_force_nearest(data, centres)
  cluster_means = np.stack([data[labels == k].mean(0) for k in range(4)])
  np.testing.assert_allclose(state.codebook, cluster_means, atol=1e-4)
  within = ((data - cluster_means[labels]) ** 2).sum(-1).mean()
  np.testing.assert_allclose(commitment[-1], within, rtol=1e-4)
  assert commitment[0] > commitment[-1]


def test_ema_codebook_update_with_axis_name_equals_global_batch():
  codes = _normal(91, (6, 3)).astype(np.float32)
  state = vq.EMACodebookState(codes, np.ones(6, np.float32), codes)
  z = _normal(90, (2, 10, 3)).astype(np.float32)

  @jax.jit
  def both(z):
    idx = vq.vector_quantize(z, state.codebook).indices
    sharded = jax.vmap(
        lambda z, i: vq.ema_codebook_update(state, z, i, decay=0.8, axis_name="data"),
        axis_name="data")(z, idx)
    full = vq.ema_codebook_update(state, z.reshape(20, 3), idx.reshape(20), decay=0.8)
    return sharded, full

  sharded, full = jax.device_get(both(z))
  for got, want in zip(sharded, full, strict=True):
    np.testing.assert_allclose(got[0], want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[1], want, rtol=1e-6, atol=1e-7)


def test_errors():
  with pytest.raises(ValueError, match="codebook must be"):
    vq.vector_quantize(np.zeros((2, 3)), np.zeros(3))
  with pytest.raises(ValueError, match=r"z_e must be \(\.\.\., 4\)"):
    vq.vector_quantize(np.zeros((2, 3)), np.zeros((5, 4)))
  with pytest.raises(ValueError, match="num_codes and dim"):
    vq.init_ema_codebook(_key(0), 0, 4)
