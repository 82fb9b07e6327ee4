r"""Throughput of the DCGAN-MNIST train step, the GAN zoo's steps and the input pipeline.

  python -m benchmarks.gan_step [--npz_dir=../shared/data] [--steps=50] [--zoo=sngan,sagan]

Prints one JSON line per measurement: the jitted DCGAN step at batch 64 (examples/s and
compile seconds; non-saturating loss, Adam, float32, one D and one G update), with the
sub-pixel transposed convolution and, for comparison, with nn.ConvTranspose; then the
pipeline (MNIST train split in RAM → shuffled batches of 64 → prefetched to device);
then the step of each ``--zoo`` model of ``experiments/configs/gan_zoo.py``, and for
those with spectral norm the same step without it, alternating for ``--rounds``
rounds: the difference is the cost of the power iteration (one step per weight and
D update).
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
_ZOO = flags.DEFINE_list("zoo", [], "Models of experiments/configs/gan_zoo.py to time.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds of the zoo timings.")
_SKIP_DCGAN = flags.DEFINE_bool("skip_dcgan", False, "Only the zoo timings.")
_BATCH = 64


def _config(use_subpixel: bool):
  from experiments.configs import dcgan_mnist  # pylint: disable=g-import-not-at-top
  config = dcgan_mnist.get_config()
  config.model.use_subpixel = use_subpixel
  return config


def _timer(config, images: np.ndarray):
  """``time() -> {'compile_s', 'ms_per_step'}`` for ``config``'s step (compiled once)."""
  # The step exactly as the training loop runs it: data-parallel over the local device(s).
  info = data.dataset_info("mnist")
  step, put, _ = parallel.data_parallel(gan.train_step(config, info))
  host = gan.init_state(config, info)
  rng = np.random.default_rng(0)
  n, k = jax.local_device_count(), config.loss.n_critic  # (devices, n_critic, B, ...)
  batches = [{"image": images[idx].reshape(n, k, _BATCH // n, *images.shape[1:]),
              "label": rng.integers(0, 10, (n, k, _BATCH // n)).astype(np.int32)}
             for idx in (rng.integers(0, len(images), k * _BATCH) for _ in range(4))]
  compile_s = {}

  def time_it() -> dict:
    timing = common.time_step(step, put(host), batches, _STEPS.value)
    compile_s.setdefault("s", timing["compile_s"])
    return {**timing, "compile_s": compile_s["s"],
            "examples_per_s": round(1000 * _BATCH / timing["ms_per_step"], 1),
            "backend": jax.default_backend(), "devices": n}
  return time_it


def _bench_step(use_subpixel: bool, images: np.ndarray) -> dict:
  timing = _timer(_config(use_subpixel), images)()
  return {"benchmark": "dcgan_mnist_train_step",
          "transposed_conv": "subpixel" if use_subpixel else "nn.ConvTranspose",
          "batch": _BATCH, "steps": _STEPS.value, **timing}


def _zoo_timers(images: np.ndarray) -> dict[str, object]:
  """The zoo models' step timers, plus each spectral-norm model without spectral norm."""
  from experiments.configs import gan_zoo  # pylint: disable=g-import-not-at-top
  timers = {}
  for name in _ZOO.value:
    config = gan_zoo.get_config(name)
    timers[name] = _timer(config, images)
    if config.model.g_spectral_norm or config.model.d_spectral_norm:
      config.model.g_spectral_norm = config.model.d_spectral_norm = False
      timers[f"{name}_without_spectral_norm"] = _timer(config, images)
  return timers


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
  from experiments.configs import gan_zoo  # pylint: disable=g-import-not-at-top
  for name in _ZOO.value:
    if name not in gan_zoo.MODELS:
      raise app.UsageError(f"--zoo: unknown {name!r}; valid: {', '.join(gan_zoo.MODELS)}.")
  split = data.load_split("mnist", "train", npz_dir=_NPZ_DIR.value)
  images = split["image"]
  if not _SKIP_DCGAN.value:
    results = [_bench_step(True, images), _bench_step(False, images),
               _bench_pipeline(images)]
    for r in results:
      print(json.dumps(r), flush=True)
    ratio = results[2]["examples_per_s"] / results[0]["examples_per_s"]
    print(json.dumps({"benchmark": "pipeline_over_step_ratio", "ratio": round(ratio, 1)}))
  timers = _zoo_timers(images)
  for r in range(_ROUNDS.value):
    ms = {}
    for name, time_it in timers.items():
      result = time_it()
      ms[name] = result["ms_per_step"]
      print(json.dumps({"benchmark": "gan_zoo_train_step", "model": name, "round": r,
                        "batch": _BATCH, **result}), flush=True)
    for name in _ZOO.value:
      if f"{name}_without_spectral_norm" in ms:
        print(json.dumps({"benchmark": "spectral_norm_cost", "model": name, "round": r,
                          "ms_per_step": round(
                              ms[name] - ms[f"{name}_without_spectral_norm"], 2)}),
              flush=True)


if __name__ == "__main__":
  app.run(main)
