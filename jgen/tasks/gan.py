"""The GAN task: two players, ``n_critic`` D updates per G update (`jgen.train.gan_step`).

Config (see ``experiments/configs/gan_ring8.py``): ``model.arch`` ``'mlp'`` for the 2-D
toys or ``'dcgan'`` for images, ``loss.name`` any name of ``gan_loss_pair``,
``loss.n_critic`` batches per step (grouped here, so the loop sees one batch per
step), Adam for both players, an optional generator EMA. Evaluation: mode coverage
(VEEGAN/PacGAN protocol) on the toys; sample grids, scatter plots and latent
interpolations as figures.
"""

import functools

from absl import logging
import jax
import numpy as np
import optax

from jgen import data
from jgen.figures import image_grid
from jgen.figures import scatter_plot
from jgen.metrics import discriminator_two_sample_test
from jgen.metrics import mode_coverage
from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.latents import interpolation_grid
from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.tasks.base import Task
from jgen.tasks.base import check_choices
from jgen.tasks.base import check_positive
from jgen.tasks.base import load_arrays
from jgen.train import parallel
from jgen.train import rng
from jgen.train.gan_state import GANState
from jgen.train.gan_state import create_gan_state
from jgen.train.gan_step import gan_loss_pair
from jgen.train.gan_step import gan_train_step
from jgen.typing import Array
from jgen.typing import PRNGKey

ARCHITECTURES = ("mlp", "dcgan")


def validate(config, info) -> None:
  check_choices({"model.arch": (config.model.arch, ARCHITECTURES)})
  if info.is_toy != (config.model.arch == "mlp"):
    raise ValueError(
        f"model.arch={config.model.arch!r} does not fit data.name={config.data.name!r}: "
        "use 'mlp' for the 2-D toys and 'dcgan' for images.")
  if info.is_toy and config.data.name not in data.TOY_DATASETS:
    raise ValueError(f"data.name={config.data.name!r}: the GAN task scores mode coverage, "
                     f"so its toys are the mixtures {tuple(data.TOY_DATASETS)}.")
  gan_loss_pair(config.loss.name)  # Raises with the valid names.
  check_positive(config, "model.latent_dim", "loss.n_critic", "eval.num_eval_samples")
  for name in ("g_lr", "d_lr"):
    if not config.optim[name] > 0:
      raise ValueError(f"optim.{name}={config.optim[name]!r} must be > 0.")
  if not 0.0 <= config.training.ema_decay < 1.0:
    raise ValueError(
        f"training.ema_decay={config.training.ema_decay!r} must be in [0, 1) (0 disables).")


def _models(config, shape):
  if config.model.arch == "mlp":
    hidden = (config.model.hidden,) * 4
    return MLPGenerator(data_dim=shape[-1], hidden=hidden), MLPDiscriminator(hidden=hidden)
  # Batch norm averages over the data-parallel axis: global-batch statistics.
  generator = DCGANGenerator(
      image_size=shape[0], channels=shape[-1], base_features=config.model.base_features,
      bn_axis_name=parallel.step_axis_name(), use_subpixel=config.model.use_subpixel)
  return generator, DCGANDiscriminator(image_size=shape[0],
                                       base_features=config.model.base_features)


def init_state(config, info) -> GANState:
  generator, discriminator = _models(config, info.shape)

  def adam(lr):
    return optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)

  return create_gan_state(
      jax.random.key(config.seed), generator, discriminator,
      adam(config.optim.g_lr), adam(config.optim.d_lr),
      latent_dim=config.model.latent_dim, data_shape=info.shape,
      use_ema=config.training.ema_decay > 0)


def train_step(config, info):
  """``step(state, batch, axis_name)``; ``batch`` leaves are ``(n_critic, B, ...)``."""
  del info

  def step(state, batch, axis_name=None):
    real = (data.scale_to_symmetric(batch["image"]) if "image" in batch
            else batch["x"].astype(np.float32))
    return gan_train_step(
        state, real, loss=config.loss.name, latent_dim=config.model.latent_dim,
        n_critic=config.loss.n_critic, gp_weight=config.loss.gp_weight,
        clip_value=config.loss.clip_value, ema_decay=config.training.ema_decay,
        axis_name=axis_name)
  return step


def batches(config, iterator):
  return data.GroupedBatches(iterator, config.loss.n_critic)


@functools.partial(jax.jit, static_argnums=0)
def _eval_apply(g_apply, variables, z: Array) -> Array:
  # Module-level and keyed on the (static) apply function: compiled once per run.
  return g_apply(variables, z, train=False)


