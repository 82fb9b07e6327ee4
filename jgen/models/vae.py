"""VAE-family modules: the `VAE` composition, the VQ-VAE `Codebook`, shared helpers.

The family is split by role:

- `jgen.models.encoders`: ``MLPEncoder`` and ``ConvEncoder`` map images to the
  parameters ``(mean, log_var)`` of a diagonal Gaussian posterior ``q(z | x[, y])``;
  ``VQEncoder`` maps images to a grid of continuous embeddings ``z_e``.
- `jgen.models.decoders`: ``MLPDecoder``, ``ConvDecoder`` and ``VQDecoder`` map latents
  to the parameters of ``p(x | z[, y])`` as a `DecoderOutput` (Bernoulli logits,
  Gaussian mean and log-variance, or discretized-logistic mean and log-scale).
- here: ``VAE`` (an encoder and a decoder as one module, one parameter tree) and
  ``Codebook`` (the VQ-VAE codebook parameter).

Every module is a pure function of (params, inputs): none draws random numbers. The
caller samples ``z = mean + exp(log_var / 2)·ε`` with
``jgen.losses.reparameterize(key, mean, log_var)`` and quantizes with
``jgen.losses.vector_quantize(z_e, codebook)``; the modules only produce the
distribution parameters.

Conditional models (CVAE; Sohn et al. 2015) set ``num_classes > 0`` on the encoder and
decoder and pass integer labels ``y`` of shape (B,); they are one-hot encoded and
concatenated to the input (the flattened image, the channels of a conv encoder's
input, or the latent).

References:
  Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
  Sohn, Lee, Yan. Learning Structured Output Representation using Deep Conditional
  Generative Models. NeurIPS 2015.
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jgen.losses.vae import VQOutput
from jgen.losses.vae import vector_quantize
from jgen.typing import Array
from jgen.typing import ArrayLike

if TYPE_CHECKING:  # decoders.py imports this module.
  from jgen.models.decoders import DecoderOutput

# Conv encoders/decoders: (spatial size of the smallest feature map, number of stride-2
# stages) per image size, as DCGAN: 28 → 14 → 7 and 32 → 16 → 8 → 4.
_CONV_LAYOUT = {28: (7, 2), 32: (4, 3)}


def _check_image_size(owner: str, image_size: int) -> None:
  if image_size not in _CONV_LAYOUT:
    raise ValueError(
        f"{owner} supports image_size in {sorted(_CONV_LAYOUT)}; got {image_size}.")


def _as_float(x: ArrayLike) -> Array:
  """Integer (e.g. uint8) inputs become float32; float inputs keep their dtype."""
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _one_hot_labels(owner: str, y: ArrayLike | None, num_classes: int,
                    batch_size: int) -> Array | None:
  """Checks the labels against ``num_classes``; (B, num_classes) one-hot or None.

  Out-of-range labels raise when ``y`` is concrete; under ``jit`` they cannot be
  checked and map to an all-zero row (``jax.nn.one_hot``).
  """
  if num_classes < 0:
    raise ValueError(f"{owner}: num_classes must be >= 0; got {num_classes}.")
  if num_classes == 0:
    if y is not None:
      raise ValueError(
          f"{owner} is unconditional (num_classes=0) but got labels y; set num_classes "
          "to the number of classes to build a conditional model.")
    return None
  if y is None:
    raise ValueError(
        f"{owner} is conditional (num_classes={num_classes}) and needs integer class "
        f"labels y of shape ({batch_size},).")
  y = jnp.asarray(y)
  if y.shape != (batch_size,) or not jnp.issubdtype(y.dtype, jnp.integer):
    raise ValueError(
        f"{owner} expects integer class labels y of shape ({batch_size},); got "
        f"{y.dtype}{list(y.shape)}.")
  if not isinstance(y, jax.core.Tracer) and y.size:
    values = np.asarray(y)
    if values.min() < 0 or values.max() >= num_classes:
      raise ValueError(
          f"{owner}: labels must lie in [0, {num_classes}); got values in "
          f"[{values.min()}, {values.max()}].")
  return jax.nn.one_hot(y, num_classes, dtype=jnp.float32)


class _ResidualBlock(nn.Module):
  """``x + Conv1×1(ReLU(Conv3×3(ReLU(x))))``, the VQ-VAE residual block."""

  hidden: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h = nn.Conv(self.hidden, (3, 3), padding="SAME")(nn.relu(x))
    return x + nn.Conv(x.shape[-1], (1, 1))(nn.relu(h))


class VAE(nn.Module):
  """An encoder and a decoder as one module, so a train state holds one parameter tree.

  ``encode`` and ``decode`` are the two halves, for the training step to call with
  ``method=`` around its own sampling:

  .. code-block:: python

    mean, log_var = vae.apply(params, x, y, method="encode")
    z = jgen.losses.reparameterize(key, mean, log_var)
    out = vae.apply(params, z, y, method="decode")

  ``__call__`` encodes and decodes the posterior mean ``z = mean``: deterministic, for
  ``init`` and for reconstruction figures.

  Attributes:
    encoder: maps ``(x (B, H, W, C), y)`` to ``(mean, log_var)``, each (B, latent_dim),
      e.g. an ``MLPEncoder`` or ``ConvEncoder``.
    decoder: maps ``(z (B, latent_dim), y)`` to a ``DecoderOutput``, e.g. an
      ``MLPDecoder`` or ``ConvDecoder``. Parameters live under ``'encoder'`` and
      ``'decoder'``.

  References:
    Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.models import VAE, MLPDecoder, MLPEncoder
    >>> vae = VAE(MLPEncoder(latent_dim=2, hidden=(8,)), MLPDecoder((4, 4, 1), hidden=(8,)))
    >>> params = vae.init(jax.random.key(0), jnp.zeros((3, 4, 4, 1)))
    >>> out, mean, log_var = vae.apply(params, jnp.zeros((3, 4, 4, 1)))
    >>> out.logits.shape, mean.shape, log_var.shape
    ((3, 4, 4, 1), (3, 2), (3, 2))
  """

  encoder: nn.Module
  decoder: nn.Module

  def encode(self, x: ArrayLike, y: ArrayLike | None = None) -> tuple[Array, Array]:
    """Posterior parameters ``(mean, log_var)``, each (B, latent_dim), of images (B, H, W, C)."""
    return self.encoder(x, y)

  def decode(self, z: ArrayLike, y: ArrayLike | None = None) -> "DecoderOutput":
    """The decoder's ``DecoderOutput`` (fields (B, H, W, C)) for latents z (B, latent_dim)."""
    return self.decoder(z, y)

  def __call__(self, x: ArrayLike,
               y: ArrayLike | None = None) -> tuple["DecoderOutput", Array, Array]:
    """Reconstruction from the posterior mean.

    Args:
      x: (B, H, W, C) images.
      y: (B,) integer labels for a conditional encoder/decoder, else None.

    Returns:
      ``(decoder_output, mean, log_var)``: the ``DecoderOutput`` of ``decode(mean, y)``
      and the posterior parameters, each (B, latent_dim).
    """
    mean, log_var = self.encode(x, y)
    return self.decode(mean, y), mean, log_var


