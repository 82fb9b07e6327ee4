"""Tests for the likelihood task: MADE's mask ensemble and the per-step masks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import made_binarized_mnist
from jgen import data
from jgen.tasks import likelihood

INFO = data.dataset_info("binarized_mnist")


def _images(n=8):
  return np.random.default_rng(0).integers(0, 2, (n, 28, 28, 1)).astype(np.float32)


def test_ensemble_nll_is_the_log_mean_exp_over_the_first_k_masks():
  config = made_binarized_mnist.get_config("tiny,masks32")
  config.eval.batch_size = 5  # 8 examples: a short last batch.
  state = likelihood.init_state(config, INFO)
  x = _images()
  results = likelihood.evaluate(config, state, x, (1, 3))
  per_mask = np.stack([np.asarray(likelihood._log_prob(config, state, state.params, x, k))
                       for k in range(3)], axis=1)
  assert results["test_nll_1mask"] == pytest.approx(-per_mask[:, 0].mean(), rel=1e-5)
  ensemble = jax.nn.logsumexp(per_mask, axis=1) - np.log(3)
  assert results["test_nll_3masks"] == pytest.approx(-float(ensemble.mean()), rel=1e-5)
  # Different masks give different models (the ensemble is not one model three times).
  assert np.abs(per_mask[:, 0] - per_mask[:, 1]).max() > 1e-3


def test_each_step_draws_one_mask_of_the_set_from_its_key():
  config = made_binarized_mnist.get_config("tiny,masks32")
  state = likelihood.init_state(config, INFO)
  step = jax.jit(likelihood.train_step(config, INFO))
  batch = {"image": jnp.asarray(_images(16), jnp.uint8)}
  _, first = step(state, batch)
  _, again = step(state, batch)
  _, other = step(state.replace(step=state.step + 1), batch)
  assert float(first["loss"]) == float(again["loss"])  # Same step, same mask.
  x = _images(16)
  losses = {round(-float(likelihood._log_prob(config, state, state.params, x, k).mean()), 3)
            for k in range(config.model.num_masks)}
  assert round(float(first["loss"]), 3) in losses
  assert float(other["loss"]) != float(first["loss"])  # Another step: another mask.


def test_flow_nll_on_images_is_the_dequantized_bound_in_bits_per_dim():
  from experiments.configs import flow_images  # pylint: disable=g-import-not-at-top
  from jgen.flows import dequantized_bits_per_dim  # pylint: disable=g-import-not-at-top
  config = flow_images.get_config("tiny,realnvp")
  info = data.dataset_info("mnist")
  likelihood.validate(config, info)
  x = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype(np.float32)
  state = likelihood.create_likelihood_state(
      jax.random.key(0), likelihood.build_model(config, info), optax_sgd(), example=x)
  density = np.asarray(state.apply_fn({"params": state.params}, x))  # log p(y), nats.
  shifted = np.asarray(likelihood._log_prob(config, state, state.params, x, 0))
  np.testing.assert_allclose(shifted, density - 784 * np.log(256), rtol=1e-6)
  results = likelihood.evaluate(config, state, x, (1,))
  assert results["test_bits_per_dim"] == pytest.approx(
      float(dequantized_bits_per_dim(density, 784).mean()), rel=1e-5)


def optax_sgd():
  import optax  # pylint: disable=g-import-not-at-top
  return optax.sgd(1e-3)


def test_flow_actnorm_initialises_on_the_first_dequantized_training_batch(tiny_npz_dir):
  from experiments.configs import flow_images  # pylint: disable=g-import-not-at-top
  config = flow_images.get_config("tiny,glow")
  config.data.npz_dir = str(tiny_npz_dir)
  config.data.data_dir = str(tiny_npz_dir.parent / "tfds")
  info = data.dataset_info("mnist")
  batch = likelihood._init_batch(config, info)
  images = data.load_split("mnist", "train", data_dir=config.data.data_dir,
                           npz_dir=config.data.npz_dir)["image"][:config.data.batch_size]
  assert batch.shape == (8, 28, 28, 1)
  np.testing.assert_array_equal(np.floor(batch * 256).astype(np.uint8), images)
  state = likelihood.init_state(config, info)
  # Glow's first ActNorm sees the squeezed batch: its bias is that batch's channel mean.
  from jgen.flows import Squeeze  # pylint: disable=g-import-not-at-top
  first = state.params["flow"]["bijectors_0"]["bijectors_1"]["bijectors_0"]
  np.testing.assert_allclose(first["bias"], np.asarray(Squeeze().inverse(batch)).mean((0, 1, 2)),
                             rtol=1e-5)


def test_toy_flow_evaluation_sets_the_data_entropy_beside_the_test_nll():
  from experiments.configs import flow_toy2d  # pylint: disable=g-import-not-at-top
  config = flow_toy2d.get_config("tiny,nsf,eight_gaussians")
  info = data.dataset_info("eight_gaussians")
  state = likelihood.init_state(config, info)
  (evaluator,) = likelihood.evaluators(config, info)
  results = evaluator(state, True)
  test = likelihood.toy_test_set(config)
  assert results["data_nll"] == pytest.approx(-data.toy_log_prob("eight_gaussians", test).mean())
  assert results["kl_data_to_model"] == pytest.approx(results["test_nll"] - results["data_nll"])
  assert results["kl_data_to_model"] > 0.1  # A fresh flow is a Gaussian, far from 8 modes.
