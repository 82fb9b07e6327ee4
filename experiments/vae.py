r"""Trains a VAE-family model: flags → config → `jgen.train.trainer.train_and_evaluate`.

`experiments.main` with the vae default config (kept so existing commands work).

  python -m experiments.vae --workdir=/tmp/vae --config.data.npz_dir=../shared/data
  python -m experiments.vae --workdir=/tmp/iwae \
      --config=experiments/configs/vae_binarized_mnist.py:iwae --config.data.npz_dir=../shared/data
  python -m experiments.vae --workdir=/tmp/vq \
      --config=experiments/configs/vqvae_fashion_mnist.py --config.data.npz_dir=../shared/data

Objectives: vae, iwae, ae, dae, vqvae (and a conditional VAE with model.conditional).
Writes checkpoints, metrics, figures (reconstructions, prior samples, latent traversal,
linear/slerp interpolation, editing, manifold for a 2-D latent, style transfer for the
CVAE, denoising triplets, codebook usage), samples.npz and summary.json with the test
ELBO and IWAE log-likelihood.
"""

import os

from absl import app

from experiments import common

_CONFIG = common.define_config(
    os.path.join(os.path.dirname(__file__), "configs", "vae_binarized_mnist.py"))

if __name__ == "__main__":
  app.run(common.make_main(_CONFIG))
