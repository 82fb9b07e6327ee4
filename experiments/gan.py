r"""Trains a GAN: flags → config → `jgen.train.trainer.train_and_evaluate`.

`experiments.main` with the gan default config (kept so existing commands work).

  python -m experiments.gan --workdir=/tmp/gan                       # ring8, ~1.5 min on CPU
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

from experiments import common

_CONFIG = common.define_config(
    os.path.join(os.path.dirname(__file__), "configs", "gan_ring8.py"))

if __name__ == "__main__":
  app.run(common.make_main(_CONFIG))
