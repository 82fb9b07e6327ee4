"""The coupling conditioners: how the context enters."""

import jax
import numpy as np

from jgen.flows.conditioners import ConvConditioner
from jgen.flows.conditioners import MLPConditioner


def test_mlp_conditioner_sees_the_flattened_context_as_extra_inputs(key):
  x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
  context = np.random.default_rng(1).normal(size=(3, 2, 3)).astype(np.float32)
  net = MLPConditioner((5,))
  variables = net.init(key(), x, context)
  kernel = variables["params"]["Dense_0"]["kernel"]  # (4 + 6, 5)
  assert kernel.shape == (10, 5)
  expected = np.maximum(np.concatenate([x, context.reshape(3, 6)], 1) @ kernel
                        + variables["params"]["Dense_0"]["bias"], 0.0)
  np.testing.assert_allclose(net.apply(variables, x, context), expected, rtol=1e-5, atol=1e-6)


def test_conv_conditioner_broadcasts_a_vector_context_over_the_image(key):
  x = np.random.default_rng(2).normal(size=(2, 3, 3, 2)).astype(np.float32)
  vector = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
  net = ConvConditioner(4)
  variables = net.init(key(), x, vector)
  tiled = np.broadcast_to(vector[:, None, None, :], (2, 3, 3, 2))
  apply = jax.jit(net.apply)
  np.testing.assert_allclose(apply(variables, x, vector), apply(variables, x, tiled),
                             rtol=1e-6)
  assert apply(variables, x, vector).shape == (2, 3, 3, 4)
