r"""DCGAN on MNIST (Radford et al. 2016), trained offline from ../shared/data.

  python -m experiments.gan --workdir=/tmp/dcgan_mnist \
      --config=experiments/configs/dcgan_mnist.py --config.data.npz_dir=../shared/data

Non-saturating loss, Adam(2e-4, β1 = 0.5), batch 64, generator EMA. The first run
builds TFDS `mnist` from mnist.npz into the TFDS data dir (~15 s). On 2 CPU cores the
3,000 steps take about ten minutes (see the README's benchmark for steps/s); samples
are recognisable digits by then. Writes sample grids every 500 steps, the linear and
slerp interpolation grids, samples.npz (10,000 uint8 images) and summary.json. The
final evaluation scores the samples with the evaluation suite (FID, KID, IS, class KL,
precision/recall, density/coverage, MMD and classifier two-sample tests, data copying)
on jgen's MNIST feature network, plus the discriminator two-sample test; FID and class
KL on 2,000 samples every 500 steps.

Variants: `:tiny` (base width 8, a few steps; used by the tests with a small npz).
"""

from experiments.configs import gan_ring8
from experiments.configs import sample_metrics


def get_config(variant: str = ""):
  config = gan_ring8.get_config()
  config.data.name = "mnist"
  config.data.batch_size = 64
  config.model.arch = "dcgan"
  config.model.latent_dim = 100
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.training.num_steps = 3000
  config.training.log_every = 100
  config.training.checkpoint_every = 500
  config.training.ema_decay = 0.999
  config.eval.every = 500
  config.eval.split = "test"
  sample_metrics.add_sample_metrics(config)
  config.eval.discriminator_test_size = 1000
  if variant == "tiny":
    config.data.batch_size = 16
    config.model.base_features = 8
    config.training.num_steps = 6
    config.training.log_every = 2
    config.training.checkpoint_every = 3
    config.eval.every = 3
    config.eval.num_samples = 40
    sample_metrics.make_tiny(config)
    config.eval.discriminator_test_size = 16
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; valid: '', 'tiny'.")
  return config
