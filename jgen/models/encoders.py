"""VAE encoders: images to Gaussian posterior parameters, or to a VQ-VAE embedding grid.

``MLPEncoder`` and ``ConvEncoder`` return ``(mean, log_var)``, each (B, latent_dim), the
parameters of the diagonal Gaussian ``q(z | x[, y]) = N(mean, diag(exp(log_var)))``;
the last layer is one ``Dense(2·latent_dim)`` whose two halves are the two heads.
``log_var`` is unconstrained (any real). ``VQEncoder`` returns the grid of continuous
embeddings ``z_e`` (B, H/4, W/4, embedding_dim) that the VQ-VAE quantizes.

Parameter counts (latent 20; conditional models add the one-hot input weights):
  MLPEncoder, 784 → 512 → 512 → 2·20: 685,096 (690,216 with num_classes=10).
  ConvEncoder, 28×28×1 (convs 32, 64; 7·7·64 → 2·20): 158,856.
  ConvEncoder, 32×32×3 (convs 32, 64, 128; 4·4·128 → 2·20): 247,560.
  VQEncoder, defaults (256 features, 2 residual blocks, embedding 64), 28×28×1:
  2,381,376; 32×32×3: 2,389,568.

References:
  Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jgen.models._common import CONV_LAYOUT
from jgen.models._common import ResidualBlock
from jgen.models._common import as_float
from jgen.models._common import check_image_size
from jgen.models._common import one_hot_labels
from jgen.models.mlp import MLP
from jgen.typing import Array
from jgen.typing import ArrayLike


class MLPEncoder(nn.Module):
  """MLP posterior ``q(z | x[, y])``: flattened image [+ one-hot label] → (mean, log_var).

  ``x → flatten → [Dense(h) → ReLU] × len(hidden) → Dense(2·latent_dim) → (mean,
  log_var)``, the "MLP (784-512-512-z)" of the VAE baselines. On 28×28×1 inputs with
  latent 20 it has 685,096 parameters (784·512 + 512 + 512·512 + 512 + 512·40 + 40);
  ``num_classes=10`` adds 10·512 = 5,120, i.e. 690,216.

  Attributes:
    latent_dim: dimension of z.
    hidden: widths of the ReLU hidden layers.
    num_classes: number of label classes to condition on; 0 for an unconditional
      encoder.

  References:
    Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
    Sohn, Lee, Yan. Learning Structured Output Representation using Deep Conditional
    Generative Models. NeurIPS 2015.
  """

  latent_dim: int
  hidden: Sequence[int] = (512, 512)
  num_classes: int = 0

  @nn.compact
  def __call__(self, x: ArrayLike, y: ArrayLike | None = None) -> tuple[Array, Array]:
    """Posterior parameters of a batch.

    Args:
      x: (B, ...) inputs, e.g. (B, H, W, C) images; flattened to (B, H·W·C).
      y: (B,) integer labels in ``[0, num_classes)`` if ``num_classes > 0``, else None.

    Returns:
      ``(mean, log_var)``, each (B, latent_dim).

    Raises:
      ValueError: if ``x`` has no batch axis, or ``y`` is given to an unconditional
        encoder, missing for a conditional one, or not integer labels of shape (B,).
    """
    x = as_float(x)
    if x.ndim < 2:
      raise ValueError(f"MLPEncoder expects a batch (B, ...); got shape {x.shape}.")
    x = x.reshape(x.shape[0], -1)
    labels = one_hot_labels("MLPEncoder", y, self.num_classes, x.shape[0])
    if labels is not None:
      x = jnp.concatenate([x, labels.astype(x.dtype)], axis=-1)
    mean, log_var = jnp.split(MLP(self.hidden, 2 * self.latent_dim)(x), 2, axis=-1)
    return mean, log_var


class ConvEncoder(nn.Module):
  """Convolutional posterior for 28×28 and 32×32 images: stride-2 convs → (mean, log_var).

  ``[Conv 4×4 stride 2 → activation] × stages → flatten → Dense(2·latent_dim)``, the
  width starting at ``base_features`` and doubling per stage: 28 → 14 → 7 (two stages)
  or 32 → 16 → 8 → 4 (three). A conditional encoder appends the one-hot label to the
  image as ``num_classes`` constant channels, so every layer sees it.

  Parameter counts with latent 20 and the defaults: 158,856 on 28×28×1 and 247,560 on
  32×32×3; conditioning adds 16·num_classes·base_features (5,120 for 10 classes).

  Attributes:
    latent_dim: dimension of z.
    base_features: width of the first convolution.
    image_size: 28 or 32; inputs must be (B, image_size, image_size, C).
    num_classes: number of label classes to condition on; 0 for an unconditional
      encoder.
    activation: elementwise nonlinearity, e.g. ``nn.relu`` or ``nn.silu``.

  References:
    Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014. arXiv:1312.6114.
  """

  latent_dim: int
  base_features: int = 32
  image_size: int = 28
  num_classes: int = 0
  activation: Callable[[Array], Array] = nn.relu

  @nn.compact
  def __call__(self, x: ArrayLike, y: ArrayLike | None = None) -> tuple[Array, Array]:
    """Posterior parameters of a batch of images.

    Args:
      x: (B, image_size, image_size, C) images.
      y: (B,) integer labels in ``[0, num_classes)`` if ``num_classes > 0``, else None.

    Returns:
      ``(mean, log_var)``, each (B, latent_dim).

    Raises:
      ValueError: for an unsupported ``image_size``, images of another shape, or bad
        labels (as ``MLPEncoder``).
    """
    check_image_size("ConvEncoder", self.image_size)
    x = as_float(x)
    if x.ndim != 4 or x.shape[1:3] != (self.image_size, self.image_size):
      raise ValueError(
          f"ConvEncoder(image_size={self.image_size}) expects images (B, "
          f"{self.image_size}, {self.image_size}, C); got shape {x.shape}.")
    labels = one_hot_labels("ConvEncoder", y, self.num_classes, x.shape[0])
    if labels is not None:
      maps = jnp.broadcast_to(labels[:, None, None, :].astype(x.dtype),
                              x.shape[:3] + (self.num_classes,))
      x = jnp.concatenate([x, maps], axis=-1)
    _, stages = CONV_LAYOUT[self.image_size]
    features = self.base_features
    for _ in range(stages):
      # Padding 1 halves even sizes exactly (PyTorch's Conv2d(k=4, s=2, p=1)).
      x = nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x)
      x = self.activation(x)
      features *= 2
    h = nn.Dense(2 * self.latent_dim)(x.reshape(x.shape[0], -1))
    mean, log_var = jnp.split(h, 2, axis=-1)
    return mean, log_var


class VQEncoder(nn.Module):
  """VQ-VAE encoder: images (B, H, W, C) → embeddings ``z_e`` (B, H/4, W/4, D).

  ``Conv 4×4 stride 2 → ReLU → Conv 4×4 stride 2 → ReLU → [residual block] ×
  num_residual_blocks → ReLU → Conv 1×1 (D)``, the residual block being
  ``x + Conv1×1(ReLU(Conv3×3(ReLU(x))))``, all with ``features`` channels (the
  paper's image architecture). 28×28 gives a 7×7 grid, 32×32 an 8×8 grid. With the
  defaults it has 2,381,376 parameters on 28×28×1 inputs and 2,389,568 on 32×32×3.

  Attributes:
    embedding_dim: ``D``, the channels of ``z_e`` (the ``Codebook``'s ``dim``).
    features: width of the strided convolutions and the residual stream.
    residual_features: hidden width of the residual blocks' 3×3 convolutions; None
      means ``features``.
    num_residual_blocks: number of residual blocks.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017. arXiv:1711.00937.
  """

  embedding_dim: int = 64
  features: int = 256
  residual_features: int | None = None
  num_residual_blocks: int = 2

  @nn.compact
  def __call__(self, x: ArrayLike) -> Array:
    """Continuous embeddings of a batch of images.

    Args:
      x: (B, H, W, C) images, H and W divisible by 4.

    Returns:
      ``z_e``, (B, H/4, W/4, embedding_dim).

    Raises:
      ValueError: if ``x`` is not (B, H, W, C) with H and W divisible by 4.
    """
    x = as_float(x)
    if x.ndim != 4 or x.shape[1] % 4 or x.shape[2] % 4:
      raise ValueError(
          f"VQEncoder expects images (B, H, W, C) with H and W divisible by 4; got "
          f"shape {x.shape}.")
    for _ in range(2):
      x = nn.Conv(self.features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))(x)
      x = nn.relu(x)
    for _ in range(self.num_residual_blocks):
      x = ResidualBlock(self.residual_features or self.features)(x)
    return nn.Conv(self.embedding_dim, (1, 1))(nn.relu(x))
