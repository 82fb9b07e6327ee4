r"""Throughput of the VAE train step on binarized MNIST (MLP 784-512-512-50, batch 100).

  python -m benchmarks.vae_step [--steps=200]

Prints one JSON line per objective (vae, iwae with k = 5): examples/s and compile
seconds of the step exactly as the training loop runs it (pmapped over the local
devices), on random binary images.
"""

import json

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from experiments.configs import vae_binarized_mnist
from jgen.train import parallel
from jgen.train import vae

_STEPS = flags.DEFINE_integer("steps", 200, "Timed steps.")


def main(argv):
  del argv
  for variant in ("", "iwae"):
    config = vae_binarized_mnist.get_config(variant)
    batch = config.data.batch_size
    state = parallel.replicate(vae.make_state(config))
    step = parallel.pmap_step(vae.make_step(config))
    rng = np.random.default_rng(0)
    batches = [{"image": rng.integers(0, 2, (1, 1, batch, 28, 28, 1), dtype=np.uint8)}
               for _ in range(4)]
    timing = common.time_step(step, state, batches, _STEPS.value)
    print(json.dumps({"benchmark": "vae_binarized_mnist_train_step",
                      "objective": config.loss.objective, "batch": batch, **timing,
                      "examples_per_s": round(1000 * batch / timing["ms_per_step"], 1),
                      "backend": jax.default_backend()}), flush=True)


if __name__ == "__main__":
  app.run(main)
