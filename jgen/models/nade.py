"""NADE: the neural autoregressive distribution estimator for binary vectors.

NADE factorises ``p(x) = Π_i p(x_i | x_{<i})`` in a fixed (raster) order and computes
every conditional with one hidden layer whose weights are shared across positions:

.. math::

  a_1 = c, \\quad a_{i+1} = a_i + W_i x_i, \\quad h_i = σ(a_i), \\quad
  p(x_i = 1 | x_{<i}) = σ(b_i + V_i · h_i),

so ``a_i = c + Σ_{j<i} x_j W_j`` and all D conditionals cost O(D·H) rather than the
O(D²·H) of D separate networks.

References:
  Larochelle, Murray. The Neural Autoregressive Distribution Estimator. AISTATS 2011.
  Uria, Côté, Gregor, Murray, Larochelle. Neural Autoregressive Distribution
  Estimation. JMLR 2016. arXiv:1605.02226.
"""

from collections.abc import Sequence
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions import Bernoulli
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

PREFIX_SUMS = ("scan", "cumsum")


def _check_events(owner: str, x: Array, event_shape: tuple[int, ...]) -> None:
  if x.ndim != 1 + len(event_shape) or x.shape[1:] != event_shape:
    raise ValueError(
        f"{owner} expects inputs of shape (B, {', '.join(map(str, event_shape))}); "
        f"got {tuple(x.shape)}.")


