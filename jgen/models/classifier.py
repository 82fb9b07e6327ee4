"""A small VGG-style image classifier: jgen's feature network for sample-quality metrics.

FID, KID, precision/recall and the Inception Score need a network whose features know
the data domain; Inception-v3 weights cannot be fetched offline, and Inception-FID on
MNIST is discouraged anyway (pytorch-fid #12). ``ConvClassifier`` is trained by jgen's
own trainer (the ``classifier`` task) on each dataset; its penultimate layer plays the
role of Inception's pool3 features, its softmax that of Inception's class posterior.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.typing import Array


class ConvClassifier(nn.Module):
  """``len(widths)`` blocks of [3×3 conv → GroupNorm → ReLU] × ``convs_per_block``, each
  followed by a 2×2 max-pool, then the features and a linear softmax head. The features
  are the global average pool of the last block (``dense_width=0``), or a ReLU dense
  layer of ``dense_width`` units on the flattened last block (pooled once more). The
  shipped networks use the dense layer: on CPU, convolutions dominate the cost, and two
  or three conv blocks with a dense layer reach a given accuracy sooner than deeper
  conv stacks with pooling.

  No batch statistics: ``apply`` is the same function in training and evaluation, so a
  metric cannot run the network in the wrong mode (pytorch-fid #118).

  Attributes:
    num_classes: number of classes of the head.
    widths: channels of each block; the feature dimension is ``widths[-1]``.
    convs_per_block: convolutions per block.
    groups: GroupNorm groups (each width must be divisible by it).
    dense_width: units of the dense feature layer; 0 for global average pooling.

  Shapes: images ``(B, H, W, C)`` float in [0, 1] → features ``(B, feature_dim)`` and
  logits ``(B, num_classes)``, with ``feature_dim`` = ``dense_width or widths[-1]``.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> net = ConvClassifier(num_classes=10, widths=(8, 16), groups=4)
    >>> params = net.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))
    >>> net.apply(params, jnp.zeros((3, 28, 28, 1))).shape
    (3, 10)
    >>> net.apply(params, jnp.zeros((3, 28, 28, 1)), method="features").shape
    (3, 16)
  """

  num_classes: int = 10
  widths: Sequence[int] = (32, 64, 128, 256)
  convs_per_block: int = 1
  groups: int = 8
  dense_width: int = 0

  @property
  def feature_dim(self) -> int:
    return self.dense_width or self.widths[-1]

  def setup(self):
    self.convs = [[nn.Conv(w, (3, 3), name=f"conv{i}_{j}") for j in range(self.convs_per_block)]
                  for i, w in enumerate(self.widths)]
    self.norms = [[nn.GroupNorm(num_groups=self.groups, name=f"norm{i}_{j}")
                   for j in range(self.convs_per_block)] for i in range(len(self.widths))]
    if self.dense_width:
      self.dense = nn.Dense(self.dense_width, name="dense")
    self.head = nn.Dense(self.num_classes, name="head")

  def features(self, images: Array) -> Array:
    """The penultimate layer, ``(B, feature_dim)``."""
    h = (jnp.asarray(images, jnp.float32) - 0.5) * 2.0
    for i, (convs, norms) in enumerate(zip(self.convs, self.norms, strict=True)):
      for conv, norm in zip(convs, norms, strict=True):
        h = jax.nn.relu(norm(conv(h)))
      if i < len(self.widths) - 1 or self.dense_width:
        h = nn.max_pool(h, (2, 2), strides=(2, 2), padding="SAME")
    if not self.dense_width:
      return h.mean(axis=(1, 2))
    return jax.nn.relu(self.dense(h.reshape(h.shape[0], -1)))

  def __call__(self, images: Array) -> Array:
    """Class logits ``(B, num_classes)``."""
    return self.head(self.features(images))

  def features_and_logits(self, images: Array) -> tuple[Array, Array]:
    """Both, from one pass: ``((B, feature_dim), (B, num_classes))``."""
    features = self.features(images)
    return features, self.head(features)


__all__ = ["ConvClassifier"]
