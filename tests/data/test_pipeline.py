"""Tests for jgen.data.pipeline: epoch order, sharding, exact resume, prefetch."""

import os
from pathlib import Path
import subprocess
import sys
import textwrap
import threading

import jax
import numpy as np
import pytest

from jgen import data

N = 103  # Not a multiple of any batch size below: every epoch drops a remainder.


def _arrays(n=N):
  """Examples whose content names their index: image[i] == i, label[i] == i."""
  index = np.arange(n)
  return {"image": np.broadcast_to(index[:, None, None, None] % 256, (n, 2, 2, 1)).astype(
      np.uint8), "label": index.astype(np.int32)}


def _iterator(source=None, *, batch=8, seed=3, devices=1, process=0, processes=1, **kw):
  return data.BatchIterator(_arrays() if source is None else source, global_batch_size=batch,
                            seed=seed, local_device_count=devices, process_index=process,
                            process_count=processes, **kw)


def _labels(it, steps):
  """The next `steps` batches' labels, flattened per batch."""
  return [next(it)["label"].reshape(-1).tolist() for _ in range(steps)]


def test_batch_shapes_and_alignment():
  it = _iterator(batch=12, devices=4)
  assert it.steps_per_epoch == N // 12
  batch = next(it)
  assert set(batch) == {"image", "label"}
  assert batch["image"].shape == (4, 3, 2, 2, 1) and batch["image"].dtype == np.uint8
  assert batch["label"].shape == (4, 3) and batch["label"].dtype == np.int32
  np.testing.assert_array_equal(batch["image"][..., 0, 0, 0], batch["label"] % 256)


def test_order_is_the_documented_permutation():
  it = _iterator(batch=8, seed=3)
  for epoch in range(2):
    perm = np.random.default_rng([3, epoch]).permutation(N)
    for index in range(it.steps_per_epoch):
      assert it.position == (epoch, index)
      assert next(it)["label"].reshape(-1).tolist() == perm[index * 8:(index + 1) * 8].tolist()
  assert it.position == (2, 0)


def test_every_example_once_per_epoch_and_epochs_differ():
  it = _iterator(batch=8)
  steps = it.steps_per_epoch
  assert steps == 12  # 103 // 8; 7 examples dropped per epoch.
  epochs = [sum(_labels(it, steps), []) for _ in range(3)]
  for seen in epochs:
    assert len(seen) == len(set(seen)) == steps * 8
    assert set(seen) <= set(range(N))
  assert epochs[0] != epochs[1] and epochs[1] != epochs[2]
  # A different example subset is dropped each epoch.
  assert set(epochs[0]) != set(epochs[1])


def test_same_seed_same_batches_other_seed_other_batches():
  assert _labels(_iterator(seed=5), 20) == _labels(_iterator(seed=5), 20)
  assert _labels(_iterator(seed=5), 20) != _labels(_iterator(seed=6), 20)


