r"""jgen's feature networks: a small CNN classifier per dataset (the `classifier` task).

  python -m experiments.main --workdir=/tmp/fn_mnist \
      --config=experiments/configs/feature_network.py:mnist --config.data.npz_dir=../shared/data
  python -m experiments.export_feature_network --workdir=/tmp/fn_mnist \
      --config=experiments/configs/feature_network.py:mnist

The second command writes ``jgen/metrics/weights/<name>.npz`` and prints its SHA-256
for ``jgen.metrics.feature_networks.CHECKSUMS``. ``ConvClassifier`` (one 3×3 conv per
block, GroupNorm) with the widths and feature layer of ``VARIANTS``, AdamW(1e-3, cosine,
weight decay 5e-4), batch 128, random ±2-pixel shifts (and left-right flips for
Fashion-MNIST and CIFAR-10). Variants (one dataset, optionally ``tiny``): ``mnist``,
``fashion_mnist``, ``cifar10``, ``binarized_mnist`` (MNIST images and labels, dynamically
binarized each step; tested on one fixed binarization of the MNIST test set). Runtimes
and test accuracies on 2 CPU cores are in the README.
"""

import ml_collections

# name → TFDS dataset, preprocessing, augmentation, conv widths, dense feature width
# (0: global average pooling) and training steps: those of the shipped weights (README).
VARIANTS = {
    "mnist": dict(dataset="mnist", preprocess="unit", augment="translate",
                  widths=(32, 64), dense_width=256, num_steps=5000),
    "fashion_mnist": dict(dataset="fashion_mnist", preprocess="unit", augment="translate_flip",
                          widths=(32, 64), dense_width=256, num_steps=5000),
    "cifar10": dict(dataset="cifar10", preprocess="unit", augment="translate_flip",
                    widths=(32, 64, 128), dense_width=256, num_steps=3000),
    "binarized_mnist": dict(dataset="mnist", preprocess="dynamic_binarize", augment="translate",
                            widths=(32, 64, 128, 256), dense_width=0, num_steps=2000),
}


def get_config(variant: str = "mnist") -> ml_collections.ConfigDict:
  names = [v for v in variant.split(",") if v]
  datasets = [n for n in names if n in VARIANTS]
  unknown = [n for n in names if n not in VARIANTS and n != "tiny"]
  if unknown or len(datasets) != 1:
    raise ValueError(f"Config variant {variant!r}: name one of {tuple(VARIANTS)} "
                     "(optionally with ',tiny').")
  name = datasets[0]
  variant_config = VARIANTS[name]

  config = ml_collections.ConfigDict()
  config.task = "classifier"
  config.seed = 0
  config.feature_network = name  # The weights file it becomes.

  config.data = ml_collections.ConfigDict()
  config.data.name = variant_config["dataset"]
  config.data.preprocess = variant_config["preprocess"]
  config.data.augment = variant_config["augment"]
  config.data.batch_size = 128
  config.data.data_dir = ""
  config.data.npz_dir = ""

  config.model = ml_collections.ConfigDict()
  config.model.widths = variant_config["widths"]
  config.model.convs_per_block = 1
  config.model.groups = 8
  config.model.dense_width = variant_config["dense_width"]

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"
  config.optim.weight_decay = 5e-4

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = variant_config["num_steps"]
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
    config.model.dense_width = 16 if config.model.dense_width else 0
    config.data.batch_size = 16
    config.training.num_steps = 6
    config.training.log_every = 2
    config.training.checkpoint_every = 3
    config.eval.every = 3
    config.eval.num_examples = 64
    config.eval.batch_size = 32
    config.eval.periodic_num_examples = 32
  return config
