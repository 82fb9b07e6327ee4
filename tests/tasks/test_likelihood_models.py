"""Which model a likelihood config builds: argument checks, data shapes, flow builders."""

import pytest

from experiments.configs import flow_images
from experiments.configs import pixelcnn
from jgen import data
from jgen.models import GatedPixelCNN
from jgen.tasks import likelihood_models


def test_pixelcnn_arguments_are_checked_and_listed_own_fields_first():
  config = pixelcnn.get_config("tiny,gated")
  assert likelihood_models.pixelcnn_kwargs(config) == dict(config.model.pixelcnn)
  config.model.pixelcnn.widht = 3
  with pytest.raises(ValueError) as error:
    likelihood_models.pixelcnn_kwargs(config)
  valid = str(error.value).split("valid: ")[1].rstrip(".").split(", ")
  # GatedPixelCNN's own fields, then the shared output head's; never the task's.
  assert valid[:3] == ["features", "num_layers", "kernel_size"]
  assert valid.index("condition_layers") < valid.index("head_hidden")
  assert not {"event_shape", "output", "num_categories", "condition_shape"} & set(valid)


def test_the_model_and_data_shape_follow_the_data():
  info = data.dataset_info("fashion_mnist")
  config = pixelcnn.get_config("tiny,gated,fashion_mnist,softmax")
  assert likelihood_models.data_shape(config, info) == (28, 28, 1)
  model = likelihood_models.build_model(config, info)
  assert isinstance(model, GatedPixelCNN)
  assert (model.event_shape, model.output, model.num_categories) == (
      (28, 28, 1), "categorical", 256)


def test_flow_builders_name_where_an_arch_is_offered():
  config = flow_images.get_config("tiny")
  config.model.arch = "iaf"
  with pytest.raises(ValueError, match="model.arch='iaf' is offered on the 2-D toys only"):
    likelihood_models.flow_builder(config, data.dataset_info("mnist"))
  config.model.arch = "glow"
  assert likelihood_models.is_flow(config)
  with pytest.raises(ValueError, match="offered on images only"):
    likelihood_models.flow_builder(config, data.dataset_info("two_moons"))
