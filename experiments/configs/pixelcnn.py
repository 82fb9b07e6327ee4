r"""PixelCNN, gated PixelCNN, PixelRNN (Row LSTM, Diagonal BiLSTM), VQ-VAE priors.

  python -m experiments.main --workdir=/tmp/pixelcnn \
      --config=experiments/configs/pixelcnn.py:gated --config.data.npz_dir=../shared/data

The `likelihood` task, exact −log p(x), Adam(1e-3) with cosine decay. Variants:
``pixelcnn`` (default), ``gated``, ``row_lstm`` or ``diagonal_bilstm``; a dataset:
``binarized_mnist`` (default; the fixed Larochelle & Murray binarization, Bernoulli
conditionals; published test NLL: PixelCNN 81.30, Row LSTM 80.54, Diagonal BiLSTM
79.20 nats, PixelRNN paper Table 4), ``fashion_mnist`` or ``cifar10`` (8-bit, scaled
to [−1, 1], a 5-component discretized logistic mixture per sub-pixel; bits/dim;
published CIFAR-10, GPU-days: PixelCNN 3.14, gated 3.03, PixelCNN++ 2.92), and with
``softmax`` a 256-way softmax per sub-pixel instead (``data.preprocess='levels'``);
``conditional``: the gated model with a class bias, on MNIST binarized at 0.5 (its
labels; binarized MNIST has none), samples one column per class; ``vq_prior``: a
gated PixelCNN over the code maps of a trained VQ-VAE (Fashion-MNIST by default;
``--config.data.vqvae_workdir`` names the VQ-VAE's workdir, e.g. a run of
``vqvae_fashion_mnist.py``), whose samples are decoded to images; ``vq2_top`` and
``vq2_bottom``: the two priors of a VQ-VAE-2 (``vqvae_fashion_mnist.py:vq2``; Razavi et
al. 2019): the 7×7 top maps, then the 14×14 bottom maps given the top map
(``--config.data.top_prior_workdir`` names the top prior's run; the bottom prior reads the
top map through a 3-block conditioning stack; its samples are top prior → bottom prior →
decoder); ``tiny`` for tests.
The models are CPU-sized; the README gives the measured NLL, steps and minutes on 2
CPU cores. Samples come from the cached samplers.
"""

import ml_collections

from experiments.configs import sample_metrics

MODELS = {
    "pixelcnn": ("pixelcnn", dict(hidden=32, num_blocks=7, kernel_size=3,
                                  first_kernel_size=7, head_hidden=64)),
    "gated": ("gated_pixelcnn", dict(features=32, num_layers=8, kernel_size=7,
                                     layer_kernel_size=3, head_hidden=64)),
    "row_lstm": ("row_lstm", dict(features=32, num_layers=2, kernel_size=3,
                                  first_kernel_size=7, head_hidden=64)),
    "diagonal_bilstm": ("diagonal_bilstm", dict(features=32, num_layers=2,
                                                first_kernel_size=7, head_hidden=64)),
}
# A prior over 7×7 maps of 512 codes: each code read through a 32-wide embedding.
_PRIOR = ("gated_pixelcnn", dict(features=64, num_layers=8, kernel_size=7,
                                 layer_kernel_size=3, head_hidden=256, embed_dim=32))
DATASETS = ("binarized_mnist", "fashion_mnist", "cifar10")
# Colour: every layer's features split into R, G, B groups (multiples of 3).
_RGB = {"pixelcnn": dict(hidden=24, head_hidden=48),
        "gated_pixelcnn": dict(features=24, head_hidden=48),
        "row_lstm": dict(features=24, head_hidden=48),
        "diagonal_bilstm": dict(features=24, head_hidden=48)}
