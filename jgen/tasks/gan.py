"""The GAN task: two players, ``n_critic`` D updates per G update (`jgen.train.gan_step`).

Config (see ``experiments/configs/gan_ring8.py``): ``model.arch`` ``'mlp'`` for the 2-D
toys or ``'dcgan'`` for images, ``loss.name`` any name of ``gan_loss_pair``,
``loss.n_critic`` batches per step (grouped here, so the loop sees one batch per
step), Adam for both players, an optional generator EMA. The DCGAN players take the
zoo's options (``experiments/configs/gan_zoo.py``): ``model.conditional`` with
``model.g_conditioning`` / ``model.d_conditioning``, ``model.g_spectral_norm`` /
``model.d_spectral_norm`` and ``model.attention_resolution``; ``model.arch``
``'biggan'``, ``'progressive'`` and ``'stylegan'`` (StyleGAN's generator against
DCGAN's discriminator; ``model.w_dim``, ``style_features``, ``mapping_layers``).
Evaluation: mode
coverage (VEEGAN/PacGAN protocol) on the toys; sample grids, scatter plots, latent
interpolations and, for a conditional model, a grid of one row per class as figures.
"""

import functools

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen import data
from jgen.figures import image_grid
from jgen.figures import scatter_plot
from jgen.metrics import discriminator_two_sample_test
from jgen.metrics import mode_coverage
from jgen.models.biggan import BigGANDiscriminator
from jgen.models.biggan import BigGANGenerator
from jgen.models.dcgan import DISCRIMINATOR_CONDITIONING
from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.dcgan import GENERATOR_CONDITIONING
from jgen.models.latents import interpolation_grid
from jgen.models.latents import truncated_latents
from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.models.progressive import LEVELS
from jgen.models.progressive import ProgressiveDiscriminator
from jgen.models.progressive import ProgressiveGenerator
from jgen.models.progressive import progress_at
from jgen.models.progressive import progressive_images
from jgen.models.stylegan import StyleGenerator
from jgen.models.stylegan import style_mixing_grid
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
from jgen.typing import ArrayLike
from jgen.typing import PRNGKey

ARCHITECTURES = ("mlp", "dcgan", "biggan", "progressive", "stylegan")


def validate(config, info) -> None:
  check_choices({"model.arch": (config.model.arch, ARCHITECTURES)})
  if info.is_toy != (config.model.arch == "mlp"):
    raise ValueError(
        f"model.arch={config.model.arch!r} does not fit data.name={config.data.name!r}: "
        "use 'mlp' for the 2-D toys and 'dcgan', 'biggan', 'progressive' or 'stylegan' for "
        "images.")
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
  model = config.model
  zoo = {"model.conditional": model.get("conditional", False),
         "model.g_spectral_norm": model.get("g_spectral_norm", False),
         "model.d_spectral_norm": model.get("d_spectral_norm", False),
         "model.attention_resolution": model.get("attention_resolution", 0)}
  if config.model.arch == "mlp" and any(zoo.values()):
    used = [name for name, value in zoo.items() if value]
    raise ValueError(f"{', '.join(used)}: options of the 'dcgan' players; model.arch='mlp' "
                     "has none.")
  spectral_d = zoo["model.d_spectral_norm"]
  if config.loss.name == "wasserstein" and spectral_d:
    # Clipping on top of spectral norm leaves a critic too weak to train G (Miyato's
    # sngan_projection #15): the Lipschitz bound comes from one or the other.
    raise ValueError("loss.name='wasserstein' (weight clipping) with a spectrally "
                     "normalised discriminator does not train; use 'hinge' or 'wgan_gp'.")
  if config.model.arch in ("progressive", "stylegan") and any(zoo.values()):
    raise ValueError(f"{', '.join(n for n, v in zoo.items() if v)}: options of the 'dcgan' "
                     f"players; model.arch={config.model.arch!r} is unconditional, without "
                     "them.")
  if config.model.arch == "progressive":
    check_positive(config, "training.progressive_stable_steps",
                   "training.progressive_fade_steps")
    if config.data.batch_size % 4:  # The minibatch standard deviation's groups.
      raise ValueError(f"data.batch_size={config.data.batch_size} must be a multiple of 4 "
                       "(per device) for the progressive discriminator's minibatch stddev.")
  if config.model.arch == "biggan" and not zoo["model.conditional"]:
    raise ValueError("model.arch='biggan' is class-conditional: set model.conditional=True "
                     "(and use a labelled dataset).")
  if not config.loss.get("g_orthogonal_weight", 0.0) >= 0:
    raise ValueError(f"loss.g_orthogonal_weight={config.loss.g_orthogonal_weight!r} must be "
                     ">= 0 (0 disables).")
  if zoo["model.conditional"]:
    if not info.has_labels:
      raise ValueError(f"model.conditional=True needs class labels, and "
                       f"data.name={config.data.name!r} has none.")
    check_choices({"model.g_conditioning": (model.g_conditioning, GENERATOR_CONDITIONING),
                   "model.d_conditioning": (model.d_conditioning,
                                            DISCRIMINATOR_CONDITIONING)})
  if config.model.arch != "mlp":
    generator, discriminator = _models(config, info)
    labels = (np.zeros((2,), np.int32),) if zoo["model.conditional"] else ()
    try:  # Shapes only: the modules check their options (e.g. the attention size).
      jax.eval_shape(functools.partial(generator.init, train=False), jax.random.key(0),
                     np.zeros((2, latent_size(config, info)), np.float32), *labels)
      jax.eval_shape(functools.partial(discriminator.init, train=False), jax.random.key(0),
                     np.zeros((2, *info.shape), np.float32), *labels)
    except ValueError as e:  # Without JAX's trace frames.
      raise ValueError(f"model: {e}") from None


