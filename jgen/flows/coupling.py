"""Coupling layers with binary masks: additive (NICE), affine (RealNVP), spline (NSF).

A binary mask ``b`` splits the input: entries with ``b = 1`` pass unchanged and
condition a transformer ``τ`` applied to the entries with ``b = 0``:

.. math::

  z = b ⊙ x + (1 − b) ⊙ τ(x;\\ θ(b ⊙ x, c)),

with ``θ`` the conditioner network (`MLPConditioner`, `ConvConditioner` or any module
``(inputs, context) -> features``) followed by a zero-initialised layer that the
coupling appends itself (Dense for vectors, 3×3 conv for images, Glow's
``Conv2dZeros``): a fresh coupling is the identity. The Jacobian is triangular,
``log|det| = Σ (1 − b) ⊙ log τ'``. ``τ`` acts in the normalising direction (``inverse``,
data → noise) as in the papers, and ``forward`` applies ``τ⁻¹``. ``c`` is the
``context`` of a conditional flow.

Masks (`coupling_mask`): ``"half"`` and ``"alternating"`` for vectors ``(B, D)``;
``"checkerboard"`` (``(i + j)`` even, all channels) and ``"channel"`` (the first
``⌊C/2⌋`` channels) for images ``(B, H, W, C)``; ``parity = 1`` swaps the two sets.
Alternate the parity between layers (or permute in between) so every entry is
transformed.
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jgen.flows.base import FlaxBijector
from jgen.flows.base import _check_features
from jgen.flows.base import _check_rank
from jgen.flows.base import _sum_event
from jgen.flows.base import bounded_log_scale
from jgen.flows.splines import num_spline_params
from jgen.flows.splines import rational_quadratic_spline
from jgen.typing import Array
from jgen.typing import ArrayLike

_VECTOR_MASKS = ("half", "alternating")
_IMAGE_MASKS = ("checkerboard", "channel")


def coupling_mask(kind: str, event_shape: tuple[int, ...], parity: int = 0) -> np.ndarray:
  """The binary mask ``b`` (1: passed through and conditioned on; 0: transformed).

  - ``"half"``: ``b_i = 1[i < ⌊D/2⌋]`` on ``(D,)``;
  - ``"alternating"``: ``b_i = 1[i odd]`` on ``(D,)``;
  - ``"checkerboard"``: ``b_{ij} = 1[i + j odd]`` on ``(H, W, C)``, shape ``(H, W, 1)``;
  - ``"channel"``: ``b_c = 1[c < ⌊C/2⌋]`` on ``(H, W, C)``, shape ``(C,)``;

  then ``b ← 1 − b`` if ``parity``.

  Args:
    kind: one of the four names above.
    event_shape: ``(D,)`` or ``(H, W, C)``.
    parity: 0 or 1.

  Returns:
    float32 mask broadcastable to ``event_shape``, with both values present.

  Raises:
    ValueError: on an unknown ``kind``, an event rank that does not fit it, a
      ``parity`` not in {0, 1}, or an event too small to split (fewer than two
      entries, or a single channel for ``"channel"``).

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 3.4, Fig. 3).
  """
  event_shape = tuple(event_shape)
  if parity not in (0, 1):
    raise ValueError(f"coupling_mask: parity must be 0 or 1; got {parity!r}.")
  if kind in _VECTOR_MASKS:
    if len(event_shape) != 1 or event_shape[0] < 2:
      raise ValueError(f"coupling_mask: '{kind}' needs vector events (D,) with D ≥ 2; got "
                       f"event shape {event_shape}.")
    i = np.arange(event_shape[0])
    mask = i < event_shape[0] // 2 if kind == "half" else i % 2 == 1
  elif kind in _IMAGE_MASKS:
    if len(event_shape) != 3:
      raise ValueError(f"coupling_mask: '{kind}' needs image events (H, W, C); got event "
                       f"shape {event_shape}.")
    h, w, c = event_shape
    if kind == "checkerboard":
      if h * w < 2:
        raise ValueError(f"coupling_mask: 'checkerboard' needs H·W ≥ 2; got event shape "
                         f"{event_shape}.")
      mask = (np.arange(h)[:, None, None] + np.arange(w)[None, :, None]) % 2 == 1
    else:
      if c < 2:
        raise ValueError(f"coupling_mask: 'channel' needs C ≥ 2; got event shape "
                         f"{event_shape}.")
      mask = np.arange(c) < c // 2
  else:
    raise ValueError(f"coupling_mask: kind must be one of "
                     f"{_VECTOR_MASKS + _IMAGE_MASKS}; got {kind!r}.")
  return (mask != bool(parity)).astype(np.float32)


class _Coupling(FlaxBijector):
  """Shared parts: mask, conditioner, zero-initialised last layer."""

  conditioner: nn.Module
  mask: str = "half"
  parity: int = 0

  @property
  def event_ndims(self) -> int:
    return 1 if self.mask in _VECTOR_MASKS else 3

  def _mask(self, x: ArrayLike) -> tuple[Array, np.ndarray]:
    x = _check_rank(type(self).__name__, x, self.event_ndims)
    return x, coupling_mask(self.mask, x.shape[1:], self.parity)

  @nn.compact
  def _transformer_params(self, x: Array, mask: np.ndarray, context: ArrayLike | None,
                          num_params: int) -> Array:
    """``θ(b ⊙ x, c)``: ``(B, *event, num_params)``."""
    _check_features(self, ("last_layer", "kernel"), x, num_params)
    h = self.conditioner(x * mask, context)
    features = x.shape[-1] * num_params
    # Zero-init so that a fresh coupling is the identity.
    if self.event_ndims == 1:
      last = nn.Dense(features, kernel_init=nn.initializers.zeros, name="last_layer")
    else:
      last = nn.Conv(features, (3, 3), padding="SAME", kernel_init=nn.initializers.zeros,
                     name="last_layer")
    return last(h).reshape(x.shape + (num_params,))


class AdditiveCoupling(_Coupling):
  """NICE's additive coupling ``z = x + (1 − b) ⊙ t(b ⊙ x, c)``; volume-preserving.

  ``inverse`` (data → noise) adds the shift, ``forward`` subtracts it; log-det 0.

  Attributes:
    conditioner: the trunk ``(inputs, context) -> features``; the coupling appends a
      zero-initialised layer giving ``t``.
    mask: ``"half"``, ``"alternating"`` (vectors) or ``"checkerboard"``, ``"channel"``
      (images); see `coupling_mask`.
    parity: 0 or 1, swaps the passed and transformed entries.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, D)`` / ``(B, H, W, C)`` as
      the mask needs, or too small to split.

  References:
    Dinh, Krueger, Bengio. NICE: Non-linear Independent Components Estimation.
    ICLR 2015 workshop. arXiv:1410.8516 (Sec. 3.2).
  """

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(y + (1 − b) ⊙ t, 0)``: shapes ``(B, *event)`` and ``(B,)``."""
    y, mask = self._mask(y)
    shift = self._transformer_params(y, mask, context, 1)[..., 0]
    return y + (1.0 - mask) * shift, jnp.zeros(y.shape[:1], y.dtype)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(x − (1 − b) ⊙ t, 0)``: shapes ``(B, *event)`` and ``(B,)``."""
    x, mask = self._mask(x)
    shift = self._transformer_params(x, mask, context, 1)[..., 0]
    return x - (1.0 - mask) * shift, jnp.zeros(x.shape[:1], x.dtype)


class AffineCoupling(_Coupling):
  """RealNVP's affine coupling with Glow's bounded scale.

  .. math::

    z = b ⊙ x + (1 − b) ⊙ (s ⊙ x + t), \\qquad \\log|\\det ∂z/∂x| = Σ (1 − b) ⊙ \\log s,

  ``log s = bounded_log_scale(h) = log σ(h + 2) − log σ(2)`` and ``(h, t) = θ(b ⊙ x, c)``;
  this is ``inverse`` (data → noise). ``forward`` is ``x = b ⊙ z + (1 − b) ⊙ (z − t)/s``
  with log-det ``−Σ (1 − b) log s``. The bound (``s < 1.135``, multiplied in the
  normalising direction as in Glow) is the stability choice: unbounded ``exp(h)``
  scales make early training diverge; see `bounded_log_scale`.

  Attributes:
    conditioner: the trunk ``(inputs, context) -> features``; the coupling appends a
      zero-initialised layer giving ``(h, t)``, so ``s = 1``, ``t = 0`` at init.
    mask: ``"half"``, ``"alternating"`` (vectors) or ``"checkerboard"``, ``"channel"``
      (images); see `coupling_mask`.
    parity: 0 or 1, swaps the passed and transformed entries.

  Raises:
    ValueError: (from the methods) if the input is not ``(B, D)`` / ``(B, H, W, C)`` as
      the mask needs, or too small to split.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 3.3–3.4).
    Kingma & Dhariwal. Glow. NeurIPS 2018. arXiv:1807.03039 (Table 1; code).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.flows import AffineCoupling, MLPConditioner
    >>> layer = AffineCoupling(MLPConditioner((16,)), mask="alternating")
    >>> x = jax.random.normal(jax.random.key(0), (5, 4))
    >>> variables = layer.init(jax.random.key(1), x)
    >>> z, log_det = layer.apply(variables, x, method="inverse_and_log_det")
    >>> bool(jnp.allclose(z, x)), log_det.shape  # Zero-initialised: the identity.
    (True, (5,))
  """

  def _scale_shift(self, x: Array, mask: np.ndarray,
                   context: ArrayLike | None) -> tuple[Array, Array]:
    params = self._transformer_params(x, mask, context, 2)
    log_scale = (1.0 - mask) * bounded_log_scale(params[..., 0])
    return log_scale, (1.0 - mask) * params[..., 1]

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(b ⊙ y + (1 − b) ⊙ (s ⊙ y + t), Σ (1 − b) log s)``: ``(B, *event)``, ``(B,)``."""
    y, mask = self._mask(y)
    log_scale, shift = self._scale_shift(y, mask, context)
    return y * jnp.exp(log_scale) + shift, _sum_event(log_scale, self.event_ndims)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(b ⊙ x + (1 − b) ⊙ (x − t)/s, −Σ (1 − b) log s)``: ``(B, *event)``, ``(B,)``."""
    x, mask = self._mask(x)
    log_scale, shift = self._scale_shift(x, mask, context)
    return (x - shift) * jnp.exp(-log_scale), -_sum_event(log_scale, self.event_ndims)


class SplineCoupling(_Coupling):
  """A rational-quadratic spline coupling (Neural Spline Flows).

  ``z = b ⊙ x + (1 − b) ⊙ g(x; θ(b ⊙ x, c))`` elementwise, ``g`` the monotone
  rational-quadratic spline with ``K`` bins on ``[−B, B]`` and identity tails
  (`rational_quadratic_spline`); log-det ``Σ (1 − b) log g'``. This is ``inverse``
  (data → noise); ``forward`` applies ``g⁻¹`` (the stable quadratic root).

  Attributes:
    conditioner: the trunk ``(inputs, context) -> features``; the coupling appends a
      zero-initialised layer giving the ``3K − 1`` spline parameters per entry, which
      makes ``g`` the identity at init.
    mask: ``"half"``, ``"alternating"`` (vectors) or ``"checkerboard"``, ``"channel"``
      (images); see `coupling_mask`.
    parity: 0 or 1, swaps the passed and transformed entries.
    num_bins: ``K ≥ 2``.
    bound: ``B``, the spline's half-width (NSF uses 3 for standardised data).

  Raises:
    ValueError: (from the methods) if the input is not ``(B, D)`` / ``(B, H, W, C)`` as
      the mask needs, or too small to split.

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    arXiv:1906.04032 (Sec. 3).
  """

  num_bins: int = 8
  bound: float = 3.0

  def _spline(self, x: ArrayLike, context: ArrayLike | None,
              inverse: bool) -> tuple[Array, Array]:
    x, mask = self._mask(x)
    params = self._transformer_params(x, mask, context, num_spline_params(self.num_bins))
    y, log_det = rational_quadratic_spline(x, params, bound=self.bound, inverse=inverse)
    keep = mask.astype(bool)
    return jnp.where(keep, x, y), _sum_event(jnp.where(keep, 0.0, log_det), self.event_ndims)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(b ⊙ y + (1 − b) ⊙ g(y), Σ (1 − b) log g'(y))``: ``(B, *event)``, ``(B,)``."""
    return self._spline(y, context, inverse=False)

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(b ⊙ x + (1 − b) ⊙ g⁻¹(x), −Σ (1 − b) log g'(g⁻¹(x)))``."""
    return self._spline(x, context, inverse=True)


__all__ = ["AdditiveCoupling", "AffineCoupling", "SplineCoupling", "coupling_mask"]
