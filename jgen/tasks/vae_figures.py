"""The figures of the latent-variable task, as ``{name: uint8 image}``.

Reconstructions (inputs above their reconstructions) for every model; for Gaussian
latents also prior samples, a traversal of the most active latents, linear and
spherical interpolations between test images, editing by one latent, the decoded
manifold of a 2-D latent and, for a CVAE, style transfer across classes; denoising
triplets for a DAE and the code-usage histogram for a VQ-VAE.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jgen import data
from jgen.figures import image_grid
from jgen.models import interpolation_grid
from jgen.models import latent_traversal
from jgen.train import rng
from jgen.train.vae_step import corrupt
from jgen.train.vae_step import is_vq
from jgen.train.vae_step import level_suffixes
from jgen.train.vae_step import reconstruct


def _histogram(counts: np.ndarray, height: int = 100) -> np.ndarray:
  """A bar chart of ``counts``, one pixel column per bar, as a uint8 image."""
  bars = np.full((height, counts.size, 1), 255, np.uint8)
  tops = (height * (1.0 - counts / max(counts.max(), 1))).astype(int)
  for k, top in enumerate(tops):
    bars[top:, k] = 0
  return bars


def make_figures(config, info, test):
  """The figure function of the task: ``state -> {name: image}`` on 16 test images."""
  cfg = config
  x = test["x"][:16]
  y = test["label"][:16] if cfg.model.conditional else None

  def pixels(images):
    return np.asarray(data.to_uint8(images, cfg.data.preprocess))

  def figures(state):
    params = {"params": state.params}
    vq = is_vq(state.params)
    key = rng.stream_key(state.base_key, "figures")

    def decode(z, labels=None):
      return pixels(state.apply_fn(params, z, labels, method="decode").mean())

    out, indices = reconstruct(state, x, y)
    images = {"reconstructions": image_grid(np.concatenate([pixels(x), pixels(out.mean())]),
                                            ncol=16)}
    if vq:  # One histogram per level: "codebook_usage", or "…_top" and "…_bottom".
      return images | {f"codebook_usage{name}": _histogram(np.bincount(
          np.asarray(level).ravel(), minlength=cfg.model.num_codes))
          for name, level in zip(level_suffixes(len(indices)), indices)}
    mean, _ = state.apply_fn(params, x, y, method="encode")
    if cfg.loss.objective == "dae":
      keys = jax.random.split(key, x.shape[0])
      noisy = jax.vmap(lambda k, xi: corrupt(k, xi, cfg.loss.corruption,
                                             cfg.loss.corruption_level))(keys, x)
      noisy_mean, _ = state.apply_fn(params, noisy, y, method="encode")
      images["denoising_corrupted_denoised_clean"] = image_grid(np.concatenate(
          [pixels(jnp.clip(noisy, x.min(), x.max())), decode(noisy_mean, y), pixels(x)]),
          ncol=16)
    d = cfg.model.latent_dim
    prior_y = jnp.arange(64) % info.num_classes if cfg.model.conditional else None
    images["prior_samples"] = image_grid(decode(jax.random.normal(key, (64, d)), prior_y),
                                         ncol=8)
    # The most active latents (largest variance of the posterior means): with many
    # latents most collapse to the prior and would show no change.
    active = np.argsort(-np.asarray(jnp.var(mean, axis=0)))[:min(d, 10)]
    z = latent_traversal(mean[0], active, jnp.linspace(-3.0, 3.0, 11)).reshape(-1, d)
    y0 = None if y is None else jnp.full((z.shape[0],), y[0])
    images["latent_traversal"] = image_grid(decode(z, y0), ncol=11)
    for method in ("linear", "slerp"):
      grid = interpolation_grid(mean[:4], mean[4:8], 10, method=method).reshape(-1, d)
      labels = None if y is None else jnp.repeat(y[:4], 10)
      images[f"interpolation_{method}"] = image_grid(decode(grid, labels), ncol=10)
    # Editing: the most active latent shifted by ±2 (rows: original, −, +).
    edits = [decode(mean.at[:, int(active[0])].add(delta), y) for delta in (-2.0, 2.0)]
    images["editing"] = image_grid(np.concatenate([pixels(x), *edits]), ncol=16)
    if d == 2:  # The decoded manifold on a grid of normal quantiles.
      q = jax.scipy.special.ndtri(jnp.linspace(0.05, 0.95, 15))
      grid = jnp.stack(jnp.meshgrid(q, q[::-1]), -1).reshape(-1, 2)
      labels = None if y is None else jnp.zeros(225, jnp.int32)
      images["manifold"] = image_grid(decode(grid, labels), ncol=15)
    if cfg.model.conditional:  # Style transfer: rows = z of a test image, cols = class.
      labels = jnp.tile(jnp.arange(info.num_classes), 8)
      images["style_transfer"] = image_grid(
          decode(jnp.repeat(mean[:8], info.num_classes, axis=0), labels),
          ncol=info.num_classes)
    return images
  return figures
