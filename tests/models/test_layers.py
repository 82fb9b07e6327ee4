"""SubPixelConvTranspose computes exactly nn.ConvTranspose(4×4, stride 2, 'SAME')."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import layers
from jgen.models.layers import SubPixelConvTranspose


@pytest.mark.parametrize("shape,features", [((2, 7, 7, 16), 8), ((3, 4, 5, 3), 5),
                                            ((1, 14, 14, 8), 1)])
def test_matches_conv_transpose_in_value_and_gradients(shape, features):
  x = jax.random.normal(jax.random.key(0), shape)
  reference = nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")
  ours = SubPixelConvTranspose(features)
  params = reference.init(jax.random.key(1), x)
  params = jax.tree.map(lambda p: p + 0.1, params)  # A non-zero bias too.
  assert jax.tree.structure(params) == jax.tree.structure(ours.init(jax.random.key(1), x))

  y_ref, y = reference.apply(params, x), ours.apply(params, x)
  assert y.shape == (shape[0], 2 * shape[1], 2 * shape[2], features)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)

  def loss(module):
    return lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))
  g_ref = jax.grad(loss(reference), argnums=(0, 1))(params, x)
  g = jax.grad(loss(ours), argnums=(0, 1))(params, x)
  for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_same_as_explicit_pytorch_padding():
  """'SAME' here equals explicit padding (2, 2), i.e. PyTorch's (k=4, s=2, p=1) layer."""
  x = jax.random.normal(jax.random.key(0), (1, 5, 5, 2))
  same = nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding="SAME")
  explicit = nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))
  params = same.init(jax.random.key(1), x)
  np.testing.assert_allclose(same.apply(params, x), explicit.apply(params, x), atol=1e-6)


def test_rejects_bad_rank():
  with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
    SubPixelConvTranspose(4).init(jax.random.key(0), jnp.zeros((7, 7, 3)))


def test_phase_form_equals_conv_transpose():
  """The four-phase form used for the kernel gradient is the same function."""
  x = jax.random.normal(jax.random.key(0), (2, 5, 6, 3))
  kernel = jax.random.normal(jax.random.key(1), (4, 4, 3, 4))
  np.testing.assert_allclose(layers._phase_conv_transpose(x, kernel),
                             layers._conv_transpose(x, kernel), rtol=1e-5, atol=1e-5)
