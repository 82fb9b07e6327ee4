"""Vector quantization (VQ-VAE): nearest-code lookup, the EMA codebook, the modules.

- ``vector_quantize(z_e, codebook)``: nearest codes with straight-through gradients,
  the codebook and commitment losses, and the code perplexity, one implementation
  for every model;
- ``EMACodebookState`` / ``init_ema_codebook`` / ``ema_codebook_update``: a codebook
  learned by exponential moving averages instead of gradients;
- ``Codebook`` (the codebook parameter) and ``VQVAE`` (encoder → quantization →
  decoder as one module).

References:
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
"""

from collections.abc import Callable
import math
import operator
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions import Distribution
from jgen.losses.vae import _as_floats  # One implementation of the dtype rule.
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class VQOutput(NamedTuple):
  """The result of ``vector_quantize``.

  Attributes:
    quantized: ``(..., D)`` the nearest codes in the forward pass, with the
      straight-through gradient ``∂quantized/∂z_e = I`` (none to the codebook).
    indices: ``(...)`` int32 index of the nearest code of each vector.
    codebook_loss: scalar ``mean ‖sg(z_e) − e‖²`` (moves codes; gradient to the codebook
      only).
    commitment_loss: scalar ``mean ‖z_e − sg(e)‖²`` (commits the encoder; gradient to
      ``z_e`` only). Weight it by β (0.25 in the paper).
    perplexity: scalar ``exp(H(p̄))`` of the average code usage p̄, in ``[1, K]``.
  """

  quantized: Array
  indices: Array
  codebook_loss: Array
  commitment_loss: Array
  perplexity: Array


def vector_quantize(
    z_e: ArrayLike, codebook: ArrayLike, *, axis_name: str | None = None
) -> VQOutput:
  """Quantises encoder outputs to their nearest codebook vectors (VQ-VAE).

  ``k(j) = argmin_k ‖z_j − e_k‖²``; ``quantized = z_e + sg(e_k − z_e)`` (value ``e_k``,
  straight-through gradient); ``codebook_loss = mean_j ‖sg(z_j) − e_{k(j)}‖²``;
  ``commitment_loss = mean_j ‖z_j − sg(e_{k(j)})‖²``;
  ``perplexity = exp(−Σ_k p̄_k log p̄_k)`` with ``p̄`` the mean one-hot usage.

  The losses are the mean over vectors of the squared Euclidean norm (summed over
  ``D``), as written in the paper; Sonnet's implementation also averages over ``D``
  (divide by ``D`` to match its scale). They are returned separately, not combined: the
  VQ-VAE loss is ``−log p(x|quantized) + codebook_loss + β·commitment_loss`` (β = 0.25);
  with ``ema_codebook_update`` drop ``codebook_loss`` and keep ``β·commitment_loss``.

  Args:
    z_e: ``(..., D)`` encoder outputs, e.g. ``(B, h, w, D)``.
    codebook: ``(K, D)`` code vectors.
    axis_name: under ``pmap``/``shard_map``, the data-parallel axis; the code usage is
      then averaged over it, so ``perplexity`` is that of the global batch (shards of
      equal size). The losses stay per-shard means, like any loss in a pmapped step.

  Returns:
    A ``VQOutput``: ``quantized (..., D)``, ``indices (...)`` and three scalars.

  Raises:
    ValueError: if ``codebook`` is not ``(K, D)`` or ``z_e``'s last dim is not ``D``.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017, Eq. (3). arXiv:1711.00937.
  """
  z_e, codebook = _as_floats(z_e, codebook)
  if codebook.ndim != 2:
    raise ValueError(
        f"vector_quantize: codebook must be (num_codes, dim); got shape {codebook.shape}.")
  num_codes, dim = codebook.shape
  if z_e.ndim < 1 or z_e.shape[-1] != dim:
    raise ValueError(
        f"vector_quantize: z_e must be (..., {dim}) to match the codebook {codebook.shape}; "
        f"got {z_e.shape}.")
  flat = jax.lax.stop_gradient(z_e).reshape(-1, dim)
  code = jax.lax.stop_gradient(codebook)
  # ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; full-precision matmul so that bf16 passes on
  # accelerators do not change the assignment.
  distances = (
      jnp.sum(jnp.square(flat), axis=-1, keepdims=True)
      - 2.0 * jnp.matmul(flat, code.T, precision=jax.lax.Precision.HIGHEST)
      + jnp.sum(jnp.square(code), axis=-1)
  )
  indices = jnp.argmin(distances, axis=-1).astype(jnp.int32)
  z_q = jnp.take(codebook, indices, axis=0).reshape(z_e.shape)

  quantized = z_e + jax.lax.stop_gradient(z_q - z_e)
  codebook_loss = jnp.mean(jnp.sum(jnp.square(jax.lax.stop_gradient(z_e) - z_q), axis=-1))
  commitment_loss = jnp.mean(jnp.sum(jnp.square(z_e - jax.lax.stop_gradient(z_q)), axis=-1))

  usage = jnp.mean(jax.nn.one_hot(indices, num_codes, dtype=z_e.dtype), axis=0)
  if axis_name is not None:
    usage = jax.lax.pmean(usage, axis_name)
  # xlogy: unused codes contribute 0·log 0 = 0.
  perplexity = jnp.exp(-jnp.sum(jax.scipy.special.xlogy(usage, usage)))
  return VQOutput(quantized, indices.reshape(z_e.shape[:-1]), codebook_loss,
                  commitment_loss, perplexity)


