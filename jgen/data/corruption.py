"""Input corruptions for denoising autoencoders, pure ``jnp`` with the key first.

A denoising autoencoder reconstructs a clean ``x`` from a corrupted ``x̃ ~ q(x̃ | x)``
(Vincent et al. 2008, 2010). The three corruptions of Vincent et al. (2010):

- ``gaussian_noise``: additive isotropic Gaussian noise, ``x̃ = x + σ·ε``;
- ``masking_noise``: a random fraction of the elements forced to 0;
- ``salt_and_pepper``: a random fraction set to their minimum or maximum value, by a
  fair coin flip.

The paper corrupts a fixed fraction ``ν`` of each example's elements, chosen at random;
here each element is corrupted independently with probability ``ν``: the same expected
fraction, with no per-example sort, for examples of any shape. Elements are array entries: for
(B, H, W, C) images each channel of a pixel is corrupted independently.

Apply them inside the jitted step to ``[0, 1]`` floats, with a fresh key per step.
Integer inputs are converted to float32; float inputs keep their dtype.

References:
  Vincent, Larochelle, Lajoie, Bengio, Manzagol. Stacked Denoising Autoencoders:
  Learning Useful Representations in a Deep Network with a Local Denoising Criterion.
  JMLR 11, 2010.
  Vincent, Larochelle, Bengio, Manzagol. Extracting and Composing Robust Features
  with Denoising Autoencoders. ICML 2008.
"""

import numbers

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _as_float(x: ArrayLike) -> Array:
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _check_probability(name: str, p) -> None:
  # Only Python numbers can be checked: a traced value has no value yet.
  if isinstance(p, numbers.Real) and not 0.0 <= p <= 1.0:
    raise ValueError(f"{name} must be a probability in [0, 1]; got {p}.")


def gaussian_noise(key: PRNGKey, x: ArrayLike, std: float | ArrayLike) -> Array:
  """Additive isotropic Gaussian noise.

  ``x̃ = x + std·ε``, ``ε ~ N(0, I)``: ``x̃ | x ~ N(x, std²·I)``. Not clipped to the
  data range.

  Args:
    key: a ``jax.random`` key, used once.
    x: any shape, e.g. (B, H, W, C) images.
    std: noise standard deviation ``σ ≥ 0``, a scalar (or an array broadcasting
      against ``x``).

  Returns:
    Array of ``x``'s shape (float32 for integer ``x``).

  Raises:
    ValueError: if ``std`` is a negative Python number.

  References:
    Vincent et al. Stacked Denoising Autoencoders. JMLR 2010 ("GS").

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.data.corruption import gaussian_noise
    >>> x = jnp.zeros((2, 3))
    >>> bool((gaussian_noise(jax.random.key(0), x, 0.0) == x).all())
    True
  """
  if isinstance(std, numbers.Real) and std < 0:
    raise ValueError(f"std must be >= 0; got {std}.")
  x = _as_float(x)
  return x + jnp.asarray(std, x.dtype) * jax.random.normal(key, x.shape, x.dtype)


def masking_noise(key: PRNGKey, x: ArrayLike, drop_prob: float | ArrayLike) -> Array:
  """Masking noise: each element is forced to 0 with probability ``drop_prob``.

  ``x̃_i = m_i·x_i``, ``m_i ~ Bernoulli(1 − drop_prob)`` independently; unlike dropout
  the kept elements are not rescaled.

  Args:
    key: a ``jax.random`` key, used once.
    x: any shape, e.g. (B, H, W, C) images.
    drop_prob: probability ``ν`` in [0, 1] that an element is zeroed.

  Returns:
    Array of ``x``'s shape: each element is ``x_i`` or 0.

  Raises:
    ValueError: if ``drop_prob`` is a Python number outside [0, 1].

  References:
    Vincent et al. Stacked Denoising Autoencoders. JMLR 2010 ("MN").

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.data.corruption import masking_noise
    >>> masking_noise(jax.random.key(0), jnp.ones(4), drop_prob=1.0)
    Array([0., 0., 0., 0.], dtype=float32)
  """
  _check_probability("drop_prob", drop_prob)
  x = _as_float(x)
  keep = jax.random.bernoulli(key, 1.0 - jnp.asarray(drop_prob, jnp.float32), x.shape)
  return jnp.where(keep, x, jnp.zeros_like(x))


def salt_and_pepper(key: PRNGKey, x: ArrayLike, prob: float | ArrayLike,
                    low: float = 0.0, high: float = 1.0) -> Array:
  """Salt-and-pepper noise: each element is set to ``low`` or ``high`` w.p. ``prob``.

  With probability ``prob`` an element is corrupted, and then set to ``low`` or
  ``high`` by a fair coin flip; otherwise it is kept:
  ``P(x̃_i = low) = P(x̃_i = high) = prob/2`` (plus ``1 − prob`` if ``x_i`` already
  equals it).

  Args:
    key: a ``jax.random`` key; split into one subkey for the corruption mask and one
      for the coin flips.
    x: any shape, e.g. (B, H, W, C) images in ``[low, high]``.
    prob: probability ``ν`` in [0, 1] that an element is corrupted.
    low: the "pepper" value, the data minimum (0 for [0, 1] images).
    high: the "salt" value, the data maximum (1 for [0, 1] images).

  Returns:
    Array of ``x``'s shape: each element is ``x_i``, ``low`` or ``high``.

  Raises:
    ValueError: if ``prob`` is a Python number outside [0, 1].

  References:
    Vincent et al. Stacked Denoising Autoencoders. JMLR 2010 ("SP").

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from jgen.data.corruption import salt_and_pepper
    >>> y = salt_and_pepper(jax.random.key(0), jnp.full(1000, 0.5), prob=1.0)
    >>> sorted(set(y.tolist()))
    [0.0, 1.0]
  """
  _check_probability("prob", prob)
  x = _as_float(x)
  mask_key, coin_key = jax.random.split(key)
  corrupt = jax.random.bernoulli(mask_key, jnp.asarray(prob, jnp.float32), x.shape)
  salt = jax.random.bernoulli(coin_key, 0.5, x.shape)
  noise = jnp.where(salt, jnp.asarray(high, x.dtype), jnp.asarray(low, x.dtype))
  return jnp.where(corrupt, noise, x)
