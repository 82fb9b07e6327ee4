"""Composing bijectors: `Chain`, `Inverse`, the Flax `Flow`, and `BoundBijector`.

How pure and Flax bijectors compose. `Chain` and `Inverse` are pure pytrees that only
call their members' ``forward_and_log_det`` / ``inverse_and_log_det``, so a member may
be anything with those two methods:

- a parameter-free `Bijector` (a pytree);
- a `BoundBijector`: a Flax bijector module together with its variables, a pure
  pytree again (this is how a trained flow goes into a `Transformed` distribution
  that passes through ``jit``);
- inside a Flax module's method, a bound submodule (``self.coupling``).

`Flow` is the Flax side: a module holding a sequence of bijectors, Flax modules and
parameter-free ones mixed, also nested inside `Chain`, `Inverse` or `FactorOut`
(Flax adopts every module found in its attribute's pytree as a submodule, named
``bijectors_<i>…``). ``Flow.init(key, x)`` creates every member's parameters, running
them in order on the data (so each ActNorm initialises on what reaches it), and
``Flow.apply`` binds them and delegates to a `Chain` of the bound members. ::

  flow = Flow([ActNorm(), AffineCoupling(MLPConditioner((64,)), "half"), Reverse()])
  variables = flow.init(key, x)                      # data-dependent init on x
  z, log_det = flow.apply(variables, x)              # = method="inverse_and_log_det"
  dist = Transformed(Normal(jnp.zeros(d), 0.0, event_ndims=1),
                     BoundBijector(flow, variables))  # a pytree distribution
"""

from collections.abc import Sequence
from typing import Any

from flax import struct

from jgen.flows.base import Bijector
from jgen.flows.base import FlaxBijector
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import Params


class Chain(Bijector):
  """The composition ``f = f_0 ∘ f_1 ∘ … ∘ f_{n−1}``: ``forward`` applies the *last* first.

  .. math::

    \\log|\\det ∂f/∂x| = Σ_i \\log|\\det ∂f_i/∂x_{i+1}|, \\quad x_n = x,\\
    x_i = f_i(x_{i+1}),

  and ``inverse`` applies ``f_0⁻¹`` first. This is distrax's order: list a flow from
  the data end (``f_0``, which data meets first in ``inverse``/``log_prob``) to the
  noise end. ``context`` goes to every member.

  Attributes:
    bijectors: the members ``(f_0, …, f_{n−1})``, n ≥ 1: parameter-free bijectors,
      `BoundBijector`s, or (inside a Flax method) bound bijector modules.

  Raises:
    ValueError: (from the methods) if ``bijectors`` is empty; members raise on bad
      input shapes.

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen.flows import Chain, Permute, Reverse
    >>> chain = Chain((Permute((1, 2, 0)), Reverse()))
    >>> chain.forward(jnp.array([[0.0, 1.0, 2.0]]))  # Reverse, then Permute.
    Array([[1., 0., 2.]], dtype=float32)
  """

  bijectors: tuple[Any, ...]

  @property
  def event_ndims(self) -> int:
    return max(b.event_ndims for b in self._members())

  def _members(self) -> tuple[Any, ...]:
    members = tuple(self.bijectors)
    if not members:
      raise ValueError("Chain needs at least one bijector; got none.")
    return members

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(f(x), Σ_i log|det ∂f_i|)``, applying ``f_{n−1}`` first; ``(B, *event)``, ``(B,)``."""
    log_det = 0.0
    for bijector in reversed(self._members()):
      x, ld = bijector.forward_and_log_det(x, context)
      log_det = log_det + ld
    return x, log_det

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(f⁻¹(y), Σ_i log|det ∂f_i⁻¹|)``, applying ``f_0⁻¹`` first."""
    log_det = 0.0
    for bijector in self._members():
      y, ld = bijector.inverse_and_log_det(y, context)
      log_det = log_det + ld
    return y, log_det


