"""What every experiment binary shares: flags and the main that calls the library."""

from collections.abc import Callable
import importlib
import os

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics, figures.")
SAMPLE_ONLY = flags.DEFINE_bool(
    "sample_only", False, "Only regenerate samples.npz from the newest checkpoint.")
DISTRIBUTED = flags.DEFINE_bool(
    "distributed", None,
    "Call jax.distributed.initialize() (multi-host, e.g. a TPU pod). Default: only when "
    "JAX_COORDINATOR_ADDRESS is set.")


def define_config(default_config: str):
  """The --config flag (an ml_collections config file; ':variant' after the path)."""
  flags.mark_flags_as_required(["workdir"])
  return config_flags.DEFINE_config_file("config", default_config, "Config file.")


def make_main(driver: str, config_flag) -> Callable[[list[str]], None]:
  """``main(argv)`` running ``driver.train_and_evaluate`` (or ``driver.sample``).

  Args:
    driver: module path of the library driver, e.g. ``'jgen.train.gan'``; imported in
      main, so that --help and flag errors do not wait for JAX.
    config_flag: the holder returned by ``define_config``.
  """
  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from jgen import data  # pylint: disable=g-import-not-at-top
    from jgen.train import parallel  # pylint: disable=g-import-not-at-top
    lib = importlib.import_module(driver)

    parallel.initialize_distributed(DISTRIBUTED.value)
    config = config_flag.value
    try:
      lib.validate_config(config)
    except ValueError as e:  # A user mistake: a message, not a traceback.
      raise app.UsageError(str(e)) from None
    try:
      if SAMPLE_ONLY.value:
        lib.sample(config, WORKDIR.value)
        logging.info("Wrote %s", os.path.join(WORKDIR.value, "samples.npz"))
        return
      summary = lib.train_and_evaluate(config, WORKDIR.value)
    except (data.DatasetNotAvailableError, FileNotFoundError) as e:
      raise app.UsageError(str(e)) from None
    print("summary:", " ".join(f"{k}={v}" for k, v in summary.items()))
  return main
