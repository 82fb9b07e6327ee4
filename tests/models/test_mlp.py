"""MLP generator/discriminator: shapes and the documented parameter counts."""

import jax
import jax.numpy as jnp

from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.models.mlp import count_params


def test_shapes_and_parameter_counts():
  g, d = MLPGenerator(), MLPDiscriminator()
  g_params = g.init(jax.random.key(0), jnp.zeros((5, 2)))
  d_params = d.init(jax.random.key(1), jnp.zeros((5, 2)))
  assert g.apply(g_params, jnp.ones((5, 2))).shape == (5, 2)
  assert d.apply(d_params, jnp.ones((5, 2))).shape == (5,)
  # (2·128 + 128) + 3·(128·128 + 128) + (128·2 + 2), as in the docstrings.
  assert count_params(g_params) == 50_178
  assert count_params(d_params) == 50_049
