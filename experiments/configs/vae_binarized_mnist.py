r"""VAE on statically binarized MNIST (Larochelle & Murray split), MLP 784-512-512-50.

  python -m experiments.vae --workdir=/tmp/vae_bmnist --config.data.npz_dir=../shared/data

Bernoulli decoder, one reparameterised sample, Adam(1e-3) with cosine decay to 0 over
training.num_steps, batch 100. Evaluates the
test ELBO and the IWAE estimate of log p(x) with k = 5,000 importance samples.
Variants (text after ':' in --config):
  iwae    — the IWAE objective with k = 5 (Burda et al. 2016);
  dynamic — MNIST with dynamic binarization (test set: one fixed binarization);
  cvae    — a conditional VAE on dynamically binarized MNIST (labels needed);
  dae     — a denoising autoencoder (Gaussian corruption, σ = 0.3);
  ae      — a plain autoencoder;
  tiny    — a few steps of a small model, for tests (combine: 'tiny,iwae').
"""

import ml_collections

from experiments.configs import sample_metrics


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "vae"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "binarized_mnist"
  config.data.preprocess = "binary"
  config.data.batch_size = 100
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()
  config.model.arch = "mlp"
  config.model.latent_dim = 50
  config.model.hidden = 512
  config.model.base_features = 32
  config.model.likelihood = "bernoulli"
  config.model.variance = "learned"
  config.model.fixed_log_var = 0.0
  config.model.conditional = False
  config.model.num_codes = 512
  config.model.code_dim = 64
  config.model.ema_codebook = False

  config.loss = ml_collections.ConfigDict()
  config.loss.objective = "vae"
  config.loss.beta = 1.0
  config.loss.num_samples = 5  # IWAE k.
  config.loss.corruption = "gaussian"
  config.loss.corruption_level = 0.3
  config.loss.commitment_cost = 0.25

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"  # Or 'constant'.

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 50_000
  config.training.log_every = 500
  config.training.checkpoint_every = 5000
  config.training.max_to_keep = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 5000
  config.eval.split = "test"
  config.eval.num_examples = -1  # All of the split.
  config.eval.batch_size = 100
  config.eval.iwae_samples = 5000
  config.eval.iwae_chunk = 50  # ~5k decoder rows per scan step: cache-sized on CPU.
  config.eval.num_samples = 10_000
  # Every eval.every steps: the same metrics on a subset, with fewer importance samples.
  config.eval.periodic_num_examples = 1000
  config.eval.periodic_iwae_samples = 100
  sample_metrics.add_sample_metrics(config)

  for name in filter(None, variant.split(",")):
    if name == "iwae":
      config.loss.objective = "iwae"
    elif name in ("dynamic", "cvae"):
      config.data.name = "mnist"
      config.data.preprocess = "dynamic_binarize"
      config.model.conditional = name == "cvae"
      if name == "cvae" and "tiny" not in variant:  # CAS trains a classifier: not in tests.
        config.eval.sample_metrics = (*config.eval.sample_metrics, "cas")
    elif name in ("dae", "ae"):
      config.loss.objective = name
    elif name == "tiny":
      config.data.batch_size = 16
      config.model.hidden = 32
      config.model.latent_dim = 2
      config.training.num_steps = 6
      config.training.log_every = 2
      config.training.checkpoint_every = 3
      config.eval.every = 3
      config.eval.num_examples = 32
      config.eval.batch_size = 16
      config.eval.iwae_samples = 20
      config.eval.iwae_chunk = 10
      config.eval.periodic_num_examples = 16
      config.eval.periodic_iwae_samples = 10
      config.eval.num_samples = 40
      sample_metrics.make_tiny(config)
    else:
      raise ValueError(f"Unknown config variant {name!r}; valid: iwae, dynamic, cvae, dae, "
                       "ae, tiny.")
  return config
