"""GAN objectives: pure functions of raw discriminator outputs.

Conventions shared by every loss here:

- Inputs are raw discriminator outputs: ``*_logits`` for classifier-style
  discriminators (``D(x) = sigmoid(logit)``) and for f-GAN's variational function,
  ``*_scores`` for unbounded critics (Wasserstein, hinge, least squares).
  Probabilities never enter a loss; every log-probability is formed with
  ``log_sigmoid`` / ``softplus`` so that no value or gradient overflows at large
  logits.
- Shapes: ``(B,)`` or patch-shaped ``(B, ...)`` (e.g. PatchGAN's ``(B, H, W)``). Real
  and fake outputs may have different batch sizes but must share trailing shape.
- ``reduction='mean'`` (default) returns a scalar: the mean over batch and patch
  dims (for the discriminator losses, the real and fake expectations are each such a
  mean, then added). ``reduction='none'`` returns per-example values of shape
  ``(B,)``: the mean over non-batch dims (for two-sided losses, real term + fake
  term of example ``i``, which needs equal batch sizes).

A loss pair is ``<family>_discriminator_loss`` / ``<family>_generator_loss``; each
player minimises its own loss.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from jgen.losses.f_divergences import F_DIVERGENCES
from jgen.losses.f_divergences import FDivergence
from jgen.losses.f_divergences import get_f_divergence
from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

_REDUCTIONS = ("mean", "none")


def _check_reduction(reduction: str) -> None:
  if reduction not in _REDUCTIONS:
    raise ValueError(
        f"Unknown reduction {reduction!r}; valid values: {', '.join(_REDUCTIONS)}.")


def _as_outputs(x: ArrayLike, name: str) -> Array:
  x = jnp.asarray(x)
  if x.ndim < 1:
    raise ValueError(
        f"{name} must have a batch dimension, shape (B,) or (B, ...); got a scalar.")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  return x


def _per_example(values: Array) -> Array:
  """Mean over every non-batch dim: (B, ...) -> (B,)."""
  return values.reshape(values.shape[0], -1).mean(axis=1)


def _one_sided(values: Array, reduction: str) -> Array:
  _check_reduction(reduction)
  per_example = _per_example(values)
  return per_example if reduction == "none" else per_example.mean()


def _two_sided(real_values: Array, fake_values: Array, reduction: str) -> Array:
  """E_real[real_values] + E_fake[fake_values], with the module's reductions."""
  _check_reduction(reduction)
  real, fake = _per_example(real_values), _per_example(fake_values)
  if reduction == "mean":
    return real.mean() + fake.mean()
  if real.shape != fake.shape:
    raise ValueError(
        "reduction='none' pairs real and fake examples, so it needs equal batch sizes; "
        f"got {real.shape[0]} real and {fake.shape[0]} fake.")
  return real + fake


def _check_pair(real: ArrayLike, fake: ArrayLike, kind: str) -> tuple[Array, Array]:
  real, fake = _as_outputs(real, f"real_{kind}"), _as_outputs(fake, f"fake_{kind}")
  if real.shape[1:] != fake.shape[1:]:
    raise ValueError(
        f"real_{kind} and fake_{kind} must have the same trailing (non-batch) shape; "
        f"got {real.shape} and {fake.shape}.")
  return real, fake


# --- Minimax / non-saturating (Goodfellow et al. 2014). ---


def minimax_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, reduction: str = "mean"
) -> Array:
  """The discriminator's loss in the original GAN minimax game.

  ``L_D = −E_x[log D(x)] − E_z[log(1 − D(G(z)))]`` with ``D = sigmoid(logits)``,
  i.e. the binary cross-entropy with labels 1 (real) and 0 (fake), computed as
  ``−log_sigmoid(real) − log_sigmoid(−fake)``. At the optimal discriminator
  ``D* = p/(p + q)`` it equals ``log 4 − 2·JSD(p‖q)``.

  Args:
    real_logits: ``(B,)`` or ``(B, ...)`` logits on real data.
    fake_logits: ``(B', ...)`` logits on generated data, same trailing shape.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  Raises:
    ValueError: on mismatched trailing shapes or an unknown reduction.

  References:
    Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014. arXiv:1406.2661.

  Example:
    >>> import jax.numpy as jnp
    >>> from jgen import losses
    >>> float(losses.minimax_discriminator_loss(jnp.zeros(4), jnp.zeros(4)))  # 2 log 2
    1.386...
  """
  real, fake = _check_pair(real_logits, fake_logits, "logits")
  return _two_sided(
      optax.sigmoid_binary_cross_entropy(real, jnp.ones_like(real)),
      optax.sigmoid_binary_cross_entropy(fake, jnp.zeros_like(fake)),
      reduction,
  )


