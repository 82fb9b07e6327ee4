r"""Every family's train step: jgen, a minimal hand-written JAX step, PyTorch eager.

  python -m benchmarks.steps --torch_python=/path/to/venv/bin/python \
      [--models=dcgan,vae,...] [--rounds=2] [--target_s=4] [--out=FILE]
  python -m benchmarks.steps --table=benchmarks/results_steps.jsonl  # the README table

For the default config of each model in ``MODELS``, three implementations of the same
update on the same random uint8 batches, alternating, for ``--rounds`` rounds:

- ``jgen``: the step exactly as the trainer runs it (the task's ``train_step``,
  `jgen.train.data_parallel` over the local devices, its metrics);
- ``minimal``: `benchmarks.minimal_steps`, sharing only the Flax module;
- ``pytorch-eager``: `benchmarks/torch_steps.py` under ``--torch_python`` (2 threads).

The number of timed steps per model is set once, from jgen's first steps, to fill about
``--target_s`` seconds, and the three use the same. One JSON line per measurement
(``benchmark: 'train_step'``), then one per model and round with the ratios (``speed``:
the other's ms per step over jgen's; > 1: jgen is faster) and whether each target of
``TARGETS`` is met. ``--table`` prints the Markdown table of a results file instead.
"""

import functools
import json
import pathlib
import statistics
import time

from absl import app
from absl import flags
import jax
import numpy as np

from benchmarks import common
from benchmarks import minimal_steps
from experiments.configs import dcgan_mnist
from experiments.configs import flow_images
from experiments.configs import gan_zoo
from experiments.configs import made_binarized_mnist
from experiments.configs import nade_binarized_mnist
from experiments.configs import pixelcnn
from experiments.configs import vae_binarized_mnist
from experiments.configs import vae_fashion_mnist
from experiments.configs import vqvae_fashion_mnist
from jgen import data
from jgen import tasks
from jgen.tasks import gan
from jgen.train import parallel

# name → (default config, minimal-step builder).
MODELS = {
    "dcgan": (dcgan_mnist.get_config, "gan"),
    "sngan": (lambda: gan_zoo.get_config("sngan"), "gan"),
    "biggan": (lambda: gan_zoo.get_config("biggan"), "gan"),
    "vae": (lambda: vae_binarized_mnist.get_config(""), "vae"),
    "iwae": (lambda: vae_binarized_mnist.get_config("iwae"), "vae"),
    "conv_vae": (lambda: vae_fashion_mnist.get_config(""), "vae"),
    "vqvae": (lambda: vqvae_fashion_mnist.get_config(""), "vqvae"),
    "nade": (lambda: nade_binarized_mnist.get_config(""), "likelihood"),
    "made": (lambda: made_binarized_mnist.get_config(""), "likelihood"),
    "pixelcnn": (lambda: pixelcnn.get_config("pixelcnn"), "likelihood"),
    "gated_pixelcnn": (lambda: pixelcnn.get_config("gated"), "likelihood"),
    "row_lstm": (lambda: pixelcnn.get_config("row_lstm"), "likelihood"),
    "diagonal_bilstm": (lambda: pixelcnn.get_config("diagonal_bilstm"), "likelihood"),
    "realnvp_mlp": (lambda: flow_images.get_config("realnvp_mlp"), "likelihood"),
    "maf": (lambda: flow_images.get_config("maf"), "likelihood"),
    "realnvp": (lambda: flow_images.get_config("realnvp"), "likelihood"),
    "glow": (lambda: flow_images.get_config("glow"), "likelihood"),
}
# Issue 13's targets: jgen's speed over the minimal JAX step (every model) and over
# PyTorch eager (where named), and compile seconds (every model).
MINIMAL_TARGET, COMPILE_TARGET_S = 0.9, 5.0
TORCH_TARGETS = {"dcgan": 1.2, "vae": 1.2, "iwae": 1.2, "conv_vae": 1.2, "vqvae": 1.2,
                 "pixelcnn": 1.0, "gated_pixelcnn": 1.0, "glow": 1.0,
                 "realnvp_mlp": 1.5, "maf": 1.5}
_FRAMEWORKS = ("jgen", "minimal", "pytorch-eager")

