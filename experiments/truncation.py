r"""The truncation trick's fidelity/diversity curve of a trained GAN run (Brock et al. 2019).

  python -m experiments.truncation --workdir=/tmp/biggan_mnist --npz_dir=../shared/data \
      [--thresholds=0,2,1.5,1,0.75,0.5,0.25] [--num_samples=2000]

Restores the run's newest checkpoint (its own config, from ``config.json``), draws
``--num_samples`` samples from the EMA generator at each truncation threshold (latents
from the standard normal truncated to ``[−t, t]``; 0: untruncated), all from one key
(the same uniforms, so rows of the figure share their latents' quantiles), and scores
them with the evaluation suite against the test split: precision (fidelity), recall
(diversity), FID and, for a conditional model, the class accuracy of the samples.
Writes ``truncation.json`` (one entry per threshold), ``figures/truncation_curve.png``
(the scores against the threshold) and ``figures/truncation_samples.png`` (a row of
samples per threshold), and prints one JSON line per threshold.

A StyleGAN run (``model.arch='stylegan'``) is truncated in W instead (StyleGAN,
Sec. 4): ``w' = w̄ + ψ (w − w̄)`` at each ``--psi`` (1: none), the same files with
``psi`` in place of ``threshold``.
"""

import json
import os

from absl import app
from absl import flags

_WORKDIR = flags.DEFINE_string("workdir", None, "A GAN run's directory.")
_THRESHOLDS = flags.DEFINE_list("thresholds", ["0", "2", "1.5", "1", "0.75", "0.5", "0.25"],
                                "Truncation thresholds (0: none).")
_PSI = flags.DEFINE_list("psi", ["1", "0.9", "0.8", "0.7", "0.6", "0.5", "0.3"],
                        "StyleGAN runs: truncation in W, ψ in [0, 1] (1: none).")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 2000, "Samples per threshold.")
_NPZ_DIR = flags.DEFINE_string("npz_dir", None, "Directory of <dataset>.npz (offline).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data directory.")
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
  from jgen.metrics import suite  # pylint: disable=g-import-not-at-top
  from jgen.tasks import gan  # pylint: disable=g-import-not-at-top
  from jgen.tasks import gan_runs  # pylint: disable=g-import-not-at-top
  from jgen.train import rng  # pylint: disable=g-import-not-at-top

  workdir = _WORKDIR.value
  try:  # User mistakes: one message each, no traceback.
    thresholds = [float(t) for t in _THRESHOLDS.value]
    if any(t < 0 for t in thresholds):
      raise ValueError(f"--thresholds must be >= 0 (0: none); got {thresholds}.")
    psis = [float(p) for p in _PSI.value]
    if any(not 0 <= p <= 1 for p in psis):
      raise ValueError(f"--psi must be in [0, 1] (1: none); got {psis}.")
    run = gan_runs.load_trained_run(workdir)
    reference = suite.load_reference(run.network, run.info.name, npz_dir=_NPZ_DIR.value,
                                     data_dir=_DATA_DIR.value)
  except (ValueError, FileNotFoundError, data.DatasetNotAvailableError) as e:
    raise app.UsageError(f"--workdir: {e}") from None
  config, info, state, network = run
  in_w = config.model.arch == "stylegan"
  # (name, value, threshold of z, extra generator arguments) per point of the curve.
  kwargs = gan.player_kwargs(config, int(state.step))
  sweep = ([("psi", p, 0.0, kwargs | {"truncation_psi": p}) for p in psis] if in_w
           else [("threshold", t, t, kwargs) for t in thresholds])

  num = _NUM_SAMPLES.value
  labels = gan.sample_labels(config, info, num)
  metrics = ("fid", "precision_recall") + (("class_accuracy",) if labels is not None else ())
  key = rng.stream_key(state.base_key, "truncation")
  results, rows = [], []
  for name, value, threshold, extra in sweep:
    samples = np.asarray(data.inverse_scale_to_uint8(gan.generate(
        state, jax.random.fold_in(key, 0), num, gan.latent_size(config, info), labels,
        truncation=threshold, kwargs=extra)))
    scores = suite.score_samples(samples, reference, network, jax.random.fold_in(key, 1),
                                 metrics=metrics, labels=labels)
    results.append({name: value, "step": int(state.step), **scores})
    rows.append(samples[:10])
    print(json.dumps(results[-1]), flush=True)
  with open(os.path.join(workdir, "truncation.json"), "w") as f:
    json.dump(results, f, indent=2)
  if in_w:
    x, x_label = np.array(psis), "ψ, truncation in W (1: none)"
  else:  # Threshold 0 (no truncation) is the widest: drawn at the right end of the axis.
    x = np.array([t if t > 0 else max(thresholds) + 0.5 for t in thresholds])
    x_label = "truncation threshold (rightmost: none)"
  series = {name: [r[name] for r in results] for name in ("precision", "recall")}
  if labels is not None:
    series["class accuracy"] = [r["class_accuracy"] for r in results]
  save_png(os.path.join(workdir, "figures", "truncation_curve.png"),
           line_chart(x, series, x_label=x_label))
  save_png(os.path.join(workdir, "figures", "truncation_samples.png"),
           image_grid(np.concatenate(rows), ncol=10))


if __name__ == "__main__":
  app.run(main)