@pytest.mark.parametrize("stop", [5, 11, 12, 15])  # Mid-epoch, last batch, boundary, next epoch.
def test_resume_equals_uninterrupted(stop):
  uninterrupted = _labels(_iterator(), 30)
  it = _iterator()
  _labels(it, stop)
  state = it.get_state()
  assert state == {"epoch": stop // 12, "index": stop % 12}
  assert all(type(v) is int for v in state.values())
  resumed = _iterator(start_position=it.position)
  assert _labels(resumed, 30 - stop) == uninterrupted[stop:]
  restored = _iterator()
  restored.set_state({k: np.asarray(v) for k, v in state.items()})  # As read back by orbax.
  assert _labels(restored, 30 - stop) == uninterrupted[stop:]


def test_processes_partition_the_global_batch():
  # Two processes × 4 devices == one process holding the whole global batch.
  one = _iterator(batch=16, devices=1)
  shards = [_iterator(batch=16, devices=4, process=p, processes=2) for p in range(2)]
  for _ in range(2 * one.steps_per_epoch + 1):
    whole = next(one)
    parts = [next(s) for s in shards]
    for part in parts:
      assert part["image"].shape == (4, 2, 2, 2, 1) and part["label"].shape == (4, 2)
    flat = np.concatenate([p["label"].reshape(-1) for p in parts])
    np.testing.assert_array_equal(flat, whole["label"].reshape(-1))
  assert {s.steps_per_epoch for s in shards} == {one.steps_per_epoch}
  assert shards[0].position == shards[1].position == one.position


def test_two_processes_see_disjoint_shards_covering_each_epoch_once():
  # What each host of a 2-process run sees, without comparing to a 1-process run.
  shards = [_iterator(batch=16, devices=4, process=p, processes=2) for p in range(2)]
  steps = shards[0].steps_per_epoch
  assert steps == N // 16
  for _ in range(2):  # Two epochs: a new order and a new dropped remainder.
    seen = [sum(_labels(s, steps), []) for s in shards]
    assert all(len(mine) == len(set(mine)) == steps * 8 for mine in seen)
    assert not set(seen[0]) & set(seen[1])
    assert len(set(seen[0]) | set(seen[1])) == steps * 16
    assert shards[0].position == shards[1].position == (shards[0].position[0], 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch=12, devices=4, processes=2), r"global_batch_size=12 .* 2 \* 4 = 8"),
    (dict(batch=6, devices=4), r"global_batch_size=6 .* 1 \* 4 = 4"),
    (dict(batch=0), "positive"),
    (dict(batch=104), "exceeds the 103 examples"),
    (dict(process=2, processes=2), r"process_index must be in \[0, 2\)"),
    (dict(seed=-1), "non-negative"),
    (dict(start_position=(0, 12)), "out of range"),
    (dict(start_position=(-1, 0)), "out of range"),
])
def test_bad_arguments_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    _iterator(**kwargs)


def test_bad_arrays_raise():
  with pytest.raises(ValueError, match="common leading"):
    _iterator({"image": np.zeros((10, 2)), "label": np.zeros(9)})
  with pytest.raises(ValueError, match="non-empty"):
    _iterator({})
  with pytest.raises(ValueError, match="ring8, grid25"):
    _iterator("ring9")


def test_toy_stream_is_deterministic_sharded_and_resumable():
  it = _iterator("ring8", batch=64, seed=4, devices=2)
  assert it.steps_per_epoch is None and it.position == (0, 0)
  batches = [next(it)["x"] for _ in range(5)]
  assert it.position == (0, 5) and it.get_state() == {"epoch": 0, "index": 5}
  for step, batch in enumerate(batches):
    assert batch.shape == (2, 32, 2) and batch.dtype == np.float32
    expected = data.sample_toy("ring8", np.random.default_rng([4, step]), 64)
    np.testing.assert_array_equal(batch.reshape(64, 2), expected)
  resumed = _iterator("ring8", batch=64, seed=4, devices=2, start_position=(0, 3))
  np.testing.assert_array_equal(next(resumed)["x"], batches[3])
  parts = [next(_iterator("grid25", batch=64, seed=4, devices=2, process=p, processes=4))["x"]
           for p in range(4)]
  whole = next(_iterator("grid25", batch=64, seed=4))["x"]
  np.testing.assert_array_equal(np.concatenate(parts).reshape(64, 2), whole.reshape(64, 2))
  with pytest.raises(ValueError, match="toy"):
    it.set_state({"epoch": 1, "index": 0})


# --- prefetch_to_device (one CPU device in-process; 4 fake devices in a subprocess). ---


