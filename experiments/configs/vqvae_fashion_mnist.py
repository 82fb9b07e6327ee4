r"""VQ-VAE on Fashion-MNIST (van den Oord et al. 2017), 7×7 codes from a 512-code book.

  python -m experiments.vae --workdir=/tmp/vqvae_fmnist \
      --config=experiments/configs/vqvae_fashion_mnist.py --config.data.npz_dir=../shared/data

Gaussian decoder with fixed unit variance (squared error), β = 0.25. For CIFAR-10 use
`--config.data.name=cifar10`. Variants: `ema` (EMA codebook), `tiny` (tests).
"""

from experiments.configs import vae_binarized_mnist


def get_config(variant: str = ""):
  config = vae_binarized_mnist.get_config("tiny" if "tiny" in variant else "")
  config.data.name = "fashion_mnist"
  config.data.preprocess = "unit"
  config.model.arch = "vq"
  config.model.likelihood = "gaussian"
  config.model.variance = "fixed"
  config.model.base_features = 16 if "tiny" in variant else 128
  config.model.code_dim = 8 if "tiny" in variant else 64
  config.model.num_codes = 16 if "tiny" in variant else 512
  config.model.ema_codebook = "ema" in variant
  config.loss.objective = "vqvae"
  config.optim.lr = 2e-4
  if "tiny" not in variant:
    config.data.batch_size = 64
    config.training.num_steps = 5000
    config.training.checkpoint_every = 1000
    config.eval.every = 1000
  return config
