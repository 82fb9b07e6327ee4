"""VAE decoders: latents to the parameters of an image likelihood ``p(x | z[, y])``.

Every decoder returns a `jgen.distributions` object over (H, W, C) events (batch
(B,)), chosen by its ``likelihood`` attribute; ``log_prob(x)`` is ``log p(x | z)``
per example:

- ``'bernoulli'``: ``Bernoulli(logits)``; ``p(x | z) = Π Bernoulli(x_i;
  sigmoid(logits_i))``, for binary images in {0, 1}.
- ``'gaussian'``: ``Normal(loc, log_var)``; ``p(x | z) = Π N(x_i; loc_i,
  exp(log_var_i))``. With ``variance='learned'`` the decoder outputs a per-pixel
  ``log_var``; with ``variance='fixed'`` ``log_var`` is the constant ``fixed_log_var``
  broadcast to (B, H, W, C), so the Gaussian loss is the same code either way.
- ``'logistic'``: ``DiscretizedLogistic(loc, log_scale)``; the discretized logistic
  ``P(x | z) = Π [σ((x_i + b/2 − mean_i)/s_i) − σ((x_i − b/2 − mean_i)/s_i)]``,
  ``s_i = exp(log_scale_i)``, for 8-bit images scaled to [−1, 1] (bin width
  ``b = 2/255``; the two edge bins take the tails).

Outputs are unconstrained (no sigmoid on a mean, no bound on a log-variance): the
losses (``jgen.losses``) take them raw, as logits. A learned per-pixel variance makes
the Gaussian likelihood unbounded on pixels that never vary (MNIST's borders):
``log_var → −∞`` (Mattei & Frellsen 2018). Use ``'bernoulli'`` or a fixed variance
there. With a fixed variance ``σ²``, ``−log p(x | z) = ‖x − mean‖² / (2σ²) + const``:
the default ``fixed_log_var = 0`` (σ² = 1) is the plain squared error, and a smaller
value weights reconstruction more against the KL term, like ``β = 2σ²`` in a β-VAE
(Rybkin et al. 2021).

Parameter counts (latent 20, ``'bernoulli'``; a 2-parameter likelihood doubles the
output layer):
  MLPDecoder, 20 → 512 → 512 → 784: 675,600 (1,077,792 with a learned variance).
  ConvDecoder, 28×28×1 (Dense → 7·7·64, 64 → 32 → 1): 99,169.
  ConvDecoder, 32×32×3 (Dense → 4·4·128, 128 → 64 → 32 → 3): 208,483.
  VQDecoder, defaults (embedding 64, 256 features, 2 residual blocks), 28×28×1:
  2,512,385; 32×32×3: 2,520,579.

References:
  Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
  Salimans, Karpathy, Chen, Kingma. PixelCNN++. ICLR 2017. arXiv:1701.05517.
  Mattei, Frellsen. Leveraging the Exact Likelihood of Deep Latent Variable Models.
  NeurIPS 2018. arXiv:1802.04826.
  Rybkin, Daniilidis, Levine. Simple and Effective VAE Training with Calibrated
  Decoders. ICML 2021. arXiv:2006.13202.
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jgen.distributions import Bernoulli
from jgen.distributions import DiscretizedLogistic
from jgen.distributions import Distribution
from jgen.distributions import Normal
from jgen.models._common import CONV_LAYOUT
from jgen.models._common import ResidualBlock
from jgen.models._common import as_float
from jgen.models._common import check_image_size
from jgen.models._common import one_hot_labels
from jgen.models.layers import SubPixelConvTranspose
from jgen.models.mlp import MLP
from jgen.typing import Array
from jgen.typing import ArrayLike

LIKELIHOODS = ("bernoulli", "gaussian", "logistic")
VARIANCES = ("learned", "fixed")


def _check_likelihood(owner: str, likelihood: str, variance: str) -> int:
  """Validates the likelihood options; returns the number of outputs per pixel."""
  if likelihood not in LIKELIHOODS:
    raise ValueError(f"{owner}: likelihood must be one of {LIKELIHOODS}; got {likelihood!r}.")
  if variance not in VARIANCES:
    raise ValueError(f"{owner}: variance must be one of {VARIANCES}; got {variance!r}.")
  if variance == "fixed" and likelihood != "gaussian":
    raise ValueError(f"{owner}: variance='fixed' applies to likelihood='gaussian' only; "
                     f"got likelihood={likelihood!r}.")
  two_params = likelihood == "logistic" or (likelihood == "gaussian" and variance == "learned")
  return 2 if two_params else 1


def _decoder_output(h: Array, likelihood: str, variance: str,
                    fixed_log_var: float) -> Distribution:
  """(B, H, W, k·C) head outputs → the likelihood over (H, W, C) events."""
  if likelihood == "bernoulli":
    return Bernoulli(h, event_ndims=3)
  if likelihood == "logistic":
    loc, log_scale = jnp.split(h, 2, axis=-1)
    return DiscretizedLogistic(loc, log_scale, event_ndims=3)
  if variance == "learned":
    loc, log_var = jnp.split(h, 2, axis=-1)
    return Normal(loc, log_var, event_ndims=3)
  return Normal(h, jnp.full_like(h, fixed_log_var), event_ndims=3)


def _image_shape(owner: str, image_shape: Sequence[int]) -> tuple[int, int, int]:
  if len(image_shape) != 3:
    raise ValueError(f"{owner}: image_shape must be (H, W, C); got {image_shape}.")
  height, width, channels = (int(n) for n in image_shape)
  return height, width, channels


def _latents(owner: str, z: ArrayLike, y: ArrayLike | None, num_classes: int) -> Array:
  """Checks z is (B, latent_dim); appends the one-hot label of a conditional decoder."""
  z = as_float(z)
  if z.ndim != 2:
    raise ValueError(f"{owner} expects latents (B, latent_dim); got shape {z.shape}.")
  labels = one_hot_labels(owner, y, num_classes, z.shape[0])
  if labels is None:
    return z
  return jnp.concatenate([z, labels.astype(z.dtype)], axis=-1)


class MLPDecoder(nn.Module):
  """MLP likelihood ``p(x | z[, y])``: latent [+ one-hot label] → per-pixel parameters.

  ``z → [Dense(h) → ReLU] × len(hidden) → Dense(k·H·W·C) → reshape``, ``k`` = 1 for
  ``'bernoulli'`` and fixed-variance ``'gaussian'``, 2 otherwise. With latent 20 and
  28×28×1 images it has 675,600 parameters for ``'bernoulli'`` (20·512 + 512 +
  512·512 + 512 + 512·784 + 784) and 1,077,792 with a learned variance;
  ``num_classes=10`` adds 10·512 = 5,120.

  Attributes:
    image_shape: ``(H, W, C)`` of the images.
    hidden: widths of the ReLU hidden layers.
    likelihood: ``'bernoulli'``, ``'gaussian'`` or ``'logistic'``.
    variance: for ``'gaussian'``: ``'learned'`` (a per-pixel output) or ``'fixed'``.
    fixed_log_var: the constant log-variance of ``variance='fixed'`` (default 0:
      unit variance; see `jgen.models.decoders` on choosing it).
    num_classes: number of label classes to condition on; 0 for an unconditional
      decoder.

  References:
    Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
  """

  image_shape: Sequence[int]
  hidden: Sequence[int] = (512, 512)
  likelihood: str = "bernoulli"
  variance: str = "learned"
  fixed_log_var: float = 0.0
  num_classes: int = 0

  @nn.compact
  def __call__(self, z: ArrayLike, y: ArrayLike | None = None) -> Distribution:
    """Likelihood parameters for a batch of latents.

    Args:
      z: (B, latent_dim) latents.
      y: (B,) integer labels in ``[0, num_classes)`` if ``num_classes > 0``, else None.

    Returns:
      The likelihood p(x|z) chosen by ``likelihood``: batch (B,), events (H, W, C).

    Raises:
      ValueError: for unknown likelihood/variance options, a bad ``image_shape``,
        ``z`` not (B, latent_dim), or bad labels.
    """
    k = _check_likelihood("MLPDecoder", self.likelihood, self.variance)
    height, width, channels = _image_shape("MLPDecoder", self.image_shape)
    z = _latents("MLPDecoder", z, y, self.num_classes)
    h = MLP(self.hidden, k * height * width * channels)(z)
    h = h.reshape(z.shape[0], height, width, k * channels)
    return _decoder_output(h, self.likelihood, self.variance, self.fixed_log_var)


class ConvDecoder(nn.Module):
  """Convolutional likelihood for 28×28 and 32×32 images, upsampling by sub-pixel convs.

  ``z → Dense(s·s·F) → activation → reshape (s, s, F) → [SubPixelConvTranspose →
  activation] × (stages − 1) → SubPixelConvTranspose(k·C)``: 7 → 14 → 28 or
  4 → 8 → 16 → 32, the mirror of ``ConvEncoder`` (``F = base_features·2^(stages−1)``,
  halving per stage). ``k`` outputs per pixel as in ``MLPDecoder``. The upsampling is
  `SubPixelConvTranspose`, the 4×4 stride-2 transposed convolution computed fast on
  CPU. With latent 20 and ``'bernoulli'`` it has 99,169 parameters on 28×28×1 and
  208,483 on 32×32×3; conditioning adds ``num_classes·s²·F`` (31,360 for 10 classes
  on 28×28, i.e. 130,529).

  Attributes:
    image_shape: ``(H, W, C)`` with ``H = W`` in {28, 32}.
    base_features: width of the last hidden feature map; it doubles per stage back.
    likelihood: ``'bernoulli'``, ``'gaussian'`` or ``'logistic'``.
    variance: for ``'gaussian'``: ``'learned'`` or ``'fixed'``.
    fixed_log_var: the constant log-variance of ``variance='fixed'``.
    num_classes: number of label classes (one-hot appended to z); 0 = unconditional.
    activation: elementwise nonlinearity, e.g. ``nn.relu`` or ``nn.silu``.

  References:
    Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
    Shi et al. Real-Time Single Image and Video Super-Resolution Using an Efficient
    Sub-Pixel Convolutional Neural Network. CVPR 2016. arXiv:1609.05158.
  """

  image_shape: Sequence[int]
  base_features: int = 32
  likelihood: str = "bernoulli"
  variance: str = "learned"
  fixed_log_var: float = 0.0
  num_classes: int = 0
  activation: Callable[[Array], Array] = nn.relu

  @nn.compact
  def __call__(self, z: ArrayLike, y: ArrayLike | None = None) -> Distribution:
    """Likelihood parameters for a batch of latents.

    Args:
      z: (B, latent_dim) latents.
      y: (B,) integer labels in ``[0, num_classes)`` if ``num_classes > 0``, else None.

    Returns:
      The likelihood p(x|z) chosen by ``likelihood``: batch (B,), events (H, W, C).

    Raises:
      ValueError: for unknown likelihood/variance options, an unsupported or
        non-square ``image_shape``, ``z`` not (B, latent_dim), or bad labels.
    """
    k = _check_likelihood("ConvDecoder", self.likelihood, self.variance)
    height, width, channels = _image_shape("ConvDecoder", self.image_shape)
    if height != width:
      raise ValueError(f"ConvDecoder needs square images; got image_shape {self.image_shape}.")
    check_image_size("ConvDecoder", height)
    z = _latents("ConvDecoder", z, y, self.num_classes)
    size, stages = CONV_LAYOUT[height]
    features = self.base_features * 2 ** (stages - 1)
    x = self.activation(nn.Dense(size * size * features)(z))
    x = x.reshape(z.shape[0], size, size, features)
    for _ in range(stages - 1):
      features //= 2
      x = self.activation(SubPixelConvTranspose(features)(x))
    h = SubPixelConvTranspose(k * channels)(x)
    return _decoder_output(h, self.likelihood, self.variance, self.fixed_log_var)


class VQDecoder(nn.Module):
  """VQ-VAE decoder: quantized embeddings ``z_q`` (B, H/4, W/4, D) → image likelihood.

  ``Conv 3×3 (features) → [residual block] × num_residual_blocks → ReLU →
  SubPixelConvTranspose(features) → ReLU → SubPixelConvTranspose(k·C)`` (the
  paper's image architecture: residual blocks, then two 4×4 stride-2 transposed
  convolutions). The
  paper's squared-error reconstruction is ``likelihood='gaussian', variance='fixed'``.
  With the defaults it has 2,512,385 parameters for 28×28×1 images and 2,520,579 for
  32×32×3.

  Attributes:
    image_shape: ``(H, W, C)``, H and W divisible by 4.
    features: width of the residual stream and the first transposed convolution.
    residual_features: hidden width of the residual blocks; None means ``features``.
    num_residual_blocks: number of residual blocks.
    likelihood: ``'bernoulli'``, ``'gaussian'`` or ``'logistic'``.
    variance: for ``'gaussian'``: ``'learned'`` or ``'fixed'``.
    fixed_log_var: the constant log-variance of ``variance='fixed'``.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017. arXiv:1711.00937.
  """

  image_shape: Sequence[int]
  features: int = 256
  residual_features: int | None = None
  num_residual_blocks: int = 2
  likelihood: str = "bernoulli"
  variance: str = "learned"
  fixed_log_var: float = 0.0

  @nn.compact
  def __call__(self, z_q: ArrayLike) -> Distribution:
    """Likelihood parameters for a batch of (quantized) embedding grids.

    Args:
      z_q: (B, H/4, W/4, D) embeddings.

    Returns:
      The likelihood p(x|z) chosen by ``likelihood``: batch (B,), events (H, W, C).

    Raises:
      ValueError: for unknown likelihood/variance options, a bad ``image_shape``, or
        a grid that is not (B, H/4, W/4, D).
    """
    k = _check_likelihood("VQDecoder", self.likelihood, self.variance)
    height, width, channels = _image_shape("VQDecoder", self.image_shape)
    x = as_float(z_q)
    if height % 4 or width % 4 or x.ndim != 4 or x.shape[1:3] != (height // 4, width // 4):
      raise ValueError(
          f"VQDecoder(image_shape={tuple(self.image_shape)}) expects embeddings (B, "
          f"{height / 4:g}, {width / 4:g}, D) with H and W divisible by 4; got shape "
          f"{x.shape}.")
    x = nn.Conv(self.features, (3, 3), padding="SAME")(x)
    for _ in range(self.num_residual_blocks):
      x = ResidualBlock(self.residual_features or self.features)(x)
    x = nn.relu(SubPixelConvTranspose(self.features)(nn.relu(x)))
    h = SubPixelConvTranspose(k * channels)(x)
    return _decoder_output(h, self.likelihood, self.variance, self.fixed_log_var)
