r"""Where a train step's time goes: XLA's ops, from a JAX profiler trace.

  python -m benchmarks.profile_step --models=glow,maf [--steps=5] [--top=12]

For each model of `benchmarks.steps.MODELS`, jgen's step as the trainer runs it (the
steps it does not log), traced over ``--steps`` steps after warm-up. Prints one JSON
line per model: ms per step in each kind of op (XLA's op names without their numeric
suffix: ``convolution``, ``dot``, ``loop_fusion``, ``reduce-window``…), the largest
first, and the largest single ops. The two cores run ops side by side, so the kinds
may add up to more than the step.
"""

import collections
import glob
import gzip
import json
import re
import tempfile

from absl import app
from absl import flags
import jax

from benchmarks import steps as steps_lib

_MODELS = steps_lib._MODELS  # pylint: disable=protected-access  (--models, shared)
_STEPS = flags.DEFINE_integer("steps", 5, "Traced steps.")
_TOP = flags.DEFINE_integer("top", 12, "Op kinds and ops listed.")


def _events(trace_dir: str) -> list[dict]:
  path = sorted(glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True))[-1]
  with gzip.open(path) as f:
    return [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]


def profile(name: str, steps: int, top: int) -> dict:
  run = steps_lib._runners(name)["jgen"]  # pylint: disable=protected-access
  run(3)  # Compile and warm up outside the trace.
  with tempfile.TemporaryDirectory() as trace_dir:
    jax.profiler.start_trace(trace_dir)
    timing = run(steps)
    jax.profiler.stop_trace()
    events = _events(trace_dir)
  per_op, per_kind = collections.Counter(), collections.Counter()
  for e in events:
    op = e["name"]
    if op.startswith(("ThunkExecutor", "$", "CommonPjRt")) or "jit" in op.lower():
      continue  # Executor and dispatch spans enclose the ops.
    per_op[op] += e.get("dur", 0)
    per_kind[re.sub(r"[.\d]+$", "", op)] += e.get("dur", 0)
  # The trace also covers common.time_step's first and warm-up steps: 4 more.
  scale = 1 / (1000 * (steps + 4))
  return {"benchmark": "train_step_profile", "model": name,
          "ms_per_step": timing["ms_per_step"],
          "ms_by_kind": {k: round(v * scale, 2) for k, v in per_kind.most_common(top)},
          "largest_ops_ms": {k: round(v * scale, 2) for k, v in per_op.most_common(top)}}


def main(argv):
  del argv
  bad = [name for name in _MODELS.value if name not in steps_lib.MODELS]
  if bad:
    raise app.UsageError(f"--models: unknown {bad}; valid: {', '.join(steps_lib.MODELS)}.")
  for name in _MODELS.value:
    print(json.dumps(profile(name, _STEPS.value, _TOP.value)), flush=True)


if __name__ == "__main__":
  app.run(main)
