r"""Trains a GAN: flags → config → `jgen.train.gan.train_and_evaluate`.

  python -m experiments.gan --workdir=/tmp/gan                       # ring8, ~2 min on CPU
  python -m experiments.gan --workdir=/tmp/g --config=experiments/configs/gan_ring8.py \
      --config.loss.name=wgan_gp --config.loss.n_critic=5 --config.seed=1
  python -m experiments.gan --workdir=/tmp/dcgan \
      --config=experiments/configs/dcgan_mnist.py --config.data.npz_dir=../shared/data
  python -m experiments.gan --workdir=/tmp/gan --sample_only   # samples.npz from a checkpoint

Any `--config.<field>=<value>` overrides the config (dataset, loss, architecture, batch
size, steps, learning rates, n_critic, seed, ...). A rerun with the same workdir resumes
from its newest checkpoint.
"""

import os

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "gan_ring8.py")

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics, figures.")
_SAMPLE_ONLY = flags.DEFINE_bool(
    "sample_only", False, "Only regenerate samples.npz from the newest checkpoint.")
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed", None,
    "Call jax.distributed.initialize() (multi-host, e.g. a TPU pod). Default: only when "
    "JAX_COORDINATOR_ADDRESS is set.")
_CONFIG = config_flags.DEFINE_config_file("config", _DEFAULT_CONFIG, "GAN config file.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Imported here so that --help and flag errors do not wait for JAX.
  from jgen import data  # pylint: disable=g-import-not-at-top
  from jgen.train import gan  # pylint: disable=g-import-not-at-top
  from jgen.train import parallel  # pylint: disable=g-import-not-at-top

  parallel.initialize_distributed(_DISTRIBUTED.value)
  config = _CONFIG.value
  try:
    gan.validate_config(config)
  except ValueError as e:  # A user mistake: a message, not a traceback.
    raise app.UsageError(str(e)) from None
  try:
    if _SAMPLE_ONLY.value:
      gan.sample(config, _WORKDIR.value)
      logging.info("Wrote %s", os.path.join(_WORKDIR.value, "samples.npz"))
      return
    summary = gan.train_and_evaluate(config, _WORKDIR.value)
  except (data.DatasetNotAvailableError, FileNotFoundError) as e:
    raise app.UsageError(str(e)) from None
  print("summary:", " ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
  app.run(main)