class EMACodebookState(NamedTuple):
  """A VQ codebook learned by exponential moving averages (a pytree; not trained by SGD).

  Attributes:
    codebook: ``(K, D)`` the current codes, ``embed_sum / smoothed(cluster_size)``.
    cluster_size: ``(K,)`` EMA of the number of vectors assigned to each code, ``N_k``.
    embed_sum: ``(K, D)`` EMA of the sum of the vectors assigned to each code, ``m_k``.
  """

  codebook: Array
  cluster_size: Array
  embed_sum: Array


def init_ema_codebook(
    key: PRNGKey, num_codes: int, dim: int, *, dtype: jnp.dtype = jnp.float32
) -> EMACodebookState:
  """A fresh EMA codebook: random codes, each with a pseudo-count of one.

  ``e_k ~ U(−√(3/D), √(3/D))ᴰ`` (unit variance scaling: ``E‖e_k‖² = 1``),
  ``N_k = 1``, ``m_k = e_k``. The pseudo-count makes the state consistent
  (``codebook = m/N``) and keeps a code that receives no vectors in the first updates
  where it is, instead of sending it to 0 (``N = m = 0``) or to infinity (``N = 0``,
  ``m = e``) as the first EMA step without bias correction would. To start from data
  (k-means style), build ``EMACodebookState(codes, jnp.ones(K), codes)`` directly.

  Args:
    key: PRNG key for the codes.
    num_codes: ``K``.
    dim: ``D``.
    dtype: floating dtype of the state.

  Returns:
    An ``EMACodebookState`` with ``codebook (K, D)``, ``cluster_size (K,)``,
    ``embed_sum (K, D)``.

  Raises:
    ValueError: if ``num_codes`` or ``dim`` is not positive.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017, Appendix A.1. arXiv:1711.00937.
  """
  num_codes, dim = operator.index(num_codes), operator.index(dim)
  if num_codes < 1 or dim < 1:
    raise ValueError(
        f"init_ema_codebook: num_codes and dim must be ≥ 1; got {num_codes} and {dim}.")
  limit = math.sqrt(3.0 / dim)
  codebook = jax.random.uniform(key, (num_codes, dim), dtype, minval=-limit, maxval=limit)
  return EMACodebookState(codebook, jnp.ones((num_codes,), dtype), codebook)


