"""The bijector interface: distrax's contract, for pure pytrees and Flax modules alike.

A bijector ``f`` maps a base (noise) sample ``z`` to a data sample ``x = f(z)``:

- ``forward_and_log_det(z, context=None) -> (x, log|det ∂f/∂z|)``;
- ``inverse_and_log_det(x, context=None) -> (z, log|det ∂f⁻¹/∂x|)``, the log-det of the
  inverse map, i.e. minus the forward one at ``z = f⁻¹(x)``;
- ``forward(z)`` and ``inverse(x)``, the first element of those pairs.

Inputs are ``(B, *event)`` with exactly one batch axis; ``event_ndims`` is the event
rank (1 for vectors ``(B, D)``, 3 for images ``(B, H, W, C)``) and log-dets are ``(B,)``,
summed over the event. The direction is distrax's and TFP's: ``forward`` generates,
``inverse`` normalises, and ``Transformed.log_prob`` runs ``inverse``. Every jgen layer
is written the way its paper writes it, from data to noise: the layer's *inverse* is
the paper's operation (Glow's actnorm ``z = (x − b)/σ``, the 1×1 convolution
``z = W x``, the squeeze, the logit preprocessing, MAF's one-pass density) and its
``forward`` undoes it. A flow is therefore listed from the data end to the noise end,
and ``Chain`` applies the *last* bijector first in ``forward``, as distrax does.

Two kinds of bijector share the contract:

- Parameter-free ones (`Bijector`) are frozen ``flax.struct`` dataclasses: pure
  pytrees, usable anywhere, including inside ``jit``-ted functions as arguments.
- Parametrised ones (`FlaxBijector`) are ``flax.linen`` modules whose methods are
  called through ``module.apply(variables, x, method="inverse_and_log_det")``.
  ``__call__`` is ``inverse_and_log_det``, the pass a density model trains through, so
  ``module.init(key, data_batch)`` runs data-dependent initialisation (ActNorm) on
  data, as Glow does.

Every bijector takes an optional ``context`` (conditional flows): the conditioned
layers pass it to their conditioner networks and the others ignore it.

The affine layers (couplings, MAF) bound their scales with `bounded_log_scale`.
"""

from flax import struct
import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike


def bounded_log_scale(h: ArrayLike) -> Array:
  """Glow's bounded affine scale, shifted so that ``h = 0`` gives scale 1.

  .. math::

    \\log s = \\log σ(h + 2) − \\log σ(2), \\qquad s ∈ (0,\\ 1/σ(2)) ≈ (0,\\ 1.135).

  The affine layers apply ``s`` in the normalising direction (``z = s·x + t``, Glow's
  ``(x + t)·σ(h + 2)``), so no training step can blow up ``z`` or the log-likelihood
  through an unbounded ``exp(h)``: each layer expands by at most 13.5 % and the
  log-det ``Σ log s`` is bounded above. Glow's own ``σ(h + 2)`` is 0.88 at ``h = 0``;
  the constant ``− log σ(2)`` makes a zero-initialised conditioner give exactly the
  identity. ``log_sigmoid`` keeps ``log s`` finite for very negative ``h``.

  Args:
    h: unconstrained conditioner outputs, any shape.

  Returns:
    ``log s``, the shape of ``h``.

  References:
    Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
    NeurIPS 2018. arXiv:1807.03039 (code: ``scale = sigmoid(h + 2)``).
  """
  return jax.nn.log_sigmoid(jnp.asarray(h) + 2.0) - jax.nn.log_sigmoid(2.0)


class _Methods:
  """``forward``/``inverse`` from the two ``*_and_log_det`` methods (shared mixin)."""

  def forward(self, x: ArrayLike, context: ArrayLike | None = None) -> Array:
    """``f(x)``: the first element of ``forward_and_log_det``."""
    return self.forward_and_log_det(x, context)[0]

  def inverse(self, y: ArrayLike, context: ArrayLike | None = None) -> Array:
    """``f⁻¹(y)``: the first element of ``inverse_and_log_det``."""
    return self.inverse_and_log_det(y, context)[0]


class Bijector(_Methods, struct.PyTreeNode):
  """Base of parameter-free bijectors: frozen pytrees implementing the contract.

  Subclasses define ``event_ndims`` (a static field or property) and the methods
  ``forward_and_log_det(x, context=None)`` and ``inverse_and_log_det(y, context=None)``,
  each returning ``(values (B, *event), log_det (B,))``.
  """

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    raise NotImplementedError

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    raise NotImplementedError


class FlaxBijector(_Methods, nn.Module):
  """Base of Flax-parametrised bijectors: ``flax.linen`` modules with the contract.

  Subclasses define ``event_ndims`` and the two ``*_and_log_det`` methods; ``__call__``
  is the normalising pass ``inverse_and_log_det``.
  """

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    raise NotImplementedError

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    raise NotImplementedError

  def __call__(self, x: ArrayLike,
               context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``inverse_and_log_det(x, context)``: data ``(B, *event)`` to ``(z, log_det (B,))``."""
    return self.inverse_and_log_det(x, context)


_EVENT_NAMES = {0: "", 1: "D", 2: "H, W", 3: "H, W, C"}


def _check_rank(name: str, x: ArrayLike, event_ndims: int) -> Array:
  """``x`` as a float array after checking it is ``(B, *event)``; else ``ValueError``."""
  x = jnp.asarray(x)
  if x.ndim != event_ndims + 1:
    event = _EVENT_NAMES.get(event_ndims, f"<{event_ndims} event dims>")
    raise ValueError(
        f"{name} expects inputs of rank {event_ndims + 1}, (B, {event}) (event rank "
        f"{event_ndims} plus one batch axis); got shape {tuple(x.shape)}.")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  return x


def _check_features(module: nn.Module, path: tuple[str, ...], x: Array,
                    num_params: int) -> None:
  """After init, ``ValueError`` unless the kernel at ``path`` fits ``x``'s last axis.

  The kernel (``(…, C·P)``) of a layer emitting ``P`` parameters per feature fixes ``C``;
  catching a mismatch here names the bad input instead of a Flax shape error deep in
  the conditioner.
  """
  tree = module.variables.get("params", {})
  for name in path:
    if name not in tree:
      return  # Not initialised yet.
    tree = tree[name]
  features = tree.shape[-1] // num_params
  if features != x.shape[-1]:
    raise ValueError(f"{type(module).__name__} was initialised for {features} features in "
                     f"the last axis; got input of shape {tuple(x.shape)}.")


def _sum_event(values: Array, event_ndims: int) -> Array:
  """``Σ_event values``: (B, *event) → (B,)."""
  return values.reshape(values.shape[0], -1).sum(axis=1) if event_ndims else values


__all__ = ["Bijector", "FlaxBijector", "bounded_log_scale"]
