"""The exact-likelihood task: NADE, MADE, PixelCNNs and flows (`jgen.train.likelihood_step`).

Config (see ``experiments/configs/nade_binarized_mnist.py`` and ``flow_*.py``):
``model.arch`` one of ``ARCHITECTURES``.

- ``'nade'``, ``'made'`` on binary images. MADE trains on a set of ``model.num_masks``
  connectivity masks (orderings too when ``model.order_agnostic``), drawing one per
  step from the step key, and is evaluated as the ensemble ``log p(x) = log (1/K)
  Σ_k p(x | mask k)`` of its first K masks for each K in ``eval.num_masks`` (Germain
  et al. 2015, §4).
- ``'pixelcnn'``, ``'gated_pixelcnn'`` (`jgen.models.pixelcnn`), ``'row_lstm'``,
  ``'diagonal_bilstm'`` (PixelRNN, `jgen.models.pixelrnn`), module arguments in
  ``model.pixelcnn``. The output follows the data: Bernoulli conditionals on binary
  images; on 8-bit images PixelCNN++'s discretized logistic mixture with
  ``data.preprocess='symmetric'``, a 256-way softmax with ``'levels'``; the NLL is the
  exact discrete one either way (no dequantization offset). With
  ``model.pixelcnn.num_classes`` (gated only) the model is class-conditional: trained
  and evaluated on the data's labels, sampling classes ``0, 1, …, C−1, 0, …``.
- A VQ-VAE prior: with ``data.vqvae_workdir`` (a trained VQ-VAE's workdir,
  `jgen.tasks.vq_codes`) and ``data.preprocess='levels'``, a PixelCNN-family model
  learns the code maps of the images (a ``K``-way softmax over the VQ-VAE's codes);
  its NLL is that of the code maps, and its samples are decoded to images. For a
  VQ-VAE-2, ``data.vq_level`` picks the top maps or the bottom maps given the top
  (`jgen.tasks.vq_prior`).
- Flows (``'nice'``, ``'realnvp'``, ``'realnvp_mlp'``, ``'glow'``, ``'maf'``, ``'iaf'``,
  ``'nsf'``: `jgen.models.flows`, builder arguments in ``model.flow``) on 8-bit images with
  ``data.preprocess='dequantize'``, or on the 2-D toys. On images the objective is
  the dequantized bound ``−log P(x) ≤ −log p(y) + D·log 256``, ``y = (x + u)/256``, so
  every NLL and bits/dim here counts the 256 bins (`jgen.flows.dequantized_bits_per_dim`).
  ActNorm layers initialise on the first ``data.batch_size`` training examples (the
  same on every host, so no cross-host reduction is needed).

Evaluation: exact test NLL in nats and bits/dim, periodically on
``eval.periodic_num_examples`` examples (with one mask). On a toy the test set is
``eval.num_examples`` fresh points and, where the toy's density is known, the data's
own NLL (its entropy) and their difference, the KL from the data to the model.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen import data
from jgen import metrics
from jgen.tasks import likelihood_figures
from jgen.tasks import vq_prior
from jgen.tasks.likelihood_models import ARCHITECTURES
from jgen.tasks.likelihood_models import PIXELCNN_OUTPUTS
from jgen.tasks.likelihood_models import PIXELCNNS
from jgen.tasks.likelihood_models import build_model
from jgen.tasks.likelihood_models import data_shape
from jgen.tasks.likelihood_models import flow_builder
from jgen.tasks.likelihood_models import flow_kwargs
from jgen.tasks.likelihood_models import is_flow
from jgen.tasks.likelihood_models import pixelcnn_kwargs
from jgen.tasks.base import Task
from jgen.tasks.base import batched
from jgen.tasks.base import check_choices
from jgen.tasks.base import check_positive
from jgen.tasks.base import learning_rate
from jgen.tasks.base import load_arrays
from jgen.tasks.base import load_eval_data
from jgen.train import parallel
from jgen.train import rng
from jgen.train.likelihood_step import LikelihoodState
from jgen.train.likelihood_step import create_likelihood_state
from jgen.train.likelihood_step import likelihood_train_step

BINARY_PREPROCESSING = ("binary", "dynamic_binarize", "static_binarize")


def validate(config, info) -> None:
  check_choices({"model.arch": (config.model.arch, ARCHITECTURES)})
  vq_prior.validate(config, info, PIXELCNNS)  # A VQ-VAE prior's settings, if any.
  if is_flow(config):
    flow_kwargs(config, flow_builder(config, info))
    if not info.is_toy:
      if info.binary or config.data.preprocess != "dequantize":
        raise ValueError(f"data.preprocess={config.data.preprocess!r} on {info.name}: flows "
                         "model 8-bit images dequantized, data.preprocess='dequantize'.")
    check_positive(config, "eval.batch_size", "eval.periodic_num_examples")
  elif config.model.arch in PIXELCNNS:
    pixelcnn_kwargs(config)
    if info.is_toy:
      raise ValueError(f"data.name={config.data.name!r} is a 2-D toy; model.arch="
                       f"{config.model.arch!r} models images.")
    kinds = ("binary",) if info.binary else (*PIXELCNN_OUTPUTS, "dynamic_binarize",
                                             "static_binarize")
    if not config.data.get("vqvae_workdir", ""):  # Code maps: checked above.
      check_choices({f"data.preprocess on {info.name}": (config.data.preprocess, kinds)})
    check_positive(config, "eval.batch_size", "eval.periodic_num_examples")
    stack = config.model.pixelcnn.get("condition_layers", 0)
    if stack and not vq_prior.is_bottom(config):
      raise ValueError(f"model.pixelcnn.condition_layers={stack} is for a map of labels: a "
                       "VQ-VAE-2 bottom prior's top codes (data.vq_level='bottom').")
    classes = config.model.pixelcnn.get("num_classes", 0)
    if classes and not info.has_labels:
      raise ValueError(f"model.pixelcnn.num_classes={classes}: {info.name} has no labels; a "
                       "class-conditional model needs labelled data (e.g. data.name='mnist' "
                       "with data.preprocess='static_binarize').")
    if classes and classes != info.num_classes:
      raise ValueError(f"model.pixelcnn.num_classes={classes} must be 0 (unconditional) or "
                       f"the {info.num_classes} classes of {info.name}.")
  else:
    if info.is_toy:
      raise ValueError(f"data.name={config.data.name!r} is a 2-D toy; model.arch="
                       f"{config.model.arch!r} needs binary images.")
    check_choices({"data.preprocess": (config.data.preprocess, BINARY_PREPROCESSING)})
    if info.binary != (config.data.preprocess == "binary"):
      raise ValueError(f"data.preprocess={config.data.preprocess!r} does not fit "
                       f"{info.name}: use 'binary' exactly for already binary data.")
    check_positive(config, "model.hidden", "model.num_layers", "model.num_masks",
                   "eval.batch_size", "eval.periodic_num_examples")
    masks = tuple(config.eval.num_masks)
    if config.model.arch == "made" and not all(0 < k <= config.model.num_masks for k in masks):
      raise ValueError(f"eval.num_masks={masks} must lie in [1, model.num_masks="
                       f"{config.model.num_masks}]: the ensemble uses the training masks.")
  learning_rate(config)  # Checks optim.lr and optim.schedule.


def _init_batch(config, info) -> np.ndarray:
  """What ``init`` sees: the first training batch (data-dependent ActNorm init)."""
  n = config.data.batch_size
  if info.is_toy:
    return data.sample_toy(config.data.name, np.random.default_rng([config.seed, n]), n)
  images = load_arrays(config, "train")["image"][:n]
  keys = jax.random.split(rng.stream_key(jax.random.key(config.seed), "binarize"), n)
  return np.asarray(data.preprocess_images(images, config.data.preprocess, keys))


def init_state(config, info) -> LikelihoodState:
  example = (_init_batch(config, info) if is_flow(config)
             else jnp.zeros((2, *data_shape(config, info))))
  labels = {"labels": jnp.zeros(_label_shape(config), jnp.int32)} if is_conditional(
      config) else {}
  return create_likelihood_state(jax.random.key(config.seed), build_model(config, info),
                                 optax.adam(learning_rate(config)), example=example, **labels)


def _mask_key(state, index):
  """Mask ``index`` of MADE's fixed set: a key derived from the run's key."""
  return jax.random.fold_in(rng.stream_key(state.base_key, "masks"), index)


def is_conditional(config) -> bool:
  """A PixelCNN trained and evaluated on labels: a class-conditional one (whose samples
  carry classes) or a VQ-VAE-2 bottom prior (labels: the top maps)."""
  return config.model.arch in PIXELCNNS and (
      config.model.pixelcnn.get("num_classes", 0) > 0 or vq_prior.is_bottom(config))


def _is_class_conditional(config) -> bool:
  return is_conditional(config) and not vq_prior.is_bottom(config)


def _label_shape(config) -> tuple[int, ...]:
  """Two examples' labels: classes (2,), or a bottom prior's top maps (2, h, w)."""
  if vq_prior.is_bottom(config):
    return (2, *vq_prior.model_kwargs(config)["condition_shape"])
  return (2,)


def _log_prob(config, state, params, x, mask_index, labels=None):
  """``log p(x)`` per example in nats (given ``labels`` for a conditional model); for a
  flow on images, ``log p(y) − D·log 256``."""
  variables = {"params": params}
  if is_flow(config):
    offset = 0.0 if x.ndim == 2 else math.prod(x.shape[1:]) * math.log(256.0)
    return state.apply_fn(variables, x) - offset
  if config.model.arch in PIXELCNNS:
    return state.apply_fn(variables, x, labels, method="log_prob")
  if config.model.arch != "made":
    return state.apply_fn(variables, x).log_prob(x)
  return state.apply_fn(variables, x, _mask_key(state, mask_index)).log_prob(x)


def _model_data(config, batch, key, axis_name=None):
  """A batch as model data: toy points as they are; images preprocessed on device."""
  if "x" in batch:
    return batch["x"]
  images = batch["image"]
  keys = parallel.example_keys(key, images.shape[0], axis_name)
  return data.preprocess_images(images, config.data.preprocess, keys)


def train_step(config, info):
  del info

  def step(state, batch, axis_name=None, norms=True):
    step_key = rng.step_key(state.base_key, state.step)
    x = _model_data(config, batch, rng.stream_key(step_key, "binarize"), axis_name)
    labels = batch["label"] if is_conditional(config) else None

    def log_prob_fn(params, x, key):
      # MADE: one mask of the set per step, the same on every device.
      index = (jax.random.randint(key, (), 0, config.model.num_masks)
               if config.model.arch == "made" else 0)
      return _log_prob(config, state, params, x, index, labels)
    return likelihood_train_step(state, x, log_prob_fn=log_prob_fn,
                                 norms=norms, axis_name=axis_name)
  return step


def make_evaluate(config, num_masks: tuple[int, ...]):
  """``evaluate(state, x, labels=None)``: the exact test NLL of ``x``, jitted once; for
  MADE, of the ensemble of its first K masks for each K in ``num_masks``."""
  largest = max(num_masks)

  @jax.jit
  def batch_log_probs(state, batch):
    # One mask at a time (lax.map compiles the network once, not K times).
    ll = jax.lax.map(lambda k: _log_prob(config, state, state.params, batch["x"], k,
                                         batch.get("label")), jnp.arange(largest))
    return {"ll": ll.T}  # (B, K)

  def evaluate(state: LikelihoodState, x: np.ndarray,
               labels: np.ndarray | None = None) -> dict[str, float]:
    arrays = {"x": x} if labels is None else {"x": x, "label": labels}
    ll = batched(lambda b, k: batch_log_probs(state, b), arrays, config.eval.batch_size,
                 jax.random.key(0))["ll"].reshape(x.shape[0], largest)
    dims = math.prod(x.shape[1:])
    results = {"num_test_examples": int(x.shape[0])}
    for k in num_masks:
      nll = -float(np.mean(jax.nn.logsumexp(ll[:, :k], axis=1) - math.log(k)))
      suffix = "" if config.model.arch != "made" else f"_{k}mask{'s' * (k > 1)}"
      results |= {f"test_nll{suffix}": nll,
                  f"test_bits_per_dim{suffix}": float(metrics.bits_per_dim(nll, dims))}
    return results
  return evaluate


def evaluate(config, state: LikelihoodState, x: np.ndarray, num_masks: tuple[int, ...],
             labels: np.ndarray | None = None) -> dict[str, float]:
  """Exact test NLL of ``x`` (one-off; see make_evaluate)."""
  return make_evaluate(config, num_masks)(state, x, labels)


def toy_test_set(config) -> np.ndarray:
  """``eval.num_examples`` (default 10,000) fresh toy points, never seen in training."""
  n = config.eval.num_examples if config.eval.num_examples > 0 else 10_000
  return data.sample_toy(config.data.name, np.random.default_rng([config.seed, 2**31]), n)


def train_arrays(config, info) -> dict[str, np.ndarray]:
  """The training split: the stored images, or for a VQ-VAE prior their code maps
  (as ``'image'``, uint16; a bottom prior's top maps as ``'label'``), encoded once."""
  del info
  arrays = load_arrays(config, "train")
  if vq_prior.code_maps(config) is None:
    return arrays
  return arrays | vq_prior.arrays(config, arrays["image"], "image")


def eval_split(config, num_examples: int = -1) -> dict[str, np.ndarray]:
  """`load_eval_data`'s ``{'x', 'label'}``, with a VQ-VAE prior's code maps as ``x``
  (and a bottom prior's top maps as ``'label'``)."""
  if vq_prior.code_maps(config) is None:
    return load_eval_data(config, num_examples)
  split = load_arrays(config, config.eval.split)
  n = num_examples if num_examples > 0 else split["image"].shape[0]
  labels = {"label": split["label"][:n].astype(np.int32)} if "label" in split else {}
  out = labels | vq_prior.arrays(config, split["image"][:n], "x")
  return out | {"x": out["x"].astype(np.float32)}


def evaluators(config, info):
  labels = None
  if info.is_toy:
    test = toy_test_set(config)
  else:
    split = eval_split(config, config.eval.num_examples)
    test, labels = split["x"], (split["label"] if is_conditional(config) else None)
  final_fn = make_evaluate(
      config, tuple(config.eval.num_masks) if config.model.arch == "made" else (1,))
  periodic_fn = make_evaluate(config, (1,))
  n = config.eval.periodic_num_examples
  periodic = (test[:n], None if labels is None else labels[:n])
  data_nll = (-float(np.mean(data.toy_log_prob(config.data.name, test)))
              if config.data.name in data.TOYS_WITH_DENSITY else None)

  def evaluator(state, final):
    results = final_fn(state, test, labels) if final else periodic_fn(state, *periodic)
    if final and data_nll is not None:  # The data's entropy: the lowest reachable NLL.
      results |= {"data_nll": data_nll, "kl_data_to_model": results["test_nll"] - data_nll}
    return results
  return [evaluator]


def sampler(config, info):
  """``draw(state, key, num, temperature=1.0)``: exact samples, as uint8 NHWC images
  (a flow's dequantized ``y`` back in its bin ``floor(256·y)``; a VQ-VAE prior's code
  maps decoded; a VQ-VAE-2 bottom prior's: top prior → bottom prior → decoder), or
  float32 points on a toy; None for a VQ-VAE-2 top prior, whose maps decode only with
  a bottom map. MADE samples with mask 0; ``temperature`` is a flow's; a conditional
  model's classes are `sample_labels`."""
  if not vq_prior.draws_images(config):
    return None
  to_images = images_of(config)
  top = vq_prior.top_sampler(config, info, init_state) if vq_prior.is_bottom(config) else None
  @functools.partial(jax.jit, static_argnums=2)
  def draw_chunk(state, key, n, temperature, labels):
    variables = {"params": state.params}
    if is_flow(config):
      return state.apply_fn(variables, key, n, jnp.float32(temperature), method="sample")
    if config.model.arch in PIXELCNNS:
      return state.apply_fn(variables, key, n, labels, method="sample")
    kwargs = {"mask_key": _mask_key(state, 0)} if config.model.arch == "made" else {}
    return state.apply_fn(variables, key, n, method="sample", **kwargs)

  def draw(state, key, num: int, temperature: float = 1.0, chunk: int = 500) -> np.ndarray:
    labels = sample_labels(config, info, num)
    out = []
    for i, start in enumerate(range(0, num, chunk)):
      key_i, n = jax.random.fold_in(key, i), min(chunk, num - start)
      given = None if labels is None else labels[start:start + chunk]
      if top is not None:  # The top maps first: the bottom prior's labels.
        top_key, key_i = jax.random.split(key_i)
        given = top(top_key, n)
      x = draw_chunk(state, key_i, n, temperature, given)
      out.append(np.asarray(x, np.float32) if info.is_toy else np.asarray(to_images(x, given)))
    return np.concatenate(out)
  return draw


def sample_labels(config, info, num: int) -> np.ndarray | None:
  """A class-conditional model's sample classes, ``0, 1, …, C−1, 0, 1, …``; else None."""
  return np.arange(num) % info.num_classes if _is_class_conditional(config) else None


def images_of(config):
  """``(model data, labels=None) -> uint8 images``: `jgen.data.to_uint8` for the data's
  preprocessing, or a VQ-VAE prior's decoder (a bottom prior's: given the top maps,
  its labels)."""
  if vq_prior.code_maps(config):
    return vq_prior.decoder(config)
  kind = "binary" if config.data.preprocess in BINARY_PREPROCESSING else config.data.preprocess
  return lambda x, labels=None: data.to_uint8(x, kind)


def completer(config, info):
  """``complete(state, key, images, per_image, labels=None, rows=None)``: a PixelCNN's
  samples of each image below its first ``rows`` rows (default: half the rows) given
  those (and its label, for a conditional model), ``per_image`` each (model data:
  images, or code maps)."""
  h, w, c = data_shape(config, info)

  @functools.partial(jax.jit, static_argnums=(3, 5))
  def complete(state, key, images, per_image, labels=None, rows=None):
    given = jnp.repeat(jnp.asarray(images), per_image, axis=0)
    labels = None if labels is None else jnp.repeat(jnp.asarray(labels), per_image, axis=0)
    rows = h // 2 if rows is None else rows
    return state.apply_fn({"params": state.params}, key, given.shape[0], labels, given,
                          rows * w * c, method="sample")
  return complete


def figures(config, info):
  draw = sampler(config, info)  # Compiled once for every evaluation of the run.
  if draw is None:
    return None
  if info.is_toy:
    return likelihood_figures.toy_figures(config, draw, _log_prob)
  complete, shown = None, None
  if config.model.arch in PIXELCNNS:
    complete, shown = completer(config, info), eval_split(config, 8)
  return likelihood_figures.image_figures(
      config, draw, interpolate=is_flow(config), complete=complete,
      to_images=images_of(config), shown=shown,
      classes=info.num_classes if _is_class_conditional(config) else 0,
      conditioned=is_conditional(config), resample=vq_prior.is_bottom(config))


TASK = Task(name="likelihood", validate=validate, init_state=init_state,
            train_step=train_step, evaluators=evaluators, figures=figures, sampler=sampler,
            sample_labels=sample_labels, train_arrays=train_arrays)
