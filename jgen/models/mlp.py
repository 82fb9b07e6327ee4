"""MLP generator and discriminator for 2-D toy data.

The standard nets of the mode-collapse benchmarks (Metz et al. 2017, Unrolled GAN;
Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN): four fully connected
layers of 128 ReLU units, then a linear output layer.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax

from jgen.typing import Array


class MLP(nn.Module):
  """A ReLU MLP: ``x → [Dense(h) → ReLU] × len(hidden) → Dense(out)``.

  Attributes:
    hidden: widths of the hidden layers.
    out_features: width of the linear output layer.
  """

  hidden: Sequence[int]
  out_features: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.out_features)(x)


class MLPGenerator(nn.Module):
  """Maps latents ``z`` (B, latent_dim) to 2-D points (B, data_dim).

  With the defaults (latent 2 → 4×128 → 2) it has 50,178 parameters.

  References:
    Srivastava et al. VEEGAN. NeurIPS 2017. arXiv:1705.07761 (Sec. 5.1).
  """

  data_dim: int = 2
  hidden: Sequence[int] = (128, 128, 128, 128)

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    del train  # No batch norm: same function in train and eval mode.
    return MLP(self.hidden, self.data_dim)(z)


class MLPDiscriminator(nn.Module):
  """Maps points (B, data_dim) to one raw logit/score per example, shape (B,).

  With the defaults (2 → 4×128 → 1) it has 50,049 parameters.
  """

  hidden: Sequence[int] = (128, 128, 128, 128)

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    del train
    x = x.reshape(x.shape[0], -1)
    return MLP(self.hidden, 1)(x)[:, 0]


def count_params(params) -> int:
  """Number of scalars in a parameter pytree."""
  return sum(x.size for x in jax.tree.leaves(params))
