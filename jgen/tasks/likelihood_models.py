"""Which model a likelihood config builds: the architectures, their arguments, the data shape.

`jgen.tasks.likelihood` checks the rest of a config and runs the model; this module maps
``model.arch`` and ``model.flow`` / ``model.pixelcnn`` (each key checked against the
builder's arguments) to a NADE, MADE, PixelCNN-family model or flow density.
"""

import functools
import inspect

from jgen.models import MADE
from jgen.models import NADE
from jgen.models import DiagonalBiLSTM
from jgen.models import GatedPixelCNN
from jgen.models import PixelCNN
from jgen.models import RowLSTM
from jgen.models import flows
from jgen.tasks import vq_prior

# Flow arch -> (builder for images, builder for vectors); None: not offered.
FLOWS = {
    "nice": (flows.nice, flows.nice),
    "realnvp": (flows.real_nvp, flows.real_nvp_vector),
    "realnvp_mlp": (flows.real_nvp_vector, flows.real_nvp_vector),  # Flattened images.
    "glow": (flows.glow, None),
    "maf": (flows.maf, flows.maf),
    "iaf": (None, functools.partial(flows.maf, inverse=True)),
    "nsf": (flows.neural_spline_flow, flows.neural_spline_flow),
}
# The PixelCNN family: masked-convolution and PixelRNN image models, one interface.
PIXELCNNS = {"pixelcnn": PixelCNN, "gated_pixelcnn": GatedPixelCNN, "row_lstm": RowLSTM,
             "diagonal_bilstm": DiagonalBiLSTM}
ARCHITECTURES = ("nade", "made", *PIXELCNNS, *FLOWS)
# A PixelCNN's output for each 8-bit preprocessing (binary data: Bernoulli).
PIXELCNN_OUTPUTS = {"symmetric": "logistic_mixture", "levels": "categorical"}
# Set by the task from the data (label maps: a VQ-VAE-2 bottom prior's top codes), never
# by model.pixelcnn.
_PIXELCNN_FIXED = ("event_shape", "output", "num_categories", "condition_shape", "parent",
                   "name")


def is_flow(config) -> bool:
  return config.model.arch in FLOWS


def flow_builder(config, info):
  image_fn, vector_fn = FLOWS[config.model.arch]
  fn = vector_fn if info.is_toy else image_fn
  if fn is None:
    why = ("the 2-D toys only (IAF evaluates a density in D sequential passes)"
           if image_fn is None else "images only (a multi-scale image flow)")
    raise ValueError(f"model.arch={config.model.arch!r} is offered on {why}; data.name="
                     f"{config.data.name!r}.")
  return fn


def _checked_kwargs(config, group: str, valid) -> dict:
  kwargs = dict(config.model.get(group, {}))
  bad = sorted(set(kwargs) - set(valid))
  if bad:
    raise ValueError(f"model.{group}.{bad[0]} is not an argument of model.arch="
                     f"{config.model.arch!r}; valid: {', '.join(valid)}.")
  return kwargs


def flow_kwargs(config, fn) -> dict:
  params = inspect.signature(fn).parameters
  return _checked_kwargs(config, "flow",
                         [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY])


def pixelcnn_kwargs(config) -> dict:
  model = PIXELCNNS[config.model.arch]
  # The architecture's own fields first, then the output head's it shares with the others.
  own = [n for n in model.__dataclass_fields__ if n not in _PIXELCNN_FIXED]
  own.sort(key=lambda n: n not in vars(model).get("__annotations__", {}))
  return _checked_kwargs(config, "pixelcnn", own)


def _data_kwargs(config, info) -> dict:
  if vq_prior.code_maps(config):
    return vq_prior.model_kwargs(config)
  return {"event_shape": info.shape, "num_categories": 256}


def data_shape(config, info) -> tuple[int, ...]:
  """The shape of one example of the model's data: an image's, or a code map's."""
  return _data_kwargs(config, info)["event_shape"]


def build_model(config, info):
  m = config.model
  if is_flow(config):
    fn = flow_builder(config, info)
    return fn(info.shape, **flow_kwargs(config, fn))
  if m.arch in PIXELCNNS:
    output = PIXELCNN_OUTPUTS.get(config.data.preprocess, "bernoulli")
    return PIXELCNNS[m.arch](output=output, **_data_kwargs(config, info),
                             **pixelcnn_kwargs(config))
  if m.arch == "nade":
    return NADE(event_shape=info.shape, hidden=m.hidden)
  return MADE(event_shape=info.shape, hidden=(m.hidden,) * m.num_layers,
              order_agnostic=m.order_agnostic, connectivity_agnostic=m.num_masks > 1,
              direct=m.direct)
