"""Tests for jgen.train.checkpoint.Checkpointer."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import struct

from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.train.checkpoint import Checkpointer
from jgen.train.checkpoint import restore_newest_state
from jgen.train.gan_state import create_gan_state


def _state(seed):
  return create_gan_state(
      jax.random.key(seed), MLPGenerator(hidden=(8,)), MLPDiscriminator(hidden=(8,)),
      optax.adam(1e-3), optax.adam(1e-3), latent_dim=3, data_shape=(2,), use_ema=True)


def _equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_round_trip_is_exact_and_keeps_the_last_k(tmp_path):
  ckpt = Checkpointer(tmp_path, max_to_keep=2)
  states = {step: _state(step).replace(step=jnp.int32(step)) for step in (10, 20, 30)}
  for step, state in states.items():
    ckpt.save(step, jax.device_get(state), {"epoch": 1, "index": step})
  ckpt.wait_until_finished()
  assert ckpt.all_steps() == [20, 30]
  restored, data_state = ckpt.restore_latest(_state(99))
  assert _equal(restored, states[30]) and int(restored.step) == 30
  assert data_state == {"epoch": 1, "index": 30}
  # Static fields (apply functions, optimizers) come from the target state.
  assert restored.g_tx is not None and restored.g_apply is not None
  ckpt.close()


def test_corrupted_newest_checkpoint_falls_back_to_the_previous(tmp_path):
  ckpt = Checkpointer(tmp_path, max_to_keep=3)
  for step in (1, 2):
    ckpt.save(step, jax.device_get(_state(step).replace(step=jnp.int32(step))),
              {"epoch": 0, "index": step})
  ckpt.wait_until_finished()
  # Corrupt every data file of the newest checkpoint's state.
  for f in (pathlib.Path(tmp_path) / "2" / "state").rglob("*"):
    if f.is_file() and f.stat().st_size > 0 and "METADATA" not in f.name:
      f.write_bytes(b"\0" * 16)
  reader = Checkpointer(tmp_path)
  restored, data_state = reader.restore_latest(_state(99))
  reader.close()
  assert int(restored.step) == 1 and data_state["index"] == 1
  assert _equal(restored.g_params, _state(1).g_params)
  # Nothing is deleted: the bad checkpoint is set aside, so step 2 can be written anew.
  assert (pathlib.Path(tmp_path) / "corrupted-2").is_dir()
  again = Checkpointer(tmp_path)
  again.save(2, jax.device_get(_state(5).replace(step=jnp.int32(2))), {"epoch": 0, "index": 2})
  again.wait_until_finished()
  assert again.all_steps() == [1, 2]
  again.close()


def test_empty_directory_restores_nothing(tmp_path):
  assert Checkpointer(tmp_path / "none").restore_latest(_state(0)) is None


def test_reading_another_runs_checkpoints_never_moves_them(tmp_path):
  ckpt = Checkpointer(tmp_path)
  ckpt.save(3, jax.device_get(_state(3).replace(step=jnp.int32(3))), {"epoch": 0, "index": 3})
  ckpt.wait_until_finished()
  ckpt.close()
  # A target of another structure (e.g. a newer state layout) does not restore …
  other = create_gan_state(
      jax.random.key(0), MLPGenerator(hidden=(8, 8)), MLPDiscriminator(hidden=(8,)),
      optax.adam(1e-3), optax.adam(1e-3), latent_dim=3, data_shape=(2,), use_ema=True)
  with pytest.raises(FileNotFoundError, match="No checkpoint in"):
    restore_newest_state(tmp_path, other)
  # … and the reader leaves it where it is.
  assert (tmp_path / "3").is_dir() and not (tmp_path / "corrupted-3").exists()
  assert int(restore_newest_state(tmp_path, _state(99)).step) == 3


class _Before(struct.PyTreeNode):
  step: jax.Array
  params: dict


class _After(struct.PyTreeNode):  # _Before with a field added later.
  step: jax.Array
  params: dict
  extra: dict
  apply: object = struct.field(pytree_node=False, default=None)


def test_checkpoint_from_before_an_empty_field_was_added_restores(tmp_path):
  """A GAN run saved before GANState gained d_batch_stats resumes (empty for it)."""
  before = _Before(step=jnp.int32(7), params={"w": jnp.arange(3.0)})
  ckpt = Checkpointer(tmp_path)
  ckpt.save(7, before, {"epoch": 1})
  ckpt.wait_until_finished()
  target = _After(step=jnp.int32(0), params={"w": jnp.zeros(3)}, extra={}, apply=len)
  state, data_state = Checkpointer(tmp_path).restore_latest(target)
  assert isinstance(state, _After) and state.extra == {} and state.apply is len
  assert int(state.step) == 7 and data_state == {"epoch": 1}
  np.testing.assert_array_equal(state.params["w"], [0.0, 1.0, 2.0])

  # A new field that holds arrays cannot come from the old checkpoint: not restored.
  with_arrays = target.replace(extra={"v": jnp.zeros(2)})
  assert Checkpointer(tmp_path).restore_latest(with_arrays, set_aside=False) is None
  assert (pathlib.Path(tmp_path) / "7").is_dir()


def test_gan_state_restores_into_its_own_structure(tmp_path):
  state = _state(3)
  assert state.d_batch_stats == {}
  ckpt = Checkpointer(tmp_path)
  ckpt.save(1, state, {})
  ckpt.wait_until_finished()
  restored, _ = Checkpointer(tmp_path).restore_latest(_state(4))
  assert _equal(restored, state)
