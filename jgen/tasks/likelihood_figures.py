"""The likelihood task's figures: sample grids, flow temperatures and interpolations,
and on the 2-D toys the learned density beside the data's.

- Images: ``samples`` (64 exact samples); for flows also ``samples_t07``, the same
  latents at temperature 0.7 (Glow, Sec. 5), and ``interpolation``: rows of ten images
  decoded from ``z = (1 − t)·f⁻¹(x_a) + t·f⁻¹(x_b)`` between pairs of test images;
  for the PixelCNNs ``completions``: rows of a test image, its top half (the rest
  blanked) and six samples of the bottom half given the top.
- Toys: ``density``, the model's density ``p(x)`` on a 200 × 200 grid beside a
  histogram of 100,000 data points on the same grid and colour scale, and
  ``samples``, 2,000 model samples over the data.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jgen import data
from jgen.figures import heatmap
from jgen.figures import image_grid
from jgen.figures import scatter_plot
from jgen.figures import side_by_side
from jgen.models import lerp
from jgen.tasks.base import load_eval_data
from jgen.train import rng

GRID = 200
TOY_HALF_WIDTH = 5.0  # Every toy lies in [−5, 5]²; a fixed frame compares steps.


def toy_grid(half_width: float = TOY_HALF_WIDTH, size: int = GRID) -> tuple[np.ndarray, float]:
  """Cell centres ``(size², 2)`` of a square grid, row 0 at the top; and the cell side."""
  step = 2.0 * half_width / size
  centres = -half_width + step * (np.arange(size) + 0.5)
  xs, ys = np.meshgrid(centres, centres[::-1])
  return np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float32), step


def toy_figures(config, draw, log_prob):
  """``state -> {'density', 'samples'}`` for a flow on a 2-D toy."""
  grid, step = toy_grid()
  reference = data.sample_toy(config.data.name, np.random.default_rng(1), 100_000)
  hist, _, _ = np.histogram2d(reference[:, 1], reference[:, 0], bins=GRID,
                              range=[[-TOY_HALF_WIDTH, TOY_HALF_WIDTH]] * 2)
  data_density = hist[::-1] / (len(reference) * step**2)  # y up, like the grid.
  grid_log_prob = jax.jit(lambda state, x: log_prob(config, state, state.params, x, 0))
  frame = (-TOY_HALF_WIDTH, TOY_HALF_WIDTH) * 2

  def figures(state):
    model = np.exp(np.asarray(grid_log_prob(state, grid))).reshape(GRID, GRID)
    top = float(np.quantile(data_density, 0.999))  # One scale; the data's peaks saturate.
    points = draw(state, rng.stream_key(state.base_key, "figures"), 2000)
    return {"density": side_by_side(heatmap(model, vmax=top), heatmap(data_density, vmax=top)),
            "samples": scatter_plot(points, reference=reference[:2000], extent=frame)}
  return figures


def image_figures(config, draw, *, interpolate: bool, complete=None, to_images=None,
                  shown=None, classes: int = 0, conditioned: bool = False,
                  resample: bool = False):
  """``state -> {'samples', ...}``: sample grids, and a flow's latent interpolations.

  ``complete(state, key, x, per_image, labels, rows)``, if given, draws ``per_image``
  continuations below the first ``rows`` rows (the top half: completions) of each of
  the model-data examples ``shown['x']`` (in their
  order, repeated); ``to_images(x, labels)`` maps model data to uint8 images (for a
  VQ-VAE prior: decodes the code maps); ``classes`` > 0 for a class-conditional model:
  its ``draw`` cycles through the classes, one column each; ``conditioned``: a model
  given ``shown['label']`` (classes, or a bottom prior's top maps), which completions
  keep; ``resample``: also draw every row given the label alone (``'resampled'``: a
  VQ-VAE-2 bottom prior's bottom maps for the top maps of the shown images).
  """
  columns = classes or 8
  pairs = load_eval_data(config, 16)["x"] if interpolate else None

  @jax.jit
  def interpolation(state):
    variables = {"params": state.params}
    z = state.apply_fn(variables, pairs, method="encode")
    t = jnp.linspace(0.0, 1.0, 10)
    path = jax.vmap(lambda a, b: jax.vmap(lambda s: lerp(a, b, s))(t))(z[:8], z[8:])
    images = state.apply_fn(variables, path.reshape((80, *z.shape[1:])), method="decode")
    return data.to_uint8(images, "dequantize")

  def figures(state):
    key = rng.stream_key(state.base_key, "figures")
    out = {"samples": image_grid(draw(state, key, 8 * columns), ncol=columns)}
    if interpolate:
      out["samples_t07"] = image_grid(draw(state, key, 64, 0.7), ncol=8)
      out["interpolation"] = image_grid(np.asarray(interpolation(state)), ncol=10)
    if complete is not None:
      labels = shown["label"] if conditioned else None
      out["completions"] = _completions(state, key, complete, to_images, shown["x"], labels)
      if resample:
        out["resampled"] = _completions(state, key, complete, to_images, shown["x"], labels,
                                        rows=0)
    return out
  return figures


def _completions(state, key, complete, to_images, x, labels, per_image: int = 6,
                 rows: int | None = None):
  """Rows of: an example, its given first ``rows`` rows (default: the top half; the rest
  black; not shown when none are given), ``per_image`` completions."""
  rows = x.shape[1] // 2 if rows is None else rows
  filled = np.asarray(complete(state, key, x, per_image, labels, rows))
  originals = np.asarray(to_images(x, labels))
  top = originals.copy()
  # The given rows of the model's data, in image rows (a code row covers several).
  top[:, originals.shape[1] * rows // x.shape[1]:] = 0
  repeated = None if labels is None else np.repeat(labels, per_image, axis=0)
  completed = np.asarray(to_images(filled, repeated)).reshape(
      len(x), per_image, *originals.shape[1:])
  columns = [originals[:, None], *([top[:, None]] if rows else []), completed]
  return image_grid(np.concatenate(columns, axis=1).reshape(-1, *originals.shape[1:]),
                    ncol=sum(c.shape[1] for c in columns))