def generate(state: GANState, key: PRNGKey, num: int, latent_dim: int,
             chunk: int = 1000) -> np.ndarray:
  """``num`` samples from the (EMA) generator in eval mode, in chunks; host float32."""
  variables = state.generator_variables(ema=True)
  out = []
  for i, start in enumerate(range(0, num, chunk)):
    z = jax.random.normal(jax.random.fold_in(key, i), (min(chunk, num - start), latent_dim))
    out.append(np.asarray(_eval_apply(state.g_apply, variables, z)))
  return np.concatenate(out)


def sampler(config, info):
  """``draw(state, key, num)``: uint8 NHWC images, or float32 points for a toy."""
  def draw(state: GANState, key: PRNGKey, num: int) -> np.ndarray:
    samples = generate(state, key, num, config.model.latent_dim)
    return samples if info.is_toy else np.asarray(data.inverse_scale_to_uint8(samples))
  return draw


def _discriminator_test(config):
  """The trained discriminator as a two-sample test statistic (images).

  Its scores on ``eval.discriminator_test_size`` held-out real images (the
  ``eval.split``, never trained on) against as many fresh samples of the (EMA)
  generator, with a permutation p-value (`jgen.metrics.discriminator_two_sample_test`).
  A small p-value: the discriminator still tells the generator's samples from real data.
  """
  n = config.eval.discriminator_test_size
  real = data.scale_to_symmetric(load_arrays(config, config.eval.split)["image"][:n])
  scores = jax.jit(lambda state, x: state.d_apply({"params": state.d_params}, x).ravel())

  def evaluate(state: GANState, final: bool):
    del final  # Cheap: the same test every time.
    key = _eval_key(state)
    fake = generate(state, jax.random.fold_in(key, 0), real.shape[0],
                    config.model.latent_dim)
    result = discriminator_two_sample_test(np.asarray(scores(state, real)),
                                           np.asarray(scores(state, fake)),
                                           jax.random.fold_in(key, 1))
    return {"discriminator_test_statistic": float(result.statistic),
            "discriminator_test_p_value": float(result.p_value),
            "discriminator_test_size": int(real.shape[0])}
  return evaluate


def evaluators(config, info):
  if not info.is_toy:  # Sample-quality metrics come from the trainer (eval.sample_metrics).
    return [_discriminator_test(config)] if config.eval.get("discriminator_test_size") else []
  modes, std = data.TOY_DATASETS[config.data.name]

  def coverage(state: GANState, final: bool):
    del final  # Cheap: the same protocol every time.
    samples = generate(state, _eval_key(state), config.eval.num_eval_samples,
                       config.model.latent_dim)
    result = mode_coverage(samples, modes, std)
    logging.info("%d/%d modes covered, %.1f%% high quality, reverse KL %.3f",
                 result["modes_covered"], result["num_modes"],
                 100 * result["high_quality_fraction"], result["reverse_kl"])
    return {"modes_covered": result["modes_covered"], "num_modes": result["num_modes"],
            "high_quality_fraction": result["high_quality_fraction"],
            "reverse_kl": result["reverse_kl"], "num_eval_samples": result["num_samples"]}
  return [coverage]


def _eval_key(state):
  return rng.stream_key(state.base_key, "eval")


def figures(config, info):
  latent_dim = config.model.latent_dim
  if info.is_toy:
    modes, _ = data.TOY_DATASETS[config.data.name]
    reference = data.sample_toy(config.data.name, np.random.default_rng(1), 2500)
    half = float(np.abs(modes).max()) * 1.5  # A fixed frame, so that steps compare.

    def scatter(state):
      points = generate(state, _eval_key(state), config.eval.num_eval_samples, latent_dim)
      return {"samples": scatter_plot(points, reference=reference, modes=modes,
                                      extent=(-half, half, -half, half))}
    return scatter

  draw = sampler(config, info)

  def images(state):
    key = rng.stream_key(state.base_key, "figures")
    out = {"samples": image_grid(draw(state, jax.random.fold_in(key, 0), 64))}
    z = jax.random.normal(jax.random.fold_in(key, 1), (2, 8, latent_dim))
    variables = state.generator_variables(ema=True)
    for method in ("linear", "slerp"):
      grid = interpolation_grid(z[0], z[1], 10, method=method).reshape(-1, latent_dim)
      pictures = _eval_apply(state.g_apply, variables, grid)
      out[f"interpolation_{method}"] = image_grid(
          np.asarray(data.inverse_scale_to_uint8(pictures)), ncol=10)
    return out
  return images


TASK = Task(name="gan", validate=validate, init_state=init_state, train_step=train_step,
            evaluators=evaluators, figures=figures, sampler=sampler, batches=batches)
