r"""jgen's feature networks: a small CNN classifier per dataset (the `classifier` task).

  python -m experiments.main --workdir=/tmp/fn_mnist \
      --config=experiments/configs/feature_network.py:mnist --config.data.npz_dir=../shared/data
  python -m experiments.export_feature_network --workdir=/tmp/fn_mnist \
      --config=experiments/configs/feature_network.py:mnist

The second command writes ``jgen/metrics/weights/<name>.npz`` and prints its SHA-256
for ``jgen.metrics.feature_networks.CHECKSUMS``. ``ConvClassifier`` with one 3×3
conv per block, widths 32-64-128-256 (256-D features), AdamW(1e-3, cosine, weight
decay 5e-4), batch 128, random ±2-pixel shifts (and left-right flips for
Fashion-MNIST and CIFAR-10). Variants (one dataset, optionally ``tiny``): ``mnist``,
``fashion_mnist``, ``cifar10``, ``binarized_mnist`` (MNIST images and labels, dynamically binarized each
step; tested on one fixed binarization of the MNIST test set). Runtimes and test
accuracies on 2 CPU cores are in the README.
"""

import ml_collections

# name → (TFDS dataset, preprocessing, augmentation, training steps). The steps are those
# of the shipped weights (README); cifar10's network is not trained yet.
VARIANTS = {
    "mnist": ("mnist", "unit", "translate", 2500),
    "fashion_mnist": ("fashion_mnist", "unit", "translate_flip", 2000),
    "cifar10": ("cifar10", "unit", "translate_flip", 6000),
    "binarized_mnist": ("mnist", "dynamic_binarize", "translate", 2000),
}


def get_config(variant: str = "mnist") -> ml_collections.ConfigDict:
  names = [v for v in variant.split(",") if v]
  datasets = [n for n in names if n in VARIANTS]
  unknown = [n for n in names if n not in VARIANTS and n != "tiny"]
  if unknown or len(datasets) != 1:
    raise ValueError(f"Config variant {variant!r}: name one of {tuple(VARIANTS)} "
                     "(optionally with ',tiny').")
  name = datasets[0]
  dataset, preprocess, augment, num_steps = VARIANTS[name]

  config = ml_collections.ConfigDict()
  config.task = "classifier"
  config.seed = 0
  config.feature_network = name  # The weights file it becomes.

  config.data = ml_collections.ConfigDict()
  config.data.name = dataset
  config.data.preprocess = preprocess
  config.data.augment = augment
  config.data.batch_size = 128
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()
  config.model.widths = (32, 64, 128, 256)
  config.model.convs_per_block = 1
  config.model.groups = 8

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"
  config.optim.weight_decay = 5e-4

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = num_steps
  config.training.log_every = 200
  config.training.checkpoint_every = 1000
  config.training.max_to_keep = 2

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 1000
  config.eval.split = "test"
  config.eval.num_examples = -1  # All of the split.
  config.eval.batch_size = 1000
  config.eval.periodic_num_examples = 2000
  config.eval.num_samples = 0  # A classifier writes no samples.

  if "tiny" in names:
    config.model.widths = (8, 16)
    config.model.groups = 4
    config.data.batch_size = 16
    config.training.num_steps = 6
    config.training.log_every = 2
    config.training.checkpoint_every = 3
    config.eval.every = 3
    config.eval.num_examples = 64
    config.eval.batch_size = 32
    config.eval.periodic_num_examples = 32
  return config