def num_classes(config, info) -> int:
  """The players' number of classes: the dataset's when conditional, else 0."""
  return info.num_classes if config.model.get("conditional", False) else 0


def latent_size(config, info) -> int:
  """The generator's input size: ``model.latent_dim``, plus the noise maps for
  ``'stylegan'`` (`jgen.models.stylegan.StyleGenerator.latent_size`)."""
  if config.model.arch == "stylegan":
    return _models(config, info)[0].latent_size
  return config.model.latent_dim


def _models(config, info):
  shape, model = info.shape, config.model
  if model.arch == "mlp":
    hidden = (model.hidden,) * 4
    return MLPGenerator(data_dim=shape[-1], hidden=hidden), MLPDiscriminator(hidden=hidden)
  classes, attention = num_classes(config, info), model.get("attention_resolution", 0)
  if model.arch == "progressive":
    return (ProgressiveGenerator(shape[0], shape[-1], features=model.base_features),
            ProgressiveDiscriminator(shape[0], features=model.base_features))
  if model.arch == "stylegan":  # Against DCGAN's discriminator: the row differs by G.
    return (StyleGenerator(shape[0], shape[-1], z_dim=model.latent_dim,
                           w_dim=model.get("w_dim", 64),
                           features=model.get("style_features", 32),
                           mapping_layers=model.get("mapping_layers", 4),
                           bn_axis_name=parallel.step_axis_name()),
            DCGANDiscriminator(image_size=shape[0], base_features=model.base_features))
  if model.arch == "biggan":  # Spectral norm in both players, unless switched off.
    return (BigGANGenerator(classes, image_size=shape[0], channels=shape[-1],
                            ch=model.base_features, shared_dim=model.shared_dim,
                            attention_resolution=attention,
                            bn_axis_name=parallel.step_axis_name(),
                            spectral_norm=model.get("g_spectral_norm", True)),
            BigGANDiscriminator(classes, image_size=shape[0], ch=model.base_features,
                                attention_resolution=attention,
                                spectral_norm=model.get("d_spectral_norm", True)))
  # Batch norm averages over the data-parallel axis: global-batch statistics.
  generator = DCGANGenerator(
      image_size=shape[0], channels=shape[-1], base_features=model.base_features,
      bn_axis_name=parallel.step_axis_name(), use_subpixel=model.use_subpixel,
      num_classes=classes, conditioning=model.get("g_conditioning", "concat"),
      spectral_norm=model.get("g_spectral_norm", False), attention_resolution=attention)
  discriminator = DCGANDiscriminator(
      image_size=shape[0], base_features=model.base_features, num_classes=classes,
      conditioning=model.get("d_conditioning", "concat"),
      spectral_norm=model.get("d_spectral_norm", False), attention_resolution=attention)
  return generator, discriminator


def init_state(config, info) -> GANState:
  generator, discriminator = _models(config, info)

  def adam(lr):
    return optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)

  return create_gan_state(
      jax.random.key(config.seed), generator, discriminator,
      adam(config.optim.g_lr), adam(config.optim.d_lr),
      latent_dim=latent_size(config, info), data_shape=info.shape,
      use_ema=config.training.ema_decay > 0, num_classes=num_classes(config, info))


def player_kwargs(config, step) -> dict:
  """Extra keyword arguments of both players at ``step`` (may be traced): the progressive
  players' training progress p (`jgen.models.progressive.progress_at`); {} otherwise."""
  if config.model.arch != "progressive":
    return {}
  levels = len(LEVELS[data.dataset_info(config.data.name).shape[0]])
  return {"progress": progress_at(step, levels, config.training.progressive_stable_steps,
                                  config.training.progressive_fade_steps)}


