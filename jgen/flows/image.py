"""Multi-scale image flows: `Squeeze` (space-to-depth) and `FactorOut` (split channels).

RealNVP's and Glow's multi-scale architecture, level by level from the data end:
squeeze ``(H, W, C) → (H/2, W/2, 4C)``, apply flow steps, then factor out half the
channels: they leave the flow and are modelled by the base density directly, while
the other half goes on to the next level. jgen keeps every level shape-preserving so
a whole multi-scale flow is one bijector on one tensor and the base density is one
``Normal`` over the data shape: a level is ::

  level(inner) = Flow([Squeeze(), *steps, FactorOut(inner), Inverse(Squeeze())])

whose inverse squeezes, runs the steps, sends the kept channels through the deeper
levels ``inner``, concatenates them with the factored-out channels and un-squeezes
the result back to ``(H, W, C)`` (RealNVP's implementation reassembles its latents
the same way). Factored-out coordinates pass through every deeper level unchanged, so
under a factorised base ``N(0, I)`` they get ``log N(z_out; 0, I)`` and
``log p(x) = log N(z_out) + log N(z_deeper) + Σ log|det|``: RealNVP's factored
Gaussian. (Glow's learned prior on ``z_out`` given the kept half would be an affine
layer on the factored-out channels conditioned on the kept ones; not included.)
"""

import math
from typing import Any

from flax import struct
import jax.numpy as jnp

from jgen.flows.base import Bijector
from jgen.flows.base import _check_rank
from jgen.typing import Array
from jgen.typing import ArrayLike


