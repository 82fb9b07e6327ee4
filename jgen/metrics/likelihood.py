"""Test log-likelihoods of latent-variable models: ELBO and the IWAE estimate of log p(x).

``log p(x) ≈ log (1/k) Σᵢ p(x|zᵢ) p(zᵢ) / q(zᵢ|x)``, ``zᵢ ~ q(z|x)``, the importance-
weighted estimate of Burda et al. (2016) with k = 5,000 in the papers' evaluations. The
k samples are processed in chunks (a ``lax.scan`` carrying a running logsumexp), and
the examples in batches, so memory is bounded by ``chunk × batch`` decoder passes
whatever k is.
"""

from collections.abc import Callable
import math

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _gaussian_log_density(z: Array, mean: Array, log_var: Array) -> Array:
  return -0.5 * jnp.sum(math.log(2 * math.pi) + log_var + jnp.square(z - mean)
                        * jnp.exp(-log_var), axis=-1)


def importance_weighted_log_likelihood(
    encode: Callable[[Array], tuple[Array, Array]],
    log_likelihood: Callable[[Array, Array], Array],
    x: Array,
    key: PRNGKey,
    *,
    num_samples: int = 5000,
    chunk_size: int = 50,
) -> tuple[Array, Array]:
  """IWAE estimate of ``log p(x)`` and the one-sample-average ELBO, per example.

  ``log p̂(x) = logsumexp_i(wᵢ) − log k`` and ``ELBO ≈ mean_i(wᵢ)`` with
  ``wᵢ = log p(x|zᵢ) + log N(zᵢ; 0, I) − log q(zᵢ|x)``, ``zᵢ ~ q(z|x)`` Gaussian.

  Args:
    encode: ``x (B, ...) -> (mean, log_var)``, each (B, d).
    log_likelihood: ``(z (B, d), x (B, ...)) -> log p(x|z)`` per example (B,).
    x: (B, ...) examples.
    key: PRNG key for the importance samples.
    num_samples: k.
    chunk_size: importance samples per scan step; must divide k. ``chunk × B`` decoder
      rows are live at once: ~5,000 rows keep the activations in cache on CPU (2.3×
      faster than 50,000 for the MNIST MLP); accelerators prefer larger chunks.

  Returns:
    ``(log_px, elbo)``, each (B,), in nats.

  Raises:
    ValueError: if ``chunk_size`` does not divide ``num_samples``.

  References:
    Burda, Grosse, Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016.
    arXiv:1509.00519.
  """
  if num_samples % chunk_size:
    raise ValueError(
        f"chunk_size={chunk_size} must divide num_samples={num_samples}.")
  mean, log_var = encode(x)
  batch = x.shape[0]

  def one_chunk(carry, chunk_key):
    running_max, running_sum, w_total = carry
    eps = jax.random.normal(chunk_key, (chunk_size, *mean.shape))
    z = mean + jnp.exp(0.5 * log_var) * eps  # (c, B, d)
    ll = jax.vmap(lambda zc: log_likelihood(zc, x))(z)  # (c, B)
    w = ll + _gaussian_log_density(z, 0.0, jnp.zeros_like(z)) - _gaussian_log_density(
        z, mean, log_var)
    new_max = jnp.maximum(running_max, w.max(axis=0))
    running_sum = running_sum * jnp.exp(running_max - new_max) + jnp.exp(
        w - new_max).sum(axis=0)
    return (new_max, running_sum, w_total + w.sum(axis=0)), None

  init = (jnp.full((batch,), -jnp.inf), jnp.zeros((batch,)), jnp.zeros((batch,)))
  keys = jax.random.split(key, num_samples // chunk_size)
  (running_max, running_sum, w_total), _ = lax.scan(one_chunk, init, keys)
  log_px = running_max + jnp.log(running_sum) - math.log(num_samples)
  return log_px, w_total / num_samples


def bits_per_dim(nats: float | np.ndarray, num_dims: int) -> float | np.ndarray:
  """Converts a negative log-likelihood in nats per example to bits per dimension."""
  return nats / (num_dims * math.log(2.0))


def reconstruction_mse(images: ArrayLike, reconstructions: ArrayLike) -> Array:
  """Mean squared error per pixel of each example, ``mean((x − x̂)²)`` over (H, W, C).

  Args:
    images: ``(B, H, W, C)`` intensities in [0, 1].
    reconstructions: the model's output images, same shape and scale.

  Returns:
    ``(B,)``.
  """
  err = jnp.square(jnp.asarray(reconstructions) - jnp.asarray(images))
  return err.reshape(err.shape[0], -1).mean(axis=1)


def codebook_perplexity(indices: ArrayLike, num_codes: int) -> float:
  """``exp(H(p))`` of the code usage ``p`` of a VQ model, in ``[1, num_codes]``.

  Args:
    indices: integer code indices of any shape (all vectors of a test set).
    num_codes: the codebook size ``K``.

  Returns:
    The perplexity: the number of equally used codes with the same entropy.
  """
  indices = np.asarray(indices).ravel()
  usage = np.bincount(indices, minlength=num_codes) / indices.size
  used = usage[usage > 0]
  return float(np.exp(-np.sum(used * np.log(used))))
