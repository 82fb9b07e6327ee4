r"""Convolutional VAE on Fashion-MNIST (or CIFAR-10) with a discretized logistic decoder.

  python -m experiments.vae --workdir=/tmp/vae_fmnist \
      --config=experiments/configs/vae_fashion_mnist.py --config.data.npz_dir=../shared/data

Images scaled to [−1, 1]; ``ConvEncoder``/``ConvDecoder`` (stride-2 convs, width 32 →
64 [→ 128]), 32 latents, per-pixel discretized logistic likelihood (a proper
likelihood of the 8-bit images, so the bound is in bits/dim), Adam(1e-3) with cosine
decay. For CIFAR-10 add ``--config.data.name=cifar10``. Evaluation: reconstruction
MSE on the whole test set and the IWAE bound with k = 100 (a conv decoder pass costs
far more than the MNIST MLP's; raise ``eval.iwae_samples`` on an accelerator).
Variants: ``tiny`` (tests).
"""

from experiments.configs import vae_binarized_mnist


def get_config(variant: str = ""):
  tiny = "tiny" in variant
  config = vae_binarized_mnist.get_config("tiny" if tiny else "")
  if variant not in ("", "tiny"):
    raise ValueError(f"Unknown config variant {variant!r}; valid: tiny.")
  config.data.name = "fashion_mnist"
  config.data.preprocess = "symmetric"
  config.model.arch = "conv"
  config.model.likelihood = "logistic"
  config.model.base_features = 8 if tiny else 32
  if not tiny:
    config.model.latent_dim = 32
    config.training.num_steps = 10_000
    config.training.checkpoint_every = 2000
    config.eval.every = 2000
    config.eval.iwae_samples = 100
    config.eval.iwae_chunk = 50
  return config
