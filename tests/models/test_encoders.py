"""Encoder shapes and input handling (jgen.models.encoders)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.decoders import ConvDecoder
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
@pytest.mark.parametrize("cls", [MLPEncoder, ConvEncoder])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_gaussian_encoder_shapes(cls, shape, num_classes):
  kwargs = {"image_size": shape[0]} if cls is ConvEncoder else {}
  encoder = cls(LATENT, num_classes=num_classes, **kwargs)
  args = (_spec(B, *shape),) + ((_spec(B, dtype=jnp.int32),) if num_classes else ())
  mean, log_var = jax.eval_shape(encoder.apply, _init_shapes(encoder, *args), *args)
  assert mean.shape == log_var.shape == (B, LATENT)
  assert mean.dtype == log_var.dtype == jnp.float32


def test_encoders_accept_uint8_images():
  encoder = MLPEncoder(LATENT, hidden=(16,))
  x = (255 * _images((28, 28, 1))).astype(np.uint8)
  params = _params(encoder, x)
  apply = jax.jit(encoder.apply)
  np.testing.assert_allclose(apply(params, x)[0], apply(params, x.astype(np.float32))[0],
                             atol=1e-5)
