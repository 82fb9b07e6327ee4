"""Data parallelism: replication, the pmapped step, and multi-host start-up."""

from collections.abc import Callable, Mapping
import os
from typing import Any, NamedTuple

from absl import logging
import flax.jax_utils
import jax
import jax.numpy as jnp

from jgen.typing import PRNGKey
from jgen.typing import PyTree

# The pmap axis every jgen step averages over.
AXIS_NAME = "batch"

replicate = flax.jax_utils.replicate


def unreplicate(tree: PyTree) -> PyTree:
  """The first local replica of a pmapped pytree, as host NumPy arrays.

  Copies each leaf's first addressable shard (shape (1, ...)) to the host and drops
  its leading axis. Indexing ``x[0]`` on device instead (``flax.jax_utils.unreplicate``)
  dispatches one gather per leaf: ~4× slower for the few metrics fetched every step.
  """
  def first_shard(x):
    return x.addressable_shards[0].data if isinstance(x, jax.Array) else x

  return jax.tree.map(lambda x: x[0], jax.device_get(jax.tree.map(first_shard, tree)))


def pmap_step(step_fn: Callable[..., tuple[PyTree, dict]]) -> Callable:
  """``jax.pmap`` of ``step_fn(state, batch, axis_name=...)`` over the local devices.

  The state is donated: its buffers are reused for the new state.
  """
  def step(state, batch):
    return step_fn(state, batch, axis_name=AXIS_NAME)

  return jax.pmap(step, axis_name=AXIS_NAME, donate_argnums=(0,))


class DataParallelStep(NamedTuple):
  """A train step placed on the local devices, with the state's way on and off them.

  ``state = put(host_state)``; ``state, metrics = step(state, batch)`` with ``batch``
  of shape ``(local_devices, B, ...)`` (as ``jgen.data.BatchIterator`` yields it);
  ``get(state)`` / ``get(metrics)``: host NumPy copies of one replica. What ``put``
  returns is opaque: the replicated state under ``pmap``, the plain state on one
  device.
  """

  step: Callable[[PyTree, PyTree], tuple[PyTree, dict]]
  put: Callable[[PyTree], PyTree]
  get: Callable[[PyTree], PyTree]


def step_axis_name() -> str | None:
  """The axis name `data_parallel` steps run under: ``AXIS_NAME``, or None on one device.

  For models that name the axis themselves (batch norm's ``axis_name``), built before
  the step is placed.
  """
  return AXIS_NAME if jax.device_count() > 1 else None


def data_parallel(step_fn: Callable[..., tuple[PyTree, dict]]) -> DataParallelStep:
  """``step_fn(state, batch, axis_name=...)`` data-parallel over the local devices.

  With several devices (or processes), ``pmap_step`` on ``replicate``-d states. With
  one device in one process, a ``jax.jit`` of ``step_fn(state, batch[0],
  axis_name=None)`` on the plain state: the steps' collectives over one device are
  identities, and XLA:CPU runs a one-device ``pmap`` (or a ``jit`` that carries the
  state's leading device axis, which makes XLA copy each donated weight) markedly
  slower — the MLP RealNVP step of ``benchmarks/flow_step.py``: 284 ms under ``pmap``,
  149 ms under ``jit``. The state is donated either way.
  """
  if step_axis_name() is not None:
    return DataParallelStep(pmap_step(step_fn), replicate, unreplicate)

  def one_device(state, batch):
    return step_fn(state, jax.tree.map(lambda x: x[0], batch), axis_name=None)

  def put(tree):  # A copy: the step donates it, and the caller's arrays stay valid.
    return jax.tree.map(jnp.copy, tree)

  return DataParallelStep(jax.jit(one_device, donate_argnums=(0,)), put, jax.device_get)


# The launch variables of an explicit multi-process run (read by initialize_distributed).
_COORDINATOR_ADDRESS = "JAX_COORDINATOR_ADDRESS"
_NUM_PROCESSES = "JAX_NUM_PROCESSES"
_PROCESS_ID = "JAX_PROCESS_ID"
_CPU_COLLECTIVES = "JAX_CPU_COLLECTIVES_IMPLEMENTATION"


def _env_int(environ: Mapping[str, str], name: str) -> int:
  value = environ[name]
  try:
    return int(value)
  except ValueError:
    raise ValueError(f"{name}={value!r} is not an integer.") from None


