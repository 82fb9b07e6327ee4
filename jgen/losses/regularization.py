"""Weight regularisers for GAN players."""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import Params


def orthogonal_regularization(params: Params, exclude: tuple[str, ...] = ("embedding",)
                              ) -> Array:
  """BigGAN's orthogonal regulariser ``R = Σ_W ‖WᵀW ⊙ (1 − I)‖²_F``.

  Each weight of two or more dimensions is read as a matrix ``W`` of shape
  ``(fan_in, fan_out)`` (a conv kernel ``(k_h, k_w, C_in, C_out)`` as
  ``(k_h·k_w·C_in, C_out)``), whose columns are the filters. ``R`` penalises only the
  filters' pairwise inner products, not their norms (Brock et al. 2019, Eq. 3: the
  relaxed form that BigGAN found to make the generator amenable to the truncation
  trick). Biases and vectors are skipped, as are leaves whose name is in ``exclude``
  (BigGAN leaves its class embeddings out).

  Args:
    params: a params pytree (e.g. the generator's).
    exclude: leaf names to skip.

  Returns:
    A scalar: the sum over weights (multiply by β, 1e-4 in BigGAN).

  References:
    Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image
    Synthesis. ICLR 2019. arXiv:1809.11096.
  """
  total = jnp.zeros(())
  for path, w in jax.tree_util.tree_leaves_with_path(params):
    name = getattr(path[-1], "key", getattr(path[-1], "name", None))
    if w.ndim < 2 or name in exclude:
      continue
    w = w.reshape(-1, w.shape[-1])
    gram = w.T @ w
    total = total + jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0], dtype=w.dtype))))
  return total
