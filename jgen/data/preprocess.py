"""Pure ``jnp`` image preprocessing, applied inside jitted steps.

The pipeline ships ``uint8`` images with values in ``[0, 255]`` (``BatchIterator``,
``load_split``); each model family turns them into its input here, on device:

- GANs: ``scale_to_symmetric`` (``tanh`` outputs), ``inverse_scale_to_uint8`` to
  write samples;
- flows: ``dequantize_uniform`` (continuous densities on discrete data);
- binary models (VAEs, NADE, PixelCNN on MNIST): ``binarize_static`` /
  ``binarize_dynamic``.

``binarized_mnist`` already holds ``{0, 1}`` pixels, not ``[0, 255]``: use
``images.astype(jnp.float32)`` for it, not a ``binarize_*`` function (``1/255``
is below any threshold).

Randomised functions take the key first, like ``jax.random``.
"""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey


def _as_float(images: ArrayLike) -> Array:
  return jnp.asarray(images).astype(jnp.float32)


def scale_to_symmetric(images: ArrayLike) -> Array:
  """Maps pixel values ``[0, 255]`` affinely onto ``[−1, 1]``.

  ``y = x / 127.5 − 1``, so 0 ↦ −1 and 255 ↦ 1: the range of a ``tanh`` generator.

  Args:
    images: any shape, e.g. ``(B, H, W, C)`` uint8, values in ``[0, 255]``.

  Returns:
    float32 array of the same shape, values in ``[−1, 1]``.

  References:
    Radford, Metz, Chintala. Unsupervised Representation Learning with Deep
    Convolutional Generative Adversarial Networks. ICLR 2016. arXiv:1511.06434.

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> data.scale_to_symmetric(np.array([0, 255], np.uint8))
    Array([-1.,  1.], dtype=float32)
  """
  return _as_float(images) / 127.5 - 1.0


def inverse_scale_to_uint8(x: ArrayLike) -> Array:
  """Maps ``[−1, 1]`` back to ``uint8`` pixels, for writing samples.

  ``y = clip(round((x + 1) · 127.5), 0, 255)`` as uint8, the inverse of
  ``scale_to_symmetric`` on its range; values outside ``[−1, 1]`` are clipped and
  NaN maps to 0 (a diverged generator shows black, not undefined bytes).

  Args:
    x: any shape, e.g. ``(B, H, W, C)`` float generator outputs.

  Returns:
    uint8 array of the same shape.

  Example:
    >>> from jgen import data
    >>> data.inverse_scale_to_uint8([-1.0, 0.0, 1.0, 3.0])
    Array([  0, 128, 255, 255], dtype=uint8)
  """
  x = jnp.nan_to_num(_as_float(x), nan=-1.0)
  return jnp.clip(jnp.round((x + 1.0) * 127.5), 0.0, 255.0).astype(jnp.uint8)


def dequantize_uniform(key: PRNGKey, images: ArrayLike) -> Array:
  """Uniform dequantization of 8-bit images onto ``[0, 1)``.

  ``y = (x + u) / 256`` with ``u ~ U[0, 1)`` independently per pixel, so each
  pixel value ``x`` owns the cell ``[x/256, (x+1)/256)``. A continuous density ``p``
  on ``y`` then bounds the discrete log-likelihood,
  ``E_u[log p(y)] − D·log 256 ≤ log P(x)`` for ``D`` pixels, which is how flows
  report bits/dim. Float32 rounding can round ``(x + u)/256`` up to the cell's upper
  edge ``(x + 1)/256`` when ``u`` is within ``~1e-5`` of 1, so the result is clipped to
  the largest float32 below that edge: ``floor(256·y) = x`` always, and ``y < 1``.

  Args:
    key: a ``jax.random`` key, used once.
    images: any shape, e.g. ``(B, H, W, C)`` uint8, integer values in ``[0, 255]``.

  Returns:
    float32 array of the same shape, values in ``[0, 1)``; ``E[y] = (x + 0.5)/256``.

  References:
    Uria, Murray, Larochelle. RNADE: The real-valued neural autoregressive
    density-estimator. NeurIPS 2013. arXiv:1306.0186.
    Theis, van den Oord, Bethge. A note on the evaluation of generative models.
    ICLR 2016. arXiv:1511.01844.

  Example:
    >>> import jax
    >>> from jgen import data
    >>> y = data.dequantize_uniform(jax.random.key(0), [0, 255])
    >>> bool(((0.0 <= y) & (y < 1.0)).all())
    True
  """
  x = _as_float(images)
  u = jax.random.uniform(key, x.shape, dtype=jnp.float32)
  upper_edge = (x + 1.0) / 256.0
  return jnp.minimum((x + u) / 256.0, jnp.nextafter(upper_edge, 0.0))


