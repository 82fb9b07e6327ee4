r"""Flow train steps and sampling (examples/s): jgen beside PyTorch eager, alternating.

  python -m benchmarks.flow_step [--models=realnvp_mlp,maf,realnvp,glow] [--rounds=2]
      [--torch_python=/path/to/venv/bin/python]

For each model of ``experiments/configs/flow_images.py`` (MNIST-shaped, dequantized
8-bit data): jgen's step exactly as the trainer runs it (the `likelihood` task's step,
data-parallel over the local devices, `jgen.train.data_parallel`), ms per step, examples/s, compile seconds, and the
examples/s of drawing one batch of samples. With ``--torch_python`` (an interpreter
that has torch) each round also runs ``benchmarks/flows_torch_reference.py`` on the
same model, right after jgen's, and prints the ratio: ``rounds`` rounds alternate the
two frameworks, so that a noisy machine slows both alike. One JSON line per
measurement.
"""

import json
import pathlib
import time

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from experiments.configs import flow_images
from jgen import data
from jgen.tasks import likelihood
from jgen.train import parallel

MODELS = ("realnvp_mlp", "maf", "realnvp", "glow")
_MODELS = flags.DEFINE_list("models", list(MODELS), f"Any of {MODELS}.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds.")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed steps per round.")
_TORCH = flags.DEFINE_string("torch_python", "", "A Python with torch, for the reference.")
_REFERENCE = pathlib.Path(__file__).with_name("flows_torch_reference.py")


def _jgen(name: str):
  """A closure timing one round of model ``name`` (compiled once, at the first round)."""
  config = flow_images.get_config(name)
  info = data.dataset_info("mnist")
  batch = config.data.batch_size
  common.random_actnorm_init()
  t = time.perf_counter()
  # Host copies: the step donates its state, so each round puts a fresh copy.
  host = jax.tree.map(np.asarray, likelihood.init_state(config, info))
  init_s = time.perf_counter() - t
  step, put, _ = parallel.data_parallel(likelihood.train_step(config, info))
  rng = np.random.default_rng(0)
  batches = [{"image": rng.integers(0, 256, (1, batch, *info.shape), dtype=np.uint8)}
             for _ in range(4)]
  draw = likelihood.sampler(config, info)
  single = jax.tree.map(jax.numpy.asarray, host)
  compiled = {}

  def run_round() -> dict:
    timing = common.time_step(step, put(host), batches, _STEPS.value)
    out = {"benchmark": "flow_train_step", "model": name, "framework": "jgen",
           "batch": batch, "init_s": round(init_s, 2), **timing,
           "examples_per_s": round(1000 * batch / timing["ms_per_step"], 1)}
    if not compiled:
      t = time.perf_counter()
      draw(single, jax.random.key(0), batch)
      compiled["sample_compile_s"] = round(time.perf_counter() - t, 2)
    out["compile_s"] = compiled.setdefault("step_compile_s", timing["compile_s"])
    out["sample_compile_s"] = compiled["sample_compile_s"]
    reps = 1 if name == "maf" else 3  # MAF samples in 784 sequential passes per layer.
    t = time.perf_counter()
    for i in range(reps):
      draw(single, jax.random.key(i + 1), batch)
    out["sample_examples_per_s"] = round(reps * batch / (time.perf_counter() - t), 1)
    out["backend"] = jax.default_backend()
    out["xla_flags"] = common.XLA_FLAGS
    return out
  return run_round


def _torch(name: str) -> dict:
  return common.run_reference(_TORCH.value, _REFERENCE, model=name, steps=_STEPS.value,
                              sample=True)


def main(argv):
  del argv
  for name in _MODELS.value:
    if name not in MODELS:
      raise app.UsageError(f"--models: unknown {name!r}; valid: {', '.join(MODELS)}.")
  rounds = {name: _jgen(name) for name in _MODELS.value}
  for r in range(_ROUNDS.value):
    for name, run_round in rounds.items():
      mine = run_round() | {"round": r}
      print(json.dumps(mine), flush=True)
      if _TORCH.value:
        ref = _torch(name) | {"round": r}
        print(json.dumps(ref), flush=True)
        print(json.dumps({
            "benchmark": "flow_ratio", "model": name, "round": r,
            "train_ratio_jgen_over_torch": round(
                mine["examples_per_s"] / ref["examples_per_s"], 2),
            "sample_ratio_jgen_over_torch": round(
                mine["sample_examples_per_s"] / ref["sample_examples_per_s"], 2)}),
              flush=True)


if __name__ == "__main__":
  app.run(main)