class NADE(nn.Module):
  """NADE over binary events of shape ``event_shape``, in raster order.

  ``h_i = σ(c + Σ_{j<i} x_j W_j)``, ``p(x_i = 1 | x_{<i}) = σ(b_i + V_i · h_i)`` for
  ``i = 1..D`` over the flattened event (``D = prod(event_shape)``), and
  ``log p(x) = Σ_i [x_i l_i − softplus(l_i)]`` with logits ``l_i = b_i + V_i · h_i``.

  Parameters (``H = hidden``):
    ``W`` (D, H): row ``i`` is the paper's column ``W_{:, i}``, the input weights of
    ``x_i`` (its contribution to every later hidden pre-activation);
    ``c`` (H,): the hidden bias; ``V`` (D, H): row ``i`` is the output weights of
    position ``i``; ``b`` (D,): the output biases. ``2·D·H + H + D`` parameters:
    785,284 for (28, 28, 1) with ``H = 500``.

  Initialisation: ``W`` and ``V`` are LeCun-normal in their fan-in (``W ~ N(0, 1/D)``,
  as ``a_i`` sums up to D rows; ``V ~ N(0, 1/H)``, as ``l_i`` sums H units; both
  truncated at 2σ as flax's ``lecun_normal``); ``b`` and ``c`` are zero, so a fresh
  model is close to uniform. Trains with Adam at lr ≈ 1e-3.

  Attributes:
    event_shape: shape of one event, e.g. (28, 28, 1).
    hidden: ``H``, the number of hidden units.
    prefix_sum: how ``__call__`` computes the ``a_i``: ``'scan'`` (the incremental
      recursion; fastest on CPU) or ``'cumsum'`` (one vectorised exclusive prefix
      sum over a (B, D, H) tensor). Same parameters, same logits.

  References:
    Larochelle, Murray. The Neural Autoregressive Distribution Estimator. AISTATS 2011.
    Uria, Côté, Gregor, Murray, Larochelle. Neural Autoregressive Distribution
    Estimation. JMLR 2016. arXiv:1605.02226.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.models import NADE
    >>> nade = NADE(event_shape=(2, 3, 1), hidden=4)
    >>> variables = nade.init(jax.random.key(0), jnp.zeros((5, 2, 3, 1)))
    >>> dist = nade.apply(variables, jnp.ones((5, 2, 3, 1)))
    >>> dist.logits.shape, dist.log_prob(jnp.ones((5, 2, 3, 1))).shape
    ((5, 2, 3, 1), (5,))
    >>> nade.apply(variables, jax.random.key(1), 7, method="sample").shape
    (7, 2, 3, 1)
  """

  event_shape: Sequence[int]
  hidden: int = 500
  prefix_sum: str = "scan"

  def setup(self):
    d, h = math.prod(self.event_shape), self.hidden
    # Fan-in is D for W (rows summed into a_i) and H for V (units summed into l_i).
    self.W = self.param("W", nn.initializers.lecun_normal(in_axis=0, out_axis=1), (d, h))
    self.c = self.param("c", nn.initializers.zeros_init(), (h,))
    self.V = self.param("V", nn.initializers.lecun_normal(in_axis=1, out_axis=0), (d, h))
    self.b = self.param("b", nn.initializers.zeros_init(), (d,))

  def __call__(self, x: ArrayLike) -> Bernoulli:
    """The conditionals ``p(x_i = 1 | x_{<i})`` of every position, as one Bernoulli.

    ``prefix_sum`` picks how the pre-activations ``a_i = c + Σ_{j<i} x_j W_j`` are
    computed; both give the same logits ``l_i = b_i + V_i · σ(a_i)``:

    - ``'cumsum'``: all at once, by an exclusive prefix sum over ``i`` of ``x_j W_j``
      (``jnp.cumsum`` shifted by one position): the incremental
      ``a_{i+1} = a_i + W_i x_i`` vectorised over a (B, D, H) tensor. Suits
      accelerators; on XLA:CPU its gradient is slow (≈ 2–5 s per step for B = 100,
      D = 784, H = 500 on 2 cores: reductions over the batch axis of a 39M-entry
      tensor).
    - ``'scan'``: the literal recursion, a ``jax.lax.scan`` over ``i`` carrying ``a``
      (B, H) and emitting ``l_i``, so no (B, D, H) tensor is formed in the forward
      pass; ≈ 5× faster than ``'cumsum'`` on CPU (≈ 0.3–0.9 s per value-and-grad step
      at the sizes above).

    Args:
      x: (B, *event_shape) binary inputs in {0, 1}, any dtype (cast to float32).

    Returns:
      ``Bernoulli(logits, event_ndims=len(event_shape))`` with logits (B, *event_shape);
      its ``log_prob(x)`` (B,) is ``log p(x)``.

    Raises:
      ValueError: if ``x`` is not (B, *event_shape), or ``prefix_sum`` is unknown.
    """
    x = jnp.asarray(x)
    event_shape = tuple(self.event_shape)
    _check_events("NADE", x, event_shape)
    x_flat = x.reshape(x.shape[0], -1).astype(jnp.float32)
    w, v, b, c = self.W, self.V, self.b, self.c  # Read outside the scan body.
    if self.prefix_sum == "cumsum":
      contributions = x_flat[:, :, None] * w  # (B, D, H): x_j W_j.
      # Exclusive prefix sum: a_i sees x_j for j < i only (a_1 = c).
      prefix = jnp.cumsum(contributions[:, :-1], axis=1)
      a = c + jnp.concatenate([jnp.zeros_like(contributions[:, :1]), prefix], axis=1)
      logits = b + jnp.einsum("bdh,dh->bd", jax.nn.sigmoid(a), v)
    elif self.prefix_sum == "scan":
      def step(a, inputs):
        x_i, w_i, v_i = inputs
        return a + x_i[:, None] * w_i, jax.nn.sigmoid(a) @ v_i

      a_1 = jnp.broadcast_to(c, (x_flat.shape[0], self.hidden))
      _, logits = jax.lax.scan(step, a_1, (x_flat.T, w, v))  # logits (D, B).
      logits = b + logits.T
    else:
      raise ValueError(
          f"NADE: prefix_sum must be one of {PREFIX_SUMS}; got {self.prefix_sum!r}.")
    return Bernoulli(logits.reshape(x.shape), event_ndims=len(event_shape))

  def sample(self, key: PRNGKey, num_samples: int,
             return_logits: bool = False) -> Array | tuple[Array, Array]:
    """Exact ancestral samples: ``x_i ~ Bernoulli(σ(b_i + V_i · σ(a_i)))``, i = 1..D.

    A ``jax.lax.scan`` over positions carries ``a`` (num_samples, H) from ``a_1 = c``
    and updates it incrementally, ``a ← a + x_i W_i``, after drawing ``x_i``.

    Args:
      key: a PRNG key; position ``i`` uses the ``i``-th of ``split(key, D)``.
      num_samples: ``N``, a static int.
      return_logits: also return the logits each ``x_i`` was drawn from.

    Returns:
      (N, *event_shape) float32 samples in {0, 1}; with ``return_logits`` the pair
      ``(samples, logits)``, logits (N, *event_shape), equal to
      ``self(samples).logits``.
    """
    event_shape = tuple(self.event_shape)
    d = math.prod(event_shape)
    w, v, b, c = self.W, self.V, self.b, self.c  # Read outside the scan body.

    def step(a, inputs):
      w_i, v_i, b_i, key_i = inputs
      logit = b_i + jax.nn.sigmoid(a) @ v_i  # (N,)
      x_i = jax.random.bernoulli(key_i, jax.nn.sigmoid(logit)).astype(jnp.float32)
      return a + x_i[:, None] * w_i, (x_i, logit)

    a_1 = jnp.broadcast_to(c, (num_samples, self.hidden))
    _, (xs, logits) = jax.lax.scan(step, a_1, (w, v, b, jax.random.split(key, d)))
    samples = xs.T.reshape((num_samples,) + event_shape)
    if return_logits:
      return samples, logits.T.reshape((num_samples,) + event_shape)
    return samples
