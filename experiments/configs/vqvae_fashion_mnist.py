r"""VQ-VAE on Fashion-MNIST (van den Oord et al. 2017), 7×7 codes from a 512-code book.

  python -m experiments.vae --workdir=/tmp/vqvae_fmnist \
      --config=experiments/configs/vqvae_fashion_mnist.py --config.data.npz_dir=../shared/data

Gaussian decoder with fixed unit variance (squared error), β = 0.25. For CIFAR-10 use
`--config.data.name=cifar10`. Variants (comma-separated): `ema` (EMA codebooks), `vq2`
(VQ-VAE-2's two levels, Razavi et al. 2019: 7×7 top and 14×14 bottom codes, two
512-code books, 64 features), `tiny` (tests).
"""

from experiments.configs import vae_binarized_mnist

VARIANTS = ("ema", "vq2", "tiny")


def get_config(variant: str = ""):
  names = [name for name in variant.split(",") if name]
  bad = [name for name in names if name not in VARIANTS]
  if bad:
    raise ValueError(f"Unknown config variant {bad[0]!r}; valid: {', '.join(VARIANTS)}.")
  tiny = "tiny" in names
  config = vae_binarized_mnist.get_config("tiny" if tiny else "")
  config.data.name = "fashion_mnist"
  config.data.preprocess = "unit"
  config.model.arch = "vq2" if "vq2" in names else "vq"
  config.model.likelihood = "gaussian"
  config.model.variance = "fixed"
  # VQ-VAE-2 works at 14x14 (4x the positions of 7x7): half the width, a similar step.
  config.model.base_features = 16 if tiny else (64 if "vq2" in names else 128)
  config.model.code_dim = 8 if tiny else 64
  config.model.num_codes = 16 if tiny else 512
  config.model.ema_codebook = "ema" in names
  config.loss.objective = "vqvae"
  config.optim.lr = 2e-4
  if not tiny:
    config.data.batch_size = 64
    config.training.num_steps = 5000
    config.training.checkpoint_every = 1000
    config.eval.every = 1000
  return config
