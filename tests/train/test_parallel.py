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
