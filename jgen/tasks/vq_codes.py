"""A trained VQ-VAE as a data representation: images ↔ code maps, for a learned prior.

VQ-VAE (van den Oord et al. 2017, §3.2) is trained with a uniform prior over its codes
and sampled by fitting an autoregressive prior to the code maps of the training images,
then decoding the prior's samples. `load` reads a VQ-VAE trained by the ``vae`` task
(``experiments/configs/vqvae_fashion_mnist.py``) from its workdir: ``config.json`` and
the newest checkpoint. The `likelihood` task uses it when ``data.vqvae_workdir`` is
set: its data are then the code maps ``k(x) = argmin_k ‖z_e(x) − e_k‖`` (one channel
of integers in ``[0, K)``), and its samples are the decoder's means of the sampled maps.

References:
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
"""

import functools
import json
import os
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jgen import data
from jgen.models import vector_quantize
from jgen.tasks import vae
from jgen.train.checkpoint import restore_newest_state
from jgen.train.vae_step import vq_codebook


class CodeMaps(NamedTuple):
  """A trained VQ-VAE's encoder and decoder as functions of NumPy arrays.

  Attributes:
    shape: ``(h, w, 1)``, one code map.
    num_codes: ``K``.
    dataset: the image dataset it was trained on (``data.name``).
    encode: uint8 images ``(N, H, W, C)`` → code maps ``(N, h, w, 1)`` uint16.
    decode: code maps ``(N, h, w, 1)`` (integer-valued) → uint8 images, the decoder's
      mean (jitted).
  """

  shape: tuple[int, int, int]
  num_codes: int
  dataset: str
  encode: Callable[[np.ndarray], np.ndarray]
  decode: Callable[[Any], jax.Array]


def _config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise ValueError(f"data.vqvae_workdir={workdir!r} holds no config.json: train a VQ-VAE "
                     "there first (experiments/configs/vqvae_fashion_mnist.py).")
  with open(path, encoding="utf-8") as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.get("task") != "vae" or config.model.arch != "vq":
    raise ValueError(f"data.vqvae_workdir={workdir!r} holds a task={config.get('task')!r}, "
                     f"model.arch={config.model.get('arch')!r} run; a prior needs a VQ-VAE "
                     "(task='vae', model.arch='vq').")
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
  codebook = vq_codebook(state)
  variables = {"params": state.params}

  # The parameters are arguments, not constants folded into the compiled programs.
  @jax.jit
  def encode_batch(variables, codebook, images):
    x = data.preprocess_images(images, config.data.preprocess)
    z_e = state.apply_fn(variables, x, method="encode")
    return vector_quantize(z_e, codebook).indices.astype(jnp.uint16)[..., None]

  @jax.jit
  def decode_batch(variables, codebook, codes):
    z_q = jnp.take(codebook, jnp.asarray(codes, jnp.int32)[..., 0], axis=0)
    mean = state.apply_fn(variables, z_q, method="decode").mean()
    return data.to_uint8(mean, config.data.preprocess)

  def encode(images: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(encode_batch(variables, codebook,
                                                   images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])

  h, w = jax.eval_shape(encode_batch, variables, codebook,
                        jax.ShapeDtypeStruct((1, *info.shape), np.uint8)).shape[1:3]
  return CodeMaps(shape=(h, w, 1), num_codes=int(codebook.shape[0]),
                  dataset=config.data.name, encode=encode,
                  decode=functools.partial(decode_batch, variables, codebook))


__all__ = ["CodeMaps", "load"]
