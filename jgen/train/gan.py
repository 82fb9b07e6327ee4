"""GAN experiments: config → data, models, state, step → the shared loop → figures.

``train_and_evaluate(config, workdir)`` is what ``python -m experiments.gan`` runs;
``sample(config, workdir)`` regenerates ``samples.npz`` from the newest checkpoint.
"""

from collections.abc import Mapping
import functools
import os
import time
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jgen import data
from jgen.metrics import mode_coverage
from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.latents import interpolation_grid
from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.train import parallel
from jgen.train.checkpoint import restore_newest_state
from jgen.train.gan_state import GANState
from jgen.train.gan_state import create_gan_state
from jgen.train.gan_step import gan_loss_pair
from jgen.train.gan_step import gan_train_step
from jgen.train.loop import PeriodicHook
from jgen.train.loop import train_loop
from jgen.train.summaries import image_grid
from jgen.train.summaries import open_run
from jgen.train.summaries import save_png
from jgen.train.summaries import scatter_plot
from jgen.train.summaries import write_summary
from jgen.typing import Array
from jgen.typing import PRNGKey

IMAGE_DATASETS = ("mnist", "fashion_mnist", "cifar10")
ARCHITECTURES = ("mlp", "dcgan")
# Fold-in tags for evaluation draws, far above any step (training folds in the step).
_SAMPLE_TAG, _EVAL_TAG, _INTERP_TAG = 2**32 - 1, 2**32 - 2, 2**32 - 3


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every user-facing choice before any work starts.

  Raises:
    ValueError: naming the bad value and the valid choices.
  """
  datasets = tuple(data.TOY_DATASETS) + IMAGE_DATASETS
  if config.data.name not in datasets:
    raise ValueError(f"data.name={config.data.name!r} is not valid; choose from {datasets}.")
  if config.model.arch not in ARCHITECTURES:
    raise ValueError(
        f"model.arch={config.model.arch!r} is not valid; choose from {ARCHITECTURES}.")
  is_toy = config.data.name in data.TOY_DATASETS
  if is_toy != (config.model.arch == "mlp"):
    raise ValueError(
        f"model.arch={config.model.arch!r} does not fit data.name={config.data.name!r}: "
        "use 'mlp' for the 2-D toys and 'dcgan' for images.")
  gan_loss_pair(config.loss.name)  # Raises with the valid names.
  positive = {
      "data.batch_size": config.data.batch_size,
      "model.latent_dim": config.model.latent_dim,
      "loss.n_critic": config.loss.n_critic,
      "training.num_steps": config.training.num_steps,
      "training.log_every": config.training.log_every,
      "training.checkpoint_every": config.training.checkpoint_every,
      "eval.every": config.eval.every,
      "eval.num_samples": config.eval.num_samples,
  }
  for name, value in positive.items():
    if not isinstance(value, int) or value <= 0:
      raise ValueError(f"{name}={value!r} is not valid; it must be a positive integer.")
  for name in ("g_lr", "d_lr"):
    if not config.optim[name] > 0:
      raise ValueError(f"optim.{name}={config.optim[name]!r} must be > 0.")
  if not 0.0 <= config.training.ema_decay < 1.0:
    raise ValueError(
        f"training.ema_decay={config.training.ema_decay!r} must be in [0, 1) (0 disables).")
  devices = jax.device_count()
  if config.data.batch_size % devices:
    raise ValueError(
        f"data.batch_size={config.data.batch_size} must be divisible by the "
        f"{devices} devices.")


def _models(config, data_shape):
  if config.model.arch == "mlp":
    hidden = (config.model.hidden,) * 4
    return (MLPGenerator(data_dim=data_shape[-1], hidden=hidden),
            MLPDiscriminator(hidden=hidden))
  size, channels = data_shape[0], data_shape[-1]
  # Batch norm averages over the pmap axis: global-batch statistics.
  generator = DCGANGenerator(
      image_size=size, channels=channels, base_features=config.model.base_features,
      bn_axis_name=parallel.AXIS_NAME, use_subpixel=config.model.use_subpixel)
  return generator, DCGANDiscriminator(image_size=size,
                                       base_features=config.model.base_features)


def _batches(config) -> tuple[Any, tuple[int, ...]]:
  """The training batch iterator and the shape of one example."""
  if config.data.name in data.TOY_DATASETS:
    it = data.BatchIterator(config.data.name, global_batch_size=config.data.batch_size,
                            seed=config.seed)
    return it, (2,)
  arrays = data.load_split(config.data.name, "train", data_dir=config.data.data_dir or None,
                           npz_dir=config.data.npz_dir or None)
  arrays = {"image": arrays["image"]}
  it = data.BatchIterator(arrays, global_batch_size=config.data.batch_size, seed=config.seed)
  return it, arrays["image"].shape[1:]


def _real_data(batch: Mapping[str, Array]) -> Array:
  """uint8 images → [−1, 1]; toy points pass through."""
  if "image" in batch:
    return data.scale_to_symmetric(batch["image"])
  return batch["x"].astype(jnp.float32)


def make_state(config, data_shape) -> GANState:
  generator, discriminator = _models(config, data_shape)

  def adam(lr):
    return optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)

  return create_gan_state(
      jax.random.key(config.seed), generator, discriminator,
      adam(config.optim.g_lr), adam(config.optim.d_lr),
      latent_dim=config.model.latent_dim, data_shape=tuple(data_shape),
      use_ema=config.training.ema_decay > 0)


def make_step(config):
  """The pure step ``(state, batch, axis_name) -> (state, metrics)`` of this config."""
  def step(state, batch, axis_name=None):
    return gan_train_step(
        state, _real_data(batch), loss=config.loss.name,
        latent_dim=config.model.latent_dim, n_critic=config.loss.n_critic,
        gp_weight=config.loss.gp_weight, clip_value=config.loss.clip_value,
        ema_decay=config.training.ema_decay or 0.999, axis_name=axis_name)
  return step


@functools.partial(jax.jit, static_argnums=0)
def _eval_apply(g_apply, variables, z: Array) -> Array:
  # Module-level and keyed on the (static) apply function: compiled once per run,
  # not once per evaluation.
  return g_apply(variables, z, train=False)


def generate(state: GANState, key: PRNGKey, num: int, latent_dim: int,
             chunk: int = 1000) -> np.ndarray:
  """``num`` samples from the (EMA) generator in eval mode, in chunks; host float32."""
  apply = functools.partial(_eval_apply, state.g_apply)
  variables = state.generator_variables(ema=True)
  out = []
  for i, start in enumerate(range(0, num, chunk)):
    z = jax.random.normal(jax.random.fold_in(key, i), (min(chunk, num - start), latent_dim))
    out.append(np.asarray(apply(variables, z)))
  return np.concatenate(out)


def _to_uint8(images: np.ndarray) -> np.ndarray:
  return np.asarray(data.inverse_scale_to_uint8(images))


class _Evaluator:
  """Periodic figures and metrics, and the final artefacts."""

  def __init__(self, config, workdir, writer, reference: np.ndarray | None):
    self.config, self.workdir, self.writer = config, workdir, writer
    self.reference = reference
    self.is_toy = config.data.name in data.TOY_DATASETS
    self.latent_dim = config.model.latent_dim
    self.last: dict[str, float] = {}

  def periodic(self, step: int, state: GANState) -> None:
    key = jax.random.fold_in(state.base_key, _EVAL_TAG)
    if self.is_toy:
      samples = generate(state, key, self.config.eval.num_eval_samples, self.latent_dim)
      modes, std = data.TOY_DATASETS[self.config.data.name]
      result = mode_coverage(samples, modes, std)
      self.last = {"modes_covered": result["modes_covered"], "num_modes": result["num_modes"],
                   "high_quality_fraction": result["high_quality_fraction"],
                   "reverse_kl": result["reverse_kl"],
                   "num_eval_samples": result["num_samples"]}
      self.writer.write_scalars(step, {f"eval_{k}": v for k, v in self.last.items()})
      # A fixed frame around the modes, so that figures of different steps compare.
      half = float(np.abs(modes).max()) * 1.5
      image = scatter_plot(samples, reference=self.reference, modes=modes,
                           extent=(-half, half, -half, half))
      logging.info("step %d: %d/%d modes covered, %.1f%% high quality, reverse KL %.3f",
                   step, result["modes_covered"], result["num_modes"],
                   100 * result["high_quality_fraction"], result["reverse_kl"])
    else:
      image = image_grid(_to_uint8(generate(state, key, 64, self.latent_dim)))
    self._save_png(f"samples_{step:07d}.png", image)
    self.writer.write_images(step, {"samples": image})

  def _save_png(self, name: str, image: np.ndarray) -> None:
    if jax.process_index() == 0:
      save_png(os.path.join(self.workdir, "figures", name), image)

  def final(self, step: int, state: GANState) -> dict[str, Any]:
    samples = write_samples(self.config, self.workdir, state)
    if not self.is_toy:
      key = jax.random.fold_in(state.base_key, _INTERP_TAG)
      z = jax.random.normal(key, (2, 8, self.latent_dim))
      apply = functools.partial(_eval_apply, state.g_apply)
      for method in ("linear", "slerp"):
        grid = interpolation_grid(z[0], z[1], 10, method=method)  # (8, 10, d)
        images = apply(state.generator_variables(ema=True), grid.reshape(-1, self.latent_dim))
        self._save_png(f"interpolation_{method}.png",
                       image_grid(_to_uint8(np.asarray(images)), ncol=10))
    return {"step": step, "num_samples": int(samples.shape[0]), **self.last}


def write_samples(config, workdir: str, state: GANState) -> np.ndarray:
  """Writes ``samples.npz`` (key ``samples``): uint8 NHWC images or float32 points."""
  key = jax.random.fold_in(state.base_key, _SAMPLE_TAG)
  samples = generate(state, key, config.eval.num_samples, config.model.latent_dim)
  if config.data.name not in data.TOY_DATASETS:
    samples = _to_uint8(samples)
  if jax.process_index() == 0:
    np.savez(os.path.join(workdir, "samples.npz"), samples=samples)
  return samples


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the configured GAN in ``workdir`` (resuming if it holds checkpoints).

  Writes checkpoints, ``metrics.jsonl`` and TensorBoard events, sample figures
  (``figures/``), for image models latent interpolation grids, ``samples.npz`` and
  ``summary.json``.

  Returns:
    The summary dict written to ``summary.json``.
  """
  validate_config(config)
  writer = open_run(workdir, config.to_dict())
  batches, data_shape = _batches(config)
  reference = None
  if config.data.name in data.TOY_DATASETS:
    reference = data.sample_toy(config.data.name, np.random.default_rng(1), 2500)
  evaluator = _Evaluator(config, workdir, writer, reference)
  t0 = time.perf_counter()
  state = train_loop(
      make_state(config, data_shape), make_step(config), batches,
      workdir=workdir, num_steps=config.training.num_steps,
      batches_per_step=config.loss.n_critic, log_every=config.training.log_every,
      checkpoint_every=config.training.checkpoint_every,
      max_to_keep=config.training.max_to_keep,
      hooks=[PeriodicHook(config.eval.every, evaluator.periodic)], writer=writer)
  summary = evaluator.final(int(state.step), state)
  summary["train_seconds_this_run"] = time.perf_counter() - t0
  write_summary(workdir, summary)
  writer.close()
  return summary


def sample(config: ml_collections.ConfigDict, workdir: str) -> np.ndarray:
  """Regenerates ``samples.npz`` from the newest checkpoint in ``workdir``.

  Raises:
    FileNotFoundError: when ``workdir`` holds no checkpoint.
  """
  validate_config(config)
  data_shape = (2,) if config.data.name in data.TOY_DATASETS else _image_shape(config)
  state = restore_newest_state(os.path.join(workdir, "checkpoints"),
                               make_state(config, data_shape))
  return write_samples(config, workdir, state)


def _image_shape(config) -> tuple[int, int, int]:
  return {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1),
          "cifar10": (32, 32, 3)}[config.data.name]