def _distributed_args_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
  """The ``jax.distributed.initialize`` arguments given by the launch variables.

  ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0), ``JAX_NUM_PROCESSES`` and
  ``JAX_PROCESS_ID`` are either all set (an explicit launch) or only the address (the
  process count and index are then auto-detected, e.g. under Slurm or Open MPI), or
  none (everything auto-detected, e.g. on a Cloud TPU VM). An empty value counts as
  unset.

  Args:
    environ: the environment; default ``os.environ``.

  Returns:
    ``{}``, or ``{'coordinator_address': str, 'num_processes': P, 'process_id': p}``
    when all three are set.

  Raises:
    ValueError: naming the variable that is missing (the count or index without the
      other, or either without the address), is not an integer, or is out of range
      (``P ≥ 1``, ``0 ≤ p < P``).
  """
  environ = os.environ if environ is None else environ
  names = (_COORDINATOR_ADDRESS, _NUM_PROCESSES, _PROCESS_ID)
  present = {name for name in names if environ.get(name, "").strip()}
  if not present or present == {_COORDINATOR_ADDRESS}:
    return {}
  missing = [name for name in names if name not in present]
  if missing:
    raise ValueError(
        f"{' and '.join(missing)} must be set too: an explicit multi-process launch sets "
        f"all of {', '.join(names)} ({', '.join(sorted(present))} set).")
  num_processes = _env_int(environ, _NUM_PROCESSES)
  process_id = _env_int(environ, _PROCESS_ID)
  if num_processes < 1:
    raise ValueError(f"{_NUM_PROCESSES}={num_processes} must be at least 1.")
  if not 0 <= process_id < num_processes:
    raise ValueError(f"{_PROCESS_ID}={process_id} must be in [0, {_NUM_PROCESSES}="
                     f"{num_processes}).")
  return {"coordinator_address": environ[_COORDINATOR_ADDRESS].strip(),
          "num_processes": num_processes, "process_id": process_id}


def initialize_distributed(enable: bool | None = None) -> None:
  r"""Starts ``jax.distributed`` for a multi-process run (several hosts, a TPU pod slice).

  Every process of the run calls this (the binaries do, first thing in ``main``) with
  the same command; it must run before any JAX computation or device query
  (``jax.devices()``, ``jax.device_put``...), which would start the backend alone.

  - An explicit launch (CPU or GPU clusters, several processes on one machine) sets
    ``JAX_COORDINATOR_ADDRESS=host:port`` (process 0's address, a free port),
    ``JAX_NUM_PROCESSES=P`` and ``JAX_PROCESS_ID=p`` (``0 ≤ p < P``, one per process)
    in each process's environment; the count and index are passed to
    ``jax.distributed.initialize`` explicitly (JAX reads only the address itself).
  - ``JAX_COORDINATOR_ADDRESS`` alone: the count and index are auto-detected (Slurm,
    Open MPI, ...).
  - ``enable=True`` (``--distributed``) with no variable: everything auto-detected, as
    on a Cloud TPU VM, where nothing needs setting.

  On CPU, cross-process collectives need an implementation: gloo is selected (the
  ``jax_cpu_collectives_implementation`` option) unless the user chose one (with
  ``JAX_CPU_COLLECTIVES_IMPLEMENTATION`` or the option); TPUs and GPUs ignore it.
  Calling it again in an initialised process does nothing.

  Args:
    enable: True to initialise; None (default) to initialise only when one of the
      three variables is set; False to skip (a single-process run, whatever the
      environment says).

  Raises:
    ValueError: on an incomplete or malformed set of variables (see
      ``_distributed_args_from_env``), or when ``JAX_COORDINATOR_ADDRESS`` alone is set
      and no cluster environment gives the process count and index.
    RuntimeError: from JAX, if the backend has already started.

  Example (two processes on one machine, each in its own shell)::

    JAX_COORDINATOR_ADDRESS=127.0.0.1:12345 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=0 \
        python -m experiments.vae --workdir=/tmp/run ...
    JAX_COORDINATOR_ADDRESS=127.0.0.1:12345 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=1 \
        python -m experiments.vae --workdir=/tmp/run ...
  """
  if enable is None:
    enable = any(os.environ.get(name, "").strip()
                 for name in (_COORDINATOR_ADDRESS, _NUM_PROCESSES, _PROCESS_ID))
  if not enable or jax.distributed.is_initialized():
    return
  kwargs = _distributed_args_from_env()
  # jax 0.10 already defaults to gloo; older versions default to no CPU collectives,
  # and a cross-process psum on CPU then fails.
  if (not os.environ.get(_CPU_COLLECTIVES)
      and jax.config.jax_cpu_collectives_implementation is None):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(**kwargs)
  except ValueError as e:
    if kwargs:  # Explicit arguments: JAX's own message says what is wrong.
      raise
    raise ValueError(
        f"jax.distributed.initialize could not detect the cluster ({e}). Outside a Cloud "
        f"TPU VM or a Slurm/Open MPI job, set {_COORDINATOR_ADDRESS}, "
        f"{_NUM_PROCESSES} and {_PROCESS_ID} in every process.") from e
  logging.info("jax.distributed: process %d of %d, %d local / %d global devices.",
               jax.process_index(), jax.process_count(), jax.local_device_count(),
               jax.device_count())


def example_keys(key: PRNGKey, batch_size: int, axis_name: str | None = None) -> PRNGKey:
  """One key per example of this device's batch, folded from its global example index.

  ``keys[i] = fold_in(key, global_index_i)`` with ``global_index = device_index·B + i``
  under pmap. Any per-example random draw made with these keys (``vmap`` over them)
  is the same whatever the number of devices the global batch is split over.

  Args:
    key: the step's key.
    batch_size: ``B``, this device's batch size.
    axis_name: the pmap axis, or None on a single device.

  Returns:
    A ``(B,)`` array of typed keys.
  """
  start = 0 if axis_name is None else jax.lax.axis_index(axis_name) * batch_size
  return jax.vmap(lambda i: jax.random.fold_in(key, i))(start + jnp.arange(batch_size))