def test_prefetch_yields_the_same_batches_in_order_and_tracks_state():
  expected = _labels(_iterator(), 20)
  source = _iterator()
  with data.prefetch_to_device(source, size=3) as device_batches:
    for step in range(20):
      batch = next(device_batches)
      assert isinstance(batch["label"], jax.Array)
      assert np.asarray(batch["label"]).reshape(-1).tolist() == expected[step]
      # The checkpointable position is the consumer's, not the (ahead) source's.
      assert device_batches.get_state() == {"epoch": (step + 1) // 12, "index": (step + 1) % 12}


def test_prefetch_reraises_the_producers_exception_in_order():
  class Boom(Exception):
    pass

  def batches():
    for i in range(3):
      yield {"x": np.full((1, 2), i)}
    raise Boom("bad record")

  device_batches = data.prefetch_to_device(batches())
  assert [int(next(device_batches)["x"][0, 0]) for _ in range(3)] == [0, 1, 2]
  with pytest.raises(Boom, match="bad record"):
    next(device_batches)
  with pytest.raises(StopIteration):
    next(device_batches)


def test_prefetch_of_a_finite_iterable_stops_and_checks_the_device_axis():
  assert [int(b[0, 0]) for b in data.prefetch_to_device([np.zeros((1, 3)), np.ones((1, 3))])
          ] == [0, 1]
  with pytest.raises(ValueError, match="leading device axis of size 1"):
    next(data.prefetch_to_device([{"x": np.zeros((2, 3))}]))
  with pytest.raises(ValueError, match="positive"):
    data.prefetch_to_device([], size=0)


def test_prefetch_close_stops_the_thread():
  before = {t for t in threading.enumerate() if t.name == "jgen-prefetch-to-device"}
  device_batches = data.prefetch_to_device(_iterator("grid25", batch=4), size=2)
  next(device_batches)
  device_batches.close()
  after = {t for t in threading.enumerate() if t.name == "jgen-prefetch-to-device"}
  assert after <= before
  with pytest.raises(StopIteration):
    next(device_batches)


_PMAP_SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    from jgen import data
    assert jax.local_device_count() == 4, jax.devices()
    arrays = {"x": np.arange(40, dtype=np.float32)}
    host = data.BatchIterator(arrays, global_batch_size=8, seed=0)
    expected = [next(host)["x"] for _ in range(3)]
    device_batches = data.prefetch_to_device(
        data.BatchIterator(arrays, global_batch_size=8, seed=0))
    step = jax.pmap(lambda b: jax.lax.psum(b["x"].sum(), "d") + 0 * b["x"], axis_name="d")
    for want in expected:
      batch = next(device_batches)
      shards = sorted(batch["x"].addressable_shards, key=lambda s: s.device.id)
      assert [s.device for s in shards] == jax.local_devices()
      for d, shard in enumerate(shards):
        np.testing.assert_array_equal(np.asarray(shard.data)[0], want[d])
      np.testing.assert_allclose(np.asarray(step(batch))[:, 0], want.sum())
    # Left open on purpose, over an infinite stream: the interpreter must still exit.
    endless = data.prefetch_to_device(data.BatchIterator("ring8", global_batch_size=8, seed=0))
    next(endless)
    print("OK")
""")


def test_prefetch_shards_for_pmap_on_4_devices_and_exits_cleanly():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
             JAX_PLATFORMS="cpu")
  result = subprocess.run([sys.executable, "-c", _PMAP_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parents[2])
  assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr


def test_grouped_batches_stack_k_batches_and_resume_at_group_boundaries():
  it = _iterator(batch=4, devices=2)
  reference = [next(it) for _ in range(6)]
  grouped = data.GroupedBatches(_iterator(batch=4, devices=2), 3)
  first = next(grouped)
  assert first["label"].shape == (2, 3, 2)  # (devices, k, per-device batch).
  for i in range(3):
    np.testing.assert_array_equal(first["label"][:, i], reference[i]["label"])
  state = grouped.get_state()
  resumed = data.GroupedBatches(_iterator(batch=4, devices=2), 3)
  resumed.set_state(state)
  np.testing.assert_array_equal(next(resumed)["label"], next(grouped)["label"])
  with pytest.raises(ValueError, match="k must be a positive integer"):
    data.GroupedBatches(it, 0)
