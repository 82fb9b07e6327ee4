"""A trained image GAN run, restored for the binaries that read one (truncation curves,
latent-vector arithmetic): its own config, dataset, newest state and feature network."""

from typing import NamedTuple

import ml_collections
import numpy as np

from jgen import data
from jgen.metrics import FeatureNetwork
from jgen.metrics import feature_networks
from jgen.tasks import gan
from jgen.tasks import sample_quality
from jgen.train import summaries
from jgen.train import trainer
from jgen.train.gan_state import GANState
from jgen.typing import ArrayLike


class TrainedRun(NamedTuple):
  """A trained image GAN run: its config, dataset, newest state and feature network."""

  config: ml_collections.ConfigDict
  info: data.DatasetInfo
  state: GANState
  network: FeatureNetwork

  def images(self, z: ArrayLike, labels: np.ndarray | None = None) -> np.ndarray:
    """uint8 images of the (EMA) generator for latents ``z``, at the run's progress."""
    kwargs = gan.player_kwargs(self.config, int(self.state.step))
    return np.asarray(data.inverse_scale_to_uint8(
        gan.generate_from(self.state, z, labels, kwargs=kwargs)))


def load_trained_run(workdir: str) -> TrainedRun:
  """The newest checkpoint of the image GAN run in ``workdir``, with its own config.

  Raises:
    ValueError: when ``workdir`` is not an image GAN run, or no feature network ships
      for its dataset.
    FileNotFoundError: when it holds no checkpoint.
  """
  stored = summaries.read_config(workdir)
  if stored is None:
    raise ValueError(f"{workdir!r} holds no config.json: not a jgen run.")
  config = ml_collections.ConfigDict(stored)
  info = data.dataset_info(config.data.name)
  if config.task != "gan" or info.is_toy:
    raise ValueError(f"{workdir!r} is a {config.task!r} run on {info.name!r}, not an image "
                     "GAN run.")
  network_name = sample_quality.network_name(config)
  if network_name is None:
    raise ValueError(f"No feature network ships for {info.name}.")
  return TrainedRun(config, info, trainer.restore_state(config, workdir),
                    feature_networks.load_feature_network(network_name))
