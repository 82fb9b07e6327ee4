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
