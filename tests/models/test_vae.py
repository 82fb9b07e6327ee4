"""VAE-family modules: shapes, documented parameter counts, labels, likelihood heads, purity.

Kept fast on a shared CPU: shapes and parameter counts come from ``jax.eval_shape``
(tracing only, which also proves the modules trace under ``jit``), and value tests use
NumPy-drawn parameters (`_params`) with one jitted ``apply`` per module: XLA:CPU takes
seconds to compile a jitted ``init`` (a threefry draw per parameter), ``apply`` a
fraction of that.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen import distributions
from jgen.models import decoders
from jgen.models import encoders
from jgen.models.decoders import ConvDecoder
from jgen.models.decoders import MLPDecoder
from jgen.models.decoders import VQDecoder
from jgen.models.encoders import ConvEncoder
from jgen.models.encoders import MLPEncoder
from jgen.models.encoders import VQEncoder
from jgen.models.mlp import count_params
from jgen.models.vae import VAE
from jgen.models.vq import Codebook

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


@pytest.mark.parametrize("module,args,expected", COUNTS,
                         ids=[f"{type(m).__name__}{i}" for i, (m, _, _) in enumerate(COUNTS)])
def test_documented_parameter_counts(module, args, expected):
  assert count_params(_init_shapes(module, *args)) == expected
  # Stated in the class docstring and, for the unconditional ones, the module's table.
  assert f"{expected:,}" in type(module).__doc__
  if not isinstance(module, Codebook) and not getattr(module, "num_classes", 0):
    table = (encoders if "Encoder" in type(module).__name__ else decoders).__doc__
    assert f"{expected:,}" in table


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


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cls", [MLPDecoder, ConvDecoder])
@pytest.mark.parametrize("likelihood,variance,kind,fields", [
    ("bernoulli", "learned", distributions.Bernoulli, ("logits",)),
    ("gaussian", "learned", distributions.Normal, ("loc", "log_var")),
    ("gaussian", "fixed", distributions.Normal, ("loc", "log_var")),
    ("logistic", "learned", distributions.DiscretizedLogistic, ("loc", "log_scale")),
])
def test_decoder_head_shapes(cls, shape, likelihood, variance, kind, fields):
  decoder = cls(shape, likelihood=likelihood, variance=variance)
  z = _spec(B, LATENT)
  out = jax.eval_shape(decoder.apply, _init_shapes(decoder, z), z)
  assert type(out) is kind and out.event_ndims == 3  # (H, W, C) events, batch (B,).
  for name in fields:
    value = getattr(out, name)
    assert value.shape == (B,) + shape and value.dtype == jnp.float32, name


@pytest.mark.parametrize("shape,grid", [((28, 28, 1), 7), ((32, 32, 3), 8)])
def test_vq_encoder_and_decoder_shapes(shape, grid):
  encoder = VQEncoder(embedding_dim=16, features=32, residual_features=8)
  decoder = VQDecoder(shape, features=32, residual_features=8, likelihood="logistic")
  x = _spec(B, *shape)
  z_e = jax.eval_shape(encoder.apply, _init_shapes(encoder, x), x)
  assert z_e.shape == (B, grid, grid, 16) and z_e.dtype == jnp.float32
  out = jax.eval_shape(decoder.apply, _init_shapes(decoder, z_e), z_e)
  assert out.loc.shape == out.log_scale.shape == (B,) + shape
  with pytest.raises(ValueError, match="divisible by 4"):
    encoder.init(jax.random.key(0), jnp.zeros((1, 30, 30, 1)))
  with pytest.raises(ValueError, match=f"expects embeddings \\(B, {grid}, {grid}, D\\)"):
    decoder.init(jax.random.key(0), jnp.zeros((1, grid + 1, grid, 16)))


def test_heads_split_into_distinct_parameters():
  z = _latents()
  for likelihood, second in [("gaussian", "log_var"), ("logistic", "log_scale")]:
    decoder = MLPDecoder((28, 28, 1), hidden=(16,), likelihood=likelihood)
    out = jax.jit(decoder.apply)(_params(decoder, z), z)
    assert np.abs(out.loc - getattr(out, second)).min() > 0  # Two outputs per pixel.


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


@pytest.mark.parametrize("module,x", [
    (MLPEncoder(LATENT, hidden=(16,), num_classes=10), _images((28, 28, 1))),
    (ConvEncoder(LATENT, base_features=4, image_size=32, num_classes=10), _images((32, 32, 3))),
    (MLPDecoder((28, 28, 1), hidden=(16,), num_classes=10), _latents()),
    (ConvDecoder((28, 28, 1), base_features=4, likelihood="gaussian", num_classes=10),
     _latents()),
], ids=["MLPEncoder", "ConvEncoder", "MLPDecoder", "ConvDecoder"])
def test_label_changes_outputs_apply_is_deterministic_and_labels_are_checked(module, x):
  params = _params(module, x, LABELS)
  apply = jax.jit(module.apply)
  out, again = apply(params, x, LABELS), apply(params, x, LABELS)
  for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(again), strict=True):
    np.testing.assert_array_equal(a, b)  # Pure: no hidden randomness or state.
  first = jax.tree.leaves(out)[0]
  other = jax.tree.leaves(apply(params, x, (LABELS + 1) % 10))[0]
  for i in range(B):  # Each example's output depends on its own label.
    assert not np.allclose(first[i], other[i]), i

  name = type(module).__name__
  with pytest.raises(ValueError, match=f"{name} is conditional \\(num_classes=10\\)"):
    module.apply(params, x)
  with pytest.raises(ValueError, match="integer class labels y of shape \\(3,\\)"):
    module.apply(params, x, LABELS.astype(np.float32))
  with pytest.raises(ValueError, match="integer class labels y of shape \\(3,\\)"):
    module.apply(params, x, LABELS[:2])
  with pytest.raises(ValueError, match="labels must lie in \\[0, 10\\); got values in \\[0, 10\\]"):
    module.apply(params, x, np.array([0, 3, 10]))
  with pytest.raises(ValueError, match=f"{name} is unconditional"):
    module.clone(num_classes=0).init(jax.random.key(0), x, LABELS)


def test_vae_composition_and_gradients_reach_every_parameter():
  vae = VAE(ConvEncoder(LATENT, base_features=4, num_classes=10),
            ConvDecoder((28, 28, 1), base_features=4, likelihood="gaussian", num_classes=10))
  x = _images((28, 28, 1))
  params = _params(vae, x, LABELS)
  assert set(params["params"]) == {"encoder", "decoder"}

  def loss(params):
    out, mean, log_var = vae.apply(params, x, LABELS)
    return jnp.sum(out.loc**2 + out.log_var) + jnp.sum(mean**2 + log_var), (out, mean)
  grads, (out, mean) = jax.jit(jax.grad(loss, has_aux=True))(params)
  for path, g in jax.tree_util.tree_leaves_with_path(grads):
    assert np.isfinite(g).all() and np.abs(g).max() > 0, jax.tree_util.keystr(path)
  # __call__ decodes the posterior mean: the same as method="decode" on it.
  decoded = jax.jit(lambda p, z: vae.apply(p, z, LABELS, method="decode"))(params, mean)
  np.testing.assert_allclose(decoded.loc, out.loc, atol=1e-5)


def test_vae_methods_are_its_parts():
  encoder = MLPEncoder(4, hidden=(16,))
  decoder = MLPDecoder((28, 28, 1), hidden=(16,))
  vae = VAE(encoder, decoder)
  x = _images((28, 28, 1))
  params = _params(vae, x)
  encoder_params = {"params": params["params"]["encoder"]}
  decoder_params = {"params": params["params"]["decoder"]}

  @jax.jit
  def run(params, x):
    mean, log_var = vae.apply(params, x, method="encode")
    ref_mean, ref_log_var = encoder.apply(encoder_params, x)
    logits = vae.apply(params, mean, method="decode").logits
    return mean, ref_mean, log_var, ref_log_var, logits, decoder.apply(decoder_params, mean).logits
  mean, ref_mean, log_var, ref_log_var, logits, ref_logits = run(params, x)
  np.testing.assert_array_equal(mean, ref_mean)
  np.testing.assert_array_equal(log_var, ref_log_var)
  np.testing.assert_array_equal(logits, ref_logits)


def test_encoders_accept_uint8_images():
  encoder = MLPEncoder(LATENT, hidden=(16,))
  x = (255 * _images((28, 28, 1))).astype(np.uint8)
  params = _params(encoder, x)
  apply = jax.jit(encoder.apply)
  np.testing.assert_allclose(apply(params, x)[0], apply(params, x.astype(np.float32))[0],
                             atol=1e-5)


def test_codebook_shape_init_range_and_lookup():
  num_codes, dim = 512, 64
  codebook = Codebook(num_codes, dim)
  params = jax.jit(codebook.init)(jax.random.key(0))
  embedding = np.asarray(codebook.apply(params))
  assert embedding.shape == (num_codes, dim) and embedding.dtype == np.float32
  np.testing.assert_array_equal(embedding, params["params"]["embedding"])
  bound = 1.0 / num_codes
  # U(−1/K, 1/K): within the bound, both ends reached, mean 0, variance bound²/3.
  assert embedding.min() >= -bound and embedding.max() <= bound
  assert embedding.min() < -0.99 * bound and embedding.max() > 0.99 * bound
  assert abs(embedding.mean()) < 0.02 * bound
  np.testing.assert_allclose(embedding.var(), bound**2 / 3, rtol=0.03)
  codes = codebook.apply(params, np.array([[0, 5], [511, 5]]), method="lookup")
  assert codes.shape == (2, 2, dim)
  np.testing.assert_array_equal(codes[1, 0], embedding[511])
  np.testing.assert_array_equal(codes[0, 1], embedding[5])


def test_activation_option():
  encoder = ConvEncoder(LATENT, base_features=4)
  x = _spec(B, 28, 28, 1)
  params = _init_shapes(encoder, x)
  relu = str(jax.make_jaxpr(encoder.apply)(params, x))
  silu = str(jax.make_jaxpr(encoder.clone(activation=jax.nn.silu).apply)(params, x))
  assert "max" in relu and "logistic" not in relu
  assert "logistic" in silu  # silu(x) = x·sigmoid(x).


@pytest.mark.parametrize("kwargs,match", [
    ({"likelihood": "poisson"}, "likelihood must be one of"),
    ({"variance": "diagonal"}, "variance must be one of"),
    ({"likelihood": "bernoulli", "variance": "fixed"}, "applies to likelihood='gaussian'"),
])
@pytest.mark.parametrize("cls", [MLPDecoder, ConvDecoder])
def test_bad_likelihood_options(cls, kwargs, match):
  with pytest.raises(ValueError, match=match):
    cls((28, 28, 1), **kwargs).init(jax.random.key(0), _latents())


def test_bad_shapes():
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    ConvEncoder(LATENT, image_size=64).init(key, jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(ValueError, match="expects images \\(B, 28, 28, C\\)"):
    ConvEncoder(LATENT).init(key, jnp.zeros((1, 32, 32, 3)))
  with pytest.raises(ValueError, match="batch"):
    MLPEncoder(LATENT).init(key, jnp.zeros(784))
  with pytest.raises(ValueError, match="square"):
    ConvDecoder((28, 32, 1)).init(key, _latents())
  with pytest.raises(ValueError, match="image_size in \\[28, 32\\]; got 64"):
    ConvDecoder((64, 64, 1)).init(key, _latents())
  with pytest.raises(ValueError, match="image_shape must be \\(H, W, C\\)"):
    MLPDecoder((28, 28)).init(key, _latents())
  with pytest.raises(ValueError, match="latents \\(B, latent_dim\\)"):
    MLPDecoder((28, 28, 1)).init(key, jnp.zeros((B, 4, 5)))
