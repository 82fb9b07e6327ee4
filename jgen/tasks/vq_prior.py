"""A VQ-VAE's learned prior on the likelihood task: which level, its data, its samples.

``data.vqvae_workdir`` names a trained VQ-VAE (`jgen.tasks.vq_codes`) and
``data.vq_level`` the level of its codes that the PixelCNN-family model learns:

- ``''``: a one-level VQ-VAE's code maps (van den Oord et al. 2017); samples decoded.
- ``'top'``: a VQ-VAE-2's top maps, unconditionally (Razavi et al. 2019). The decoder
  needs both levels, so this run reports the exact NLL of the top maps and draws no
  images: the bottom run samples the whole hierarchy.
- ``'bottom'``: a VQ-VAE-2's bottom maps given the top map of the same image: a
  ``GatedPixelCNN`` whose ``labels`` are the top map (``condition_shape``), trained and
  evaluated on the encoder's top maps (teacher forcing). ``data.top_prior_workdir``
  names the top level's run; a sample is top prior → bottom prior → decoder.

The NLL of a two-level code is the sum of the two runs' NLLs:
``−log p(k_t, k_b) = −log p(k_t) − log p(k_b | k_t)``.

References:
  van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning.
  NeurIPS 2017. arXiv:1711.00937.
  Razavi, van den Oord, Vinyals. Generating Diverse High-Fidelity Images with
  VQ-VAE-2. NeurIPS 2019, §3.2 and Algorithm 2. arXiv:1906.00446.
"""

import functools
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jgen.tasks import vq_codes
from jgen.tasks.base import check_choices
from jgen.train.checkpoint import restore_newest_state
from jgen.train.summaries import read_config

LEVELS = ("", "top", "bottom")


def code_maps(config) -> vq_codes.CodeMaps | None:
  """The VQ-VAE whose code maps are the data (``data.vqvae_workdir``), or None."""
  workdir = config.data.get("vqvae_workdir", "")
  return vq_codes.load(workdir) if workdir else None


def level(config) -> str:
  """``data.vq_level``: ``''``, ``'top'`` or ``'bottom'``."""
  return config.data.get("vq_level", "")


def _index(config) -> int:
  return 1 if level(config) == "bottom" else 0


def is_bottom(config) -> bool:
  """A VQ-VAE-2 bottom prior: conditioned on the top maps, its ``labels``."""
  return bool(config.data.get("vqvae_workdir", "")) and level(config) == "bottom"


def draws_images(config) -> bool:
  """False for a top-level prior: its maps decode only with a bottom map."""
  return level(config) != "top" or not config.data.get("vqvae_workdir", "")


def validate(config, info, pixelcnns) -> None:
  """Checks a prior's config (``pixelcnns``: the architectures it may use).

  Raises:
    ValueError: naming the bad value: a level that does not fit the VQ-VAE, a bottom
      prior without a trained top prior (or with one of another VQ-VAE), a model that
      cannot read a label map.
  """
  if not config.data.get("vqvae_workdir", ""):
    for name in ("vq_level", "top_prior_workdir"):
      if config.data.get(name, ""):
        raise ValueError(f"data.{name}={config.data[name]!r} is for a VQ-VAE prior: set "
                         "data.vqvae_workdir too.")
    return
  if config.model.arch not in pixelcnns:
    raise ValueError(f"data.vqvae_workdir is set: a VQ-VAE prior is a PixelCNN-family model, "
                     f"model.arch one of {tuple(pixelcnns)}; got {config.model.arch!r}.")
  check_choices({"data.vq_level": (level(config), LEVELS)})
  codes = code_maps(config)
  if config.data.preprocess != "levels":
    raise ValueError(f"data.vqvae_workdir is set: the data are code indices, "
                     f"data.preprocess='levels'; got {config.data.preprocess!r}.")
  if codes.dataset != info.name:
    raise ValueError(f"data.vqvae_workdir={config.data.vqvae_workdir!r} holds a VQ-VAE of "
                     f"{codes.dataset!r}; data.name={info.name!r}.")
  two_level = len(codes.shapes) == 2
  if two_level != (level(config) != ""):
    raise ValueError(
        f"data.vq_level={level(config)!r} does not fit the {len(codes.shapes)}-level VQ-VAE "
        f"of data.vqvae_workdir={config.data.vqvae_workdir!r}: use "
        f"{'top or bottom' if two_level else 'the empty string'}.")
  top_workdir = config.data.get("top_prior_workdir", "")
  if level(config) != "bottom":
    if top_workdir:
      raise ValueError(f"data.top_prior_workdir={top_workdir!r} is for a bottom prior "
                       f"(data.vq_level='bottom'); data.vq_level={level(config)!r}.")
    return
  if config.model.arch != "gated_pixelcnn":
    raise ValueError(f"data.vq_level='bottom' reads the top map as a map of labels, which "
                     f"model.arch='gated_pixelcnn' offers; got {config.model.arch!r}.")
  if "num_classes" in config.model.pixelcnn:
    raise ValueError(f"model.pixelcnn.num_classes={config.model.pixelcnn.num_classes}: a "
                     "bottom prior's labels are the top codes, set by the task; leave it out.")
  if not top_workdir:
    raise ValueError("data.vq_level='bottom' needs data.top_prior_workdir: the workdir of the "
                     "top level's prior (data.vq_level='top'), which its samples start from.")
  top = top_config(top_workdir)
  same = os.path.realpath(top.data.get("vqvae_workdir", "") or "/nonexistent") == (
      os.path.realpath(config.data.vqvae_workdir))
  if top.get("task") != "likelihood" or top.data.get("vq_level", "") != "top" or not same:
    raise ValueError(f"data.top_prior_workdir={top_workdir!r} holds no top prior of "
                     f"data.vqvae_workdir={config.data.vqvae_workdir!r} (its task="
                     f"{top.get('task')!r}, data.vq_level={top.data.get('vq_level', '')!r}, "
                     f"data.vqvae_workdir={top.data.get('vqvae_workdir', '')!r}).")
  if top.model.get("pixelcnn", {}).get("num_classes", 0):
    raise ValueError(f"data.top_prior_workdir={top_workdir!r} holds a class-conditional top "
                     "prior; the hierarchy samples its top maps unconditionally.")
  checkpoints = os.path.join(top_workdir, "checkpoints")
  if not os.path.isdir(checkpoints) or not any(n.isdigit() for n in os.listdir(checkpoints)):
    raise ValueError(f"data.top_prior_workdir={top_workdir!r} holds no checkpoint yet: "
                     "train the top prior first.")