class Squeeze(Bijector):
  """Space-to-depth on 2×2 patches: ``(B, H, W, C) → (B, H/2, W/2, 4C)``; log-det 0.

  ``inverse`` (data → noise) squeezes, ``z[b, i, j, (2·di + dj)·C + c] =
  x[b, 2i + di, 2j + dj, c]``, trading spatial size for channels so that couplings
  with channel masks mix neighbouring pixels; ``forward`` is depth-to-space. A pure
  reshape and transpose: ``|det| = 1``.

  Raises:
    ValueError: (from the methods) if the input is not rank 4, or ``inverse`` gets odd
      ``H`` or ``W``, or ``forward`` gets a channel count not divisible by 4.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 3.6, Fig. 3).

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.flows import Squeeze
    >>> Squeeze().inverse(jnp.zeros((2, 8, 6, 3))).shape
    (2, 4, 3, 12)
  """

  event_ndims = 3

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """Space-to-depth ``(B, H, W, C) → (B, H/2, W/2, 4C)``, log-det ``(B,)`` zeros."""
    del context  # Unconditional.
    y = _check_rank("Squeeze", y, 3)
    b, h, w, c = y.shape
    if h % 2 or w % 2:
      raise ValueError(f"Squeeze needs even height and width to squeeze; got shape "
                       f"{tuple(y.shape)}.")
    z = y.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
    return z.reshape(b, h // 2, w // 2, 4 * c), jnp.zeros((b,), y.dtype)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """Depth-to-space ``(B, H, W, 4C) → (B, 2H, 2W, C)``, log-det ``(B,)`` zeros."""
    del context  # Unconditional.
    x = _check_rank("Squeeze", x, 3)
    b, h, w, c4 = x.shape
    if c4 % 4:
      raise ValueError(f"Squeeze needs a channel count divisible by 4 to un-squeeze; got "
                       f"shape {tuple(x.shape)}.")
    c = c4 // 4
    y = x.reshape(b, h, w, 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(b, 2 * h, 2 * w, c), jnp.zeros((b,), x.dtype)


class FactorOut(Bijector):
  """Applies ``bijector`` to the first ``num_keep`` channels; the rest are factored out.

  .. math::

    f^{-1}(x) = \\mathrm{concat}(g^{-1}(x_{:k}),\\ x_{k:}), \\qquad
    \\log|\\det ∂f^{-1}/∂x| = \\log|\\det ∂g^{-1}/∂x_{:k}|,

  along the last axis, ``k = num_keep``. The factored-out channels ``x_{k:}`` are final
  latents: they are scored by the base density directly (see the module docstring for
  the multi-scale layout). ``g`` must preserve the shape of ``x_{:k}``.

  Attributes:
    bijector: ``g``: a parameter-free bijector, a `BoundBijector`, or (inside a `Flow`)
      a Flax bijector module, e.g. the deeper levels of a multi-scale flow.
    num_keep: ``k``, the number of channels kept; None for ``⌈C/2⌉``.

  Raises:
    ValueError: (from the methods) if ``k`` is not in ``[1, C − 1]``, or ``g`` changes
      the shape of the kept channels.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 3.6).
    Kingma & Dhariwal. Glow. NeurIPS 2018. arXiv:1807.03039 (Fig. 2b).
  """

  bijector: Any
  num_keep: int | None = struct.field(pytree_node=False, default=None)

  @property
  def event_ndims(self) -> int:
    return self.bijector.event_ndims

  def _split(self, x: ArrayLike) -> tuple[Array, Array]:
    x = _check_rank("FactorOut", x, self.event_ndims)
    c = x.shape[-1]
    k = c - c // 2 if self.num_keep is None else self.num_keep
    if not 1 <= k < c:
      raise ValueError(f"FactorOut: num_keep must be in [1, C − 1] = [1, {c - 1}]; got "
                       f"{k} for input of shape {tuple(x.shape)}.")
    return x[..., :k], x[..., k:]

  def _join(self, kept: Array, new: Array, out: Array) -> Array:
    if new.shape != kept.shape:
      raise ValueError(f"FactorOut: the inner bijector must preserve the shape of the kept "
                       f"channels, {tuple(kept.shape)}; got {tuple(new.shape)}.")
    return jnp.concatenate([new, out], axis=-1)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(concat(g⁻¹(y_{:k}), y_{k:}), log|det ∂g⁻¹|)``: ``(B, *event)``, ``(B,)``."""
    kept, out = self._split(y)
    new, log_det = self.bijector.inverse_and_log_det(kept, context)
    return self._join(kept, new, out), log_det

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(concat(g(x_{:k}), x_{k:}), log|det ∂g|)``: ``(B, *event)``, ``(B,)``."""
    kept, out = self._split(x)
    new, log_det = self.bijector.forward_and_log_det(kept, context)
    return self._join(kept, new, out), log_det


class Reshape(Bijector):
  """Reshapes each event: ``inverse`` maps ``(B, *data_shape)`` to ``(B, *latent_shape)``.

  A volume-preserving relabelling (log-det 0), e.g. ``Reshape((28, 28, 1), (784,))`` in
  front of a vector flow (MAF, NICE) to model images, listed at the data end.

  Attributes:
    data_shape: the event shape on the data side.
    latent_shape: the event shape on the noise side, with the same number of entries.

  Raises:
    ValueError: if the two shapes differ in size, or an input's event shape is not the
      side it enters.
  """

  data_shape: tuple[int, ...] = struct.field(pytree_node=False)
  latent_shape: tuple[int, ...] = struct.field(pytree_node=False)

  @property
  def event_ndims(self) -> int:
    return len(self.data_shape)

  def _reshape(self, x: ArrayLike, source: tuple[int, ...],
               target: tuple[int, ...]) -> tuple[Array, Array]:
    if math.prod(self.data_shape) != math.prod(self.latent_shape):
      raise ValueError(f"Reshape: data_shape {tuple(self.data_shape)} and latent_shape "
                       f"{tuple(self.latent_shape)} hold different numbers of entries.")
    x = _check_rank("Reshape", x, len(source))
    if tuple(x.shape[1:]) != tuple(source):
      raise ValueError(f"Reshape expects events of shape {tuple(source)}; got input of "
                       f"shape {tuple(x.shape)}.")
    return x.reshape((x.shape[0], *target)), jnp.zeros(x.shape[:1], x.dtype)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(B, *data_shape) → (B, *latent_shape)``, log-det ``(B,)`` zeros."""
    del context  # Unconditional.
    return self._reshape(y, self.data_shape, self.latent_shape)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(B, *latent_shape) → (B, *data_shape)``, log-det ``(B,)`` zeros."""
    del context  # Unconditional.
    return self._reshape(x, self.latent_shape, self.data_shape)


__all__ = ["FactorOut", "Reshape", "Squeeze"]
