r"""Throughput of the DCGAN-MNIST train step and of the input pipeline alone.

  python -m benchmarks.gan_step [--npz_dir=../shared/data] [--steps=50]

Prints one JSON line per measurement: the jitted DCGAN step at batch 64 (examples/s and
compile seconds; non-saturating loss, Adam, float32, one D and one G update), with the
sub-pixel transposed convolution and, for comparison, with nn.ConvTranspose; then the
pipeline (MNIST train split in RAM → shuffled batches of 64 → prefetched to device).
"""

import json
import os
import time

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from jgen import data
from jgen.tasks import gan
from jgen.train import parallel

_NPZ_DIR = flags.DEFINE_string(
    "npz_dir", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"),
    "Folder holding mnist.npz (to build TFDS mnist offline if needed).")
_STEPS = flags.DEFINE_integer("steps", 50, "Timed steps.")
_BATCH = 64


def _config(use_subpixel: bool):
  from experiments.configs import dcgan_mnist  # pylint: disable=g-import-not-at-top
  config = dcgan_mnist.get_config()
  config.model.use_subpixel = use_subpixel
  return config


def _bench_step(use_subpixel: bool, images: np.ndarray) -> dict:
  config = _config(use_subpixel)
  # The step exactly as the training loop runs it: data-parallel over the local device(s).
  info = data.dataset_info("mnist")
  step, put, _ = parallel.data_parallel(gan.train_step(config, info))
  state = put(gan.init_state(config, info))
  rng = np.random.default_rng(0)
  batches = [{"image": images[rng.integers(0, len(images), _BATCH)][None, None]}
             for _ in range(4)]
  timing = common.time_step(step, state, batches, _STEPS.value)
  return {"benchmark": "dcgan_mnist_train_step",
          "transposed_conv": "subpixel" if use_subpixel else "nn.ConvTranspose",
          "batch": _BATCH, "steps": _STEPS.value, **timing,
          "examples_per_s": round(1000 * _BATCH / timing["ms_per_step"], 1),
          "backend": jax.default_backend(), "devices": jax.local_device_count()}


def _bench_pipeline(images: np.ndarray, n: int = 2000) -> dict:
  it = data.BatchIterator({"image": images}, global_batch_size=_BATCH, seed=0)
  with data.prefetch_to_device(it) as device_batches:
    jax.block_until_ready(next(device_batches))
    t = time.perf_counter()
    for _ in range(n):
      batch = next(device_batches)
    jax.block_until_ready(batch)
    seconds = time.perf_counter() - t
  return {"benchmark": "mnist_input_pipeline", "batch": _BATCH, "batches": n,
          "examples_per_s": round(_BATCH * n / seconds, 1)}


def main(argv):
  del argv
  images = data.load_split("mnist", "train", npz_dir=_NPZ_DIR.value)["image"]
  results = [_bench_step(True, images), _bench_step(False, images), _bench_pipeline(images)]
  for r in results:
    print(json.dumps(r), flush=True)
  ratio = results[2]["examples_per_s"] / results[0]["examples_per_s"]
  print(json.dumps({"benchmark": "pipeline_over_step_ratio", "ratio": round(ratio, 1)}))


if __name__ == "__main__":
  app.run(main)