def _uniform_symmetric(scale: float) -> Callable:
  """Initialiser drawing from U(−scale, scale) (flax's ``uniform`` draws U(0, scale))."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -scale, scale)
  return init


class Codebook(nn.Module):
  """The VQ-VAE codebook: a (num_codes, dim) parameter ``embedding`` ``e``.

  Initialised ``e_kd ~ U(−1/K, 1/K)`` for ``K = num_codes`` (the paper does not state
  its initialisation; ±1/K is the common reimplementations' choice). The module only
  owns and exposes the parameter: the quantization
  ``z_q = e_k*, k* = argmin_k ‖z_e − e_k‖²`` with straight-through gradients, the
  codebook/commitment losses and the perplexity are
  ``jgen.losses.vector_quantize(z_e, codebook)``, one implementation for every model.
  It has ``num_codes·dim`` parameters (32,768 for 512 codes of dimension 64).

  Attributes:
    num_codes: ``K``, the number of codes.
    dim: ``D``, the code dimension (the encoder's ``embedding_dim``).

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017. arXiv:1711.00937.

  Example:
    >>> import jax
    >>> from jgen.models import Codebook
    >>> codebook = Codebook(num_codes=512, dim=64)
    >>> params = codebook.init(jax.random.key(0))
    >>> codebook.apply(params).shape
    (512, 64)
    >>> codebook.apply(params, jax.numpy.zeros((2, 7, 7), int), method="lookup").shape
    (2, 7, 7, 64)
  """

  num_codes: int
  dim: int

  def setup(self):
    self.embedding = self.param("embedding", _uniform_symmetric(1.0 / self.num_codes),
                                (self.num_codes, self.dim))

  def __call__(self) -> Array:
    """Returns the codebook, (num_codes, dim)."""
    return self.embedding

  def lookup(self, indices: ArrayLike) -> Array:
    """Code vectors of integer indices: (...) → (..., dim), e.g. to decode prior samples.

    Args:
      indices: any shape, e.g. (B, h, w), integers in ``[0, num_codes)``.

    Returns:
      ``embedding[indices]``, shape ``indices.shape + (dim,)``.
    """
    return jnp.take(self.embedding, jnp.asarray(indices), axis=0)


class VQVAE(nn.Module):
  """VQ-VAE: encoder → nearest-code quantization → decoder, one parameter tree.

  ``z_e = encoder(x)`` (B, h, w, D); ``vq = jgen.losses.vector_quantize(z_e, codebook)``
  replaces each vector by its nearest code with straight-through gradients;
  ``decoder(vq.quantized)`` gives the ``DecoderOutput``. The loss is
  ``−log p(x|z_q) + codebook_loss + β·commitment_loss`` (van den Oord et al. 2017).

  Attributes:
    encoder: e.g. ``VQEncoder`` (its ``embedding_dim`` must equal ``codebook.dim``).
    decoder: e.g. ``VQDecoder``.
    codebook: a ``Codebook``. Parameters live under ``'encoder'``, ``'decoder'``,
      ``'codebook'``.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017. arXiv:1711.00937.
  """

  encoder: nn.Module
  decoder: nn.Module
  codebook: nn.Module

  def encode(self, x: ArrayLike) -> Array:
    """Continuous encodings ``z_e`` (B, h, w, D) of images (B, H, W, C)."""
    return self.encoder(x)

  def decode(self, z_q: ArrayLike) -> "DecoderOutput":
    """The ``DecoderOutput`` of quantized encodings (B, h, w, D)."""
    return self.decoder(z_q)

  def codes(self) -> Array:
    """The codebook, (num_codes, D)."""
    return self.codebook()

  def __call__(self, x: ArrayLike) -> tuple["DecoderOutput", "VQOutput"]:
    """Reconstruction: ``(decoder_output, vq_output)`` for images (B, H, W, C)."""
    vq = vector_quantize(self.encode(x), self.codes())
    return self.decode(vq.quantized), vq
