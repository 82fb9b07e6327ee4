r"""The trainer's loop against a bare loop over the same jitted step and device batches.

  python -m benchmarks.trainer_overhead [--npz_dir=../shared/data] [--rounds=2]

For DCGAN-MNIST, the MLP VAE on binarized MNIST and MADE (32 masks): steps/s of
`jgen.train.loop.train_loop` (the trainer's loop: prefetch, one-step-late metric
checks, logging at the config's ``log_every``, metrics.jsonl/TensorBoard) against a
bare Python loop calling the same data-parallel step on batches from the same prefetcher.
Each is timed over ``--steps`` steps after as many warm-up steps (compilation
excluded); checkpoints and evaluation are off in both (their cadences are reported
apart: they cost what a save or an evaluation costs, not a per-step overhead). The two
loops alternate, ``--rounds`` times each. One JSON line per model and round.
"""

import functools
import json
import os
import tempfile
import time

from absl import app
from absl import flags
import jax

from experiments.configs import dcgan_mnist
from experiments.configs import made_binarized_mnist
from experiments.configs import vae_binarized_mnist
from jgen import data
from jgen.tasks.base import load_arrays
from jgen.train import parallel
from jgen.train import trainer
from jgen.train.loop import PeriodicHook
from jgen.train.loop import train_loop
from jgen.train.summaries import MetricWriter

_NPZ_DIR = flags.DEFINE_string(
    "npz_dir", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"),
    "Folder of the .npz archives (to build the TFDS datasets offline if needed).")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds of each loop.")
_STEPS = {"dcgan_mnist": 150, "mlp_vae": 1000, "made": 500}
_CONFIGS = {"dcgan_mnist": lambda: dcgan_mnist.get_config(),
            "mlp_vae": lambda: vae_binarized_mnist.get_config(),
            "made": lambda: made_binarized_mnist.get_config("masks32")}


def _pieces(config, arrays):
  task = trainer.validate_config(config)
  info = data.dataset_info(config.data.name)
  batches = task.batches(config, data.BatchIterator(
      arrays, global_batch_size=config.data.batch_size, seed=config.seed))
  return task.init_state(config, info), task.train_step(config, info), batches


def _trainer_seconds(config, arrays, steps: int) -> float:
  state, step_fn, batches = _pieces(config, arrays)
  marks = []
  with tempfile.TemporaryDirectory() as workdir:
    writer = MetricWriter(workdir)
    # Marks after the warm-up steps and after the timed ones; the last step (which
    # writes the final checkpoint) comes after the second mark.
    train_loop(state, step_fn, batches, workdir=workdir, num_steps=2 * steps + 1,
               log_every=config.training.log_every, checkpoint_every=10**9,
               hooks=[PeriodicHook(steps, lambda s, _: marks.append(time.perf_counter()))],
               writer=writer, skip_norms=True)
    writer.close()
  return marks[1] - marks[0]


def _bare_seconds(config, arrays, steps: int) -> float:
  state, step_fn, batches = _pieces(config, arrays)
  # As the loop runs the steps it does not log: without the norms.
  p_step, put, _ = parallel.data_parallel(functools.partial(step_fn, norms=False))
  rstate = put(state)
  with data.prefetch_to_device(batches) as device_batches:
    for _ in range(steps):
      rstate, metrics = p_step(rstate, next(device_batches))
    jax.block_until_ready(metrics)
    t = time.perf_counter()
    for _ in range(steps):
      rstate, metrics = p_step(rstate, next(device_batches))
    jax.block_until_ready(metrics)
    return time.perf_counter() - t


def main(argv):
  del argv
  for name, make_config in _CONFIGS.items():
    config = make_config()
    config.data.npz_dir = _NPZ_DIR.value
    arrays = load_arrays(config, "train")
    steps = _STEPS[name]
    for r in range(_ROUNDS.value):
      loop_s = _trainer_seconds(config, arrays, steps)
      bare_s = _bare_seconds(config, arrays, steps)
      print(json.dumps({
          "benchmark": "trainer_overhead", "model": name, "round": r, "steps": steps,
          "batch": config.data.batch_size, "log_every": config.training.log_every,
          "trainer_steps_per_s": round(steps / loop_s, 2),
          "bare_steps_per_s": round(steps / bare_s, 2),
          "ratio": round(bare_s / loop_s, 3), "backend": jax.default_backend()}), flush=True)


if __name__ == "__main__":
  app.run(main)
