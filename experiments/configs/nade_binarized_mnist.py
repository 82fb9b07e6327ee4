r"""NADE on statically binarized MNIST (Larochelle & Murray 2011), 500 sigmoid hidden units.

  python -m experiments.main --workdir=/tmp/nade \
      --config=experiments/configs/nade_binarized_mnist.py --config.data.npz_dir=../shared/data

The `likelihood` task: minimise the exact −log p(x), Adam(1e-3) with cosine decay,
batch 100, on the Larochelle & Murray split (50k train). Evaluates the exact test NLL on
all 10,000 test images (published: 88.86 nats, Larochelle & Murray 2011). See the README
for the measured value and training time on 2 CPU cores.
Variants: ``tiny`` (a few steps of a small model, for tests).
"""

import ml_collections

from experiments.configs import sample_metrics


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "likelihood"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "binarized_mnist"
  config.data.preprocess = "binary"
  config.data.batch_size = 100
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()
  config.model.arch = "nade"
  config.model.hidden = 500
  config.model.num_layers = 1  # MADE only.
  config.model.num_masks = 1  # MADE only: the set of masks trained and averaged.
  config.model.order_agnostic = False  # MADE only: masks also draw the input ordering.
  config.model.direct = False  # MADE only: masked direct input→output weights.

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 20_000
  config.training.log_every = 500
  config.training.checkpoint_every = 2000
  config.training.max_to_keep = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 2000
  config.eval.split = "test"
  config.eval.num_examples = -1  # All of the split.
  config.eval.batch_size = 500
  config.eval.periodic_num_examples = 2000
  config.eval.num_masks = (1,)  # MADE: ensemble sizes reported at the end.
  config.eval.num_samples = 10_000
  # The suite at the end only: sampling takes 784 network passes.
  sample_metrics.add_sample_metrics(config, periodic=())

  for name in filter(None, variant.split(",")):
    if name == "tiny":
      config.data.batch_size = 16
      config.model.hidden = 16
      config.training.num_steps = 6
      config.training.log_every = 2
      config.training.checkpoint_every = 3
      config.eval.every = 3
      config.eval.num_examples = 32
      config.eval.batch_size = 16
      config.eval.periodic_num_examples = 16
      config.eval.num_samples = 40
      sample_metrics.make_tiny(config)
    else:
      raise ValueError(f"Unknown config variant {name!r}; valid: tiny.")
  return config
