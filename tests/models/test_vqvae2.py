"""VQ-VAE-2: the two levels' shapes, the bottom level reading the quantized top, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import VQVAE2
from jgen.models import vector_quantize

SHAPE = (8, 8, 1)


def _model(**kw):
  return VQVAE2(SHAPE, **({"num_codes": 16, "embedding_dim": 4, "features": 8,
                           "num_residual_blocks": 1} | kw))


def _images(b=3):
  return jnp.asarray(np.random.default_rng(0).uniform(size=(b, *SHAPE)), jnp.float32)


def _init(model):
  return model.init(jax.random.key(0), _images())


@pytest.mark.parametrize("shape,count", [((28, 28, 1), 1_722_881), ((32, 32, 3), 1_731_075)])
def test_default_sizes_and_grids(shape, count):
  model = VQVAE2(shape)
  params = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, *shape)))["params"]
  assert sum(math.prod(p.shape) for p in jax.tree.leaves(params)) == count
  def apply(variables, x):
    out, (top, bottom) = model.apply(variables, x)
    return out.mean(), top.indices, bottom.indices
  mean, top, bottom = jax.eval_shape(apply, {"params": params}, jnp.zeros((2, *shape)))
  h, w = shape[:2]
  assert top.shape == (2, h // 4, w // 4) and bottom.shape == (2, h // 2, w // 2)
  assert mean.shape == (2, *shape)


def test_call_is_quantize_then_decode_with_the_learned_codebooks():
  model = _model()
  variables = _init(model)
  x = _images()
  out, (top, bottom) = model.apply(variables, x)
  books = model.apply(variables, method="codebooks")
  (z_top, top2), (z_bottom, bottom2) = model.apply(variables, x, books, method="quantize")
  np.testing.assert_array_equal(top.indices, top2.indices)
  np.testing.assert_array_equal(bottom.indices, bottom2.indices)
  # Each level's codes are the nearest of its own codebook.
  for z, book, vq in ((z_top, books[0], top), (z_bottom, books[1], bottom)):
    np.testing.assert_array_equal(vq.indices, vector_quantize(z, book).indices)
  expected = model.apply(variables, top.quantized, bottom.quantized, method="decode")
  np.testing.assert_allclose(out.mean(), expected.mean(), rtol=1e-6)


def test_the_bottom_level_reads_the_quantized_top_level():
  model = _model()
  variables = _init(model)
  x = _images()
  books = model.apply(variables, method="codebooks")
  (z_top, _), (z_bottom, _) = model.apply(variables, x, books, method="quantize")
  # Other top codes: the top encoding is unchanged, the bottom encoding moves.
  moved = (books[0] + 1.0, books[1])
  (z_top2, _), (z_bottom2, _) = model.apply(variables, x, moved, method="quantize")
  np.testing.assert_array_equal(z_top, z_top2)
  assert np.max(np.abs(np.asarray(z_bottom) - np.asarray(z_bottom2))) > 1e-3
  # The decoder reads both levels.
  out = model.apply(variables, jnp.zeros((1, 2, 2, 4)), jnp.zeros((1, 4, 4, 4)),
                    method="decode").mean()
  for top, bottom in ((jnp.ones((1, 2, 2, 4)), jnp.zeros((1, 4, 4, 4))),
                      (jnp.zeros((1, 2, 2, 4)), jnp.ones((1, 4, 4, 4)))):
    other = model.apply(variables, top, bottom, method="decode").mean()
    assert np.max(np.abs(np.asarray(out) - np.asarray(other))) > 1e-4


def test_errors_name_the_shapes():
  model = _model()
  variables = _init(model)
  with pytest.raises(ValueError, match=r"expects images \(B, \*image_shape\); got shape "
                                       r"\(2, 4, 4, 1\)"):
    model.apply(variables, jnp.zeros((2, 4, 4, 1)))
  with pytest.raises(ValueError, match=r"maps \(B, 2, 2, D\) and \(B, 4, 4, D\); got "
                                       r"\(1, 4, 4, 4\) and \(1, 4, 4, 4\)"):
    model.apply(variables, jnp.zeros((1, 4, 4, 4)), jnp.zeros((1, 4, 4, 4)), method="decode")
  with pytest.raises(ValueError, match=r"divisible by 4; got image_shape=\(10, 8, 1\)"):
    VQVAE2((10, 8, 1)).init(jax.random.key(0), jnp.zeros((1, 10, 8, 1)))
  with pytest.raises(ValueError, match="likelihood"):
    _model(likelihood="poisson").init(jax.random.key(0), _images())