def minimax_generator_loss(fake_logits: ArrayLike, *, reduction: str = "mean") -> Array:
  """The saturating generator loss of the original minimax game.

  ``L_G = E_z[log(1 − D(G(z)))] = E_z[log_sigmoid(−logit)]``, which G minimises.
  Its gradient vanishes when D confidently rejects the samples (logit ≪ 0), the
  reason Goodfellow et al. propose ``non_saturating_generator_loss`` in practice.

  Args:
    fake_logits: ``(B,)`` or ``(B, ...)`` logits on generated data.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014. arXiv:1406.2661.
  """
  fake = _as_outputs(fake_logits, "fake_logits")
  # log(1 − sigmoid(x)) = log_sigmoid(−x): no log(0) when sigmoid rounds to 1.
  return _one_sided(jax.nn.log_sigmoid(-fake), reduction)


def non_saturating_generator_loss(
    fake_logits: ArrayLike, *, reduction: str = "mean"
) -> Array:
  """The non-saturating generator loss ``L_G = −E_z[log D(G(z))]``.

  Computed as ``−log_sigmoid(logit)``: same fixed point as the minimax loss, but
  strong gradients early in training when D rejects the samples.

  Args:
    fake_logits: ``(B,)`` or ``(B, ...)`` logits on generated data.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014, Section 3.
    arXiv:1406.2661.
  """
  fake = _as_outputs(fake_logits, "fake_logits")
  return _one_sided(optax.sigmoid_binary_cross_entropy(fake, jnp.ones_like(fake)), reduction)


# --- Wasserstein (Arjovsky et al. 2017; Gulrajani et al. 2017). ---


def wasserstein_critic_loss(
    real_scores: ArrayLike, fake_scores: ArrayLike, *, reduction: str = "mean"
) -> Array:
  """The WGAN critic loss ``L_f = E_z[f(G(z))] − E_x[f(x)]``.

  Minimising it maximises the Kantorovich–Rubinstein estimate of W₁(p, q); the
  critic must be kept (approximately) 1-Lipschitz, by weight clipping or
  ``gradient_penalty``.

  Args:
    real_scores: ``(B,)`` or ``(B, ...)`` critic scores on real data.
    fake_scores: ``(B', ...)`` critic scores on generated data, same trailing shape.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Arjovsky, Chintala, Bottou. Wasserstein GAN. ICML 2017. arXiv:1701.07875.
  """
  real, fake = _check_pair(real_scores, fake_scores, "scores")
  return _two_sided(-real, fake, reduction)


def wasserstein_generator_loss(fake_scores: ArrayLike, *, reduction: str = "mean") -> Array:
  """The WGAN generator loss ``L_G = −E_z[f(G(z))]``.

  Args:
    fake_scores: ``(B,)`` or ``(B, ...)`` critic scores on generated data.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Arjovsky, Chintala, Bottou. Wasserstein GAN. ICML 2017. arXiv:1701.07875.
  """
  return _one_sided(-_as_outputs(fake_scores, "fake_scores"), reduction)


