"""Tests for the exact-likelihood step: its loss, determinism, and pmap == one device."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen.models import MADE
from jgen.train.likelihood_step import create_likelihood_state
from jgen.train.likelihood_step import likelihood_train_step


def _state(tx=None):
  return create_likelihood_state(jax.random.key(0), MADE((6,), hidden=(8,)),
                                 tx or optax.adam(1e-2), example=jnp.zeros((2, 6)))


def _x(n=8, seed=0):
  return np.random.default_rng(seed).integers(0, 2, (n, 6)).astype(np.float32)


def test_loss_is_the_mean_negative_log_likelihood_and_training_lowers_it():
  state, x = _state(), _x()
  step = jax.jit(likelihood_train_step)
  new, metrics = step(state, x)
  ll = state.apply_fn({"params": state.params}, x).log_prob(x)
  np.testing.assert_allclose(metrics["loss"], -ll.mean(), rtol=1e-6)
  np.testing.assert_allclose(metrics["bits_per_dim"], -ll.mean() / (6 * np.log(2)), rtol=1e-6)
  assert int(new.step) == 1 and metrics["grad_norm"] > 0
  for _ in range(50):
    new, later = step(new, x)
  assert later["loss"] < metrics["loss"] - 0.5


def test_log_prob_fn_gets_the_step_key():
  seen = []

  def log_prob_fn(params, x, key):
    seen.append(key)
    return jnp.zeros(x.shape[0]) + 0.0 * jax.tree.leaves(params)[0].sum()

  state = _state()
  likelihood_train_step(state, _x(), log_prob_fn=log_prob_fn)
  np.testing.assert_array_equal(jax.random.key_data(seen[0]),
                                jax.random.key_data(jax.random.fold_in(state.base_key, 0)))


def test_pmap_over_8_devices_equals_one_device(run_on_fake_devices):
  result = run_on_fake_devices("""
    import json
    import jax, jax.numpy as jnp, numpy as np
    from experiments.configs import made_binarized_mnist
    from jgen import data
    from jgen.tasks import likelihood
    from jgen.train import parallel

    config = made_binarized_mnist.get_config("tiny,masks32")
    config.data.preprocess = "dynamic_binarize"  # Per-example draws too.
    config.data.name = "mnist"
    info = data.dataset_info("mnist")
    state = likelihood.init_state(config, info)
    step = likelihood.train_step(config, info)
    images = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    single = jax.jit(step)
    s1 = state
    for _ in range(3):
      s1, m1 = single(s1, {"image": images})
    p_step = parallel.pmap_step(step)
    s8 = parallel.replicate(state)
    for _ in range(3):
      s8, m8 = p_step(s8, {"image": images.reshape(8, 2, 28, 28, 1)})
    s8, m8 = parallel.unreplicate(s8), parallel.unreplicate(m8)
    diff = max(float(np.abs(a - b).max()) for a, b in
               zip(jax.tree.leaves(s1.params), jax.tree.leaves(s8.params)))
    print(json.dumps({"diff": diff, "loss": [float(m1["loss"]), float(m8["loss"])]}))
  """)
  assert result["diff"] < 1e-5
  np.testing.assert_allclose(*result["loss"], rtol=1e-5)
