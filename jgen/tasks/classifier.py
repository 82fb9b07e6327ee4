"""The classifier task: jgen's feature networks (`jgen.models.ConvClassifier`).

A classifier maximises the conditional likelihood ``log p(y | x)``, so it trains on the
exact-likelihood step (`jgen.train.likelihood_step`) with ``log_prob = Categorical(
logits).log_prob(y)``: cross-entropy in nats per example. Config (see
``experiments/configs/feature_network.py``): ``model.widths``, ``model.convs_per_block``,
``model.groups``, ``model.dense_width`` (0: global average pooling);
``data.augment`` one of `jgen.data.AUGMENTATIONS`; AdamW with ``optim.weight_decay``.
Evaluation: test accuracy and cross-entropy, periodically on
``eval.periodic_num_examples`` examples. `jgen.metrics.save_feature_network` turns the
trained state into the weights file the sample-quality metrics load.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen import data
from jgen.distributions import Categorical
from jgen.models.classifier import ConvClassifier
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


def validate(config, info) -> None:
  if not info.has_labels:
    raise ValueError(f"data.name={config.data.name!r} has no labels; a classifier needs "
                     "them (for binarized MNIST train on 'mnist' with "
                     "data.preprocess='dynamic_binarize').")
  check_choices({"data.augment": (config.data.augment, data.AUGMENTATIONS),
                 "data.preprocess": (config.data.preprocess,
                                     ("unit", "dynamic_binarize", "static_binarize"))})
  check_positive(config, "model.convs_per_block", "model.groups", "eval.batch_size",
                 "eval.periodic_num_examples")
  widths = tuple(config.model.widths)
  if not widths or any(w <= 0 or w % config.model.groups for w in widths):
    raise ValueError(f"model.widths={widths} must be positive multiples of "
                     f"model.groups={config.model.groups}.")
  if not (isinstance(config.model.dense_width, int) and config.model.dense_width >= 0):
    raise ValueError(f"model.dense_width={config.model.dense_width!r} must be an integer "
                     ">= 0 (0: global average pooling).")
  if not config.optim.weight_decay >= 0:
    raise ValueError(f"optim.weight_decay={config.optim.weight_decay!r} must be >= 0.")
  learning_rate(config)  # Checks optim.lr and optim.schedule.


def build_model(config, info) -> ConvClassifier:
  m = config.model
  return ConvClassifier(num_classes=info.num_classes, widths=tuple(m.widths),
                        convs_per_block=m.convs_per_block, groups=m.groups,
                        dense_width=m.dense_width)


def init_state(config, info) -> LikelihoodState:
  tx = optax.adamw(learning_rate(config), weight_decay=config.optim.weight_decay)
  return create_likelihood_state(jax.random.key(config.seed), build_model(config, info), tx,
                                 example=jnp.zeros((2, *info.shape)))


def train_step(config, info):
  del info

  def step(state, batch, axis_name=None, norms=True):
    del norms  # The classifier reports no norms.
    images, labels = batch["image"], batch["label"]
    step_key = rng.step_key(state.base_key, state.step)
    n = images.shape[0]
    x = data.preprocess_images(
        images, config.data.preprocess,
        parallel.example_keys(rng.stream_key(step_key, "binarize"), n, axis_name))
    x = data.augment_images(
        parallel.example_keys(rng.stream_key(step_key, "augment"), n, axis_name), x,
        config.data.augment)

    def log_prob_fn(params, x, key):
      del key
      return Categorical(state.apply_fn({"params": params}, x)).log_prob(labels)
    state, metrics = likelihood_train_step(state, x, log_prob_fn=log_prob_fn,
                                           axis_name=axis_name)
    del metrics["bits_per_dim"]  # Of labels, not of images.
    return state, metrics
  return step


def evaluators(config, info):
  del info
  test = load_eval_data(config, config.eval.num_examples)

  @jax.jit
  def batch_metrics(state, batch):
    logits = state.apply_fn({"params": state.params}, batch["x"])
    return {"correct": jnp.argmax(logits, -1) == batch["label"],
            "nll": -Categorical(logits).log_prob(batch["label"])}

  def evaluate(state, final):
    n = test["x"].shape[0] if final else config.eval.periodic_num_examples
    out = batched(lambda b, k: batch_metrics(state, b),
                  {k: v[:n] for k, v in test.items()}, config.eval.batch_size,
                  jax.random.key(0))
    return {"test_accuracy": float(np.mean(out["correct"])),
            "test_cross_entropy": float(np.mean(out["nll"])),
            "num_test_examples": int(out["nll"].shape[0])}
  return [evaluate]


TASK = Task(name="classifier", validate=validate, init_state=init_state,
            train_step=train_step, evaluators=evaluators, figures=lambda config, info: None,
            sampler=None)