def gradient_penalty(
    critic_fn: Callable[[Array], Array],
    real: ArrayLike,
    fake: ArrayLike,
    key: PRNGKey,
    target_norm: float = 1.0,
    *,
    reduction: str = "mean",
) -> Array:
  """The WGAN-GP gradient penalty at random interpolates of real and fake data.

  ``GP = E[(‖∇ₓ f(x̂)‖₂ − target_norm)²]`` with ``x̂ = ε·x + (1 − ε)·G(z)`` and one
  ``ε ~ U[0, 1]`` per example. Multiply by the penalty weight (λ = 10 in the paper)
  and add it to ``wasserstein_critic_loss``.

  The per-example gradient is taken as the gradient of ``Σᵢ f(x̂ᵢ)``, which is exact
  when the critic treats examples independently (no batch norm, as the paper
  requires). A patch-shaped critic output ``(B, ...)`` is averaged per example first.
  The norm has a zero (not NaN) gradient at a zero input gradient.

  Args:
    critic_fn: maps a batch ``(B, ...)`` of inputs to scores ``(B,)`` or ``(B, ...)``;
      close over the critic's parameters, e.g.
      ``lambda x: critic.apply(params, x)``.
    real: ``(B, ...)`` real data.
    fake: ``(B, ...)`` generated data, same shape as ``real``.
    key: PRNG key for ε.
    target_norm: the gradient norm the penalty pulls towards.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  Raises:
    ValueError: if ``real`` and ``fake`` differ in shape, or on an unknown reduction.

  References:
    Gulrajani et al. Improved Training of Wasserstein GANs. NeurIPS 2017.
    arXiv:1704.00028.
  """
  _check_reduction(reduction)
  real, fake = _as_outputs(real, "real"), _as_outputs(fake, "fake")
  if real.shape != fake.shape:
    raise ValueError(
        f"gradient_penalty interpolates real and fake data, so they need the same shape; "
        f"got {real.shape} and {fake.shape}.")
  eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
  eps = jax.random.uniform(key, eps_shape, dtype=real.dtype)
  interpolates = eps * real + (1.0 - eps) * fake

  def total_score(x):
    return _per_example(jnp.asarray(critic_fn(x))).sum()

  grads = jax.grad(total_score)(interpolates)
  norms = optax.safe_norm(grads.reshape(grads.shape[0], -1), 0.0, axis=-1)
  return _one_sided(jnp.square(norms - target_norm), reduction)


# --- Hinge (Lim & Ye 2017; Miyato et al. 2018). ---


def hinge_discriminator_loss(
    real_scores: ArrayLike, fake_scores: ArrayLike, *, reduction: str = "mean"
) -> Array:
  """The hinge discriminator loss ``L_D = E_x[max(0, 1 − D(x))] + E_z[max(0, 1 + D(G(z)))]``.

  Args:
    real_scores: ``(B,)`` or ``(B, ...)`` raw discriminator outputs on real data.
    fake_scores: ``(B', ...)`` raw outputs on generated data, same trailing shape.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Lim & Ye. Geometric GAN. 2017. arXiv:1705.02894.
    Miyato et al. Spectral Normalization for GANs. ICLR 2018. arXiv:1802.05957.
  """
  real, fake = _check_pair(real_scores, fake_scores, "scores")
  return _two_sided(jax.nn.relu(1.0 - real), jax.nn.relu(1.0 + fake), reduction)


def hinge_generator_loss(fake_scores: ArrayLike, *, reduction: str = "mean") -> Array:
  """The hinge generator loss ``L_G = −E_z[D(G(z))]``.

  Args:
    fake_scores: ``(B,)`` or ``(B, ...)`` raw discriminator outputs on generated data.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Lim & Ye. Geometric GAN. 2017. arXiv:1705.02894.
    Miyato et al. Spectral Normalization for GANs. ICLR 2018. arXiv:1802.05957.
  """
  return _one_sided(-_as_outputs(fake_scores, "fake_scores"), reduction)


# --- Least squares (Mao et al. 2017). ---


def least_squares_discriminator_loss(
    real_scores: ArrayLike,
    fake_scores: ArrayLike,
    *,
    real_target: float = 1.0,
    fake_target: float = 0.0,
    reduction: str = "mean",
) -> Array:
  """The LSGAN discriminator loss ``L_D = ½E_x[(D(x) − b)²] + ½E_z[(D(G(z)) − a)²]``.

  ``a = fake_target``, ``b = real_target``; the defaults are the paper's 0-1 coding
  (a = 0, b = c = 1). Scores are the discriminator's raw linear outputs.

  Args:
    real_scores: ``(B,)`` or ``(B, ...)`` raw discriminator outputs on real data.
    fake_scores: ``(B', ...)`` raw outputs on generated data, same trailing shape.
    real_target: ``b``.
    fake_target: ``a``.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Mao et al. Least Squares Generative Adversarial Networks. ICCV 2017.
    arXiv:1611.04076.
  """
  real, fake = _check_pair(real_scores, fake_scores, "scores")
  # optax.l2_loss(x, y) = ½(x − y)².
  return _two_sided(
      optax.l2_loss(real, jnp.full_like(real, real_target)),
      optax.l2_loss(fake, jnp.full_like(fake, fake_target)),
      reduction,
  )


