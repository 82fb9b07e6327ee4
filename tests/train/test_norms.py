"""Tests for the health norms: their value, and steps that skip them."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs import dcgan_mnist
from experiments.configs import made_binarized_mnist
from experiments.configs import vae_binarized_mnist
from jgen import data
from jgen import tasks
from jgen.train.norms import global_norm


def test_global_norm_equals_optax_tree_norm():
  keys = jax.random.split(jax.random.key(0), 3)
  tree = {"w": jax.random.normal(keys[0], (5, 7)), "b": jax.random.normal(keys[1], (7,)),
          "nested": [jax.random.normal(keys[2], (2, 3, 4)), jnp.asarray(3.0)]}
  np.testing.assert_allclose(global_norm(tree), optax.tree.norm(tree), rtol=1e-6)
  np.testing.assert_allclose(jax.jit(global_norm)(tree), optax.tree.norm(tree), rtol=1e-6)
  flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(tree)]).astype(np.float64)
  np.testing.assert_allclose(global_norm(tree), np.linalg.norm(flat), rtol=1e-6)


def test_global_norm_of_an_empty_tree_is_zero():
  assert float(global_norm({})) == 0.0


_NORMS = ("grad_norm", "param_norm", "d_grad_norm", "g_grad_norm", "d_param_norm",
          "g_param_norm")


@pytest.mark.parametrize("module, variant", [
    (dcgan_mnist, "tiny"), (vae_binarized_mnist, "tiny"), (made_binarized_mnist, "tiny")])
def test_steps_without_norms_make_the_same_update_and_report_zero_norms(module, variant):
  config = module.get_config(variant)
  info = data.dataset_info(config.data.name)
  task = tasks.get_task(config.task)
  state = task.init_state(config, info)
  rng = np.random.default_rng(0)
  b, k = config.data.batch_size, config.loss.n_critic if config.task == "gan" else 1
  images = rng.integers(0, 2 if info.binary else 256, (k, b, *info.shape), dtype=np.uint8)
  batch = {"image": images if config.task == "gan" else images[0]}
  step = task.train_step(config, info)
  full_state, full = jax.jit(step)(state, batch)
  quiet_state, quiet = jax.jit(functools.partial(step, norms=False))(state, batch)
  chex.assert_trees_all_equal(full_state, quiet_state)  # bit for bit
  assert set(full) == set(quiet)
  names = [name for name in full if name in _NORMS]
  assert len(names) in (2, 4)
  for name, value in full.items():
    if name in _NORMS:
      assert float(value) > 0 and float(quiet[name]) == 0.0, name
    else:
      assert float(value) == float(quiet[name]), name