_TINY = {"pixelcnn": dict(hidden=6, num_blocks=1, first_kernel_size=3, head_hidden=6),
         "gated_pixelcnn": dict(features=6, num_layers=2, kernel_size=3, head_hidden=6),
         "row_lstm": dict(features=6, num_layers=1, first_kernel_size=3, head_hidden=6),
         "diagonal_bilstm": dict(features=6, num_layers=1, first_kernel_size=3,
                                 head_hidden=6)}


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.task = "likelihood"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "binarized_mnist"
  config.data.preprocess = "binary"
  config.data.batch_size = 64
  config.data.data_dir = ""
  config.data.npz_dir = ""
  config.data.vqvae_workdir = ""  # A VQ-VAE prior's data: that VQ-VAE's code maps.
  config.data.vq_level = ""  # A VQ-VAE-2's level: 'top' or 'bottom'.
  config.data.top_prior_workdir = ""  # A bottom prior's top prior (its samples' start).

  config.model = ml_collections.ConfigDict()
  config.model.arch, pixelcnn = MODELS["pixelcnn"]
  config.model.pixelcnn = ml_collections.ConfigDict(pixelcnn)

  config.optim = ml_collections.ConfigDict()
  config.optim.lr = 1e-3
  config.optim.schedule = "cosine"

  config.training = ml_collections.ConfigDict()
  config.training.num_steps = 6000
  config.training.log_every = 200
  config.training.checkpoint_every = 1000
  config.training.max_to_keep = 2

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 2000
  config.eval.split = "test"
  config.eval.num_examples = -1  # All 10,000 test images.
  config.eval.batch_size = 500
  config.eval.periodic_num_examples = 1000
  # Sampling recomputes the network per sub-pixel: a small set, scored at the end only.
  config.eval.num_samples = 1000
  sample_metrics.add_sample_metrics(config, periodic=())

  softmax = False
  for name in filter(None, variant.split(",")):
    if name in MODELS:
      config.model.arch, pixelcnn = MODELS[name]
      config.model.pixelcnn = ml_collections.ConfigDict(pixelcnn)
    elif name == "conditional":
      config.model.arch, pixelcnn = MODELS["gated"]
      config.model.pixelcnn = ml_collections.ConfigDict(pixelcnn | {"num_classes": 10})
      config.data.name, config.data.preprocess = "mnist", "static_binarize"
    elif name in DATASETS:
      config.data.name = name
      config.data.preprocess = "binary" if name == "binarized_mnist" else "symmetric"
    elif name == "softmax":
      softmax = True
    elif name in ("vq_prior", "vq2_top", "vq2_bottom"):
      config.model.arch, pixelcnn = _PRIOR
      config.model.pixelcnn = ml_collections.ConfigDict(pixelcnn)
      config.data.name = "fashion_mnist"
      config.data.vq_level = {"vq2_top": "top", "vq2_bottom": "bottom"}.get(name, "")
      if name == "vq2_bottom":  # VQ-VAE-2's conditioning stack over the whole top map.
        config.model.pixelcnn.condition_layers = 3
      config.optim.lr = 3e-4
    elif name != "tiny":
      raise ValueError(f"Unknown config variant {name!r}; valid: {', '.join(MODELS)}, "
                       f"{', '.join(DATASETS)}, softmax, conditional, vq_prior, vq2_top, "
                       "vq2_bottom, tiny.")
  if softmax and config.data.name == "binarized_mnist":
    raise ValueError("Variant 'softmax' is for 8-bit images: add fashion_mnist or cifar10.")
  prior = bool(config.data.vq_level) or "vq_prior" in variant.split(",")
  if softmax or prior:
    config.data.preprocess = "levels"  # Integer classes: intensities, or code indices.
  if config.data.name == "cifar10" and not prior:
    config.model.pixelcnn.update(_RGB[config.model.arch])
  if "tiny" in variant.split(","):
    config.model.pixelcnn.update(_TINY[config.model.arch])
    if config.data.preprocess == "levels":
      config.model.pixelcnn.embed_dim = 2
    config.data.batch_size = 8
    config.training.num_steps = 4
    config.training.log_every = 2
    config.training.checkpoint_every = 2
    config.eval.every = 2
    config.eval.num_examples = 16
    config.eval.batch_size = 8
    config.eval.periodic_num_examples = 8
    config.eval.num_samples = 8
    sample_metrics.make_tiny(config)
  return config
