r"""PixelCNN train steps (beside PyTorch eager) and the two exact samplers.

  python -m benchmarks.pixelcnn_step [--models=pixelcnn,gated] [--rounds=2]
      [--torch_python=/path/to/venv/bin/python] [--sample_batch=64]

For each model of ``experiments/configs/pixelcnn.py`` (binarized MNIST, 28×28):
jgen's step exactly as the trainer runs it (the `likelihood` task's step,
`jgen.train.data_parallel`), ms per step, examples/s and compile seconds; with
``--torch_python`` (an interpreter that has torch) the PixelCNN step of
``benchmarks/pixelcnn_torch_reference.py`` right after jgen's, alternating for
``--rounds`` rounds, and the ratio. Then, once per model, the seconds to draw
``--sample_batch`` images with the reference sampler (one full network pass per pixel)
and with the cached one, and their ratio; the two draw identical images from one key
(checked here too). One JSON line per measurement.
"""

import json
import pathlib
import time

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from experiments.configs import pixelcnn
from jgen import data
from jgen.tasks import likelihood
from jgen.train import parallel

_MODELS = flags.DEFINE_list("models", list(pixelcnn.MODELS), f"Any of {tuple(pixelcnn.MODELS)}.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds.")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed steps per round.")
_SAMPLE_BATCH = flags.DEFINE_integer("sample_batch", 64, "Images per sampler timing; 0: skip.")
_TORCH = flags.DEFINE_string("torch_python", "", "A Python with torch, for the reference.")
_REFERENCE = pathlib.Path(__file__).with_name("pixelcnn_torch_reference.py")


def _setup(name: str):
  config = pixelcnn.get_config(name)
  info = data.dataset_info(config.data.name)
  host = jax.tree.map(np.asarray, likelihood.init_state(config, info))
  return config, info, host


def _step_round(name: str):
  """A closure timing one round of ``name``'s train step (compiled at the first)."""
  config, info, host = _setup(name)
  step, put, _ = parallel.data_parallel(likelihood.train_step(config, info))
  rng = np.random.default_rng(0)
  batch = config.data.batch_size
  devices = jax.local_device_count()  # the global batch split as the trainer splits it
  batches = [{"image": rng.integers(0, 2, (devices, batch // devices, *info.shape),
                                    dtype=np.uint8)}
             for _ in range(4)]
  compile_s = {}

  def run_round() -> dict:
    timing = common.time_step(step, put(host), batches, _STEPS.value)
    compile_s.setdefault("s", timing["compile_s"])
    return {"benchmark": "pixelcnn_train_step", "model": name, "framework": "jgen",
            "batch": batch, **timing, "compile_s": compile_s["s"],
            "examples_per_s": round(1000 * batch / timing["ms_per_step"], 1),
            "backend": jax.default_backend(), "devices": devices,
            "xla_flags": common.XLA_FLAGS}
  return run_round


def _sampling(name: str, n: int) -> dict:
  """Seconds per batch of ``n`` samples, reference vs cached (compile excluded)."""
  _, _, host = _setup(name)
  params = {"params": host.params}
  out = {"benchmark": "pixelcnn_sampling", "model": name, "batch": n}
  samples = {}
  for cached in (True, False):
    fn = jax.jit(lambda key, cached=cached: host.apply_fn(
        params, key, n, None, None, 0, cached, method="sample"))
    t = time.perf_counter()
    jax.block_until_ready(fn(jax.random.key(0)))
    compile_and_run = time.perf_counter() - t
    t = time.perf_counter()
    samples[cached] = np.asarray(jax.block_until_ready(fn(jax.random.key(1))))
    run_s = time.perf_counter() - t
    kind = "cached" if cached else "reference"
    out |= {f"{kind}_s": round(run_s, 2),
            f"{kind}_compile_s": round(max(compile_and_run - run_s, 0.0), 2)}
  out["speedup"] = round(out["reference_s"] / out["cached_s"], 1)
  out["identical"] = bool(np.array_equal(samples[True], samples[False]))
  return out


def main(argv):
  del argv
  for name in _MODELS.value:
    if name not in pixelcnn.MODELS:
      raise app.UsageError(f"--models: unknown {name!r}; valid: {', '.join(pixelcnn.MODELS)}.")
  rounds = {name: _step_round(name) for name in _MODELS.value}
  for r in range(_ROUNDS.value):
    for name, run_round in rounds.items():
      mine = run_round() | {"round": r}
      print(json.dumps(mine), flush=True)
      if _TORCH.value and name == "pixelcnn":
        ref = common.run_reference(_TORCH.value, _REFERENCE, steps=_STEPS.value,
                                   batch=mine["batch"]) | {"round": r}
        print(json.dumps(ref), flush=True)
        print(json.dumps({"benchmark": "pixelcnn_ratio", "model": name, "round": r,
                          "train_ratio_jgen_over_torch": round(
                              mine["examples_per_s"] / ref["examples_per_s"], 2)}),
              flush=True)
  if _SAMPLE_BATCH.value:
    for name in _MODELS.value:
      print(json.dumps(_sampling(name, _SAMPLE_BATCH.value)), flush=True)


if __name__ == "__main__":
  app.run(main)
