"""Multi-process runs on localhost: the launch variables, sharding, and a 2-process VAE.

The real runs start ``jax.distributed`` in subprocesses exactly as a user would:
``JAX_COORDINATOR_ADDRESS=127.0.0.1:PORT JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=p``, each
process with 4 fake CPU devices (cross-process collectives over gloo), and compare with
one process holding all 8 devices.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jgen.train import parallel
from jgen.train.checkpoint import Checkpointer

REPO = pathlib.Path(__file__).resolve().parents[2]
VAE_CONFIG = f"{REPO / 'experiments' / 'configs' / 'vae_binarized_mnist.py'}:tiny"
LAUNCH_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")
TIMEOUT_S = 600  # Generous: 3 processes compile on 2 shared cores.


# --- The launch variables (in-process: every case raises before JAX starts). ---


@pytest.fixture(name="launch_env")
def _launch_env(monkeypatch):
  for name in LAUNCH_VARS:
    monkeypatch.delenv(name, raising=False)
  def set_env(**values):
    for name, value in values.items():
      monkeypatch.setenv(name, value)
  return set_env


@pytest.mark.parametrize("values, match", [
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "2"},
     "^JAX_PROCESS_ID must be set too"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_PROCESS_ID": "0"},
     "^JAX_NUM_PROCESSES must be set too"),
    ({"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1"},
     "^JAX_COORDINATOR_ADDRESS must be set too"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "two",
      "JAX_PROCESS_ID": "0"}, "JAX_NUM_PROCESSES='two' is not an integer"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "2",
      "JAX_PROCESS_ID": "1.0"}, "JAX_PROCESS_ID='1.0' is not an integer"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "2",
      "JAX_PROCESS_ID": "2"}, r"JAX_PROCESS_ID=2 must be in \[0, JAX_NUM_PROCESSES=2\)"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "0",
      "JAX_PROCESS_ID": "0"}, "JAX_NUM_PROCESSES=0 must be at least 1"),
])
@pytest.mark.parametrize("enable", [None, True])
def test_bad_launch_variables_raise_naming_the_variable(launch_env, values, match, enable):
  launch_env(**values)
  with pytest.raises(ValueError, match=match):
    parallel.initialize_distributed(enable)
  assert not jax.distributed.is_initialized()


def test_launch_variables_become_explicit_arguments(launch_env):
  # pylint: disable-next=protected-access
  args = parallel._distributed_args_from_env
  assert args({}) == {}
  assert args({"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234"}) == {}  # Count, index detected.
  assert args({"JAX_COORDINATOR_ADDRESS": " 10.0.0.1:1234", "JAX_NUM_PROCESSES": "4",
               "JAX_PROCESS_ID": "3 ", "JAX_LOCAL_DEVICE_IDS": "0"}) == {
                   "coordinator_address": "10.0.0.1:1234", "num_processes": 4,
                   "process_id": 3}
  launch_env(JAX_NUM_PROCESSES="2")  # Incomplete, but --distributed=false wins.
  parallel.initialize_distributed(False)
  assert not jax.distributed.is_initialized()


# --- Real processes on localhost. ---


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env(devices: int, process: tuple[int, int, int] | None = None) -> dict[str, str]:
  """A subprocess environment: CPU, `devices` fake devices, (port, P, p) if given."""
  env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
  # Unoptimised CPU code: compiling dominates these runs and drops ~40%; every run
  # compared uses the same flags.
  env |= {"JAX_PLATFORMS": "cpu",
          "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} "
                       "--xla_backend_optimization_level=0 "
                       "--xla_llvm_disable_expensive_passes=true"}
  if process is not None:
    port, count, index = process
    env |= {"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
            "JAX_NUM_PROCESSES": str(count), "JAX_PROCESS_ID": str(index)}
  return env


def _run_all(commands: dict[str, tuple[list[str], dict[str, str]]], logs: pathlib.Path):
  """Runs the commands concurrently; returns {name: stdout}, failing with their logs."""
  logs.mkdir(parents=True, exist_ok=True)
  procs = {}
  for name, (argv, env) in commands.items():
    with open(logs / f"{name}.out", "w") as out, open(logs / f"{name}.err", "w") as err:
      procs[name] = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=err)
  deadline = time.monotonic() + TIMEOUT_S
  try:
    for proc in procs.values():
      proc.wait(timeout=max(1.0, deadline - time.monotonic()))
  except subprocess.TimeoutExpired:
    pass
  finally:
    for proc in procs.values():
      if proc.poll() is None:
        proc.kill()
        proc.wait()
  failed = {name: p.returncode for name, p in procs.items() if p.returncode != 0}
  if failed:
    tails = "\n".join(f"--- {name} (exit {rc}):\n{(logs / f'{name}.err').read_text()[-3000:]}"
                      for name, rc in failed.items())
    raise AssertionError(f"{sorted(failed)} failed or timed out after {TIMEOUT_S} s:\n{tails}")
  return {name: (logs / f"{name}.out").read_text() for name in procs}


_SHARDS = """
import json
from jgen.train import parallel
parallel.initialize_distributed()  # From the launch variables, before any JAX work.
import jax, jax.numpy as jnp, numpy as np
from jgen import data
it = data.BatchIterator({"label": np.arange(103)}, global_batch_size=16, seed=3)
shapes = set()
labels = []
for _ in range(it.steps_per_epoch):
  batch = next(it)["label"]
  shapes.add(batch.shape)
  labels += batch.ravel().tolist()
