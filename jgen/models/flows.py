"""Normalizing-flow density models: NICE, RealNVP, Glow, MAF, IAF and neural spline flows.

Each builder returns a `FlowDensity`: a bijector `Flow` (`jgen.flows`) from data to
noise with a standard normal base,

.. math::

  \\log p(x) = \\log N(f^{-1}(x);\\ 0, I) + \\log|\\det ∂f^{-1}/∂x|,

trained by maximum likelihood on the `likelihood` task and sampled as ``x = f(T·z)``,
``z ~ N(0, I)``, at temperature ``T`` (Glow, Sec. 5). The flows are listed from the
data end (the first member meets the data in ``log_prob``), as in `jgen.flows`.

- `nice`: additive couplings on vectors and a final diagonal scaling (Dinh et al.
  2015); jgen uses a Gaussian base and ActNorm (a learnt diagonal affine) as the
  scaling layer, where NICE used a logistic base and ``exp(S)``.
- `real_nvp`: affine couplings; on images the multi-scale architecture (checkerboard
  couplings, squeeze, channel couplings, factor out half) with convolutional
  coupling networks (Dinh et al. 2017), on vectors MLP couplings with alternating masks.
- `glow`: ``L`` levels of squeeze → ``K`` × (ActNorm → invertible 1×1 conv → affine
  coupling) → factor out (Kingma & Dhariwal 2018).
- `maf` / `iaf`: stacks of masked autoregressive affine layers with reversed orderings
  in between (Papamakarios et al. 2017; Kingma et al. 2016); IAF is MAF's inverse,
  sampling in one pass and evaluating densities in ``D``.
- `neural_spline_flow`: rational-quadratic spline couplings or autoregressive layers
  (Durkan et al. 2019).

Images enter through the data-end preprocessing of their family: `Logit` (RealNVP,
MAF on images, ``logit_alpha``) and a `Reshape` to vectors for the vector flows. The
data are dequantized ``y = (x + u)/256`` by the task (`jgen.data.dequantize_uniform`),
and bits/dim count the ``D·log 256`` of the change to ``[0, 1)``
(`jgen.flows.dequantized_bits_per_dim`).
"""

from collections.abc import Sequence
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jgen.distributions import Normal
from jgen.flows import ActNorm
from jgen.flows import AdditiveCoupling
from jgen.flows import AffineAutoregressive
from jgen.flows import AffineCoupling
from jgen.flows import Conv1x1
from jgen.flows import ConvConditioner
from jgen.flows import FactorOut
from jgen.flows import Flow
from jgen.flows import Inverse
from jgen.flows import Logit
from jgen.flows import MLPConditioner
from jgen.flows import Reshape
from jgen.flows import Reverse
from jgen.flows import SplineAutoregressive
from jgen.flows import SplineCoupling
from jgen.flows import Squeeze
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


