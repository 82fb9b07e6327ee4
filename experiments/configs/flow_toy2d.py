r"""Normalizing flows on the 2-D toy densities (the `likelihood` task).

  python -m experiments.main --workdir=/tmp/flow_moons \
      --config=experiments/configs/flow_toy2d.py:nsf,two_moons

Variants, comma-separated: one flow (``realnvp`` default, ``nice``, ``maf``, ``iaf``,
``nsf``, ``nsf_ar``), one toy (``eight_gaussians`` default, ``two_moons``,
``checkerboard``, ``pinwheel``, ``ring8``, ``grid25``), and ``tiny`` for tests.
Adam(1e-3, cosine), batch 256, 5,000 steps: about a minute or two per flow on 2 CPU
cores. The final evaluation reports the test NLL on 10,000 fresh points beside the
data's own (its entropy, where the density is known) and writes the density heatmap
beside the data histogram (``density.png``) and samples (``samples.png``).
"""

import ml_collections

# name -> (arch, model.flow kwargs): every flow about 8 layers deep.
FLOWS = {
    "realnvp": ("realnvp", dict(hidden=128, num_hidden_layers=2, num_couplings=8)),
    "nice": ("nice", dict(hidden=128, num_hidden_layers=2, num_couplings=8)),
    "maf": ("maf", dict(hidden=128, num_hidden_layers=2, num_layers=8)),
    "iaf": ("iaf", dict(hidden=128, num_hidden_layers=2, num_layers=8)),
    "nsf": ("nsf", dict(kind="coupling", hidden=128, num_hidden_layers=2, num_layers=4,
                        num_bins=8, bound=4.0)),
    "nsf_ar": ("nsf", dict(kind="autoregressive", hidden=128, num_hidden_layers=2,
                           num_layers=4, num_bins=8, bound=4.0)),
}
TOYS = ("eight_gaussians", "two_moons", "checkerboard", "pinwheel", "ring8", "grid25")


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "likelihood"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "eight_gaussians"
  config.data.preprocess = "none"  # Toy points are the model's data.
  config.data.batch_size = 256
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()
  config.model.arch, flow = FLOWS["realnvp"]
  config.model.flow = ml_collections.ConfigDict(flow)

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 5000
  config.training.log_every = 500
  config.training.checkpoint_every = 2500
  config.training.max_to_keep = 2

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 2500
  config.eval.num_examples = 10_000  # Fresh test points.
  config.eval.batch_size = 10_000
  config.eval.periodic_num_examples = 10_000
  config.eval.num_samples = 10_000

  for name in filter(None, variant.split(",")):
    if name in FLOWS:
      config.model.arch, flow = FLOWS[name]
      config.model.flow = ml_collections.ConfigDict(flow)
    elif name in TOYS:
      config.data.name = name
    elif name == "tiny":
      config.data.batch_size = 32
      config.model.flow.hidden = 8
      config.training.num_steps = 6
      config.training.log_every = 2
      config.training.checkpoint_every = 3
      config.eval.every = 3
      config.eval.num_examples = 64
      config.eval.batch_size = 64
      config.eval.periodic_num_examples = 32
      config.eval.num_samples = 50
    else:
      raise ValueError(f"Unknown config variant {name!r}; valid: {', '.join(FLOWS)}, "
                       f"{', '.join(TOYS)}, tiny.")
  if "tiny" in variant:  # After the flow is chosen: fewer, narrower layers.
    for field in ("num_couplings", "num_layers"):
      if field in config.model.flow:
        config.model.flow[field] = 2
  return config