def least_squares_generator_loss(
    fake_scores: ArrayLike, *, target: float = 1.0, reduction: str = "mean"
) -> Array:
  """The LSGAN generator loss ``L_G = ½E_z[(D(G(z)) − c)²]`` with ``c = target``.

  Args:
    fake_scores: ``(B,)`` or ``(B, ...)`` raw discriminator outputs on generated data.
    target: ``c`` (1 in the paper's 0-1 coding).
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  References:
    Mao et al. Least Squares Generative Adversarial Networks. ICCV 2017.
    arXiv:1611.04076.
  """
  fake = _as_outputs(fake_scores, "fake_scores")
  return _one_sided(optax.l2_loss(fake, jnp.full_like(fake, target)), reduction)


# --- f-GAN (Nowozin et al. 2016). ---


def f_gan_discriminator_loss(
    real_logits: ArrayLike,
    fake_logits: ArrayLike,
    divergence: str,
    *,
    reduction: str = "mean",
    **params,
) -> Array:
  """The f-GAN critic loss: minus the variational lower bound on ``D_f(P‖Q)``.

  ``L_D = −(E_P[g_f(V(x))] − E_Q[f*(g_f(V(G(z))))])``, where ``V`` is the raw
  critic output, ``g_f`` the divergence's output activation and ``f*`` its convex
  conjugate (see ``F_DIVERGENCES``). ``−L_D ≤ D_f(P‖Q)``, with equality at the
  optimal critic ``g_f(V) = f′(p/q)``.

  Args:
    real_logits: ``(B,)`` or ``(B, ...)`` raw critic outputs ``V`` on data from P.
    fake_logits: ``(B', ...)`` raw critic outputs on generated data (Q), same
      trailing shape.
    divergence: a key of ``F_DIVERGENCES``.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.
    **params: the divergence's parameters (``alpha=`` for ``'alpha'``).

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  Raises:
    ValueError: for an unknown divergence (the message lists the valid ones), bad
      parameters, mismatched shapes or an unknown reduction.

  References:
    Nowozin, Cseke, Tomioka. f-GAN. NeurIPS 2016, Eq. (6) and Table 6.
    arXiv:1606.00709.
  """
  div = get_f_divergence(divergence, **params)
  real, fake = _check_pair(real_logits, fake_logits, "logits")
  return _two_sided(-div.activation(real), div.conjugate_of_activation(fake), reduction)


def f_gan_generator_loss(
    fake_logits: ArrayLike, divergence: str, *, reduction: str = "mean", **params
) -> Array:
  """The f-GAN generator loss ``L_G = −E_Q[f*(g_f(V(G(z))))]``.

  The generator minimises the variational bound ``E_P[T] − E_Q[f*(T)]``; its first
  term does not depend on G, leaving this loss (Nowozin et al. 2016, Eq. 6).

  Args:
    fake_logits: ``(B,)`` or ``(B, ...)`` raw critic outputs on generated data.
    divergence: a key of ``F_DIVERGENCES``.
    reduction: ``'mean'`` for a scalar, ``'none'`` for ``(B,)`` values.
    **params: the divergence's parameters (``alpha=`` for ``'alpha'``).

  Returns:
    A scalar, or ``(B,)`` with ``reduction='none'``.

  Raises:
    ValueError: for an unknown divergence, bad parameters or an unknown reduction.

  References:
    Nowozin, Cseke, Tomioka. f-GAN. NeurIPS 2016. arXiv:1606.00709.
  """
  div = get_f_divergence(divergence, **params)
  fake = _as_outputs(fake_logits, "fake_logits")
  return _one_sided(-div.conjugate_of_activation(fake), reduction)


__all__ = [
    "F_DIVERGENCES",
    "FDivergence",
    "f_gan_discriminator_loss",
    "f_gan_generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]
