r"""Latent-vector arithmetic on a trained GAN (Radford et al. 2016, Sec. 6.3): z + k·v.

  python -m experiments.latent_arithmetic --workdir=/tmp/dcgan --attribute=ink \
      [--num_latents=50000] [--steps=-1,-0.5,-0.25,0,0.25,0.5,1]

Restores the run's newest checkpoint, draws ``--num_latents`` latents and their images
from the EMA generator, measures the attribute on each image (`jgen.metrics.attributes`:
``ink``, the stroke thickness, or ``slant``) and the class the run's feature network
gives it, and takes the attribute vector ``v`` = mean latent of the top quarter minus
the bottom quarter, within each class, projected off the class-mean directions (so that v
is not a class direction). Then it
walks 1,000 fresh latents along v: at each k the mean attribute of ``G(z + k·v)`` and
the fraction still classified as at k = 0 (beside the same fraction along a random
direction of the same length, the baseline for how often any step this long changes
the class). Writes ``latent_arithmetic_<attribute>.json``,
``figures/latent_arithmetic_<attribute>.png`` (rows: latents; columns: k) and
``figures/latent_arithmetic_<attribute>_curve.png``, and prints the sweep as JSON.
"""

import json
import os

from absl import app
from absl import flags

_WORKDIR = flags.DEFINE_string("workdir", None, "An image GAN run's directory.")
_ATTRIBUTE = flags.DEFINE_enum("attribute", "ink", ["ink", "slant"], "The image attribute.")
_NUM_LATENTS = flags.DEFINE_integer("num_latents", 50000, "Latents to find v from.")
_STEPS = flags.DEFINE_list("steps", ["-1", "-0.5", "-0.25", "0", "0.25", "0.5", "1"],
                           "The k's.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  from jgen import data  # pylint: disable=g-import-not-at-top
  from jgen.figures import image_grid  # pylint: disable=g-import-not-at-top
  from jgen.figures import line_chart  # pylint: disable=g-import-not-at-top
  from jgen.figures import save_png  # pylint: disable=g-import-not-at-top
  from jgen.metrics import attributes  # pylint: disable=g-import-not-at-top
  from jgen.tasks import gan  # pylint: disable=g-import-not-at-top
  from jgen.tasks import gan_runs  # pylint: disable=g-import-not-at-top
  from jgen.train import rng  # pylint: disable=g-import-not-at-top

  workdir = _WORKDIR.value
  try:  # User mistakes: one message each, no traceback.
    steps = [float(k) for k in _STEPS.value]
    if 0.0 not in steps:
      raise ValueError(f"--steps must include 0 (the reference); got {steps}.")
    run = gan_runs.load_trained_run(workdir)
  except (ValueError, FileNotFoundError, data.DatasetNotAvailableError) as e:
    raise app.UsageError(f"--workdir: {e}") from None
  config, info, state, network = run
  measure = getattr(attributes, _ATTRIBUTE.value)

  latent_dim = gan.latent_size(config, info)
  key = rng.stream_key(state.base_key, "eval")

  def generate(z):  # A conditional generator draws the classes 0, 1, …, C−1, 0, …
    return run.images(z, gan.sample_labels(config, info, len(z)))

  def classify(images):
    return np.argmax(network.features_and_logits(images)[1], axis=-1)

  z = np.asarray(jax.random.normal(jax.random.fold_in(key, 0), (_NUM_LATENTS.value, latent_dim)))
  images = generate(z)
  v = attributes.attribute_vector(z, measure(images), classify(images))
  fresh = np.asarray(jax.random.normal(jax.random.fold_in(key, 1), (1000, latent_dim)))
  sweep = attributes.attribute_sweep(generate, classify, measure, fresh, v, steps)
  # The baseline for "the class stays": a random direction of the same length.
  random = np.asarray(jax.random.normal(jax.random.fold_in(key, 2), v.shape))
  random = random * (np.linalg.norm(v) / np.linalg.norm(random))
  baseline = attributes.attribute_sweep(generate, classify, measure, fresh, random, steps)
  result = {"attribute": _ATTRIBUTE.value, "step": int(state.step),
            "num_latents": _NUM_LATENTS.value, "v_norm": float(np.linalg.norm(v)),
            "k": sweep.steps.tolist(), "mean_attribute": sweep.attribute.tolist(),
            "same_class": sweep.same_class.tolist(),
            "same_class_random_direction": baseline.same_class.tolist(),
            "monotonic": bool(np.all(np.diff(sweep.attribute) > 0))}
  with open(os.path.join(workdir, f"latent_arithmetic_{_ATTRIBUTE.value}.json"), "w") as f:
    json.dump(result, f, indent=2)
  name = f"latent_arithmetic_{_ATTRIBUTE.value}"
  rows, cols = sweep.images.shape[:2]
  save_png(os.path.join(workdir, "figures", f"{name}.png"),
           image_grid(sweep.images.reshape(rows * cols, *sweep.images.shape[2:]), ncol=cols))
  span = sweep.attribute.max() - sweep.attribute.min() or 1.0
  normalised = (sweep.attribute - sweep.attribute.min()) / span
  save_png(os.path.join(workdir, "figures", f"{name}_curve.png"),
           line_chart(sweep.steps, {f"{_ATTRIBUTE.value} (min-max scaled)": normalised,
                                    "same class": sweep.same_class}, x_label="k"))
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