def ema_codebook_update(
    state: EMACodebookState,
    z_e: ArrayLike,
    indices: ArrayLike,
    *,
    decay: float | ArrayLike = 0.99,
    epsilon: float = 1e-5,
    axis_name: str | None = None,
) -> EMACodebookState:
  """One exponential-moving-average update of a VQ codebook (no gradients involved).

  With ``n_k`` the number of vectors of the batch assigned to code ``k`` and ``s_k``
  their sum::

    N_k ← γ·N_k + (1 − γ)·n_k
    m_k ← γ·m_k + (1 − γ)·s_k
    e_k = m_k / Ñ_k,   Ñ_k = (N_k + ε) / (Σⱼ Nⱼ + K·ε) · Σⱼ Nⱼ   (Laplace smoothing)

  so each code tracks the running mean of its assigned encoder outputs (an online
  k-means step); ε keeps ``Ñ_k > 0`` for codes that stop being used. With γ = 0 an
  assigned code becomes the batch mean of its vectors up to the O(ε) smoothing, and an
  unassigned one becomes 0.

  Args:
    state: the current ``EMACodebookState``.
    z_e: ``(..., D)`` encoder outputs (gradients are stopped).
    indices: ``(...)`` their code indices, from ``vector_quantize(z_e, state.codebook)``.
    decay: γ ∈ [0, 1] (0.99 in the papers). A float or a traced scalar.
    epsilon: the Laplace smoothing ε.
    axis_name: under ``pmap``/``shard_map``, the data-parallel axis: counts and sums are
      ``psum``-ed over it, so every replica applies the global-batch update and the
      replicated codebooks stay identical.

  Returns:
    The new ``EMACodebookState``.

  Raises:
    ValueError: if the shapes of ``z_e``, ``indices`` and the state disagree, or a
      Python ``decay`` is outside ``[0, 1]``.

  References:
    van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
    NeurIPS 2017, Appendix A.1. arXiv:1711.00937.
    Kaiser et al. Fast Decoding in Sequence Models Using Discrete Latent Variables.
    ICML 2018. arXiv:1803.03382.
    Razavi, van den Oord, Vinyals. Generating Diverse High-Fidelity Images with
    VQ-VAE-2. NeurIPS 2019. arXiv:1906.00446.
  """
  if isinstance(decay, (int, float)) and not 0.0 <= decay <= 1.0:
    raise ValueError(f"ema_codebook_update: decay must be in [0, 1]; got {decay}.")
  num_codes, dim = state.codebook.shape
  dtype = state.embed_sum.dtype
  z_e = jax.lax.stop_gradient(jnp.asarray(z_e)).astype(dtype)
  indices = jnp.asarray(indices)
  if z_e.ndim < 1 or z_e.shape[-1] != dim or z_e.shape[:-1] != indices.shape:
    raise ValueError(
        f"ema_codebook_update: z_e must be (..., {dim}) and indices its leading shape; "
        f"got {z_e.shape} and {indices.shape}.")
  flat, flat_indices = z_e.reshape(-1, dim), indices.reshape(-1)
  counts = jax.ops.segment_sum(
      jnp.ones(flat_indices.shape, dtype), flat_indices, num_segments=num_codes)
  sums = jax.ops.segment_sum(flat, flat_indices, num_segments=num_codes)
  if axis_name is not None:
    counts, sums = jax.lax.psum((counts, sums), axis_name)

  cluster_size = decay * state.cluster_size + (1.0 - decay) * counts
  embed_sum = decay * state.embed_sum + (1.0 - decay) * sums
  total = jnp.sum(cluster_size)
  smoothed = (cluster_size + epsilon) / (total + num_codes * epsilon) * total
  codebook = embed_sum / smoothed[:, None]
  return EMACodebookState(codebook.astype(dtype), cluster_size.astype(dtype),
                          embed_sum.astype(dtype))


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
  ``vector_quantize(z_e, codebook)``, one implementation for every model.
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

  ``z_e = encoder(x)`` (B, h, w, D); ``vq = vector_quantize(z_e, codebook)``
  replaces each vector by its nearest code with straight-through gradients;
  ``decoder(vq.quantized)`` gives the image distribution. The loss is
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

  def decode(self, z_q: ArrayLike) -> Distribution:
    """The image distribution p(x|z_q) of quantized encodings (B, h, w, D)."""
    return self.decoder(z_q)

  def codes(self) -> Array:
    """The codebook, (num_codes, D)."""
    return self.codebook()

  def codebooks(self) -> tuple[Array]:
    """The codebook of each level (one here), for code shared with ``VQVAE2``."""
    return (self.codebook(),)

  def quantize(self, x: ArrayLike, codebooks: tuple[ArrayLike], *,
               axis_name: str | None = None) -> tuple[tuple[Array, VQOutput]]:
    """``((z_e, vector_quantize(z_e, codebooks[0])),)`` for images (B, H, W, C).

    The levels' interface of ``VQVAE2.quantize``: the codebooks are arguments, so
    that an EMA codebook held outside the parameters quantizes as well.
    """
    z_e = self.encode(x)
    return ((z_e, vector_quantize(z_e, codebooks[0], axis_name=axis_name)),)

  def __call__(self, x: ArrayLike) -> tuple[Distribution, VQOutput]:
    """Reconstruction: ``(decoder_output, vq_output)`` for images (B, H, W, C)."""
    vq = vector_quantize(self.encode(x), self.codes())
    return self.decode(vq.quantized), vq


__all__ = ["Codebook", "EMACodebookState", "VQOutput", "VQVAE", "ema_codebook_update",
           "init_ema_codebook", "vector_quantize"]
