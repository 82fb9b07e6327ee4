"""Class conditioning for GANs: conditional batch norm and the projection discriminator."""

import flax.linen as nn
import jax.numpy as jnp

from jgen.models.layers import spectral_normalized
from jgen.typing import Array


class ConditionalBatchNorm(nn.Module):
  """``y = (1 + W_γ c) ⊙ BN(x) + W_β c``: batch norm whose affine map is predicted from ``c``.

  ``BN`` normalises each channel with the batch statistics in training and the running
  averages in evaluation, without its own scale and offset; gain and bias are linear
  maps of the conditioning vector ``c`` (a class embedding, or BigGAN's shared
  embedding concatenated with a chunk of z), without biases. The gain is ``1 +``
  the prediction, so that a zero prediction keeps the signal: with ``c = 0`` the
  layer is plain batch norm (scale 1, offset 0). Statistics are averaged over
  ``axis_name`` under ``pmap``, like `nn.BatchNorm`, so a data-parallel step
  normalises with the global batch.

  Attributes:
    axis_name: the pmap axis to average batch statistics over (None: this device).
    momentum: running-average decay, flax's convention (0.9 = PyTorch's 0.1).
    epsilon: added to the variance.
    spectral_norm: spectral-normalise the two linear maps (BigGAN's generator).

  Call args:
    x: (B, ..., C) features.
    c: (B, D) conditioning vectors.
    train: normalise with batch statistics and update the running averages (and the
      spectral-norm statistics).

  Returns:
    (B, ..., C).

  Raises:
    ValueError: when ``c`` is not (B, D) for x's batch B.

  References:
    de Vries, Strub, Mary, Larochelle, Pietquin, Courville. Modulating Early Visual
    Processing by Language. NeurIPS 2017. arXiv:1707.00683.
    Dumoulin, Shlens, Kudlur. A Learned Representation for Artistic Style. ICLR 2017.
    arXiv:1610.07629.
    Brock, Donahue, Simonyan. BigGAN. ICLR 2019. arXiv:1809.11096.
  """

  axis_name: str | None = None
  momentum: float = 0.9
  epsilon: float = 1e-5
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: Array, c: Array, train: bool = True) -> Array:
    if c.ndim != 2 or c.shape[0] != x.shape[0]:
      raise ValueError(f"ConditionalBatchNorm expects c of shape ({x.shape[0]}, D) for x of "
                       f"shape {x.shape}; got c of shape {c.shape}.")
    features = x.shape[-1]
    normed = nn.BatchNorm(use_running_average=not train, momentum=self.momentum,
                          epsilon=self.epsilon, use_scale=False, use_bias=False,
                          axis_name=self.axis_name)(x)
    def linear(name):
      return spectral_normalized(nn.Dense(features, use_bias=False, name=name), train,
                                 self.spectral_norm, f"{name}_sn")
    gain, bias = linear("gain")(c), linear("bias")(c)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (features,)
    return (1.0 + gain.reshape(shape)) * normed + bias.reshape(shape)


class ProjectionOutput(nn.Module):
  """The projection discriminator's output ``D(h, y) = ψ(h) + ⟨V e_y, h⟩``.

  ``h`` is the discriminator's final feature vector (SNGAN and BigGAN: the global sum
  pooling of the last ReLU features; jgen's DCGAN: its flattened last feature map, the
  input of its linear output layer), ``ψ`` a linear map to one score and ``V e_y`` the class embedding of ``y``: the
  class information enters as an inner product with the features rather than as an
  input, which is the form the optimal discriminator of a conditional GAN takes when
  ``log p(y|x)`` is log-linear in the features.

  Attributes:
    num_classes: number of classes.
    spectral_norm: spectral-normalise ``ψ`` and ``V`` (SNGAN-projection does).

  Call args:
    h: (B, F) features.
    y: (B,) integer labels in [0, num_classes).
    train: update the spectral-norm statistics.

  Returns:
    (B,) raw scores (logits for the classifier losses).

  Raises:
    ValueError: when h is not (B, F) or y not (B,).

  References:
    Miyato, Koyama. cGANs with Projection Discriminator. ICLR 2018. arXiv:1802.05637.
  """

  num_classes: int
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, h: Array, y: Array, train: bool = True) -> Array:
    if h.ndim != 2 or y.shape != (h.shape[0],):
      raise ValueError(f"ProjectionOutput expects h (B, F) and labels y (B,); got h "
                       f"{h.shape}, y {y.shape}.")
    score = spectral_normalized(nn.Dense(1, name="psi"), train, self.spectral_norm,
                                "psi_sn")(h)
    # Embed's table (num_classes, F) is normalised as one matrix, as SNGAN does.
    embedded = spectral_normalized(nn.Embed(self.num_classes, h.shape[-1], name="embed"),
                                   train, self.spectral_norm, "embed_sn")(y)
    return score[:, 0] + jnp.sum(embedded * h, axis=-1)
