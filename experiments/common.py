"""What every experiment binary shares: flags and the main that calls the library."""

from collections.abc import Callable
import os

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments.xla_flags import with_default_xla_flags

WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics, figures.")
SAMPLE_ONLY = flags.DEFINE_bool(
    "sample_only", False, "Only regenerate samples.npz from the newest checkpoint.")
DISTRIBUTED = flags.DEFINE_bool(
    "distributed", None,
    "Start a multi-process run with jax.distributed.initialize(), before any JAX work. "
    "True: always (arguments auto-detected, e.g. on every host of a Cloud TPU pod slice, "
    "or read from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID); False: "
    "never (one process, whatever the environment). Default: only when one of those "
    "variables is set. See jgen.train.parallel.initialize_distributed.")

def define_config(default_config: str):
  """The --config flag (an ml_collections config file; ':variant' after the path)."""
  flags.mark_flags_as_required(["workdir"])
  return config_flags.DEFINE_config_file("config", default_config, "Config file.")


def make_main(config_flag) -> Callable[[list[str]], None]:
  """``main(argv)`` running ``jgen.train.trainer.train_and_evaluate`` (or ``sample``).

  The trainer is imported in main, so that --help and flag errors do not wait for JAX,
  and after ``XLA_FLAGS`` gets ``CPU_XLA_FLAG`` (read when JAX starts its backend).

  Args:
    config_flag: the holder returned by ``define_config``.
  """
  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    os.environ["XLA_FLAGS"] = with_default_xla_flags(os.environ.get("XLA_FLAGS", ""))
    from jgen import data  # pylint: disable=g-import-not-at-top
    from jgen.train import parallel  # pylint: disable=g-import-not-at-top
    from jgen.train import trainer  # pylint: disable=g-import-not-at-top

    parallel.initialize_distributed(DISTRIBUTED.value)
    config = config_flag.value
    try:
      trainer.validate_config(config)
    except ValueError as e:  # A user mistake: a message, not a traceback.
      raise app.UsageError(str(e)) from None
    try:
      if SAMPLE_ONLY.value:
        trainer.sample(config, WORKDIR.value)
        logging.info("Wrote %s", os.path.join(WORKDIR.value, "samples.npz"))
        return
      summary = trainer.train_and_evaluate(config, WORKDIR.value)
    except (data.DatasetNotAvailableError, FileNotFoundError) as e:
      raise app.UsageError(str(e)) from None
    print("summary:", " ".join(f"{k}={v}" for k, v in summary.items()))
  return main
