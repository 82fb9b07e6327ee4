"""A trained VQ-VAE as a data representation: images ↔ code maps, for a learned prior.

VQ-VAE (van den Oord et al. 2017, §3.2) is trained with a uniform prior over its codes
and sampled by fitting an autoregressive prior to the code maps of the training images,
then decoding the prior's samples; VQ-VAE-2 (Razavi et al. 2019) fits one prior per
level, the bottom one conditioned on the top codes. `load` reads a VQ-VAE (one level,
``model.arch='vq'``, or two, ``'vq2'``) trained by the ``vae`` task
(``experiments/configs/vqvae_fashion_mnist.py``) from its workdir: ``config.json`` and
the newest checkpoint. The `likelihood` task uses it when ``data.vqvae_workdir`` is
set: its data are then the code maps ``k(x) = argmin_k ‖z_e(x) − e_k‖`` of one level
(one channel of integers in ``[0, K)``), and its samples are the decoder's means of
the sampled maps (`jgen.tasks.vq_prior`).

References:
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
  Razavi, van den Oord, Vinyals. Generating Diverse High-Fidelity Images with
  VQ-VAE-2. NeurIPS 2019. arXiv:1906.00446.
"""

import functools
import os
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jgen import data
from jgen.tasks import vae
from jgen.train.checkpoint import restore_newest_state
from jgen.train.summaries import read_config
from jgen.train.vae_step import vq_codebooks


class CodeMaps(NamedTuple):
  """A trained VQ-VAE's encoder and decoder as functions of NumPy arrays.

  Attributes:
    shapes: ``((h, w, 1), …)``, one code map of each level (top first; one level for
      a VQ-VAE, two for a VQ-VAE-2).
    num_codes: ``K`` (every level's).
    dataset: the image dataset it was trained on (``data.name``).
    encode: uint8 images ``(N, H, W, C)`` → a tuple of code maps ``(N, h, w, 1)``
      uint16, one per level.
    decode: ``decode(*maps)``: code maps ``(N, h, w, 1)`` (integer-valued) of every
      level → uint8 images, the decoder's mean (jitted).
  """

  shapes: tuple[tuple[int, int, int], ...]
  num_codes: int
  dataset: str
  encode: Callable[[np.ndarray], tuple[np.ndarray, ...]]
  decode: Callable[..., jax.Array]


def _config(workdir: str) -> ml_collections.ConfigDict:
  stored = read_config(workdir)
  if stored is None:
    raise ValueError(f"data.vqvae_workdir={workdir!r} holds no config.json: train a VQ-VAE "
                     "there first (experiments/configs/vqvae_fashion_mnist.py).")
  config = ml_collections.ConfigDict(stored)
  if config.get("task") != "vae" or not vae.is_vq(config):
    raise ValueError(f"data.vqvae_workdir={workdir!r} holds a task={config.get('task')!r}, "
                     f"model.arch={config.model.get('arch')!r} run; a prior needs a VQ-VAE "
                     f"(task='vae', model.arch one of {vae.VQ_ARCHITECTURES}).")
  if config.data.preprocess in ("dynamic_binarize", "dequantize"):
    raise ValueError(f"data.vqvae_workdir={workdir!r}: its VQ-VAE saw randomly preprocessed "
                     f"images (data.preprocess={config.data.preprocess!r}); the code maps of "
                     "a prior's data must be deterministic.")
  return config


@functools.lru_cache(maxsize=2)
def load(workdir: str, batch_size: int = 500) -> CodeMaps:
  """The VQ-VAE of ``workdir`` (its newest checkpoint), encoding in batches.

  Raises:
    ValueError: when ``workdir`` holds no VQ-VAE run or no checkpoint.
  """
  config = _config(workdir)
  info = data.dataset_info(config.data.name)
  try:
    state = restore_newest_state(os.path.join(workdir, "checkpoints"),
                                 vae.init_state(config, info))
  except FileNotFoundError as e:
    raise ValueError(f"data.vqvae_workdir={workdir!r}: {e}") from e
  # The weights and codebooks (not the optimizer's moments) on the device once, passed
  # as arguments: closed over, they would be folded into the programs as constants.
  params, codebooks = jax.device_put((state.params, vq_codebooks(state)))
  apply = state.apply_fn

  @jax.jit
  def encode_batch(params, codebooks, images):
    x = data.preprocess_images(images, config.data.preprocess)
    levels = apply({"params": params}, x, codebooks, method="quantize")
    return tuple(out.indices.astype(jnp.uint16)[..., None] for _, out in levels)

  @jax.jit
  def decode_batch(params, codebooks, *codes):
    z_q = [jnp.take(book, jnp.asarray(c, jnp.int32)[..., 0], axis=0)
           for book, c in zip(codebooks, codes)]
    mean = apply({"params": params}, *z_q, method="decode").mean()
    return data.to_uint8(mean, config.data.preprocess)

  def encode(images: np.ndarray) -> tuple[np.ndarray, ...]:
    parts = [jax.device_get(encode_batch(params, codebooks, images[i:i + batch_size]))
             for i in range(0, len(images), batch_size)]
    return tuple(np.concatenate(level) for level in zip(*parts))

  maps = jax.eval_shape(encode_batch, params, codebooks,
                        jax.ShapeDtypeStruct((1, *info.shape), np.uint8))
  return CodeMaps(shapes=tuple(m.shape[1:] for m in maps),
                  num_codes=int(codebooks[0].shape[0]), dataset=config.data.name,
                  encode=encode, decode=functools.partial(decode_batch, params, codebooks))


__all__ = ["CodeMaps", "load"]
