"""Shared test fixtures, and one XLA compilation cache for the whole test session."""

import atexit
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# CI clones the repo with ../shared beside it.
SHARED_DATA = REPO.parent / "shared" / "data"

# The end-to-end tests start `python -m experiments.*` subprocesses that compile the same
# tiny models again and again (a run, its resume, its restart after SIGKILL): a
# persistent cache, fresh for each session and inherited through the environment, cuts
# a repeated run from ~70 s to ~20 s on 2 cores. Set before JAX is first imported.
# Workers and subprocesses share a GPU, when there is one: no process takes most of it.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _CACHE_DIR = tempfile.mkdtemp(prefix="jgen-test-xla-cache-")
  atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
  os.environ |= {"JAX_COMPILATION_CACHE_DIR": _CACHE_DIR,
                 "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                 "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


@pytest.fixture(name="run_on_fake_devices")
def _run_on_fake_devices():
  """Runs Python code in a subprocess with N fake CPU devices; returns its last JSON line.

  XLA_FLAGS must be set before JAX initialises, hence the subprocess.
  """
  def run(code: str, devices: int = 8, timeout: float = 600) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
      raise AssertionError(f"subprocess failed:\n{proc.stderr[-5000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
  return run


@pytest.fixture(name="tiny_npz_dir", scope="session")
def _tiny_npz_dir(tmp_path_factory):
  """Tiny random archives with the keys of ../shared/data's (MNIST, Fashion-MNIST,
  binarized MNIST), for end-to-end runs offline; TFDS builds into ``<dir>/../tfds``.
  """
  rng = np.random.default_rng(0)
  folder = tmp_path_factory.mktemp("npz")
  def images(n):
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
  def labels(n):
    return rng.integers(0, 10, n, dtype=np.uint8)
  for name in ("mnist", "fashion_mnist"):
    np.savez(folder / f"{name}.npz", x_train=images(64), y_train=labels(64),
             x_test=images(32), y_test=labels(32))
  np.savez(folder / "binarized_mnist.npz",
           **{f"x_{s}": (images(n) > 127).astype(np.uint8)
              for s, n in (("train", 64), ("valid", 16), ("test", 32))})
  return folder


@pytest.fixture(name="run_module")
def _run_module():
  """Runs ``python -m <module> <flags>`` from the repo root on CPU; returns the process.

  Raises AssertionError with the end of stderr when ``check`` and the exit code is not 0.
  """
  def run(module: str, *flags: str, check: bool = True, timeout: float = 600):
    proc = subprocess.run([sys.executable, "-m", module, *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if check and proc.returncode != 0:
      raise AssertionError(proc.stderr[-4000:])
    return proc
  return run


@pytest.fixture(name="vqvae_run", scope="session")
def _vqvae_run(tmp_path_factory):
  """``(workdir, config, state)``: a tiny Fashion-MNIST VQ-VAE run's ``config.json`` and
  checkpoint, as a prior reads them (random weights moved off their initialisation,
  so that many codes are in use; no training)."""
  return _fake_vqvae_run(tmp_path_factory, "tiny")


@pytest.fixture(name="vqvae2_run", scope="session")
def _vqvae2_run(tmp_path_factory):
  """As ``vqvae_run``, a two-level VQ-VAE-2 (7×7 top, 14×14 bottom maps, EMA codebooks)."""
  return _fake_vqvae_run(tmp_path_factory, "tiny,vq2,ema")


def _fake_vqvae_run(tmp_path_factory, variant):
  # pylint: disable=g-import-not-at-top
  import jax
  from experiments.configs import vqvae_fashion_mnist
  from jgen import data
  from jgen.tasks import vae
  from jgen.train.checkpoint import Checkpointer
  workdir = tmp_path_factory.mktemp("vqvae")
  config = vqvae_fashion_mnist.get_config(variant)
  state = vae.init_state(config, data.dataset_info("fashion_mnist"))
  state = state.replace(params=jax.tree.map(
      lambda p: p + 0.05 * jax.random.normal(jax.random.key(1), p.shape), state.params))
  ckpt = Checkpointer(workdir / "checkpoints")
  ckpt.save(7, state, {})
  ckpt.wait_until_finished()
  ckpt.close()
  (workdir / "config.json").write_text(json.dumps(config.to_dict()))
  return str(workdir), config, state
