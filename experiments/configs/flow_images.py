r"""Normalizing flows on dequantized 8-bit images: RealNVP, Glow, MAF, NICE (`likelihood`).

  python -m experiments.main --workdir=/tmp/glow_mnist \
      --config=experiments/configs/flow_images.py:glow --config.data.npz_dir=../shared/data

Variants, comma-separated: one flow (``realnvp`` default, ``glow``, ``maf``, ``nice``,
``realnvp_mlp``),
one dataset (``mnist`` default, ``fashion_mnist``, ``cifar10``), ``tiny`` for tests.
Data: ``y = (x + u)/256``, ``u ~ U[0, 1)`` per pixel, redrawn every step; the test set
is one fixed draw. Reported NLLs and bits/dim are the dequantized bound
``(−log p(y) + D·log 256)/(D·log 2)`` (published MNIST, as tabulated in FFJORD's
Table 2: RealNVP 1.06, Glow 1.05, MAF 1.89). The models are CPU-sized (see each
builder in `jgen.models.flows` for the published sizes); the README gives the
measured bits/dim, steps and minutes on 2 CPU cores. Sample figures at temperatures
1.0 and 0.7 and latent interpolations between test images; samples.npz scored with
the evaluation suite.
"""

import ml_collections

from experiments.configs import sample_metrics

# name -> (arch, model.flow, the run: batch, steps, samples), sized for 20–30 minutes on
# 2 CPU cores (XLA:CPU convolutions are slow, so the conv flows are narrow).
FLOWS = {
    "realnvp": ("realnvp", dict(num_scales=3, width=32, couplings_per_stage=3,
                                logit_alpha=0.05), (64, 3000, 10_000)),
    "glow": ("glow", dict(num_levels=2, steps_per_level=6, width=64), (64, 4000, 10_000)),
    # MAF samples in 784 sequential passes per layer: 1,000 samples.
    "maf": ("maf", dict(hidden=1024, num_hidden_layers=1, num_layers=5, logit_alpha=1e-6),
            (128, 6000, 1000)),
    # RealNVP's affine couplings as MLPs on the flattened image (the speed benchmark's).
    "realnvp_mlp": ("realnvp_mlp", dict(hidden=1024, num_hidden_layers=2, num_couplings=4,
                                        logit_alpha=1e-6), (128, 5000, 10_000)),
    "nice": ("nice", dict(hidden=1000, num_hidden_layers=4, num_couplings=4,
                          logit_alpha=1e-6), (128, 5000, 10_000)),
}
DATASETS = ("mnist", "fashion_mnist", "cifar10")
_TINY = {"realnvp": dict(num_scales=2, width=4, couplings_per_stage=1),
         "glow": dict(num_levels=2, steps_per_level=1, width=4),
         "maf": dict(hidden=16, num_layers=2), "nice": dict(hidden=16, num_couplings=2),
         "realnvp_mlp": dict(hidden=16, num_couplings=2)}


def _set_flow(config, name):
  config.model.arch, flow, (batch, steps, samples) = FLOWS[name]
  config.model.flow = ml_collections.ConfigDict(flow)
  config.data.batch_size, config.training.num_steps = batch, steps
  config.eval.num_samples = samples
  if samples < 10_000:  # Slow samplers: the suite at the end only.
    config.eval.periodic_sample_metrics = ()


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "likelihood"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "mnist"
  config.data.preprocess = "dequantize"
  config.data.batch_size = 64
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 0  # Set per flow (_set_flow).
  config.training.log_every = 200
  config.training.checkpoint_every = 1000
  config.training.max_to_keep = 2

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 1000
  config.eval.split = "test"
  config.eval.num_examples = -1  # All 10,000 test images.
  config.eval.batch_size = 500
  config.eval.periodic_num_examples = 1000
  config.eval.num_samples = 10_000
  sample_metrics.add_sample_metrics(config)

  names = list(filter(None, variant.split(",")))
  _set_flow(config, "realnvp")
  for name in names:
    if name in FLOWS:
      _set_flow(config, name)
    elif name in DATASETS:
      config.data.name = name
    elif name != "tiny":
      raise ValueError(f"Unknown config variant {name!r}; valid: {', '.join(FLOWS)}, "
                       f"{', '.join(DATASETS)}, tiny.")
  if "tiny" in names:
    config.model.flow.update(_TINY[config.model.arch])
    config.data.batch_size = 8
    config.training.num_steps = 4
    config.training.log_every = 2
    config.training.checkpoint_every = 2
    config.eval.every = 2
    config.eval.num_examples = 16
    config.eval.batch_size = 8
    config.eval.periodic_num_examples = 8
    config.eval.num_samples = 64  # The figures' grid size: one sampler compilation.
    sample_metrics.make_tiny(config)
    config.eval.periodic_sample_metrics = ()
  return config
