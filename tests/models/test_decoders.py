"""Decoder likelihood heads (jgen.models.decoders)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.decoders import ConvDecoder
from jgen.models.decoders import DecoderOutput
from jgen.models.decoders import MLPDecoder
from jgen.models.decoders import VQDecoder
from jgen.models.encoders import ConvEncoder
from jgen.models.encoders import MLPEncoder
from jgen.models.encoders import VQEncoder
from jgen.models.vae import Codebook

B, LATENT = 3, 20
SHAPES = [(28, 28, 1), (32, 32, 3)]
LABELS = np.array([0, 3, 9], np.int32)


def _spec(*shape, dtype=jnp.float32):
  return jax.ShapeDtypeStruct(shape, dtype)


def _images(shape, seed=0):
  return np.random.default_rng(seed).uniform(size=(B,) + shape).astype(np.float32)


def _latents(seed=0):
  return np.random.default_rng(seed).normal(size=(B, LATENT)).astype(np.float32)


def _init_shapes(module, *args):
  return jax.eval_shape(lambda *a: module.init(jax.random.key(0), *a), *args)


def _params(module, *args, seed=0):
  """Parameters with the module's structure, drawn with NumPy: N(0, 1/fan_in) weights."""
  rng = np.random.default_rng(seed)

  def draw(leaf):
    scale = np.sqrt(np.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else 10.0
    return (rng.normal(size=leaf.shape) / scale).astype(np.float32)
  return jax.tree.map(draw, _init_shapes(module, *args))


# (module, input specs, parameter count as documented in the docstrings).
COUNTS = [
    # 784·512 + 512 + 512·512 + 512 + 512·40 + 40.
    (MLPEncoder(LATENT), (_spec(B, 28, 28, 1),), 685_096),
    (MLPEncoder(LATENT, num_classes=10), (_spec(B, 28, 28, 1), _spec(B, dtype=jnp.int32)),
     685_096 + 10 * 512),
    # Conv 1→32 (16·32 + 32), conv 32→64 (16·32·64 + 64), Dense 7·7·64 → 2·20.
    (ConvEncoder(LATENT), (_spec(B, 28, 28, 1),), 544 + 32_832 + 3136 * 40 + 40),
    (ConvEncoder(LATENT, image_size=32), (_spec(B, 32, 32, 3),), 247_560),
    (VQEncoder(), (_spec(B, 28, 28, 1),), 2_381_376),
    (VQEncoder(), (_spec(B, 32, 32, 3),), 2_389_568),
    # 20·512 + 512 + 512·512 + 512 + 512·784 + 784.
    (MLPDecoder((28, 28, 1)), (_spec(B, LATENT),), 675_600),
    (MLPDecoder((28, 28, 1), likelihood="gaussian"), (_spec(B, LATENT),),
     675_600 + 512 * 784 + 784),
    # Dense 20 → 7·7·64, then 4×4 transposed convs 64→32 and 32→1.
    (ConvDecoder((28, 28, 1)), (_spec(B, LATENT),),
     20 * 3136 + 3136 + 16 * 64 * 32 + 32 + 16 * 32 + 1),
    (ConvDecoder((28, 28, 1), num_classes=10), (_spec(B, LATENT), _spec(B, dtype=jnp.int32)),
     99_169 + 10 * 3136),
    (ConvDecoder((32, 32, 3)), (_spec(B, LATENT),), 208_483),
    (VQDecoder((28, 28, 1)), (_spec(B, 7, 7, 64),), 2_512_385),
    (VQDecoder((32, 32, 3)), (_spec(B, 8, 8, 64),), 2_520_579),
    (Codebook(512, 64), (), 32_768),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cls", [MLPDecoder, ConvDecoder])
@pytest.mark.parametrize("likelihood,variance,fields", [
    ("bernoulli", "learned", ("logits",)),
    ("gaussian", "learned", ("mean", "log_var")),
    ("gaussian", "fixed", ("mean", "log_var")),
    ("logistic", "learned", ("mean", "log_scale")),
])
def test_decoder_head_shapes(cls, shape, likelihood, variance, fields):
  decoder = cls(shape, likelihood=likelihood, variance=variance)
  z = _spec(B, LATENT)
  out = jax.eval_shape(decoder.apply, _init_shapes(decoder, z), z)
  assert isinstance(out, DecoderOutput) and out.likelihood == likelihood
  for name, value in out._asdict().items():
    if name in fields:
      assert value.shape == (B,) + shape and value.dtype == jnp.float32, name
    else:
      assert value is None, name


def test_heads_split_into_distinct_parameters():
  z = _latents()
  for likelihood, second in [("gaussian", "log_var"), ("logistic", "log_scale")]:
    decoder = MLPDecoder((28, 28, 1), hidden=(16,), likelihood=likelihood)
    out = jax.jit(decoder.apply)(_params(decoder, z), z)
    assert np.abs(out.mean - getattr(out, second)).min() > 0  # Two outputs per pixel.


def test_fixed_variance_is_a_constant_without_parameters():
  fixed = MLPDecoder((28, 28, 1), hidden=(16,), likelihood="gaussian", variance="fixed",
                     fixed_log_var=float(np.log(0.1)))
  z = _latents()
  params = _params(fixed, z)
  # The structure of a one-output (Bernoulli) decoder: no variance head.
  assert jax.tree.structure(params) == jax.tree.structure(
      _init_shapes(MLPDecoder((28, 28, 1), hidden=(16,)), z))
  apply = jax.jit(fixed.apply)
  for seed in (0, 1):
    np.testing.assert_array_equal(apply(params, _latents(seed)).log_var,
                                  np.full((B, 28, 28, 1), np.log(0.1), np.float32))
  grad = jax.jit(jax.grad(lambda z: apply(params, z).log_var.sum()))(z)
  np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"likelihood": "poisson"}, "likelihood must be one of"),
    ({"variance": "diagonal"}, "variance must be one of"),
    ({"likelihood": "bernoulli", "variance": "fixed"}, "applies to likelihood='gaussian'"),
])
@pytest.mark.parametrize("cls", [MLPDecoder, ConvDecoder])
def test_bad_likelihood_options(cls, kwargs, match):
  with pytest.raises(ValueError, match=match):
    cls((28, 28, 1), **kwargs).init(jax.random.key(0), _latents())