_MODELS = flags.DEFINE_list("models", list(MODELS), "Any of MODELS.")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds.")
_TARGET_S = flags.DEFINE_float("target_s", 4.0, "Seconds of timed steps per measurement.")
_TORCH = flags.DEFINE_string("torch_python", "", "A Python with torch; empty: no PyTorch.")
_OUT = flags.DEFINE_string("out", "", "Also append the JSON lines to this file.")
_TABLE = flags.DEFINE_string("table", "", "Print the Markdown table of this results file.")
_REFERENCE = pathlib.Path(__file__).with_name("torch_steps.py")


def _random_batches(config, info, rng, count: int = 4) -> list[dict]:
  """``count`` batches of the config's size as a stored dataset yields them: uint8
  images (0/1 for binary data) and labels, without the device axis."""
  b, high = config.data.batch_size, 2 if info.binary else 256
  return [{"image": rng.integers(0, high, (b, *info.shape), dtype=np.uint8),
           "label": rng.integers(0, max(info.num_classes, 1), (b,)).astype(np.int32)}
          for _ in range(count)]


def _setup(name: str):
  config = MODELS[name][0]()
  info = data.dataset_info(config.data.name)
  if config.task == "likelihood":
    common.random_actnorm_init()
  task = tasks.get_task(config.task)
  host = jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x,
                      task.init_state(config, info))
  return config, info, task, host


