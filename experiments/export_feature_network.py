r"""Writes a trained classifier run as a feature-network weights file.

  python -m experiments.export_feature_network --workdir=/tmp/fn_mnist \
      --config=experiments/configs/feature_network.py:mnist

Restores the newest checkpoint of ``--workdir`` and writes
``jgen/metrics/weights/<config.feature_network>.npz`` (or ``--output``), then prints
its SHA-256: paste it into ``jgen.metrics.feature_networks.CHECKSUMS`` to ship it.
"""

import os

from absl import app
from absl import flags

from experiments import common

_CONFIG = common.define_config(
    os.path.join(os.path.dirname(__file__), "configs", "feature_network.py"))
_OUTPUT = flags.DEFINE_string("output", None, "Weights file (default: the shipped path).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from jgen import data  # pylint: disable=g-import-not-at-top
  from jgen.metrics import feature_networks  # pylint: disable=g-import-not-at-top
  from jgen.tasks import classifier  # pylint: disable=g-import-not-at-top
  from jgen.train import trainer  # pylint: disable=g-import-not-at-top

  config = _CONFIG.value
  if config.task != "classifier":
    raise app.UsageError(f"task={config.task!r}: only a 'classifier' run is a feature "
                         "network.")
  try:
    state = trainer.restore_state(config, common.WORKDIR.value)
  except (ValueError, FileNotFoundError) as e:
    raise app.UsageError(str(e)) from None
  path = _OUTPUT.value or os.path.join(feature_networks.WEIGHTS_DIR,
                                       f"{config.feature_network}.npz")
  model = classifier.build_model(config, data.dataset_info(config.data.name))
  digest = feature_networks.save_feature_network(path, model, state.params)
  print(f"{path} sha256={digest}")


if __name__ == "__main__":
  app.run(main)
