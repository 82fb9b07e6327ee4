"""Data parallelism: replication, the pmapped step, and multi-host start-up."""

from collections.abc import Callable
import os

from absl import logging
import flax.jax_utils
import jax

from jgen.typing import PyTree

# The pmap axis every jgen step averages over.
AXIS_NAME = "batch"

replicate = flax.jax_utils.replicate


def unreplicate(tree: PyTree) -> PyTree:
  """The first replica of a pmapped pytree, as host NumPy arrays."""
  return jax.device_get(flax.jax_utils.unreplicate(tree))


def pmap_step(step_fn: Callable[..., tuple[PyTree, dict]]) -> Callable:
  """``jax.pmap`` of ``step_fn(state, batch, axis_name=...)`` over the local devices.

  The state is donated: its buffers are reused for the new state.
  """
  def step(state, batch):
    return step_fn(state, batch, axis_name=AXIS_NAME)

  return jax.pmap(step, axis_name=AXIS_NAME, donate_argnums=(0,))


def initialize_distributed(enable: bool | None = None) -> None:
  """Starts ``jax.distributed`` for a multi-host run (e.g. a Cloud TPU pod).

  Args:
    enable: True to initialise (arguments are auto-detected on Cloud TPU, or read
      from JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID); None to
      initialise only when JAX_COORDINATOR_ADDRESS is set; False to skip.
  """
  if enable is None:
    enable = bool(os.environ.get("JAX_COORDINATOR_ADDRESS"))
  if enable:
    jax.distributed.initialize()
    logging.info("jax.distributed: process %d of %d, %d local / %d global devices.",
                 jax.process_index(), jax.process_count(), jax.local_device_count(),
                 jax.device_count())
