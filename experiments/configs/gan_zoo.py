r"""The GAN zoo on MNIST: DCGAN's players with one idea added at a time.

  python -m experiments.gan --workdir=/tmp/sagan_mnist \
      --config=experiments/configs/gan_zoo.py:sagan --config.data.npz_dir=../shared/data

Variants (comma-separated; one model, plus `tiny` for the tests):
  `dcgan`            the baseline, `dcgan_mnist.py` (non-saturating loss, Adam(2e-4, 0.5)).
  `cgan_concat`      class-conditional by concatenation (Mirza & Osindero 2014): one-hot
                     label appended to z, one-hot label planes appended to D's input.
  `cgan_projection`  conditional batch norm in G (de Vries et al. 2017) and the
                     projection discriminator (Miyato & Koyama 2018).
  `sngan`            spectral norm on every D weight, hinge loss (Miyato et al. 2018),
                     Adam(2e-4, 0.5, 0.999), one D step per G step.
  `sagan`            spectral norm in both players, self-attention at 14×14 in both, hinge
                     loss, two time-scale learning rates G 1e-4 / D 4e-4, Adam(β = 0, 0.9)
                     (Zhang et al. 2019).
  `biggan`           BigGAN at CPU scale (`jgen.models.biggan`, Brock et al. 2019):
                     residual players of 32 channels (ch = 8), shared class embedding and
                     hierarchical z into conditional BN, spectral norm in both, projection,
                     hinge loss, two D steps per G step, Adam(β = 0, 0.999) at G 1e-4 /
                     D 4e-4 (BigGAN's ImageNet recipe), orthogonal regularisation
                     β = 1e-4, generator EMA; the truncation curve by
                     `python -m experiments.truncation --workdir=...`.
  `progressive`      progressive growing (Karras et al. 2018, `jgen.models.progressive`):
                     7 → 14 → 28 with fade-in, 32 channels at every level, equalized learning rate, pixel norm,
                     minibatch stddev, WGAN-GP (n_critic 1), Adam(1e-3, β = 0, 0.99);
                     phases of `training.progressive_stable_steps` and `_fade_steps`.
  `stylegan`         StyleGAN's generator at CPU scale (`jgen.models.stylegan`, Karras et
                     al. 2019, 2020): mapping network (4 layers, z and w of 64), learned
                     constant, modulated/demodulated convolutions of 64 channels with
                     per-layer styles and noise inputs, skip to_rgb; against DCGAN's
                     discriminator, non-saturating loss, Adam(1e-3, β = 0, 0.99); figures
                     of style mixing and truncation in W.
and `cifar10` to train on CIFAR-10 instead of MNIST (32×32×3; z of 128 for `biggan`).
Every variant keeps batch 64 and the generator EMA, and the DCGAN-based ones DCGAN's
widths, so those rows of the README's zoo table differ by the idea alone; the
conditional ones add the class accuracy of their samples and the Classification
Accuracy Score to the suite. Expected on 2 CPU cores (README, "The GAN zoo on MNIST"):
5–8 minutes of train steps at the README's step counts (e.g. `cgan_projection`,
5,000 steps of ~73 ms: FID 89, class accuracy 0.92; `dcgan` 5,000 steps: FID 229),
plus ~2–4 minutes of evaluations.
"""

from experiments.configs import dcgan_mnist

MODELS = ("dcgan", "cgan_concat", "cgan_projection", "sngan", "sagan", "biggan", "progressive",
          "stylegan")
VARIANTS = MODELS + ("cifar10", "tiny")


def get_config(variant: str = ""):
  names = [name for name in variant.split(",") if name]
  bad = [name for name in names if name not in VARIANTS]
  if bad:
    raise ValueError(f"Unknown config variant {bad[0]!r}; valid: {', '.join(VARIANTS)}.")
  models = [name for name in names if name in MODELS]
  if len(models) > 1:
    raise ValueError(f"One model per config; got {models}.")
  model = models[0] if models else "dcgan"
  config = dcgan_mnist.get_config("tiny" if "tiny" in names else "")
  config.model.name = model
  if "cifar10" in names:
    config.data.name = "cifar10"
  if model in ("cgan_concat", "cgan_projection", "biggan"):
    config.model.conditional = True
    if model == "cgan_projection":
      config.model.g_conditioning, config.model.d_conditioning = "cbn", "projection"
    config.eval.sample_metrics = tuple(config.eval.sample_metrics) + ("class_accuracy", "cas")
  if model == "sngan":
    config.model.d_spectral_norm = True
    config.loss.name = "hinge"
  if model == "sagan":
    config.model.g_spectral_norm = config.model.d_spectral_norm = True
    config.model.attention_resolution = 14
    config.loss.name = "hinge"
    config.optim.g_lr, config.optim.d_lr = 1e-4, 4e-4
    config.optim.b1, config.optim.b2 = 0.0, 0.9
  if model == "biggan":
    config.model.arch = "biggan"
    config.model.g_spectral_norm = config.model.d_spectral_norm = True
    # ch = 8: 32 channels throughout (ch = 16 costs 3x the step on 2 cores).
    config.model.base_features = 4 if "tiny" in names else 8
    # Split into 1 + blocks chunks: 3 at 28×28, 4 at 32×32.
    config.model.latent_dim = 128 if "cifar10" in names else 96
    config.loss.name = "hinge"
    config.loss.n_critic = 2  # BigGAN's ImageNet recipe: 2 D steps, G 1e-4, D 4e-4.
    config.loss.g_orthogonal_weight = 1e-4
    config.optim.g_lr, config.optim.d_lr = 1e-4, 4e-4
    config.optim.b1, config.optim.b2 = 0.0, 0.999
  if model == "progressive":
    config.model.arch = "progressive"
    config.model.base_features = 8 if "tiny" in names else 32  # Every level at 32.
    config.loss.name = "wgan_gp"
    config.optim.g_lr = config.optim.d_lr = 1e-3
    config.optim.b1, config.optim.b2 = 0.0, 0.99
    phase = 1 if "tiny" in names else 1000  # Tiny: every phase within its 6 steps.
    config.training.progressive_stable_steps = config.training.progressive_fade_steps = phase
  if model == "stylegan":
    config.model.arch = "stylegan"
    if "tiny" not in names:
      config.model.latent_dim = 64  # z; the noise maps add to the generator's input.
    config.model.w_dim = 16 if "tiny" in names else 64
    config.model.style_features = 8 if "tiny" in names else 64
    config.model.mapping_layers = 2 if "tiny" in names else 4
    config.optim.g_lr = config.optim.d_lr = 1e-3
    config.optim.b1, config.optim.b2 = 0.0, 0.99
  return config
