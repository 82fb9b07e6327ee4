"""Latent-variable-model experiments: config → data, model, state, step → loop → figures.

``train_and_evaluate(config, workdir)`` is what ``python -m experiments.vae`` runs. It
trains on the shared loop (``jgen.train.loop``), then writes the classic figures, test
ELBO / IWAE log-likelihood, ``samples.npz`` and ``summary.json``.
"""

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
from jgen import losses
from jgen.metrics import bits_per_dim
from jgen.metrics import importance_weighted_log_likelihood
from jgen.models import VAE
from jgen.models import VQVAE
from jgen.models import Codebook
from jgen.models import ConvDecoder
from jgen.models import ConvEncoder
from jgen.models import MLPDecoder
from jgen.models import MLPEncoder
from jgen.models import VQDecoder
from jgen.models import VQEncoder
from jgen.models import interpolation_grid
from jgen.models.decoders import DecoderOutput
from jgen.train import parallel
from jgen.train.checkpoint import restore_newest_state
from jgen.train.loop import PeriodicHook
from jgen.train.loop import train_loop
from jgen.train.summaries import image_grid
from jgen.train.summaries import open_run
from jgen.train.summaries import save_png
from jgen.train.summaries import write_summary
from jgen.train.vae_step import CORRUPTIONS
from jgen.train.vae_step import OBJECTIVES
from jgen.train.vae_step import VAEState
from jgen.train.vae_step import corrupt
from jgen.train.vae_step import create_vae_state
from jgen.train.vae_step import log_likelihood
from jgen.train.vae_step import vae_train_step

