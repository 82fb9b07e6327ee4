"""The classifier task: its step is cross-entropy on the likelihood step; bad values named."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs import feature_network
from jgen import data
from jgen.tasks import classifier

INFO = data.dataset_info("mnist")


def _batch(n=16):
  rng = np.random.default_rng(0)
  return {"image": jnp.asarray(rng.integers(0, 256, (n, 28, 28, 1)), jnp.uint8),
          "label": jnp.asarray(rng.integers(0, 10, n), jnp.int32)}


def test_step_loss_is_the_cross_entropy_of_the_augmented_batch():
  config = feature_network.get_config("mnist,tiny")
  config.data.augment = "none"  # Then the step sees exactly the preprocessed batch.
  state = classifier.init_state(config, INFO)
  batch = _batch()
  _, metrics = jax.jit(classifier.train_step(config, INFO))(state, batch)
  logits = state.apply_fn({"params": state.params}, batch["image"].astype(jnp.float32) / 255)
  expected = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
  assert float(metrics["loss"]) == pytest.approx(float(expected), rel=1e-5)
  assert "bits_per_dim" not in metrics and set(metrics) >= {"grad_norm", "param_norm"}


def test_augmentation_draws_follow_the_step_key():
  config = feature_network.get_config("cifar10,tiny")
  info = data.dataset_info("cifar10")
  state = classifier.init_state(config, info)
  step = jax.jit(classifier.train_step(config, info))
  rng = np.random.default_rng(0)
  batch = {"image": jnp.asarray(rng.integers(0, 256, (8, 32, 32, 3)), jnp.uint8),
           "label": jnp.zeros(8, jnp.int32)}
  _, a = step(state, batch)
  _, b = step(state, batch)
  _, c = step(state.replace(step=state.step + 1), batch)
  assert float(a["loss"]) == float(b["loss"]) != float(c["loss"])


@pytest.mark.parametrize("field,value,message", [
    ("data.augment", "rotate", "data.augment='rotate' is not valid"),
    ("data.preprocess", "symmetric", "data.preprocess='symmetric' is not valid"),
    ("model.widths", (8, 10), "must be positive multiples of model.groups=4"),
    ("optim.weight_decay", -1.0, "optim.weight_decay=-1.0 must be >= 0"),
])
def test_bad_values_are_named(field, value, message):
  config = feature_network.get_config("mnist,tiny")
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(ValueError, match=message):
    classifier.validate(config, INFO)


def test_a_dataset_without_labels_is_refused_and_variants_are_checked():
  config = feature_network.get_config("mnist,tiny")
  with pytest.raises(ValueError, match="has no labels"):
    classifier.validate(config, data.dataset_info("binarized_mnist"))
  with pytest.raises(ValueError, match="name one of"):
    feature_network.get_config("svhn")
