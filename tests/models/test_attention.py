"""SelfAttention2D: identity at init, rows of the attention map sum to 1, the SAGAN formula."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.attention import SelfAttention2D

SHAPE = (2, 6, 4, 16)


def _setup(spectral_norm=False, gamma=0.7):
  x = jax.random.normal(jax.random.key(0), SHAPE)
  module = SelfAttention2D(spectral_norm=spectral_norm)
  variables = module.init(jax.random.key(1), x)
  variables["params"]["gamma"] = jnp.asarray(gamma)
  return module, x, variables


def test_identity_at_initialisation():
  x = jax.random.normal(jax.random.key(0), SHAPE)
  module = SelfAttention2D()
  variables = module.init(jax.random.key(1), x)
  assert variables["params"]["gamma"] == 0.0
  np.testing.assert_array_equal(module.apply(variables, x), x)


def test_attention_rows_sum_to_one_and_match_the_formula():
  module, x, variables = _setup()
  y, state = module.apply(variables, x, mutable=["intermediates"])
  (beta,) = state["intermediates"]["attention"]
  b, h, w, c = SHAPE
  assert beta.shape == (b, h * w, h * w // 4)
  np.testing.assert_allclose(beta.sum(-1), 1.0, rtol=1e-6)
  assert (beta > 0).all()

  # The formula, written out in NumPy: θ at every position, φ and g max-pooled 2×2.
  p = jax.tree.map(np.asarray, variables["params"])
  xn = np.asarray(x, np.float64)
  conv = lambda v, name: v @ p[name]["kernel"][0, 0]  # noqa: E731

  def pool(v):
    return v.reshape(b, h // 2, 2, w // 2, 2, -1).max(axis=(2, 4)).reshape(b, h * w // 4, -1)
  theta = conv(xn, "theta").reshape(b, h * w, c // 8)
  phi, g = pool(conv(xn, "phi")), pool(conv(xn, "g"))
  logits = np.einsum("bqc,bkc->bqk", theta, phi)
  ref_beta = np.exp(logits - logits.max(-1, keepdims=True))
  ref_beta /= ref_beta.sum(-1, keepdims=True)
  o = conv(np.einsum("bqk,bkc->bqc", ref_beta, g), "out").reshape(SHAPE)
  np.testing.assert_allclose(beta, ref_beta, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(y, xn + 0.7 * o, rtol=1e-4, atol=1e-5)


def test_every_position_reads_every_other():
  module, x, variables = _setup()
  jac = jax.jacrev(lambda x: module.apply(variables, x)[0, 0, 0])(x)  # (C, B, H, W, C)
  influence = np.abs(np.asarray(jac[:, 0])).sum(axis=(0, 3))
  assert (influence > 0).all()  # Non-local: no zero in the (H, W) map.
  assert np.abs(np.asarray(jac[:, 1])).max() == 0  # Examples stay independent.


def test_spectral_norm_statistics_update_only_in_training():
  module, x, variables = _setup(spectral_norm=True)
  assert set(variables["batch_stats"]) == {"theta_sn", "phi_sn", "g_sn", "out_sn"}
  _, same = module.apply(variables, x, train=False, mutable=["batch_stats"])
  _, moved = module.apply(variables, x, train=True, mutable=["batch_stats"])
  equal = lambda a, b: all(jax.tree.leaves(jax.tree.map(np.array_equal, a, b)))  # noqa: E731
  assert equal(same["batch_stats"], variables["batch_stats"])
  assert not equal(moved["batch_stats"], variables["batch_stats"])


@pytest.mark.parametrize("shape", [(2, 5, 4, 16), (2, 4, 4, 12), (4, 16)])
def test_bad_shapes_name_the_shape(shape):
  with pytest.raises(ValueError, match=r"even H and W and C divisible by 8"):
    SelfAttention2D().init(jax.random.key(0), jnp.zeros(shape))