class Inverse(Bijector):
  """The inverse bijector ``f⁻¹``: swaps ``forward_and_log_det`` and ``inverse_and_log_det``.

  ``Inverse(AffineAutoregressive(...))`` is an IAF: sampling in one pass, density in D.

  Attributes:
    bijector: any bijector (parameter-free, `BoundBijector`, or a module inside a
      `Flow`).
  """

  bijector: Any

  @property
  def event_ndims(self) -> int:
    return self.bijector.event_ndims

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(f⁻¹(x), log|det ∂f⁻¹/∂x|)``."""
    return self.bijector.inverse_and_log_det(x, context)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``(f(y), log|det ∂f/∂y|)``."""
    return self.bijector.forward_and_log_det(y, context)


class BoundBijector(Bijector):
  """A Flax bijector module with its variables, as a pure pytree bijector.

  ``forward_and_log_det(x) = module.apply(variables, x, method="forward_and_log_det")``
  (likewise the inverse). The module is a static field and the variables are the
  pytree's leaves, so the result passes through ``jit``/``grad``/``vmap`` (e.g. inside
  a `Transformed` distribution); gradients flow to ``variables``.

  Attributes:
    module: an unbound `FlaxBijector` (e.g. a `Flow`) with hashable attributes.
    variables: its variables, as returned by ``module.init``.
  """

  module: FlaxBijector = struct.field(pytree_node=False)
  variables: Params

  @property
  def event_ndims(self) -> int:
    return self.module.event_ndims

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    return self.module.apply(self.variables, x, context, method="forward_and_log_det")

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    return self.module.apply(self.variables, y, context, method="inverse_and_log_det")


class Flow(FlaxBijector):
  """A Flax module composing bijector modules and parameter-free bijectors like `Chain`.

  ``Flow(bijectors)`` computes exactly ``Chain(bijectors)`` (``forward`` applies the last
  member first; list from the data end to the noise end) with every Flax module in
  ``bijectors`` (at any depth of the pytree, e.g. inside an `Inverse`) registered as a
  submodule. ``__call__`` is ``inverse_and_log_det``, so ``init(key, x)`` on data runs
  the members in data-to-noise order and each data-dependent init sees its own input.

  Attributes:
    bijectors: the members ``(f_0, …, f_{n−1})``, n ≥ 1.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.flows import ActNorm, AffineCoupling, Flow, MLPConditioner, Reverse
    >>> flow = Flow((ActNorm(), AffineCoupling(MLPConditioner((8,)), "half"), Reverse()))
    >>> x = jax.random.normal(jax.random.key(0), (16, 4)) * 3.0 + 1.0
    >>> variables = flow.init(jax.random.key(1), x)
    >>> z, log_det = flow.apply(variables, x)
    >>> z.shape, log_det.shape, bool(jnp.allclose(z.std(0), 1.0, atol=1e-3))
    ((16, 4), (16,), True)
  """

  bijectors: Sequence[Any]

  def __post_init__(self):
    # A tuple, so the module hashes (a static field of `BoundBijector` under jit).
    object.__setattr__(self, "bijectors", tuple(self.bijectors))
    super().__post_init__()

  @property
  def event_ndims(self) -> int:
    return Chain(tuple(self.bijectors)).event_ndims

  def forward_and_log_det(self, x: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``Chain(bijectors).forward_and_log_det``: ``(B, *event)`` → ``(B, *event), (B,)``."""
    return Chain(tuple(self.bijectors)).forward_and_log_det(x, context)

  def inverse_and_log_det(self, y: ArrayLike,
                          context: ArrayLike | None = None) -> tuple[Array, Array]:
    """``Chain(bijectors).inverse_and_log_det``: ``(B, *event)`` → ``(B, *event), (B,)``."""
    return Chain(tuple(self.bijectors)).inverse_and_log_det(y, context)


__all__ = ["BoundBijector", "Chain", "Flow", "Inverse"]
