r"""Throughput of the latent-variable-model train steps (examples/s), as the loop runs them.

  python -m benchmarks.vae_step [--steps=200] [--models=vae,iwae,conv_vae,vqvae]
      [--datasets=binarized_mnist]

Prints one JSON line per (model, dataset): compile seconds, ms per step and examples/s
of the data-parallel step (as the trainer runs it) on random uint8 images of the dataset's shape, at the config's
batch size. Models: ``vae`` and ``iwae`` (k = 5) are the MLP 784-512-512-50 of
``vae_binarized_mnist``; ``conv_vae`` is ``vae_fashion_mnist``; ``vqvae`` is
``vqvae_fashion_mnist``. Datasets: binarized_mnist, mnist, fashion_mnist (28×28×1),
cifar10 (32×32×3).
"""

import json

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from experiments.configs import vae_binarized_mnist
from experiments.configs import vae_fashion_mnist
from experiments.configs import vqvae_fashion_mnist
from jgen import data
from jgen.tasks import vae
from jgen.train import parallel
from jgen.train import trainer

_CONFIGS = {
    "vae": lambda: vae_binarized_mnist.get_config(""),
    "iwae": lambda: vae_binarized_mnist.get_config("iwae"),
    "conv_vae": lambda: vae_fashion_mnist.get_config(""),
    "vqvae": lambda: vqvae_fashion_mnist.get_config(""),
}
# Data scaling that fits each likelihood on any dataset (binary data needs 0/1 pixels).
_PREPROCESS = {"binarized_mnist": "binary"}

_STEPS = flags.DEFINE_integer("steps", 200, "Timed steps.")
_MODELS = flags.DEFINE_list("models", ["vae", "iwae"], f"Any of {sorted(_CONFIGS)}.")
_DATASETS = flags.DEFINE_list("datasets", ["binarized_mnist"], "Image datasets of jgen.data.DATASETS.")


def main(argv):
  del argv
  for name in _MODELS.value:
    if name not in _CONFIGS:
      raise app.UsageError(f"--models: unknown {name!r}; valid: {', '.join(_CONFIGS)}.")
    for dataset in _DATASETS.value:
      config = _CONFIGS[name]()
      if dataset != config.data.name:
        config.data.name = dataset
        if config.data.preprocess == "binary":  # The MLP VAE on other data: binarize.
          config.data.preprocess = _PREPROCESS.get(dataset, "dynamic_binarize")
      trainer.validate_config(config)
      info = data.dataset_info(dataset)
      batch, shape = config.data.batch_size, info.shape
      # The step exactly as the trainer runs it: data-parallel over the local device(s).
      step, put, _ = parallel.data_parallel(vae.train_step(config, info))
      state = put(vae.init_state(config, info))
      rng = np.random.default_rng(0)
      high = 2 if config.data.preprocess == "binary" else 256
      batches = [{"image": rng.integers(0, high, (1, batch, *shape), dtype=np.uint8)}
                 for _ in range(4)]
      timing = common.time_step(step, state, batches, _STEPS.value)
      print(json.dumps({"benchmark": "vae_train_step", "model": name, "dataset": dataset,
                        "objective": config.loss.objective, "batch": batch, **timing,
                        "examples_per_s": round(1000 * batch / timing["ms_per_step"], 1),
                        "backend": jax.default_backend()}), flush=True)


if __name__ == "__main__":
  app.run(main)