def train_step(config, info):
  """``step(state, batch, axis_name)``; ``batch`` leaves are ``(n_critic, B, ...)``."""
  classes, latent_dim = num_classes(config, info), latent_size(config, info)

  def step(state, batch, axis_name=None, norms=True):
    real = (data.scale_to_symmetric(batch["image"]) if "image" in batch
            else batch["x"].astype(np.float32))
    labels = batch["label"].astype(np.int32) if classes else None
    kwargs = player_kwargs(config, state.step)
    applies = {"g_apply": state.g_apply, "d_apply": state.d_apply}
    if kwargs:  # The players see this step's progress; real images the same blend.
      real = progressive_images(real.reshape(-1, *real.shape[2:]), kwargs["progress"]
                                ).reshape(real.shape)
      state = state.replace(**{name: functools.partial(fn, **kwargs)
                               for name, fn in applies.items()})
    new_state, metrics = gan_train_step(
        state, real, labels, loss=config.loss.name, latent_dim=latent_dim,
        num_classes=classes, n_critic=config.loss.n_critic, gp_weight=config.loss.gp_weight,
        clip_value=config.loss.clip_value, ema_decay=config.training.ema_decay,
        g_orthogonal_weight=config.loss.get("g_orthogonal_weight", 0.0),
        norms=norms, axis_name=axis_name)
    return new_state.replace(**applies), metrics | kwargs
  return step


def batches(config, iterator):
  return data.GroupedBatches(iterator, config.loss.n_critic)


@functools.partial(jax.jit, static_argnums=0)
def _eval_apply(g_apply, variables, z: Array, labels: Array | None = None,
                kwargs: dict | None = None) -> Array:
  # Module-level and keyed on the (static) apply function: compiled once per run.
  args = (z,) if labels is None else (z, labels)
  return g_apply(variables, *args, train=False, **(kwargs or {}))


def generate_from(state: GANState, z: ArrayLike, labels: np.ndarray | None = None,
                  chunk: int = 1000, kwargs: dict | None = None) -> np.ndarray:
  """The (EMA) generator's images of given latents ``(N, d)`` in eval mode, in chunks;
  host float32. ``labels`` (``(N,)`` ints): the classes, for a conditional generator;
  ``kwargs``: the players' extra arguments at this step (`player_kwargs`)."""
  variables = state.generator_variables(ema=True)
  out = []
  for start in range(0, len(z), chunk):
    y = None if labels is None else labels[start:start + chunk]
    out.append(np.asarray(_eval_apply(state.g_apply, variables, z[start:start + chunk], y,
                                      kwargs)))
  return np.concatenate(out)


def generate(state: GANState, key: PRNGKey, num: int, latent_dim: int,
             labels: np.ndarray | None = None, chunk: int = 1000,
             truncation: float = 0.0, kwargs: dict | None = None) -> np.ndarray:
  """``num`` samples from the (EMA) generator in eval mode, in chunks; host float32.

  ``labels`` (``(num,)`` ints): the classes to draw, for a conditional generator;
  ``truncation``: latents from the normal truncated to ``[−t, t]`` (0: untruncated;
  `jgen.models.truncated_latents`); ``kwargs`` as in `generate_from`.
  """
  z = [truncated_latents(jax.random.fold_in(key, i), (min(chunk, num - start), latent_dim),
                         truncation) for i, start in enumerate(range(0, num, chunk))]
  return generate_from(state, jnp.concatenate(z), labels, chunk, kwargs)


def sample_labels(config, info, num: int) -> np.ndarray | None:
  """A conditional GAN's sample classes: ``0, 1, …, C−1, 0, 1, …``; None otherwise."""
  classes = num_classes(config, info)
  return (np.arange(num) % classes).astype(np.int32) if classes else None


def sampler(config, info):
  """``draw(state, key, num)``: uint8 NHWC images, or float32 points for a toy; a
  conditional model draws the classes of `sample_labels`."""
  def draw(state: GANState, key: PRNGKey, num: int) -> np.ndarray:
    samples = generate(state, key, num, latent_size(config, info),
                       sample_labels(config, info, num),
                       kwargs=player_kwargs(config, int(state.step)))
    return samples if info.is_toy else np.asarray(data.inverse_scale_to_uint8(samples))
  return draw


