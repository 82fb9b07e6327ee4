"""Label-preserving augmentations of one image, pure and keyed (``vmap`` over keys)."""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

AUGMENTATIONS = ("none", "translate", "translate_flip")


def random_translate(key: PRNGKey, image: ArrayLike, max_shift: int) -> Array:
  """Shifts ``image`` (H, W, C) by up to ``max_shift`` pixels each way, zero-filled.

  The shift is uniform on ``{−max_shift, …, max_shift}²`` (a zero-padded random crop,
  as in the CIFAR-10 ResNet recipe of He et al. 2016, §4.2).
  """
  image = jnp.asarray(image)
  h, w, _ = image.shape
  padded = jnp.pad(image, ((max_shift, max_shift), (max_shift, max_shift), (0, 0)))
  dy, dx = jax.random.randint(key, (2,), 0, 2 * max_shift + 1)
  return jax.lax.dynamic_slice(padded, (dy, dx, 0), image.shape[:2] + image.shape[2:])[:h, :w]


def random_flip(key: PRNGKey, image: ArrayLike) -> Array:
  """Mirrors ``image`` (H, W, C) left-right with probability 1/2."""
  image = jnp.asarray(image)
  return jnp.where(jax.random.bernoulli(key), image[:, ::-1], image)


def augment_images(keys: PRNGKey, images: ArrayLike, kind: str, max_shift: int = 2) -> Array:
  """Augments a batch ``(B, H, W, C)`` with one key per example, by name.

  ``kind``: ``'none'``, ``'translate'`` (``random_translate``) or ``'translate_flip'``
  (then ``random_flip``).

  Raises:
    ValueError: for an unknown ``kind``.
  """
  if kind not in AUGMENTATIONS:
    raise ValueError(f"augmentation {kind!r} is not valid; choose from {AUGMENTATIONS}.")
  if kind == "none":
    return jnp.asarray(images)

  def one(key, image):
    shift_key, flip_key = jax.random.split(key)
    image = random_translate(shift_key, image, max_shift)
    return random_flip(flip_key, image) if kind == "translate_flip" else image
  return jax.vmap(one)(keys, images)


__all__ = ["AUGMENTATIONS", "augment_images", "random_flip", "random_translate"]
