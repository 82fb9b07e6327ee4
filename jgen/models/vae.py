"""The `VAE` module: an encoder and a decoder as one parameter tree.

The family is split by role:

- `jgen.models.encoders`: ``MLPEncoder`` and ``ConvEncoder`` map images to the
  parameters ``(mean, log_var)`` of a diagonal Gaussian posterior ``q(z | x[, y])``;
  ``VQEncoder`` maps images to a grid of continuous embeddings ``z_e``.
- `jgen.models.decoders`: ``MLPDecoder``, ``ConvDecoder`` and ``VQDecoder`` map latents
  latents to the image likelihood ``p(x | z[, y])``, a `jgen.distributions` object
  (``Bernoulli``, ``Normal`` or ``DiscretizedLogistic`` over (H, W, C) events).
- `jgen.models.vq`: vector quantization, the EMA codebook, ``Codebook`` and ``VQVAE``.
- here: ``VAE`` (an encoder and a decoder as one module, one parameter tree).

Every module is a pure function of (params, inputs): none draws random numbers. The
caller samples ``z = mean + exp(log_var / 2)·ε`` with
``jgen.losses.reparameterize(key, mean, log_var)`` and quantizes with
``jgen.models.vector_quantize(z_e, codebook)``; the modules only produce the
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

import flax.linen as nn

from jgen.distributions import Distribution
from jgen.typing import Array
from jgen.typing import ArrayLike


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
    decoder: maps ``(z (B, latent_dim), y)`` to a distribution over images, e.g. an
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

  def decode(self, z: ArrayLike, y: ArrayLike | None = None) -> Distribution:
    """The decoder's distribution p(x|z) (batch (B,), events (H, W, C)) for z (B, latent_dim)."""
    return self.decoder(z, y)

  def __call__(self, x: ArrayLike,
               y: ArrayLike | None = None) -> tuple[Distribution, Array, Array]:
    """Reconstruction from the posterior mean.

    Args:
      x: (B, H, W, C) images.
      y: (B,) integer labels for a conditional encoder/decoder, else None.

    Returns:
      ``(p_x, mean, log_var)``: the distribution ``decode(mean, y)``
      and the posterior parameters, each (B, latent_dim).
    """
    mean, log_var = self.encode(x, y)
    return self.decode(mean, y), mean, log_var