DATASETS = ("binarized_mnist", "mnist", "fashion_mnist", "cifar10")
PREPROCESSING = ("binary", "dynamic_binarize", "static_binarize", "unit", "symmetric")
ARCHITECTURES = ("mlp", "conv", "vq")
LIKELIHOODS = ("bernoulli", "gaussian", "logistic")
SCHEDULES = ("constant", "cosine")
IMAGE_SHAPES = {"binarized_mnist": (28, 28, 1), "mnist": (28, 28, 1),
                 "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
# Fold-in tags for draws outside training steps (training folds in the step).
_BINARIZE_TAG, _EVAL_TAG, _SAMPLE_TAG, _FIGURE_TAG = (2**32 - k for k in range(1, 5))


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every user-facing choice before any work starts.

  Raises:
    ValueError: naming the bad value and the valid choices.
  """
  choices = {
      "data.name": (config.data.name, DATASETS),
      "data.preprocess": (config.data.preprocess, PREPROCESSING),
      "model.arch": (config.model.arch, ARCHITECTURES),
      "model.likelihood": (config.model.likelihood, LIKELIHOODS),
      "loss.objective": (config.loss.objective, OBJECTIVES),
      "loss.corruption": (config.loss.corruption, CORRUPTIONS),
      "optim.schedule": (config.optim.schedule, SCHEDULES),
  }
  for name, (value, valid) in choices.items():
    if value not in valid:
      raise ValueError(f"{name}={value!r} is not valid; choose from {valid}.")
  if (config.model.arch == "vq") != (config.loss.objective == "vqvae"):
    raise ValueError(
        f"model.arch={config.model.arch!r} does not fit loss.objective="
        f"{config.loss.objective!r}: the 'vqvae' objective goes with the 'vq' arch.")
  if config.data.name == "binarized_mnist" and config.data.preprocess != "binary":
    raise ValueError("binarized_mnist is already binary: use data.preprocess='binary'.")
  if config.model.likelihood == "bernoulli" and config.data.preprocess in ("symmetric",):
    raise ValueError("A Bernoulli decoder needs data in [0, 1]; data.preprocess="
                     "'symmetric' gives [−1, 1].")
  if config.model.likelihood == "logistic" and config.data.preprocess != "symmetric":
    raise ValueError("The discretized logistic likelihood needs data.preprocess='symmetric'.")
  if config.model.conditional and config.data.name == "binarized_mnist":
    raise ValueError("binarized_mnist has no labels in TFDS; a conditional VAE needs "
                     "data.name='mnist' (e.g. with data.preprocess='dynamic_binarize').")
  for name in ("data.batch_size", "model.latent_dim", "training.num_steps",
               "training.log_every", "training.checkpoint_every", "eval.every",
               "eval.num_samples", "loss.num_samples"):
    section, field = name.split(".")
    value = config[section][field]
    if not isinstance(value, int) or value <= 0:
      raise ValueError(f"{name}={value!r} is not valid; it must be a positive integer.")
  if config.data.batch_size % jax.device_count():
    raise ValueError(f"data.batch_size={config.data.batch_size} must be divisible by the "
                     f"{jax.device_count()} devices.")


def build_model(config):
  """The configured ``VAE`` or ``VQVAE`` module."""
  shape = IMAGE_SHAPES[config.data.name]
  m = config.model
  num_classes = 10 if m.conditional else 0
  head = {"likelihood": m.likelihood}
  if m.likelihood == "gaussian":
    head.update(variance=m.variance, fixed_log_var=m.fixed_log_var)
  if m.arch == "vq":
    return VQVAE(VQEncoder(embedding_dim=m.code_dim, features=m.base_features),
                 VQDecoder(shape, features=m.base_features, **head),
                 Codebook(num_codes=m.num_codes, dim=m.code_dim))
  if m.arch == "mlp":
    hidden = (m.hidden, m.hidden)
    return VAE(MLPEncoder(m.latent_dim, hidden=hidden, num_classes=num_classes),
               MLPDecoder(shape, hidden=hidden, num_classes=num_classes, **head))
  return VAE(ConvEncoder(m.latent_dim, base_features=m.base_features, image_size=shape[0],
                         num_classes=num_classes),
             ConvDecoder(shape, base_features=m.base_features, num_classes=num_classes,
                         **head))


def preprocess(config, images, key: jax.Array | None = None, axis_name=None):
  """uint8 images (B, H, W, C) → the float data the likelihood models.

  ``key`` drives dynamic binarization (one key per example, see
  ``parallel.example_keys``); evaluation passes a fixed key, so the test set is one
  fixed binarization.
  """
  kind = config.data.preprocess
  if kind == "binary":
    return images.astype(jnp.float32)
  if kind == "dynamic_binarize":
    keys = parallel.example_keys(key, images.shape[0], axis_name)
    return jax.vmap(data.binarize_dynamic)(keys, images)
  if kind == "static_binarize":
    return data.binarize_static(images)
  if kind == "unit":
    return images.astype(jnp.float32) / 255.0
  return data.scale_to_symmetric(images)


def make_state(config) -> VAEState:
  model = build_model(config)
  lr = config.optim.lr
  if config.optim.schedule == "cosine":  # Decays to 0 at training.num_steps.
    lr = optax.cosine_decay_schedule(lr, config.training.num_steps)
  shape = IMAGE_SHAPES[config.data.name]
  example = jnp.zeros((2, *shape))
  if config.model.conditional:
    example = (example, jnp.zeros((2,), jnp.int32))
  return create_vae_state(jax.random.key(config.seed), model, optax.adam(lr),
                          example=example, ema_codebook=config.model.ema_codebook)


def make_step(config):
  """The pure step ``(state, batch, axis_name) -> (state, metrics)`` of this config."""
  def step(state, batch, axis_name=None):
    key = jax.random.fold_in(jax.random.fold_in(state.base_key, state.step), _BINARIZE_TAG)
    inputs = {"x": preprocess(config, batch["image"][0], key, axis_name)}
    if config.model.conditional:
      inputs["label"] = batch["label"][0].astype(jnp.int32)
    return vae_train_step(
        state, inputs, objective=config.loss.objective, beta=config.loss.beta,
        num_samples=config.loss.num_samples, corruption_kind=config.loss.corruption,
        corruption_level=config.loss.corruption_level,
        commitment_cost=config.loss.commitment_cost, axis_name=axis_name)
  return step


def decoder_mean_uint8(config, out: DecoderOutput) -> np.ndarray:
  """The decoder's mean image as uint8 NHWC (sigmoid of logits, or the mean)."""
  return _to_uint8(config, _decoder_mean(out))


def _to_uint8(config, x) -> np.ndarray:
  if config.data.preprocess == "symmetric":
    return np.asarray(data.inverse_scale_to_uint8(x))
  return np.asarray(jnp.clip(jnp.round(x * 255.0), 0, 255)).astype(np.uint8)


def _to_unit(config, x: jax.Array) -> jax.Array:
  """Model-scale data (or a decoder mean) → pixel intensities in [0, 1]."""
  return (x + 1.0) / 2.0 if config.data.preprocess == "symmetric" else x


def _decoder_mean(out: DecoderOutput) -> jax.Array:
  return jax.nn.sigmoid(out.logits) if out.likelihood == "bernoulli" else out.mean


def _vq_codebook(state: VAEState) -> jax.Array:
  """The codebook a VQ-VAE quantizes with: the EMA one when it has one."""
  if state.ema_codebook is not None:
    return jnp.asarray(state.ema_codebook.codebook)
  return state.apply_fn({"params": state.params}, method="codes")


def reconstruct(config, state: VAEState, x, y=None) -> tuple[DecoderOutput, jax.Array | None]:
  """Decoder output of ``x`` through its deterministic code, and the code indices.

  Gaussian-latent models (VAE, AE, DAE) decode the posterior mean; a VQ-VAE decodes
  the nearest codes of its (EMA or learned) codebook and also returns their indices
  (None otherwise).
  """
  params = {"params": state.params}
  if config.model.arch == "vq":
    z_e = state.apply_fn(params, x, method="encode")
    vq = losses.vector_quantize(z_e, _vq_codebook(state))
    return state.apply_fn(params, vq.quantized, method="decode"), vq.indices
  mean, _ = state.apply_fn(params, x, y, method="encode")
  return state.apply_fn(params, mean, y, method="decode"), None


class _Figures:
  """The VAE figures, written as PNGs to ``workdir/figures``."""

  def __init__(self, config, workdir, writer, test):
    self.config, self.workdir, self.writer = config, workdir, writer
    self.test = test  # {'x': float (N, H, W, C), 'label': (N,)} preprocessed test data.
    self.vq = config.model.arch == "vq"

  def _save(self, step, name, image):
    if jax.process_index() == 0:
      save_png(os.path.join(self.workdir, "figures", f"{name}.png"), image)
    self.writer.write_images(step, {name: image})

  def __call__(self, step: int, state: VAEState) -> None:
    cfg, x = self.config, self.test["x"][:16]
    y = self.test["label"][:16] if cfg.model.conditional else None
    apply = state.apply_fn
    params = {"params": state.params}
    key = jax.random.fold_in(state.base_key, _FIGURE_TAG)

    def decode(z, labels=None):
      args = (z,) if self.vq else (z, labels)
      return decoder_mean_uint8(cfg, apply(params, *args, method="decode"))

    # Reconstructions: inputs (top rows) above their reconstructions.
    if self.vq:
      out, indices = reconstruct(cfg, state, x)
      recon = decoder_mean_uint8(cfg, out)
      self._codebook_usage(step, np.asarray(indices))
    elif cfg.loss.objective == "dae":
      keys = jax.random.split(key, x.shape[0])
      noisy = jax.vmap(lambda k, xi: corrupt(k, xi, cfg.loss.corruption,
                                             cfg.loss.corruption_level))(keys, x)
      mean, _ = apply(params, noisy, y, method="encode")
      triplets = np.concatenate([_to_uint8(cfg, jnp.clip(noisy, x.min(), x.max())),
                                 decode(mean, y), _to_uint8(cfg, x)])
      self._save(step, "denoising_corrupted_denoised_clean", image_grid(triplets, ncol=16))
      recon = decode(mean, y)
    else:
      recon = decoder_mean_uint8(cfg, reconstruct(cfg, state, x, y)[0])
    self._save(step, "reconstructions",
               image_grid(np.concatenate([_to_uint8(cfg, x), recon]), ncol=16))

    if self.vq:
      return
    d = cfg.model.latent_dim
    prior_y = jnp.arange(64) % 10 if cfg.model.conditional else None
    self._save(step, "prior_samples",
               image_grid(decode(jax.random.normal(key, (64, d)), prior_y), ncol=8))
    mean, _ = apply(params, x, y, method="encode")
    # The most active latent dims (largest variance of the posterior means): with many
    # latents most are inactive (collapsed to the prior) and would show no change.
    activity = np.asarray(jnp.var(mean, axis=0))
    active = np.argsort(-activity)[:min(d, 10)]
    # Latent traversal: one row per active dim, that dim swept over [−3, 3].
    values = jnp.linspace(-3.0, 3.0, 11)
    rows = len(active)
    z = jnp.tile(mean[0], (rows, 11, 1))
    z = z.at[jnp.arange(rows)[:, None], jnp.arange(11)[None, :],
             jnp.asarray(active)[:, None]].set(jnp.broadcast_to(values, (rows, 11)))
    y0 = None if y is None else jnp.full((rows * 11,), y[0])
    self._save(step, "latent_traversal", image_grid(decode(z.reshape(-1, d), y0), ncol=11))
    # Interpolation between two test images, linear and spherical.
    for method in ("linear", "slerp"):
      grid = interpolation_grid(mean[:4], mean[4:8], 10, method=method).reshape(-1, d)
      labels = None if y is None else jnp.repeat(y[:4], 10)
      self._save(step, f"interpolation_{method}", image_grid(decode(grid, labels), ncol=10))
    # Image editing: shift the most active latent dim by ±2 (rows: original, −, +).
    j = int(active[0])
    edits = [mean.at[:, j].add(delta) for delta in (-2.0, 2.0)]
    self._save(step, "editing", image_grid(np.concatenate(
        [_to_uint8(cfg, x), *(decode(e, y) for e in edits)]), ncol=16))
    if d == 2:  # The decoded manifold on a grid of normal quantiles.
      q = jax.scipy.special.ndtri(jnp.linspace(0.05, 0.95, 15))
      grid = jnp.stack(jnp.meshgrid(q, q[::-1]), -1).reshape(-1, 2)
      labels = None if y is None else jnp.zeros(225, jnp.int32)
      self._save(step, "manifold", image_grid(decode(grid, labels), ncol=15))
    if cfg.model.conditional:  # Style transfer: rows = z of a test image, cols = class.
      z = jnp.repeat(mean[:8], 10, axis=0)
      labels = jnp.tile(jnp.arange(10), 8)
      self._save(step, "style_transfer", image_grid(decode(z, labels), ncol=10))

  def _codebook_usage(self, step, indices):
    counts = np.bincount(indices.ravel(), minlength=self.config.model.num_codes)
    height, width = 100, counts.size
    bars = np.full((height, width, 1), 255, np.uint8)
    tops = (height * (1.0 - counts / max(counts.max(), 1))).astype(int)
    for k, top in enumerate(tops):
      bars[top:, k] = 0
    self._save(step, "codebook_usage", bars)


def _test_data(config) -> dict[str, np.ndarray]:
  split = data.load_split(config.data.name, config.eval.split,
                          data_dir=config.data.data_dir or None,
                          npz_dir=config.data.npz_dir or None)
  n = config.eval.num_examples
  images = split["image"][:n] if n > 0 else split["image"]
  key = jax.random.fold_in(jax.random.key(config.seed), _EVAL_TAG)
  x = np.asarray(preprocess(config, jnp.asarray(images), key))
  out = {"x": x}
  if "label" in split:
    out["label"] = split["label"][:x.shape[0]].astype(np.int32)
  return out


def evaluate(config, state: VAEState, test) -> dict[str, float]:
  """Test-set metrics of ``state`` on ``test`` (preprocessed, see ``_test_data``).

  Every model: ``test_reconstruction_mse``, the mean squared error per pixel between
  the images and the decoder mean of their deterministic code (``reconstruct``), both
  in [0, 1] intensity (the mean clipped to it). VQ-VAEs: ``test_codebook_perplexity``, exp of the entropy of
  the codes used on the test set. Gaussian-latent likelihood models (vae, iwae): the
  test ``−ELBO`` and the IWAE estimate of ``−log p(x)`` with k = ``eval.iwae_samples``,
  in nats and bits/dim.
  """
  bs, n = config.eval.batch_size, test["x"].shape[0]
  conditional = config.model.conditional
  iwae = config.model.arch != "vq" and config.loss.objective not in ("ae", "dae")

  @jax.jit  # The state is an argument: closed over, its weights became XLA constants.
  def batch_metrics(state, x, y, key):
    params = {"params": state.params}
    out, indices = reconstruct(config, state, x, y)
    # The image the model outputs is its mean clipped to the pixel range, as in the
    # figures: a discretized logistic's edge bins take all mass beyond ±1, so its
    # location drifts far outside on a black background (−6.5 seen on Fashion-MNIST).
    recon = jnp.clip(_to_unit(config, _decoder_mean(out)), 0.0, 1.0)
    err = jnp.square(recon - _to_unit(config, x))
    metrics = {"sq_err": err.reshape(x.shape[0], -1).mean(axis=1)}
    if indices is not None:
      metrics["indices"] = indices
    if iwae:
      def encode(x):
        return state.apply_fn(params, x, y, method="encode")

      def ll(z, x):
        return log_likelihood(state.apply_fn(params, z, y, method="decode"), x)
      metrics["log_px"], metrics["elbo"] = importance_weighted_log_likelihood(
          encode, ll, x, key, num_samples=config.eval.iwae_samples,
          chunk_size=config.eval.iwae_chunk)
    return metrics

  key = jax.random.fold_in(state.base_key, _EVAL_TAG)
  parts = []
  t0 = time.perf_counter()
  for i, start in enumerate(range(0, n, bs)):
    if iwae and i and i % 10 == 0:  # k = 5,000 on 10k images takes minutes.
      done = start / n
      logging.info("IWAE evaluation: %d/%d examples, %.0f s left", start, n,
                   (time.perf_counter() - t0) * (1 - done) / done)
    y = test["label"][start:start + bs] if conditional else None
    parts.append(jax.device_get(
        batch_metrics(state, test["x"][start:start + bs], y, jax.random.fold_in(key, i))))
  metrics = {k: np.concatenate([p[k].ravel() for p in parts]) for k in parts[0]}
  results = {"test_reconstruction_mse": float(metrics["sq_err"].mean()),
             "num_test_examples": n}
  if "indices" in metrics:
    usage = np.bincount(metrics["indices"], minlength=config.model.num_codes) / (
        metrics["indices"].size)
    used = usage[usage > 0]
    results["test_codebook_perplexity"] = float(np.exp(-np.sum(used * np.log(used))))
  if iwae:
    nll, neg_elbo = -float(metrics["log_px"].mean()), -float(metrics["elbo"].mean())
    dims = int(np.prod(test["x"].shape[1:]))
    results |= {"test_nll_iwae": nll, "test_negative_elbo": neg_elbo,
                "test_bits_per_dim_iwae": float(bits_per_dim(nll, dims)),
                "iwae_samples": config.eval.iwae_samples}
  return results


def write_samples(config, workdir: str, state: VAEState) -> np.ndarray:
  """Writes ``samples.npz`` (key ``samples``): prior samples as uint8 NHWC.

  Gaussian-latent models decode ``z ~ N(0, I)`` (labels cycling 0-9 for a CVAE);
  a VQ-VAE decodes codes drawn uniformly (it has no learned prior here).
  """
  key = jax.random.fold_in(state.base_key, _SAMPLE_TAG)
  n, chunk = config.eval.num_samples, 500

  @jax.jit
  def sample(state, key, labels):
    params = {"params": state.params}
    if config.model.arch == "vq":
      shape = IMAGE_SHAPES[config.data.name]
      codes = jax.random.randint(key, (labels.shape[0], shape[0] // 4, shape[1] // 4), 0,
                                 config.model.num_codes)
      return state.apply_fn(params, jnp.take(_vq_codebook(state), codes, axis=0),
                            method="decode")
    z = jax.random.normal(key, (labels.shape[0], config.model.latent_dim))
    y = labels if config.model.conditional else None
    return state.apply_fn(params, z, y, method="decode")

  out = [decoder_mean_uint8(config, sample(state, jax.random.fold_in(key, i),
                                           jnp.arange(start, min(start + chunk, n)) % 10))
         for i, start in enumerate(range(0, n, chunk))]
  samples = np.concatenate(out)
  if jax.process_index() == 0:
    np.savez(os.path.join(workdir, "samples.npz"), samples=samples)
  return samples


def sample(config: ml_collections.ConfigDict, workdir: str) -> np.ndarray:
  """Regenerates ``samples.npz`` from the newest checkpoint in ``workdir``.

  Raises:
    FileNotFoundError: when ``workdir`` holds no checkpoint.
  """
  validate_config(config)
  state = restore_newest_state(os.path.join(workdir, "checkpoints"), make_state(config))
  return write_samples(config, workdir, state)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the configured model in ``workdir`` (resuming if possible) and evaluates it.

  Returns:
    The summary dict written to ``summary.json``.
  """
  validate_config(config)
  writer = open_run(workdir, config.to_dict())
  train = data.load_split(config.data.name, "train", data_dir=config.data.data_dir or None,
                          npz_dir=config.data.npz_dir or None)
  arrays = {"image": train["image"]}
  if config.model.conditional:
    arrays["label"] = train["label"]
  batches = data.BatchIterator(arrays, global_batch_size=config.data.batch_size,
                               seed=config.seed)
  test = _test_data(config)
  figures = _Figures(config, workdir, writer, test)
  t0 = time.perf_counter()
  state = train_loop(
      make_state(config), make_step(config), batches, workdir=workdir,
      num_steps=config.training.num_steps, log_every=config.training.log_every,
      checkpoint_every=config.training.checkpoint_every,
      max_to_keep=config.training.max_to_keep,
      hooks=[PeriodicHook(config.eval.every, figures)], writer=writer)
  train_seconds = time.perf_counter() - t0
  write_samples(config, workdir, state)
  t1 = time.perf_counter()
  results = evaluate(config, state, test)
  logging.info("test reconstruction MSE %.5f (per pixel, [0, 1] scale)",
               results["test_reconstruction_mse"])
  if "test_nll_iwae" in results:
    logging.info("test NLL (IWAE, k=%d) %.2f nats, −ELBO %.2f nats, %.4f bits/dim",
                 config.eval.iwae_samples, results["test_nll_iwae"],
                 results["test_negative_elbo"], results["test_bits_per_dim_iwae"])
  writer.write_scalars(int(state.step), {"eval_" + k: v for k, v in results.items()})
  summary = {"step": int(state.step), "num_samples": config.eval.num_samples, **results,
             "train_seconds_this_run": train_seconds,
             "eval_seconds": time.perf_counter() - t1}
  write_summary(workdir, summary)
  writer.close()
  return summary


__all__ = ["ARCHITECTURES", "DATASETS", "IMAGE_SHAPES", "LIKELIHOODS", "PREPROCESSING",
           "SCHEDULES", "build_model", "evaluate", "make_state", "make_step", "reconstruct",
           "train_and_evaluate", "sample", "validate_config", "write_samples"]
