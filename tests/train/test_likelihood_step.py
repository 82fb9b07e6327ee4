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


# Runs ``steps`` likelihood steps of ``state`` on 16 images on one device and on 8
# fake devices of 2 each; the setup code defines config, info and state.
_PMAP_VS_ONE_DEVICE = """
import json
import jax, numpy as np
from jgen import data
from jgen.tasks import likelihood
from jgen.train import parallel
{setup}
step = likelihood.train_step(config, info)
images = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
s1, s8, p_step = state, parallel.replicate(state), parallel.pmap_step(step)
for _ in range({steps}):
  s1, m1 = jax.jit(step)(s1, {{"image": images}})
  s8, m8 = p_step(s8, {{"image": images.reshape(8, 2, 28, 28, 1)}})
s8, m8 = parallel.unreplicate(s8), parallel.unreplicate(m8)
diff = max(float(np.abs(a - b).max()) for a, b in
           zip(jax.tree.leaves(s1.params), jax.tree.leaves(s8.params)))
print(json.dumps({{"diff": diff, "loss": [float(m1["loss"]), float(m8["loss"])]}}))
"""


def _assert_pmap_equals_one_device(run_on_fake_devices, setup, steps):
  result = run_on_fake_devices(_PMAP_VS_ONE_DEVICE.format(setup=setup, steps=steps))
  assert result["diff"] < 1e-5
  np.testing.assert_allclose(*result["loss"], rtol=1e-5)


def test_pmap_over_8_devices_equals_one_device(run_on_fake_devices):
  _assert_pmap_equals_one_device(run_on_fake_devices, """
from experiments.configs import made_binarized_mnist
config = made_binarized_mnist.get_config("tiny,masks32")
config.data.preprocess = "dynamic_binarize"  # Per-example draws too.
config.data.name = "mnist"
info = data.dataset_info("mnist")
state = likelihood.init_state(config, info)
""", steps=3)


def test_flow_with_actnorm_and_dequantization_pmap_equals_one_device(run_on_fake_devices):
  # Glow: per-example dequantization noise (example_keys) and ActNorm initialised on the
  # host from the first global batch; 8 devices of 2 examples each = one device of 16.
  _assert_pmap_equals_one_device(run_on_fake_devices, """
from experiments.configs import flow_images
config = flow_images.get_config("tiny,glow")
config.data.batch_size = 16
info = data.dataset_info("mnist")
likelihood._init_batch = lambda config, info: np.random.default_rng(1).uniform(
    size=(16, 28, 28, 1)).astype(np.float32)  # No dataset needed.
state = likelihood.init_state(config, info)
""", steps=2)
