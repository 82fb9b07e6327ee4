"""Tests for jgen.train.parallel helpers (multi-device cases in a subprocess)."""

import jax
import jax.numpy as jnp
import numpy as np

from jgen.train import parallel


def test_example_keys_are_distinct_and_folded_from_the_index():
  key = jax.random.key(3)
  keys = parallel.example_keys(key, 4)
  assert keys.shape == (4,)
  data = jax.random.key_data(keys)
  assert len({tuple(np.asarray(d)) for d in data}) == 4
  np.testing.assert_array_equal(data[2], jax.random.key_data(jax.random.fold_in(key, 2)))


def test_replicate_unreplicate_round_trip():
  tree = {"a": jnp.arange(3.0), "b": jnp.int32(4)}
  back = parallel.unreplicate(parallel.replicate(tree))
  np.testing.assert_array_equal(back["a"], tree["a"])
  assert isinstance(back["a"], np.ndarray)


_CODE = """
import json
import jax, jax.numpy as jnp, numpy as np
from jgen.train import parallel
key = jax.random.key(0)
single = jax.random.key_data(parallel.example_keys(key, 16))
def f(x):
  return jax.random.key_data(parallel.example_keys(key, 2, parallel.AXIS_NAME))
per_device = jax.pmap(f, axis_name=parallel.AXIS_NAME)(jnp.zeros(8))
print(json.dumps({"equal": bool(np.array_equal(np.asarray(per_device).reshape(16, -1),
                                               np.asarray(single)))}))
"""


def test_example_keys_do_not_depend_on_the_device_count(run_on_fake_devices):
  assert run_on_fake_devices(_CODE)["equal"]


_UNREPLICATE = """
import json
import jax, jax.numpy as jnp, numpy as np
from jgen.train import parallel
out = jax.pmap(lambda i: {"s": i * 2.0, "v": jnp.stack([i, -i])})(jnp.arange(8.0) + 1)
host = parallel.unreplicate(out)
print(json.dumps({"s": float(host["s"]), "v": host["v"].tolist(),
                  "numpy": isinstance(host["v"], np.ndarray)}))
"""


def test_unreplicate_takes_the_first_device_replica(run_on_fake_devices):
  assert run_on_fake_devices(_UNREPLICATE) == {"s": 2.0, "v": [1.0, -1.0], "numpy": True}


def _toy_step(state, batch, axis_name=None):
  """A step with a collective: a gradient step on the mean of a squared error."""
  def loss(w):
    return jnp.mean((batch["x"] @ w - batch["y"]) ** 2)
  value, grad = jax.value_and_grad(loss)(state["w"])
  if axis_name is not None:
    grad, value = jax.lax.pmean((grad, value), axis_name)
  return {"w": state["w"] - 0.1 * grad, "step": state["step"] + 1}, {"loss": value}


def test_one_device_step_is_a_jit_equal_to_the_pmapped_step():
  rng = np.random.default_rng(0)
  state = {"w": rng.normal(size=(3,)).astype(np.float32), "step": np.int32(0)}
  batches = [{"x": rng.normal(size=(1, 8, 3)).astype(np.float32),
              "y": rng.normal(size=(1, 8)).astype(np.float32)} for _ in range(3)]
  step, put, get = parallel.data_parallel(_toy_step)
  assert parallel.step_axis_name() is None
  device_state = put(jax.tree.map(jnp.asarray, state))
  p_step, p_state = parallel.pmap_step(_toy_step), parallel.replicate(state)
  for batch in batches:
    device_state, metrics = step(device_state, batch)
    p_state, p_metrics = p_step(p_state, batch)
  np.testing.assert_allclose(get(device_state)["w"], parallel.unreplicate(p_state)["w"],
                             rtol=1e-6)
  assert int(get(device_state)["step"]) == 3
  np.testing.assert_allclose(get(metrics)["loss"], parallel.unreplicate(p_metrics)["loss"],
                             rtol=1e-6)


def test_put_copies_so_the_donating_step_leaves_the_callers_state_valid():
  state = {"w": jnp.ones(3), "step": jnp.int32(0)}
  step, put, _ = parallel.data_parallel(_toy_step)
  step(put(state), {"x": np.ones((1, 2, 3), np.float32), "y": np.zeros((1, 2), np.float32)})
  np.testing.assert_array_equal(state["w"], 1.0)  # Not donated away.


_DATA_PARALLEL = """
import json
import jax, numpy as np
from jgen.train import parallel
rng = np.random.default_rng(0)
state = {"w": np.ones(3, np.float32), "step": np.int32(0)}
batch = {"x": rng.normal(size=(8, 2, 3)).astype(np.float32),
         "y": rng.normal(size=(8, 2)).astype(np.float32)}
step, put, get = parallel.data_parallel(_toy_step)
new, metrics = step(put(state), batch)
whole = {k: v.reshape(1, 16, *v.shape[2:]) for k, v in batch.items()}
one, one_metrics = _toy_step(state, {k: v[0] for k, v in whole.items()})
print(json.dumps({"axis": parallel.step_axis_name(),
                  "w_close": bool(np.allclose(get(new)["w"], one["w"], rtol=1e-5)),
                  "loss_close": bool(np.allclose(get(metrics)["loss"], one_metrics["loss"]))}))
"""


def test_eight_devices_step_under_pmap_and_equal_one_device(run_on_fake_devices):
  import inspect  # pylint: disable=g-import-not-at-top
  code = "import jax.numpy as jnp\n" + inspect.getsource(_toy_step) + _DATA_PARALLEL
  assert run_on_fake_devices(code) == {"axis": "batch", "w_close": True, "loss_close": True}
