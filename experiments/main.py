r"""Trains any jgen model: flags → config → `jgen.train.trainer.train_and_evaluate`.

  python -m experiments.main --workdir=/tmp/ring8          # the GAN on ring8, ~1.5 min
  python -m experiments.main --workdir=/tmp/nade \
      --config=experiments/configs/nade_binarized_mnist.py --config.data.npz_dir=../shared/data
  python -m experiments.main --workdir=/tmp/vae \
      --config=experiments/configs/vae_binarized_mnist.py --config.data.npz_dir=../shared/data
  python -m experiments.main --workdir=/tmp/vae --config=... --sample_only

`config.task` in the config file picks the model family (gan, vae, likelihood). Any
`--config.<field>=<value>` overrides the config. A rerun with the same workdir resumes
from its newest checkpoint. On several hosts, run the same command on every host (see
the README); `--distributed` or JAX_COORDINATOR_ADDRESS starts `jax.distributed`.
"""

import os

from absl import app

from experiments import common

_CONFIG = common.define_config(
    os.path.join(os.path.dirname(__file__), "configs", "gan_ring8.py"))

if __name__ == "__main__":
  app.run(common.make_main(_CONFIG))