# A collective over the 8 devices of both processes (gloo on CPU).
total = jax.pmap(lambda x: jax.lax.psum(x, "i"), axis_name="i")(
    jnp.full(jax.local_device_count(), jax.process_index() + 1.0))
print(json.dumps({"process": jax.process_index(), "count": jax.process_count(),
                  "local": jax.local_device_count(), "global": jax.device_count(),
                  "collectives": jax.config.jax_cpu_collectives_implementation,
                  "shapes": sorted(shapes), "labels": labels, "psum": float(total[0])}))
"""


def test_two_processes_split_every_epoch_and_reduce_across_each_other(tmp_path):
  port, code = _free_port(), textwrap.dedent(_SHARDS)
  out = _run_all({f"p{p}": ([sys.executable, "-c", code], _env(4, (port, 2, p)))
                  for p in range(2)}, tmp_path)
  reports = [json.loads(out[f"p{p}"].strip().splitlines()[-1]) for p in range(2)]
  for p, report in enumerate(reports):
    assert report["process"] == p
    assert (report["count"], report["local"], report["global"]) == (2, 4, 8)
    assert report["collectives"] == "gloo"
    assert report["shapes"] == [[4, 2]]  # 16 / (2 processes · 4 devices) per device.
    assert report["psum"] == 4 * 1.0 + 4 * 2.0
  mine, theirs = (r["labels"] for r in reports)
  steps = 103 // 16
  assert len(mine) == len(set(mine)) == len(theirs) == len(set(theirs)) == steps * 8
  assert not set(mine) & set(theirs)
  assert len(set(mine) | set(theirs)) == steps * 16


@pytest.fixture(name="vae_data", scope="module")
def _vae_data(tmp_path_factory):
  """(npz_dir, tfds_dir): tiny binarized MNIST, with the TFDS copy already built.

  Built here, once: processes that all start from an empty shared TFDS dir each build
  it and all but the first fail to rename theirs into place (FileExistsError).
  """
  from jgen import data  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  folder = tmp_path_factory.mktemp("vae_data")
  np.savez(folder / "binarized_mnist.npz", **{
      f"x_{split}": rng.integers(0, 2, (n, 28, 28), dtype=np.uint8)
      for split, n in (("train", 64), ("valid", 16), ("test", 32))})
  data.prepare_from_npz("binarized_mnist", folder, folder / "tfds")
  return folder, folder / "tfds"


def _vae_argv(workdir, vae_data):
  npz_dir, tfds_dir = vae_data
  # Global batch 16 over 8 devices; 6 steps, checkpoints at 3 and 6, figures at 6, a
  # smaller evaluation than tiny's (3 processes compile it on 2 cores).
  return [sys.executable, "-m", "experiments.vae", f"--workdir={workdir}",
          f"--config={VAE_CONFIG}", f"--config.data.npz_dir={npz_dir}",
          f"--config.data.data_dir={tfds_dir}", "--config.eval.every=6",
          "--config.eval.num_examples=16", "--config.eval.iwae_samples=4",
          "--config.eval.iwae_chunk=4", "--config.eval.num_samples=8"]


def _saved_tree(workdir):
  """The newest checkpoint's state, read without a target: nested dicts of NumPy arrays.

  It gives ``restore_latest`` its structure, shapes and dtypes without building the
  model (a typed PRNG key comes back as its raw ``uint32`` data).
  """
  manager = ocp.CheckpointManager(pathlib.Path(workdir) / "checkpoints")
  try:
    return manager.restore(manager.latest_step(), args=ocp.args.Composite(
        state=ocp.args.StandardRestore()))["state"]
  finally:
    manager.close()


def _restore(workdir, target):
  ckpt = Checkpointer(pathlib.Path(workdir) / "checkpoints")
  try:
    restored = ckpt.restore_latest(target)
  finally:
    ckpt.close()
  assert restored is not None, f"no checkpoint restores from {workdir}"
  return restored


def _names(folder):
  return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _train_metrics(workdir):
  lines = pathlib.Path(workdir, "metrics.jsonl").read_text().splitlines()
  return [r for r in map(json.loads, lines) if "train_loss" in r]


def test_two_process_vae_run_equals_one_process_on_8_devices(tmp_path, vae_data):
  one, two = tmp_path / "one_process", tmp_path / "two_processes"
  port = _free_port()
  _run_all({"single": (_vae_argv(one, vae_data), _env(8)),
            **{f"p{p}": (_vae_argv(two, vae_data), _env(4, (port, 2, p))) for p in range(2)}},
           tmp_path / "logs")

  # The multi-process checkpoint restores in this single process, as a resumed run
  # restores it, to the state of the 1-process run.
  target = _saved_tree(one)
  (state_one, data_one), (state_two, data_two) = _restore(one, target), _restore(two, target)
  assert int(state_one["step"]) == int(state_two["step"]) == 6
  assert data_one == data_two == {"epoch": 1, "index": 2}  # 4 batches of 16 per epoch.
  leaves_one, leaves_two = jax.tree.leaves(state_one), jax.tree.leaves(state_two)
  assert len(leaves_one) == len(leaves_two) > 20  # Params, Adam moments, counts, key.
  for a, b in zip(leaves_one, leaves_two, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)

  # Only process 0 wrote: orbax's host arrays, metrics (each step once), events, files.
  assert [p.name for p in (two / "checkpoints" / "6" / "state").glob("ocdbt.process_*")] == [
      "ocdbt.process_0"]
  metrics_one, metrics_two = _train_metrics(one), _train_metrics(two)
  assert [r["step"] for r in metrics_two] == [r["step"] for r in metrics_one] == [2, 4, 6]
  np.testing.assert_allclose([r["train_loss"] for r in metrics_two],
                             [r["train_loss"] for r in metrics_one], rtol=1e-5)
  assert len(list((two / "tb").iterdir())) == 1
  summary = json.loads((two / "summary.json").read_text())
  assert summary["step"] == 6
  assert np.load(two / "samples.npz")["samples"].shape == (8, 28, 28, 1)
  assert _names(two / "figures") == _names(one / "figures")
