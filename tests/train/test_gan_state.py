"""Tests for GANState creation and its helpers."""

import jax
import numpy as np
import optax

from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.train.gan_state import create_gan_state


def test_state_holds_both_players_and_batch_stats():
  g_tx, d_tx = optax.adam(1e-3), optax.sgd(1e-2)
  state = create_gan_state(jax.random.key(0), DCGANGenerator(base_features=8),
                           DCGANDiscriminator(base_features=8), g_tx, d_tx, latent_dim=5,
                           data_shape=(28, 28, 1), use_ema=True)
  assert int(state.step) == 0 and state.g_tx is g_tx and state.d_tx is d_tx
  assert set(state.g_batch_stats) == {"BatchNorm_0", "BatchNorm_1"}
  # EMA starts as a copy of the generator parameters.
  for a, b in zip(jax.tree.leaves(state.g_ema_params), jax.tree.leaves(state.g_params),
                  strict=True):
    np.testing.assert_array_equal(a, b)
  assert set(state.generator_variables(ema=True)) == {"params", "batch_stats"}
  # The static fields are not leaves: only arrays are checkpointed and replicated.
  assert all(hasattr(x, "shape") for x in jax.tree.leaves(state))
  assert state.base_key.dtype == jax.random.key(0).dtype
