"""Orbax checkpoints: save on a cadence, keep the last few, resume from the newest good one."""

import dataclasses
import os
from typing import Any

from absl import logging
import jax
import orbax.checkpoint as ocp

from jgen.typing import PyTree


class Checkpointer:
  """An orbax ``CheckpointManager`` holding a state pytree and the data position.

  Each checkpoint holds two items: ``state`` (the whole train state: step, params,
  optimizer states, EMA, batch statistics, PRNG key) and ``data`` (the input
  pipeline's position as a small JSON dict), so a resumed run replays exactly the
  batches and random numbers of an uninterrupted one. Saves are asynchronous; call
  ``wait_until_finished()`` (or ``close()``) before exiting. Orbax writes to a
  temporary directory and renames it when complete, so a run killed mid-save leaves
  no half-written checkpoint behind; a checkpoint that fails to restore anyway
  (corrupted storage) is skipped with a warning in favour of the previous one.

  In a multi-process run every process makes the same calls in the same order
  (``save``, ``restore_latest``, ``wait_until_finished`` and ``close`` synchronise the
  processes), with the same replicated state, on one ``directory`` that every process
  sees (a shared filesystem, e.g. a bucket mounted on every host). The state's leaves
  are host NumPy arrays, which orbax writes from the primary process (0) only, as it
  does the ``data`` JSON and the checkpoint's metadata; every process reads them back.
  Such a checkpoint restores in a run with any number of processes and devices.

  Args:
    directory: where checkpoints live (created if missing); a local path (made
      absolute) or a URL such as ``gs://bucket/run/checkpoints``, kept as is.
    max_to_keep: how many of the newest checkpoints to keep.
  """

  def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3):
    directory = os.fspath(directory)
    # abspath would turn 'gs://b/x' into '<cwd>/gs:/b/x'.
    self.directory = directory if "://" in directory else os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True, enable_async_checkpointing=True),
    )

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: PyTree, data_state: dict[str, Any]) -> None:
    """Saves ``state`` (host arrays, unreplicated) and ``data_state`` at ``step``."""
    self._manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state)),
        force=True,
    )

  def restore_latest(self, target: PyTree, *, set_aside: bool = True
                     ) -> tuple[PyTree, dict[str, Any]] | None:
    """Restores the newest checkpoint that reads back, or returns None if none does.

    Args:
      target: a state with the structure, shapes and dtypes to restore into.
      set_aside: move a checkpoint that does not restore to ``corrupted-<step>/`` (a
        run resuming in its own directory); False leaves the directory untouched (a
        reader of another run's checkpoints, whose state may merely differ from
        ``target``).

    Returns:
      ``(state, data_state)`` or None when the directory holds no usable checkpoint.
    """
    for step in reversed(self.all_steps()):
      try:
        try:
          restored = self._restore(step, target)
        except Exception as strict:  # pylint: disable=broad-except
          try:
            restored = self._restore_earlier_layout(step, target)
          except Exception as e:  # pylint: disable=broad-except
            raise strict from e  # Report why the state did not match, first.
          if restored is None:
            raise
      except Exception as e:  # pylint: disable=broad-except
        if set_aside:
          self._set_aside(step)
        logging.warning("Checkpoint at step %d in %s does not restore (%s: %s); %s and "
                        "trying the previous one.", step, self.directory, type(e).__name__,
                        e, f"moved it to corrupted-{step}/" if set_aside else "left it")
        continue
      logging.info("Restored checkpoint at step %d from %s.", step, self.directory)
      return restored
    return None

  def _restore(self, step: int, target: PyTree) -> tuple[PyTree, dict[str, Any]]:
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    restored = self._manager.restore(
        step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                      data=ocp.args.JsonRestore()))
    return restored["state"], dict(restored["data"])

  def _restore_earlier_layout(self, step: int, target: PyTree
                              ) -> tuple[PyTree, dict[str, Any]] | None:
    """A checkpoint written before ``target``'s state class gained fields that hold no
    arrays here (e.g. ``GANState.d_batch_stats`` of a discriminator without model
    state): restores the fields it has and keeps the target's empty ones. None when
    that is not the difference."""
    if not dataclasses.is_dataclass(target):
      return None
    try:
      saved = self._manager.item_metadata(step)["state"].tree
    except Exception:  # pylint: disable=broad-except
      return None
    fields = {f.name: getattr(target, f.name) for f in dataclasses.fields(target)
              if f.metadata.get("pytree_node", True)}
    added = [name for name in fields if name not in saved]
    if not added or any(jax.tree.leaves(fields[name]) for name in added):
      return None
    state, data_state = self._restore(
        step, {name: value for name, value in fields.items() if name in saved})
    logging.info("Checkpoint at step %d predates the state's fields %s (empty here).",
                 step, added)
    return target.replace(**state), data_state

  def _set_aside(self, step: int) -> None:
    # Renamed, not deleted (nothing saved is lost), so that the resumed run can
    # write a fresh checkpoint at this step.
    src = os.path.join(self.directory, str(step))
    dst = os.path.join(self.directory, f"corrupted-{step}")
    if jax.process_index() == 0 and os.path.isdir(src):
      os.replace(src, dst if not os.path.exists(dst) else f"{dst}-{os.getpid()}")
    if jax.process_count() > 1:
      # Every process fails on the same step; none may re-read the directory before
      # process 0 has moved it, or its manager would still list the step and a later
      # save of it would differ between processes.
      ocp.multihost.sync_global_processes(f"jgen_set_aside_{step}")
    self._manager.reload()

  def wait_until_finished(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def restore_newest_state(directory: str | os.PathLike, target: PyTree) -> PyTree:
  """The state of the newest good checkpoint in ``directory`` (e.g. to sample from),
  read only: a checkpoint that does not restore into ``target`` is left where it is.

  Raises:
    FileNotFoundError: when ``directory`` holds no checkpoint that restores.
  """
  ckpt = Checkpointer(directory)
  try:
    restored = ckpt.restore_latest(target, set_aside=False)
  finally:
    ckpt.close()
  if restored is None:
    raise FileNotFoundError(f"No checkpoint in {directory} to restore from.")
  return restored[0]