def _runners(name: str) -> dict:
  """``{framework: run(steps) -> {'compile_s', 'ms_per_step'}}`` for model ``name``."""
  config, info, task, host = _setup(name)
  k = config.loss.get("n_critic", 1) if config.task == "gan" else 1
  rng = np.random.default_rng(0)
  batches = _random_batches(config, info, rng, 4 * k)
  if config.task != "gan" or not gan.num_classes(config, info):
    batches = [{"image": b["image"]} for b in batches]
  if config.task == "gan":  # (n_critic, B, ...) per step, as task.batches groups them.
    batches = [jax.tree.map(lambda *xs: np.stack(xs), *batches[i * k:(i + 1) * k])
               for i in range(4)]
  minimal_batches = batches
  # jgen's batches lead with the device axis, the batch split over the devices.
  n = jax.local_device_count()

  def split(x):  # (…, B, rest) → (n, …, B/n, rest), "…" being n_critic for GANs.
    lead = x.shape[:-len(info.shape)] if x.dtype == np.uint8 else x.shape
    x = x.reshape(*lead[:-1], n, lead[-1] // n, *x.shape[len(lead):])
    return np.moveaxis(x, len(lead) - 1, 0)

  jgen_batches = [jax.tree.map(split, b) for b in batches]
  # As the loop runs every step it does not log (all but 1 in training.log_every).
  step, put, _ = parallel.data_parallel(
      functools.partial(task.train_step(config, info), norms=False))
  kind = MODELS[name][1]
  if kind == "gan":
    minimal, init = minimal_steps.gan(config, host, num_classes=gan.num_classes(config, info),
                                      latent_dim=gan.latent_size(config, info))
  else:
    minimal, init = getattr(minimal_steps, kind)(config, host)
  init = jax.tree.map(np.asarray, init)
  compile_s = {}

  def timer(framework, fn, state_fn, batches):
    def run(steps: int) -> dict:
      timing = common.time_step(fn, state_fn(), batches, steps)
      compile_s.setdefault(framework, timing["compile_s"])
      return {**timing, "compile_s": compile_s[framework]}
    return run

  return {"jgen": timer("jgen", step, lambda: put(host), jgen_batches),
          "minimal": timer("minimal", minimal, lambda: jax.tree.map(jax.numpy.asarray, init),
                           minimal_batches),
          "batch": config.data.batch_size}


def _steps_for(run) -> int:
  """Timed steps filling ``--target_s``, from a short first run (which also compiles)."""
  probe = run(3)
  return int(np.clip(round(1000 * _TARGET_S.value / probe["ms_per_step"]), 5, 1000))


def _emit(record: dict) -> None:
  line = json.dumps(record)
  print(line, flush=True)
  if _OUT.value:
    with open(_OUT.value, "a") as f:
      f.write(line + "\n")


def _ratios(name: str, r: int, ms: dict) -> dict:
  out = {"benchmark": "train_step_ratio", "model": name, "round": r,
         "speed_over_minimal": round(ms["minimal"] / ms["jgen"], 3)}
  out["meets_minimal_target"] = out["speed_over_minimal"] >= MINIMAL_TARGET
  if "pytorch-eager" in ms:
    out["speed_over_torch"] = round(ms["pytorch-eager"] / ms["jgen"], 3)
    if name in TORCH_TARGETS:
      out["torch_target"] = TORCH_TARGETS[name]
      out["meets_torch_target"] = out["speed_over_torch"] >= TORCH_TARGETS[name]
  return out


def table(path: str) -> str:
  """The README's Markdown table of a results file: per model, the mean over rounds of
  each framework's ms per step and of jgen's speed ratios, and jgen's compile time."""
  records = [json.loads(line) for line in open(path) if line.strip()]
  steps = [r for r in records if r["benchmark"] == "train_step"]
  ratios = [r for r in records if r["benchmark"] == "train_step_ratio"]
  rows = ["| model | batch | jgen ms/step | minimal JAX | PyTorch eager | jgen speed ÷ minimal "
          "(target ≥ 0.9) | jgen speed ÷ PyTorch (target) | jgen compile s (≤ 5) |",
          "|---|---|---|---|---|---|---|---|"]

  def mean(values, digits=1):
    return f"{statistics.mean(values):.{digits}f}" if values else "—"

  for name in dict.fromkeys(r["model"] for r in steps):
    ms = {fw: [r["ms_per_step"] for r in steps if r["model"] == name and r["framework"] == fw]
          for fw in _FRAMEWORKS}
    mine = [r for r in ratios if r["model"] == name]
    over_min = [r["speed_over_minimal"] for r in mine]
    over_torch = [r["speed_over_torch"] for r in mine if "speed_over_torch" in r]
    target = TORCH_TARGETS.get(name)
    torch_cell = mean(over_torch, 2) + (f" ({target}×)" if target else "")
    compile_s = [r["compile_s"] for r in steps if r["model"] == name and r["framework"] == "jgen"]
    batch = next(r["batch"] for r in steps if r["model"] == name)
    rows.append(f"| {name} | {batch} | {mean(ms['jgen'])} | {mean(ms['minimal'])} | "
                f"{mean(ms['pytorch-eager'])} | {mean(over_min, 2)} | {torch_cell} | "
                f"{max(compile_s):.1f} |")
  return "\n".join(rows)


def main(argv):
  del argv
  if _TABLE.value:
    print(table(_TABLE.value))
    return
  bad = [name for name in _MODELS.value if name not in MODELS]
  if bad:
    raise app.UsageError(f"--models: unknown {bad}; valid: {', '.join(MODELS)}.")
  runners, steps = {}, {}
  for name in _MODELS.value:
    t = time.perf_counter()
    runners[name] = _runners(name)
    steps[name] = _steps_for(runners[name]["jgen"])
    print(f"# {name}: set up and calibrated in {time.perf_counter() - t:.1f} s, "
          f"{steps[name]} timed steps", flush=True)
  for r in range(_ROUNDS.value):
    for name in _MODELS.value:
      ms, batch = {}, runners[name]["batch"]
      for framework in _FRAMEWORKS:
        if framework == "pytorch-eager":
          if not _TORCH.value:
            continue
          result = common.run_reference(_TORCH.value, _REFERENCE, model=name,
                                        steps=steps[name], batch=batch)
          result = {"ms_per_step": result["ms_per_step"], "torch": result["torch"],
                    "params": result.get("params")}
        else:
          result = runners[name][framework](steps[name])
        ms[framework] = result["ms_per_step"]
        _emit({"benchmark": "train_step", "model": name, "framework": framework,
               "round": r, "batch": batch, "steps": steps[name], **result,
               "examples_per_s": round(1000 * batch / result["ms_per_step"], 1),
               "backend": jax.default_backend(), "xla_flags": common.XLA_FLAGS})
      _emit(_ratios(name, r, ms))


if __name__ == "__main__":
  app.run(main)
