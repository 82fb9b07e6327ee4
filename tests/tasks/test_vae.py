"""Tests for the VAE task's evaluation: reconstruction error, code usage, likelihood."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import vae_binarized_mnist
from experiments.configs import vae_fashion_mnist
from experiments.configs import vqvae_fashion_mnist
from jgen import data
from jgen.tasks import vae
from jgen.train import trainer
from jgen.train.vae_step import reconstruct


def _images(n=40, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)


def _small_eval(config):
  config.eval.batch_size = 16  # 40 examples: the last batch is short.
  config.eval.iwae_samples, config.eval.iwae_chunk = 20, 10
  return config


def test_vq_reconstruct_uses_the_ema_codebook():
  config = vqvae_fashion_mnist.get_config("tiny,ema")
  state = vae.init_state(config, data.dataset_info(config.data.name))
  params = {"params": state.params}
  book = np.asarray(state.ema_codebook.codebook)  # One level: the bare EMA state.
  assert not np.allclose(book, state.apply_fn(params, method="codes"))
  x = data.preprocess_images(jnp.asarray(_images(8)), config.data.preprocess)
  out, (indices,) = reconstruct(state, x)
  z_e = np.asarray(state.apply_fn(params, x, method="encode"))
  nearest = np.square(z_e[..., None, :] - book).sum(-1).argmin(-1)
  np.testing.assert_array_equal(indices, nearest)
  expected = state.apply_fn(params, jnp.asarray(book[nearest]), method="decode").mean()
  np.testing.assert_allclose(out.mean(), expected, rtol=1e-5, atol=1e-6)


def test_evaluate_vqvae_reconstruction_error_and_perplexity():
  config = _small_eval(vqvae_fashion_mnist.get_config("tiny"))
  state = vae.init_state(config, data.dataset_info(config.data.name))
  images = _images()
  x = data.preprocess_images(jnp.asarray(images), config.data.preprocess)
  results = vae.evaluate(config, state, {"x": np.asarray(x)},
                         iwae_samples=config.eval.iwae_samples)
  out, (indices,) = reconstruct(state, x)
  # Data scale 'unit' is already [0, 1]: the error is against the raw pixels / 255.
  mse = np.mean(np.square(np.clip(np.asarray(out.mean(), np.float64), 0, 1) - images / 255.0))
  assert results["test_reconstruction_mse"] == pytest.approx(mse, rel=1e-5)
  p = np.bincount(np.asarray(indices).ravel()) / np.asarray(indices).size
  p = p[p > 0]
  assert results["test_codebook_perplexity"] == pytest.approx(np.exp(-(p * np.log(p)).sum()))
  assert 1.0 <= results["test_codebook_perplexity"] <= config.model.num_codes
  assert "test_nll_iwae" not in results and results["num_test_examples"] == 40


def test_evaluate_vqvae2_reports_each_level_and_samples_uniform_codes():
  config = _small_eval(vqvae_fashion_mnist.get_config("tiny,vq2"))
  info = data.dataset_info(config.data.name)
  state = vae.init_state(config, info)
  x = data.preprocess_images(jnp.asarray(_images()), config.data.preprocess)
  results = vae.evaluate(config, state, {"x": np.asarray(x)}, iwae_samples=1)
  _, indices = reconstruct(state, x)
  assert [i.shape for i in indices] == [(40, 7, 7), (40, 14, 14)]
  for name, level in zip(("top", "bottom"), indices):
    p = np.bincount(np.asarray(level).ravel()) / np.asarray(level).size
    p = p[p > 0]
    assert results[f"test_codebook_perplexity_{name}"] == pytest.approx(
        np.exp(-(p * np.log(p)).sum()))
  samples = vae.sampler(config, info)(state, jax.random.key(0), 6)
  assert samples.shape == (6, 28, 28, 1) and samples.dtype == np.uint8


def test_evaluate_logistic_vae_in_unit_scale_and_bits_per_dim():
  config = _small_eval(vae_fashion_mnist.get_config("tiny"))
  state = vae.init_state(config, data.dataset_info(config.data.name))
  # Push the logistic locations above 1 (as edge bins let trained models do): the
  # error is of the image the model outputs, the mean of the discretized logistic.
  params = jax.tree_util.tree_map_with_path(
      lambda path, v: v + 3.0 if "SubPixelConvTranspose_1" in jax.tree_util.keystr(path)
      and jax.tree_util.keystr(path).endswith("['bias']") else v, state.params)
  state = state.replace(params=params)
  images = _images()
  x = data.preprocess_images(jnp.asarray(images), config.data.preprocess)
  assert float(x.min()) < 0  # Symmetric data, [−1, 1]: the MSE must undo the scaling.
  results = vae.evaluate(config, state, {"x": np.asarray(x)},
                         iwae_samples=config.eval.iwae_samples)
  p_x = reconstruct(state, x)[0]
  assert (np.asarray(p_x.loc) > 1).mean() > 0.5
  mean = np.asarray(p_x.mean(), np.float64)  # The discretized mean lies in [−1, 1].
  assert mean.max() <= 1 and mean.min() >= -1
  mse = np.mean(np.square(np.clip((mean + 1) / 2, 0, 1) - images / 255.0))
  assert results["test_reconstruction_mse"] == pytest.approx(mse, rel=1e-5)
  nll = results["test_nll_iwae"]
  assert 0 < nll <= results["test_negative_elbo"] + 1e-3
  assert results["test_bits_per_dim_iwae"] == pytest.approx(nll / (784 * math.log(2)))


def test_deterministic_autoencoder_has_no_likelihood_bound():
  config = _small_eval(vae_binarized_mnist.get_config("tiny,ae"))
  state = vae.init_state(config, data.dataset_info(config.data.name))
  x = np.asarray(data.preprocess_images(jnp.asarray(_images() > 127), config.data.preprocess))
  results = vae.evaluate(config, state, {"x": x},
                         iwae_samples=config.eval.iwae_samples)
  assert set(results) == {"test_reconstruction_mse", "num_test_examples"}


def test_cosine_schedule_decays_to_zero_and_bad_schedule_is_named():
  config = vae_binarized_mnist.get_config("tiny")
  config.training.num_steps = 4
  state = vae.init_state(config, data.dataset_info(config.data.name))
  batch = {"image": jnp.asarray(_images(16) > 127, jnp.uint8)}
  step = jax.jit(vae.train_step(config, None))
  for _ in range(4):
    before = state.params
    state, _ = step(state, batch)
  # The 4th update uses lr(3) = lr·(1 + cos(3π/4))/2 > 0; one more would use lr(4) = 0.
  assert not all(np.array_equal(a, b) for a, b in zip(
      jax.tree.leaves(before), jax.tree.leaves(state.params), strict=True))
  after, _ = step(state, batch)
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(after.params), strict=True):
    np.testing.assert_array_equal(a, b)
  config.optim.schedule = "linear"
  with pytest.raises(ValueError, match=r"optim.schedule='linear'.*'constant', 'cosine'"):
    trainer.validate_config(config)