def top_config(workdir: str) -> ml_collections.ConfigDict:
  """The config of the top prior's run in ``workdir``."""
  stored = read_config(workdir)
  if stored is None:
    raise ValueError(f"data.top_prior_workdir={workdir!r} holds no config.json: train the "
                     "top prior there first (experiments/configs/pixelcnn.py:vq2_top).")
  return ml_collections.ConfigDict(stored)


def model_kwargs(config) -> dict:
  """A prior's data-given model arguments: shape, categories, a bottom prior's labels."""
  codes = code_maps(config)
  kwargs = {"event_shape": codes.shapes[_index(config)], "num_categories": codes.num_codes}
  if is_bottom(config):
    kwargs |= {"num_classes": codes.num_codes, "condition_shape": codes.shapes[0][:2]}
  return kwargs


def arrays(config, images: np.ndarray, key: str) -> dict[str, np.ndarray]:
  """The prior's data of uint8 images (N, H, W, C): ``{key: its level's maps}`` (N, h, w,
  1) uint16, and for a bottom prior ``'label'``: the top maps (N, h/2, w/2) int32."""
  maps = code_maps(config).encode(images)
  out = {key: maps[_index(config)]}
  return out | ({"label": maps[0][..., 0].astype(np.int32)} if is_bottom(config) else {})


def decoder(config):
  """``(maps, labels) -> uint8 images (N, H, W, C)``: one-level maps (N, h, w, 1) decoded,
  or bottom maps (N, h, w, 1) with their top maps (``labels``, (N, h/2, w/2))."""
  decode = code_maps(config).decode
  if is_bottom(config):
    return lambda x, labels: decode(jnp.asarray(labels)[..., None], x)
  return lambda x, labels=None: decode(x)


_TOP_STATES = {}  # Top prior workdir -> its restored state, once per process.


def _top_state(workdir: str, init_state, info):
  key = os.path.realpath(workdir)
  if key not in _TOP_STATES:
    top = top_config(workdir)
    try:
      # On the device once: every draw would copy host arrays otherwise.
      _TOP_STATES[key] = jax.device_put(restore_newest_state(
          os.path.join(workdir, "checkpoints"), init_state(top, info)))
    except FileNotFoundError as e:
      raise ValueError(f"data.top_prior_workdir={workdir!r}: {e}") from e
  return _TOP_STATES[key]


@functools.partial(jax.jit, static_argnums=2)
def _sample_top(state, key, n):
  x = state.apply_fn({"params": state.params}, key, n, None, method="sample")
  return x[..., 0].astype(jnp.int32)


def top_sampler(config, info, init_state):
  """``sample(key, n)``: top maps (n, h, w) int32 from ``data.top_prior_workdir``'s newest
  checkpoint (``init_state(config, info)``: the likelihood task's state template),
  restored at the first draw and kept for the process.

  Raises (at the first draw):
    ValueError: when the top prior's workdir holds no checkpoint that restores.
  """
  return lambda key, n: _sample_top(
      _top_state(config.data.top_prior_workdir, init_state, info), key, n)


__all__ = ["LEVELS", "arrays", "code_maps", "decoder", "draws_images", "is_bottom",
           "level", "model_kwargs", "top_config", "top_sampler", "validate"]