def binarize_static(images: ArrayLike, threshold: float = 0.5) -> Array:
  """Deterministic binarization by thresholding the intensity.

  ``y = 1[x / 255 > threshold]``.

  Args:
    images: any shape, e.g. ``(B, H, W, C)`` uint8, values in ``[0, 255]``.
    threshold: intensity threshold in ``[0, 1]``.

  Returns:
    float32 array of the same shape, values in ``{0, 1}``.

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> data.binarize_static(np.array([0, 127, 128, 255], np.uint8))
    Array([0., 0., 1., 1.], dtype=float32)
  """
  return (_as_float(images) / 255.0 > threshold).astype(jnp.float32)


def binarize_dynamic(key: PRNGKey, images: ArrayLike) -> Array:
  """Dynamic binarization: a fresh Bernoulli sample of every pixel.

  ``y ~ Bernoulli(x / 255)`` independently per pixel, redrawn at every step (a new
  ``key``), so ``E[y] = x / 255`` and the model never overfits one binarization.

  Args:
    key: a ``jax.random`` key, used once.
    images: any shape, e.g. ``(B, H, W, C)`` uint8, values in ``[0, 255]``.

  Returns:
    float32 array of the same shape, values in ``{0, 1}``.

  References:
    Salakhutdinov, Murray. On the Quantitative Analysis of Deep Belief Networks.
    ICML 2008.

  Example:
    >>> import jax
    >>> from jgen import data
    >>> data.binarize_dynamic(jax.random.key(0), [0, 255])
    Array([0., 1.], dtype=float32)
  """
  p = _as_float(images) / 255.0
  return jax.random.bernoulli(key, p).astype(jnp.float32)


# What a model sees of uint8 images; each kind's inverse gives back uint8 pixels.
PREPROCESSING = ("binary", "dynamic_binarize", "static_binarize", "unit", "symmetric",
                 "dequantize", "levels")


def preprocess_images(images: ArrayLike, kind: str, keys: PRNGKey | None = None) -> Array:
  """uint8 images → the float data a model is trained on, by name.

  - ``'binary'``: images already in {0, 1} (binarized MNIST), cast to float32;
  - ``'dynamic_binarize'``: ``binarize_dynamic`` with one key per example;
  - ``'static_binarize'``: ``binarize_static`` (threshold 0.5);
  - ``'unit'``: ``x / 255`` in [0, 1];
  - ``'symmetric'``: ``scale_to_symmetric``, [−1, 1];
  - ``'dequantize'``: ``dequantize_uniform`` with one key per example, [0, 1) (flows);
  - ``'levels'``: the stored integers as float32, ``{0, …, 255}`` (the classes of a
    256-way softmax), or any integer data such as a VQ-VAE's code indices.

  Args:
    images: ``(B, H, W, C)`` uint8.
    kind: one of ``PREPROCESSING``.
    keys: ``(B,)`` typed keys for ``'dynamic_binarize'`` and ``'dequantize'`` (e.g.
      ``jgen.train.parallel.example_keys``, so the draw does not depend on the device
      count); unused otherwise.

  Returns:
    float32 ``(B, H, W, C)``.

  Raises:
    ValueError: for an unknown ``kind``, or a random ``kind`` without keys.
  """
  if kind == "binary":
    return _as_float(images)
  if kind in ("dynamic_binarize", "dequantize"):
    if keys is None:
      raise ValueError(f"preprocess_images: {kind!r} needs one key per example.")
    fn = binarize_dynamic if kind == "dynamic_binarize" else dequantize_uniform
    return jax.vmap(fn)(keys, images)
  if kind == "static_binarize":
    return binarize_static(images)
  if kind == "unit":
    return _as_float(images) / 255.0
  if kind == "symmetric":
    return scale_to_symmetric(images)
  if kind == "levels":
    return _as_float(images)
  raise ValueError(f"Unknown preprocessing {kind!r}; valid: {', '.join(PREPROCESSING)}.")


def to_unit_interval(x: ArrayLike, kind: str) -> Array:
  """Model-scale data (or a model's mean image) → intensities in [0, 1], unclipped.

  The inverse of ``preprocess_images`` up to the factor 255: ``(x + 1)/2`` for
  ``'symmetric'`` data, ``x/255`` for ``'levels'``, ``x`` for every other kind.
  """
  x = jnp.asarray(x)
  if kind == "levels":
    return x / 255.0
  return (x + 1.0) / 2.0 if kind == "symmetric" else x


def to_uint8(x: ArrayLike, kind: str) -> Array:
  """Model-scale images → uint8 pixels for figures and ``samples.npz`` (clipped).

  Dequantized data go back to their bin, ``floor(256·y)``; other kinds round ``255·x``.
  """
  if kind == "dequantize":
    return jnp.clip(jnp.floor(jnp.asarray(x) * 256.0), 0, 255).astype(jnp.uint8)
  return jnp.clip(jnp.round(to_unit_interval(x, kind) * 255.0), 0, 255).astype(jnp.uint8)
