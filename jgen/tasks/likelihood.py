"""The exact-likelihood task: NADE and MADE on binary images (`jgen.train.likelihood_step`).

Config (see ``experiments/configs/nade_binarized_mnist.py``): ``model.arch`` ``'nade'``
or ``'made'``; MADE trains on a set of ``model.num_masks`` connectivity masks (orderings
too when ``model.order_agnostic``), drawing one per step from the step key, and is
evaluated as the ensemble ``log p(x) = log (1/K) Σ_k p(x | mask k)`` of its first K
masks for each K in ``eval.num_masks`` (Germain et al. 2015, §4). Evaluation: exact
test NLL in nats and bits/dim, periodically on ``eval.periodic_num_examples`` examples
with one mask.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen import data
from jgen import metrics
from jgen.figures import image_grid
from jgen.models import MADE
from jgen.models import NADE
from jgen.tasks.base import Task
from jgen.tasks.base import batched
from jgen.tasks.base import check_choices
from jgen.tasks.base import check_positive
from jgen.tasks.base import learning_rate
from jgen.tasks.base import load_eval_data
from jgen.train import parallel
from jgen.train import rng
from jgen.train.likelihood_step import LikelihoodState
from jgen.train.likelihood_step import create_likelihood_state
from jgen.train.likelihood_step import likelihood_train_step

ARCHITECTURES = ("nade", "made")
BINARY_PREPROCESSING = ("binary", "dynamic_binarize", "static_binarize")


def validate(config, info) -> None:
  if info.is_toy:
    raise ValueError(f"data.name={config.data.name!r} is a 2-D toy; the likelihood task "
                     "needs binary images.")
  check_choices({"model.arch": (config.model.arch, ARCHITECTURES),
                 "data.preprocess": (config.data.preprocess, BINARY_PREPROCESSING)})
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


def build_model(config, info):
  m = config.model
  if m.arch == "nade":
    return NADE(event_shape=info.shape, hidden=m.hidden)
  return MADE(event_shape=info.shape, hidden=(m.hidden,) * m.num_layers,
              order_agnostic=m.order_agnostic, connectivity_agnostic=m.num_masks > 1,
              direct=m.direct)


def init_state(config, info) -> LikelihoodState:
  return create_likelihood_state(jax.random.key(config.seed), build_model(config, info),
                                 optax.adam(learning_rate(config)),
                                 example=jnp.zeros((2, *info.shape)))


def _mask_key(state, index):
  """Mask ``index`` of MADE's fixed set: a key derived from the run's key."""
  return jax.random.fold_in(rng.stream_key(state.base_key, "masks"), index)


def _log_prob(config, state, params, x, mask_index):
  variables = {"params": params}
  if config.model.arch == "nade":
    return state.apply_fn(variables, x).log_prob(x)
  return state.apply_fn(variables, x, _mask_key(state, mask_index)).log_prob(x)


def train_step(config, info):
  del info

  def step(state, batch, axis_name=None):
    images = batch["image"]
    step_key = rng.step_key(state.base_key, state.step)
    keys = parallel.example_keys(rng.stream_key(step_key, "binarize"), images.shape[0],
                                 axis_name)
    x = data.preprocess_images(images, config.data.preprocess, keys)

    def log_prob_fn(params, x, key):
      # One mask of the set per step, the same on every device.
      index = jax.random.randint(key, (), 0, config.model.num_masks)
      return _log_prob(config, state, params, x, index)
    return likelihood_train_step(state, x, log_prob_fn=log_prob_fn, axis_name=axis_name)
  return step


def make_evaluate(config, num_masks: tuple[int, ...]):
  """``evaluate(state, x)``: the exact test NLL of ``x``, jitted once; for MADE, of the
  ensemble of its first K masks for each K in ``num_masks``."""
  largest = max(num_masks)

  @jax.jit
  def batch_log_probs(state, batch):
    # One mask at a time (lax.map compiles the network once, not K times).
    ll = jax.lax.map(lambda k: _log_prob(config, state, state.params, batch["x"], k),
                     jnp.arange(largest))
    return {"ll": ll.T}  # (B, K)

  def evaluate(state: LikelihoodState, x: np.ndarray) -> dict[str, float]:
    ll = batched(lambda b, k: batch_log_probs(state, b), {"x": x}, config.eval.batch_size,
                 jax.random.key(0))["ll"].reshape(x.shape[0], largest)
    dims = math.prod(x.shape[1:])
    results = {"num_test_examples": int(x.shape[0])}
    for k in num_masks:
      nll = -float(np.mean(jax.nn.logsumexp(ll[:, :k], axis=1) - math.log(k)))
      suffix = "" if config.model.arch == "nade" else f"_{k}mask{'s' * (k > 1)}"
      results |= {f"test_nll{suffix}": nll,
                  f"test_bits_per_dim{suffix}": float(metrics.bits_per_dim(nll, dims))}
    return results
  return evaluate


def evaluate(config, state: LikelihoodState, x: np.ndarray,
             num_masks: tuple[int, ...]) -> dict[str, float]:
  """Exact test NLL of ``x`` (one-off; see make_evaluate)."""
  return make_evaluate(config, num_masks)(state, x)


def evaluators(config, info):
  del info
  test = load_eval_data(config, config.eval.num_examples)["x"]
  final_fn = make_evaluate(
      config, (1,) if config.model.arch == "nade" else tuple(config.eval.num_masks))
  periodic_fn = make_evaluate(config, (1,))
  periodic = test[:config.eval.periodic_num_examples]

  def evaluator(state, final):
    return final_fn(state, test) if final else periodic_fn(state, periodic)
  return [evaluator]


def sampler(config, info):
  """``draw(state, key, num)``: exact samples (mask 0 for MADE) as uint8 {0, 255} NHWC."""
  del info
  @functools.partial(jax.jit, static_argnums=2)
  def draw_chunk(state, key, n):
    kwargs = {} if config.model.arch == "nade" else {"mask_key": _mask_key(state, 0)}
    return state.apply_fn({"params": state.params}, key, n, method="sample", **kwargs)

  def draw(state, key, num: int, chunk: int = 500) -> np.ndarray:
    out = [draw_chunk(state, jax.random.fold_in(key, i), min(chunk, num - start))
           for i, start in enumerate(range(0, num, chunk))]
    return np.asarray(data.to_uint8(jnp.concatenate(out), "binary"))
  return draw


def figures(config, info):
  draw = sampler(config, info)  # Compiled once for every evaluation of the run.

  def samples(state):
    key = rng.stream_key(state.base_key, "figures")
    return {"samples": image_grid(draw(state, key, 64), ncol=8)}
  return samples


TASK = Task(name="likelihood", validate=validate, init_state=init_state,
            train_step=train_step, evaluators=evaluators, figures=figures, sampler=sampler)