def _discriminator_test(config, info):
  """The trained discriminator as a two-sample test statistic (images).

  Its scores on ``eval.discriminator_test_size`` held-out real images (the
  ``eval.split``, never trained on) against as many fresh samples of the (EMA)
  generator, with a permutation p-value (`jgen.metrics.discriminator_two_sample_test`).
  A small p-value: the discriminator still tells the generator's samples from real data.
  """
  n = config.eval.discriminator_test_size
  split = load_arrays(config, config.eval.split)
  real = data.scale_to_symmetric(split["image"][:n])
  classes = num_classes(config, info)
  real_labels = split["label"][:n].astype(np.int32) if classes else None
  fake_labels = sample_labels(config, info, real.shape[0])

  @jax.jit
  def scores(state, x, labels, kwargs):
    args = (x,) if labels is None else (x, labels)
    return state.d_apply(state.discriminator_variables(), *args, train=False,
                         **kwargs).ravel()

  def evaluate(state: GANState, final: bool):
    del final  # Cheap: the same test every time.
    key = _eval_key(state)
    kwargs = player_kwargs(config, int(state.step))
    fake = generate(state, jax.random.fold_in(key, 0), real.shape[0],
                    latent_size(config, info), fake_labels, kwargs=kwargs)
    # Real images as the discriminator sees them at this progress.
    shown = progressive_images(real, kwargs["progress"]) if kwargs else real
    real_scores = scores(state, shown, real_labels, kwargs)
    result = discriminator_two_sample_test(np.asarray(real_scores),
                                           np.asarray(scores(state, fake, fake_labels, kwargs)),
                                           jax.random.fold_in(key, 1))
    return {"discriminator_test_statistic": float(result.statistic),
            "discriminator_test_p_value": float(result.p_value),
            "discriminator_test_size": int(real.shape[0])}
  return evaluate


def evaluators(config, info):
  if not info.is_toy:  # Sample-quality metrics come from the trainer (eval.sample_metrics).
    return ([_discriminator_test(config, info)] if config.eval.get("discriminator_test_size")
            else [])
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
  latent_dim = latent_size(config, info)
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
  classes = num_classes(config, info)

  def pictures(variables, state, z, labels=None):
    return np.asarray(data.inverse_scale_to_uint8(_eval_apply(
        state.g_apply, variables, z, labels, player_kwargs(config, int(state.step)))))

  def images(state):
    key = rng.stream_key(state.base_key, "figures")
    out = {"samples": image_grid(draw(state, jax.random.fold_in(key, 0), 64))}
    z = jax.random.normal(jax.random.fold_in(key, 1), (2, 8, latent_dim))
    variables = state.generator_variables(ema=True)
    # Conditional: row i interpolates within class i mod C.
    rows = None if not classes else np.repeat(np.arange(8) % classes, 10).astype(np.int32)
    for method in ("linear", "slerp"):
      grid = interpolation_grid(z[0], z[1], 10, method=method).reshape(-1, latent_dim)
      out[f"interpolation_{method}"] = image_grid(pictures(variables, state, grid, rows),
                                                  ncol=10)
    if classes:  # One row per class, one latent per column: what the label controls.
      z = jax.random.normal(jax.random.fold_in(key, 2), (10, latent_dim))
      grid_labels = np.repeat(np.arange(classes), 10).astype(np.int32)
      out["classes"] = image_grid(
          pictures(variables, state, jnp.tile(z, (classes, 1)), grid_labels), ncol=10)
    if config.model.arch == "stylegan":
      out.update(_style_figures(state, variables, jax.random.fold_in(key, 3), latent_dim,
                                config.model.latent_dim))
    return out
  return images


def _style_figures(state: GANState, variables, key: PRNGKey, latent_dim: int, z_dim: int
                   ) -> dict:
  """StyleGAN's figures: style mixing (row i's coarse styles with column j's fine ones)
  and truncation in W (rows ψ = 1, 0.75, 0.5, 0.25, 0; one latent per column)."""
  a, b, c = jax.random.normal(key, (3, 8, latent_dim))
  grid = style_mixing_grid(state.g_apply, variables, a, b, z_dim)
  psis = (1.0, 0.75, 0.5, 0.25, 0.0)
  rows = [_eval_apply(state.g_apply, variables, c, None, {"truncation_psi": psi})
          for psi in psis]
  return {"style_mixing": image_grid(data.inverse_scale_to_uint8(grid), ncol=9),
          "truncation_w": image_grid(data.inverse_scale_to_uint8(jnp.concatenate(rows)),
                                     ncol=8)}


TASK = Task(name="gan", validate=validate, init_state=init_state, train_step=train_step,
            evaluators=evaluators, figures=figures, sampler=sampler, batches=batches,
            sample_labels=sample_labels)
