"""BigGAN's orthogonal regulariser: zero on orthogonal filters of any norm, the formula, its gradient."""

import jax
import jax.numpy as jnp
import numpy as np

from jgen.losses import orthogonal_regularization


def test_zero_for_orthogonal_filters_whatever_their_norms():
  q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 4)))
  w = q * np.array([0.5, 1.0, 3.0, 7.0])  # Orthogonal columns, unequal norms.
  assert float(orthogonal_regularization({"kernel": jnp.asarray(w)})) < 1e-10


def test_value_by_hand_and_what_it_skips():
  w = jnp.array([[1.0, 2.0], [3.0, 4.0]])  # WᵀW = [[10, 14], [14, 20]]: R = 2·14².
  params = {"dense": {"kernel": w, "bias": jnp.ones(2)},
            "embed": {"embedding": jnp.ones((5, 3))}}
  np.testing.assert_allclose(orthogonal_regularization(params), 2 * 14.0 ** 2, rtol=1e-6)
  conv = jnp.arange(2 * 2 * 3 * 2, dtype=jnp.float32).reshape(2, 2, 3, 2) / 10
  flat = conv.reshape(12, 2)
  gram = flat.T @ flat
  np.testing.assert_allclose(orthogonal_regularization({"kernel": conv}),
                             2 * gram[0, 1] ** 2, rtol=1e-6)


def test_gradient_is_four_w_times_the_off_diagonal_gram():
  w = jax.random.normal(jax.random.key(0), (5, 3))
  gram = w.T @ w
  expected = 4 * w @ (gram * (1 - jnp.eye(3)))
  grad = jax.grad(lambda w: orthogonal_regularization({"kernel": w}))(w)
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5)
