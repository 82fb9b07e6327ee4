r"""Default GAN config: the 8-Gaussian ring with MLPs (the binary's no-flag run).

  python -m experiments.gan --workdir=/tmp/gan_ring8

Trains a 4×128 ReLU MLP generator and discriminator with the non-saturating loss on
`ring8` (8 Gaussians, radius 2, σ = 0.02) and evaluates with the VEEGAN protocol
(2,500 samples; high quality within 3σ of a mode). Expected on 2 CPU cores: about
two minutes; modes covered and %HQ are printed and written to summary.json (see the
README's results table for measured values over seeds).

Variants: `:tiny` (a few steps, for tests), e.g.
`--config=experiments/configs/gan_ring8.py:tiny`.
"""

import ml_collections


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  """Returns the config; ``variant`` is the text after ':' in --config."""
  config = ml_collections.ConfigDict()
  config.task = "gan"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "ring8"
  config.data.batch_size = 256
  config.data.data_dir = ""  # TFDS data dir; empty: TFDS's default.
  config.data.npz_dir = ""  # Folder of .npz archives to build TFDS datasets offline.

  config.model = ml_collections.ConfigDict()
  config.model.arch = "mlp"
  config.model.latent_dim = 2
  config.model.hidden = 128
  config.model.base_features = 64  # DCGAN only.
  config.model.use_subpixel = True  # DCGAN only.
  # The GAN zoo's options of the DCGAN players (experiments/configs/gan_zoo.py).
  config.model.conditional = False  # Class-conditional players (labelled datasets).
  config.model.g_conditioning = "concat"  # 'concat' (one-hot z) or 'cbn'.
  config.model.d_conditioning = "concat"  # 'concat' (label planes) or 'projection'.
  config.model.g_spectral_norm = False
  config.model.d_spectral_norm = False
  config.model.attention_resolution = 0  # Self-attention at this feature-map size.
  config.model.shared_dim = 32  # BigGAN's shared class embedding ('biggan' only).

  config.loss = ml_collections.ConfigDict()
  config.loss.name = "non_saturating"
  config.loss.n_critic = 1
  config.loss.gp_weight = 10.0
  config.loss.clip_value = 0.01
  config.loss.g_orthogonal_weight = 0.0  # BigGAN's orthogonal regulariser on G (β).

  config.optim = ml_collections.ConfigDict()
  config.optim.g_lr = 1e-3
  config.optim.d_lr = 1e-3
  config.optim.b1 = 0.5
  config.optim.b2 = 0.999

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 10_000
  config.training.log_every = 500
  config.training.checkpoint_every = 2000
  config.training.max_to_keep = 3
  config.training.ema_decay = 0.0  # 0 disables the generator EMA.
  # Progressive growing ('progressive' only): steps per stable and per fade-in phase.
  config.training.progressive_stable_steps = 1000
  config.training.progressive_fade_steps = 1000

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 2000  # Sample figures and mode coverage.
  config.eval.num_eval_samples = 2500  # VEEGAN protocol.
  config.eval.num_samples = 10_000  # samples.npz.

  if variant == "tiny":
    config.data.batch_size = 64
    config.training.num_steps = 40
    config.training.log_every = 10
    config.training.checkpoint_every = 20
    config.eval.every = 20
    config.eval.num_samples = 500
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; valid: '', 'tiny'.")
  return config