class FlowDensity(nn.Module):
  """A density ``p(x)`` as a bijector flow from data to a standard normal.

  ``__call__`` is `log_prob`, so ``init(key, data_batch)`` runs every data-dependent
  initialisation (ActNorm) on real data, in data-to-noise order.

  Attributes:
    flow: the bijector, data end first (``flow.inverse`` normalises).
    event_shape: the shape of one data example.
    latent_shape: the shape of one noise example (``event_shape`` unless the flow
      reshapes).
  """

  flow: Flow
  event_shape: tuple[int, ...]
  latent_shape: tuple[int, ...] | None = None

  def _base(self) -> Normal:
    shape = tuple(self.latent_shape or self.event_shape)
    return Normal(jnp.zeros(shape), 0.0, event_ndims=len(shape))

  def _check(self, x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    if tuple(x.shape[1:]) != tuple(self.event_shape) or x.ndim != len(self.event_shape) + 1:
      event = ", ".join(map(str, self.event_shape))
      raise ValueError(f"FlowDensity expects data of shape (B, {event}); got {tuple(x.shape)}.")
    return x

  def __call__(self, x: ArrayLike) -> Array:
    """`log_prob` of ``x`` ``(B, *event_shape)``: ``(B,)`` nats."""
    return self.log_prob(x)

  def log_prob(self, x: ArrayLike) -> Array:
    """``log N(f⁻¹(x)) + log|det ∂f⁻¹/∂x|``: data ``(B, *event_shape)`` → ``(B,)`` nats."""
    z, log_det = self.flow.inverse_and_log_det(self._check(x))
    return self._base().log_prob(z) + log_det

  def encode(self, x: ArrayLike) -> Array:
    """``z = f⁻¹(x)``: ``(B, *latent_shape)``."""
    return self.flow.inverse(self._check(x))

  def decode(self, z: ArrayLike) -> Array:
    """``x = f(z)``: ``(B, *event_shape)``."""
    return self.flow.forward(jnp.asarray(z))

  def sample(self, key: PRNGKey, num: int, temperature: float = 1.0) -> Array:
    """``f(T·z)``, ``z ~ N(0, I)``: ``(num, *event_shape)``; ``T < 1`` trades diversity
    for fidelity (Glow's reduced-temperature samples)."""
    shape = tuple(self.latent_shape or self.event_shape)
    return self.decode(temperature * jax.random.normal(key, (num, *shape)))


def _vector_front(event_shape: Sequence[int], logit_alpha: float | None) -> tuple[list, int]:
  """Data-end preprocessing of a vector flow: optional Logit, flatten images."""
  event_shape = tuple(event_shape)
  front = [] if logit_alpha is None else [Logit(logit_alpha, event_ndims=len(event_shape))]
  dim = math.prod(event_shape)
  if len(event_shape) != 1:
    front.append(Reshape(event_shape, (dim,)))
  return front, dim


def _density(layers: list, event_shape: Sequence[int], dim: int | None = None) -> FlowDensity:
  event_shape = tuple(event_shape)
  latent = None if dim is None or (dim,) == event_shape else (dim,)
  return FlowDensity(Flow(tuple(layers)), event_shape, latent)


def nice(event_shape: Sequence[int], *, hidden: int = 1000, num_hidden_layers: int = 5,
         num_couplings: int = 4, logit_alpha: float | None = None) -> FlowDensity:
  """NICE: ``num_couplings`` additive couplings (alternating masks), then a diagonal scaling.

  ``log p(x) = log N(z) + Σ_d log S_d`` — the couplings are volume-preserving and the
  final learnt diagonal affine (ActNorm) carries the whole log-det.

  References:
    Dinh, Krueger, Bengio. NICE. ICLR 2015 workshop. arXiv:1410.8516 (Sec. 3–5: four
    couplings of five 1000-unit ReLU layers on MNIST).
  """
  layers, dim = _vector_front(event_shape, logit_alpha)
  for i in range(num_couplings):
    layers.append(AdditiveCoupling(MLPConditioner((hidden,) * num_hidden_layers),
                                   "alternating", parity=i % 2))
  layers.append(ActNorm(event_ndims=1))
  return _density(layers, event_shape, dim)


def real_nvp_vector(event_shape: Sequence[int], *, hidden: int = 256,
                    num_hidden_layers: int = 2, num_couplings: int = 8,
                    logit_alpha: float | None = None) -> FlowDensity:
  """RealNVP on vectors: ActNorm → affine coupling, ``num_couplings`` times, alternating masks.

  The ActNorms stand in for RealNVP's batch normalisation (see `real_nvp`).

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803.
  """
  layers, dim = _vector_front(event_shape, logit_alpha)
  for i in range(num_couplings):
    layers.append(ActNorm(event_ndims=1))
    layers.append(AffineCoupling(MLPConditioner((hidden,) * num_hidden_layers),
                                 "alternating", parity=i % 2))
  return _density(layers, event_shape, dim)


def _real_nvp_scale(levels_left: int, width: int, couplings: int) -> Flow:
  def coupling(mask, parity):
    # ActNorm in front: RealNVP normalises with batch norm; see `real_nvp`.
    return Flow((ActNorm(event_ndims=3),
                 AffineCoupling(ConvConditioner(width), mask, parity=parity)))

  if levels_left == 1:  # The last scale: checkerboard couplings only.
    return Flow(tuple(coupling("checkerboard", i % 2) for i in range(couplings + 1)))
  return Flow((*(coupling("checkerboard", i % 2) for i in range(couplings)), Squeeze(),
               *(coupling("channel", i % 2) for i in range(couplings)),
               FactorOut(_real_nvp_scale(levels_left - 1, width, couplings)),
               Inverse(Squeeze())))


def real_nvp(image_shape: Sequence[int], *, num_scales: int = 3, width: int = 64,
             couplings_per_stage: int = 3, logit_alpha: float | None = 0.05) -> FlowDensity:
  """RealNVP's multi-scale image flow.

  Each scale but the last: ``couplings_per_stage`` checkerboard affine couplings,
  squeeze, as many channel couplings, then half the channels are factored out and the
  rest go to the next scale; the last has ``couplings_per_stage + 1`` checkerboard
  couplings (RealNVP: 3, 3 and 4). Coupling networks are `ConvConditioner`\\ s (a 3×3
  and a 1×1 conv of ``width`` channels) in place of RealNVP's residual networks, and an
  ActNorm before every coupling takes the place of RealNVP's batch normalisation
  (Glow's functional replacement for it). It is needed: the bounded scales
  (`bounded_log_scale`) let a coupling expand by at most 13.5 % in the normalising
  direction, and without a learnt per-channel scale between them a flow cannot expand
  the narrow (background) dimensions of MNIST enough; a 1,000-step MNIST run without it
  stalled at 4.6 bits/dim.

  Args:
    image_shape: ``(H, W, C)``, ``H`` and ``W`` divisible by ``2^(num_scales − 1)``.
    num_scales: number of scales (3 for 28×28 MNIST: 28 → 14 → 7).
    width: hidden channels of the coupling networks.
    couplings_per_stage: couplings per stage.
    logit_alpha: ``α`` of the `Logit` preprocessing (RealNVP: 0.05), or None.

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    arXiv:1605.08803 (Sec. 3.6, 4.1).
  """
  image_shape = tuple(image_shape)
  _check_image(image_shape, num_scales - 1, "real_nvp")
  front = [] if logit_alpha is None else [Logit(logit_alpha, event_ndims=3)]
  return _density([*front, _real_nvp_scale(num_scales, width, couplings_per_stage)],
                  image_shape)


def _glow_level(levels_left: int, width: int, steps: int) -> Flow:
  flow_steps = [Flow((ActNorm(event_ndims=3), Conv1x1(),
                      AffineCoupling(ConvConditioner(width), "channel")))
                for _ in range(steps)]
  if levels_left == 1:
    return Flow((Squeeze(), *flow_steps, Inverse(Squeeze())))
  return Flow((Squeeze(), *flow_steps, FactorOut(_glow_level(levels_left - 1, width, steps)),
               Inverse(Squeeze())))


def glow(image_shape: Sequence[int], *, num_levels: int = 2, steps_per_level: int = 8,
         width: int = 128, logit_alpha: float | None = None) -> FlowDensity:
  """Glow: ``L`` levels of squeeze → ``K`` × (ActNorm → 1×1 conv → affine coupling) → split.

  Affine couplings use channel masks and Glow's ``σ(h + 2)`` scale (`bounded_log_scale`)
  with zero-initialised last layers; ActNorm initialises from the batch given to
  ``init``; the 1×1 convolutions are LU-parametrised. Factored-out channels get the
  standard normal (Glow's learnt conditional prior is not included).

  Args:
    image_shape: ``(H, W, C)``, ``H`` and ``W`` divisible by ``2^num_levels``.
    num_levels: ``L`` (MNIST: 2, 28 → 14 → 7).
    steps_per_level: ``K`` (Glow: 32).
    width: hidden channels of the coupling networks (Glow: 512).
    logit_alpha: optional `Logit` preprocessing; None feeds ``y ∈ [0, 1)`` as Glow does
      (its first ActNorm centres it).

  References:
    Kingma & Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
    NeurIPS 2018. arXiv:1807.03039 (Sec. 3, Fig. 2).
  """
  image_shape = tuple(image_shape)
  _check_image(image_shape, num_levels, "glow")
  front = [] if logit_alpha is None else [Logit(logit_alpha, event_ndims=3)]
  return _density([*front, _glow_level(num_levels, width, steps_per_level)], image_shape)


def maf(event_shape: Sequence[int], *, hidden: int = 512, num_hidden_layers: int = 1,
        num_layers: int = 5, logit_alpha: float | None = None,
        inverse: bool = False) -> FlowDensity:
  """MAF (or, with ``inverse``, IAF): ``num_layers`` masked autoregressive affine layers.

  Layers alternate with a `Reverse`, so each one's ordering is the reverse of the
  last (MAF, Sec. 3); an ActNorm before each layer stands in for MAF's batch
  normalisation between layers (see `real_nvp` for why one is needed). MAF
  evaluates ``log p`` in one MADE pass per layer and samples in ``D``; IAF is the same
  stack with each layer inverted, sampling in one pass and evaluating in ``D`` (use it
  on low-dimensional data, or as a variational posterior).

  References:
    Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
    NeurIPS 2017. arXiv:1705.07057.
    Kingma et al. Improved Variational Inference with Inverse Autoregressive Flow.
    NeurIPS 2016. arXiv:1606.04934.
  """
  layers, dim = _vector_front(event_shape, logit_alpha)
  for i in range(num_layers):
    layers.append(ActNorm(event_ndims=1))
    layer = AffineAutoregressive(hidden=(hidden,) * num_hidden_layers)
    layers.append(Inverse(layer) if inverse else layer)
    if i < num_layers - 1:
      layers.append(Reverse())
  return _density(layers, event_shape, dim)


NSF_KINDS = ("coupling", "autoregressive")


def neural_spline_flow(event_shape: Sequence[int], *, kind: str = "coupling",
                       hidden: int = 128, num_hidden_layers: int = 2, num_layers: int = 4,
                       num_bins: int = 8, bound: float = 3.0,
                       logit_alpha: float | None = None) -> FlowDensity:
  """Rational-quadratic spline flow: ``num_layers`` spline couplings or autoregressive layers.

  An ActNorm at the data end brings the data into the splines' ``[−B, B]``; outside
  it each spline is the identity (linear tails). Couplings alternate their mask parity,
  autoregressive layers reverse the ordering in between.

  Raises:
    ValueError: for an unknown ``kind``.

  References:
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    arXiv:1906.04032 (RQ-NSF (C) and (AR)).
  """
  if kind not in NSF_KINDS:
    raise ValueError(f"neural_spline_flow: kind={kind!r} is not valid; choose from {NSF_KINDS}.")
  layers, dim = _vector_front(event_shape, logit_alpha)
  layers.append(ActNorm(event_ndims=1))
  net = (hidden,) * num_hidden_layers
  for i in range(num_layers):
    if kind == "coupling":
      layers.append(SplineCoupling(MLPConditioner(net), "alternating", parity=i % 2,
                                   num_bins=num_bins, bound=bound))
    else:
      layers.append(SplineAutoregressive(hidden=net, num_bins=num_bins, bound=bound))
      if i < num_layers - 1:
        layers.append(Reverse())
  return _density(layers, event_shape, dim)


def _check_image(shape: tuple[int, ...], halvings: int, name: str) -> None:
  factor = 2**halvings
  if len(shape) != 3 or shape[0] % factor or shape[1] % factor:
    raise ValueError(f"{name}: image_shape {shape} must be (H, W, C) with H and W divisible "
                     f"by 2^{halvings} = {factor} for its {halvings} squeezes.")


__all__ = ["FlowDensity", "NSF_KINDS", "glow", "maf", "neural_spline_flow", "nice",
           "real_nvp", "real_nvp_vector"]
