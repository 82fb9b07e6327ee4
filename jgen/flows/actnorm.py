"""ActNorm: a per-channel affine map initialised from data (Glow)."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.flows.base import FlaxBijector
from jgen.flows.base import _check_rank
from jgen.typing import Array
from jgen.typing import ArrayLike


class ActNorm(FlaxBijector):
  """Per-channel affine normalisation ``z = (x − b)·exp(−log σ)`` with data-dependent init.

  .. math::

    z = (x − b) ⊙ e^{−\\log σ}\\ \\text{(inverse, data → noise)}, \\qquad
    x = z ⊙ e^{\\log σ} + b\\ \\text{(forward)},

  ``log|det ∂z/∂x| = −N·Σ_c log σ_c`` with ``N`` the number of positions per channel
  (``H·W`` for images, 1 for vectors). Parameters ``"bias"`` ``b`` (C,) and
  ``"log_scale"`` ``log σ`` (C,), channels last.

  Data-dependent initialisation, functionally: the parameters' initialisers read the
  batch passed to ``init`` (through the normalising ``__call__``/``inverse``) and set
  ``b = mean(x)``, ``log σ = ½ log(var(x) + ε)`` per channel over the batch and spatial
  axes, so that batch comes out zero-mean and unit-variance. They are ordinary
  parameters: ``apply`` never recomputes them, they are saved and restored with the
  rest, and no flag or Python-side state records "initialised" (a flag-based ActNorm
  re-initialises on reload and under data parallelism). With ``axis_name`` the
  statistics are ``jax.lax.pmean``-ed (first and second moments) so every device gets
  those of the global batch: call ``init`` inside ``pmap``/``vmap`` with that axis
  name. An ``init`` through ``forward`` (e.g. of a sampler) has no data to read and
  gives the identity, ``b = 0``, ``log σ = 0``.

  Attributes:
    event_ndims: event rank: 1 for ``(B, C)``, 3 for images ``(B, H, W, C)``.
    axis_name: the ``pmap``/``vmap`` axis over which the init statistics are averaged,
      or None for the local batch.
    epsilon: ``ε``, added to the variance so a constant channel gets a finite scale.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, *event)``.

  References:
    Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
    NeurIPS 2018. arXiv:1807.03039 (Sec. 3.1).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.flows import ActNorm
    >>> x = 5.0 + 2.0 * jax.random.normal(jax.random.key(0), (64, 3))
    >>> variables = ActNorm().init(jax.random.key(1), x)
    >>> z, _ = ActNorm().apply(variables, x)
    >>> bool(jnp.allclose(z.mean(0), 0.0, atol=1e-5)), bool(jnp.allclose(z.std(0), 1.0))
    (True, True)
  """

  event_ndims: int = 1
  axis_name: str | None = None
  epsilon: float = 1e-6

  @nn.compact
  def _params(self, x: Array, from_data: bool) -> tuple[Array, Array]:
    channels = x.shape[-1]

    def moments():
      axes = tuple(range(x.ndim - 1))
      mean, mean_sq = x.mean(axes), jnp.square(x).mean(axes)
      if self.axis_name is not None:
        # Pool the raw moments, not per-device variances, so the result equals the
        # statistics of the concatenated global batch.
        mean, mean_sq = jax.lax.pmean((mean, mean_sq), self.axis_name)
      return mean, jnp.maximum(mean_sq - jnp.square(mean), 0.0)

    def bias_init(key, shape):
      del key
      return moments()[0] if from_data else jnp.zeros(shape, x.dtype)

    def log_scale_init(key, shape):
      del key
      if not from_data:
        return jnp.zeros(shape, x.dtype)
      return 0.5 * jnp.log(moments()[1] + self.epsilon)

    if self.has_variable("params", "bias"):
      stored = self.get_variable("params", "bias").shape[0]
      if stored != channels:
        raise ValueError(f"ActNorm was initialised for {stored} channels; got input of "
                         f"shape {tuple(x.shape)}.")
    bias = self.param("bias", bias_init, (channels,))
    log_scale = self.param("log_scale", log_scale_init, (channels,))
    return bias.astype(x.dtype), log_scale.astype(x.dtype)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``((y − b)·exp(−log σ), −N·Σ log σ)``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    y = _check_rank("ActNorm", y, self.event_ndims)
    bias, log_scale = self._params(y, from_data=True)
    positions = y[0].size // y.shape[-1]
    log_det = -positions * log_scale.sum()
    return (y - bias) * jnp.exp(-log_scale), jnp.full(y.shape[:1], log_det, y.dtype)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(x·exp(log σ) + b, N·Σ log σ)``: shapes ``(B, *event)`` and ``(B,)``."""
    del context  # Unconditional.
    x = _check_rank("ActNorm", x, self.event_ndims)
    bias, log_scale = self._params(x, from_data=False)
    positions = x[0].size // x.shape[-1]
    log_det = positions * log_scale.sum()
    return x * jnp.exp(log_scale) + bias, jnp.full(x.shape[:1], log_det, x.dtype)


__all__ = ["ActNorm"]
