"""Host batches for ``pmap``, from in-RAM arrays or 2-D toys, and device prefetch.

``BatchIterator`` is the one input iterator of every model family. Its order is a pure
function of ``(seed, epoch, index)``, so a run resumed from a saved position sees
exactly the batches an uninterrupted run would, whatever the number of processes.

Layout of one global batch of ``G = P·D·B`` examples (``P`` processes, ``D`` local
devices per process, ``B`` examples per device), in the order the examples are drawn:
process-major, then device, then example. Process ``p`` gets the contiguous slice
``[p·D·B, (p+1)·D·B)`` reshaped to ``(D, B, ...)``, the leading axis ``pmap`` maps
over.

``prefetch_to_device`` runs that host work and the transfer to the devices in a
background thread, ahead of the training loop.
"""

import atexit
from collections.abc import Iterator, Mapping, Sequence
import operator
import queue
import threading
from typing import Any
import weakref

from absl import logging
import jax
import numpy as np

from jgen.data import toy2d
from jgen.typing import PyTree

# Key of the points in a toy batch.
_TOY_KEY = "x"


def _positive_int(value: Any, what: str) -> int:
  value = operator.index(value)
  if value < 1:
    raise ValueError(f"{what} must be a positive integer; got {value}.")
  return value


class BatchIterator:
  """Infinite iterator of per-process ``pmap`` batches, with an exact resume position.

  From arrays (``N`` examples): epoch ``e`` visits the examples in the order
  ``π_e = np.random.default_rng([seed, e]).permutation(N)``; global batch ``i`` of the
  epoch is ``π_e[i·G:(i+1)·G]``; the last ``N mod G`` examples of each epoch are
  dropped, so ``steps_per_epoch = N // G``. From a toy name (``'ring8'``,
  ``'grid25'``): global batch ``s`` is ``sample_toy(name, default_rng([seed, s]), G)``,
  an infinite stream with position ``(0, s)``.

  Each process gets its own contiguous ``G/P`` examples of every global batch, as
  ``(D, G/(P·D), ...)`` arrays: the union over processes of one step is exactly one
  global batch. Batches are fresh NumPy arrays (``np.take``), safe to hand to another
  thread.

  Args:
    arrays_or_toy_name: a mapping of equal-length arrays ``{key: (N, ...)}`` (e.g. the
      output of ``load_split``), or the name of a 2-D toy. Toy batches are
      ``{'x': float32 (D, B, 2)}``.
    global_batch_size: ``G``, summed over all processes and devices.
    seed: non-negative data seed.
    local_device_count: ``D``; default ``jax.local_device_count()``.
    process_index: ``p``; default ``jax.process_index()``.
    process_count: ``P``; default ``jax.process_count()``.
    start_position: ``(epoch, index)`` of the first batch to yield, e.g. a saved
      ``position``.

  Raises:
    ValueError: if ``G`` is not divisible by ``P·D``, the arrays are empty, of
      unequal lengths or fewer than ``G``, the toy name is unknown, or the seed,
      process index or start position is out of range.
    TypeError: if a count, index or seed is not an integer.

  References:
    The per-host input pipeline of Flax's ImageNet example
    (github.com/google/flax, examples/imagenet/input_pipeline.py).

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> arrays = {"image": np.zeros((10, 28, 28, 1), np.uint8), "label": np.arange(10)}
    >>> it = data.BatchIterator(arrays, global_batch_size=4, seed=0, local_device_count=2,
    ...                         process_index=0, process_count=1)
    >>> batch = next(it)
    >>> batch["image"].shape, batch["label"].shape, it.steps_per_epoch, it.position
    ((2, 2, 28, 28, 1), (2, 2), 2, (0, 1))
  """

  def __init__(
      self,
      arrays_or_toy_name: Mapping[str, np.ndarray] | str,
      *,
      global_batch_size: int,
      seed: int,
      local_device_count: int | None = None,
      process_index: int | None = None,
      process_count: int | None = None,
      start_position: tuple[int, int] = (0, 0),
  ):
    self._devices = _positive_int(
        jax.local_device_count() if local_device_count is None else local_device_count,
        "local_device_count")
    self._processes = _positive_int(
        jax.process_count() if process_count is None else process_count, "process_count")
    self._process = operator.index(
        jax.process_index() if process_index is None else process_index)
    if not 0 <= self._process < self._processes:
      raise ValueError(
          f"process_index must be in [0, {self._processes}); got {self._process}.")
    self._global_batch = _positive_int(global_batch_size, "global_batch_size")
    shards = self._processes * self._devices
    if self._global_batch % shards:
      raise ValueError(
          f"global_batch_size={self._global_batch} must be divisible by process_count * "
          f"local_device_count = {self._processes} * {self._devices} = {shards}.")
    self._per_process = self._global_batch // self._processes
    self._per_device = self._per_process // self._devices
    self._seed = operator.index(seed)
    if self._seed < 0:
      raise ValueError(f"seed must be non-negative; got {self._seed}.")

    if isinstance(arrays_or_toy_name, str):
      if arrays_or_toy_name not in toy2d.TOY_NAMES:
        raise ValueError(
            f"Unknown toy dataset {arrays_or_toy_name!r}; valid names: "
            f"{', '.join(toy2d.TOY_NAMES)} (for stored datasets pass the arrays of "
            "load_split).")
      self._toy, self._arrays, self._num_examples = arrays_or_toy_name, None, None
    else:
      self._toy = None
      self._arrays = {k: np.asarray(v) for k, v in arrays_or_toy_name.items()}
      lengths = {k: (v.shape[0] if v.ndim else None) for k, v in self._arrays.items()}
      if not lengths or len(set(lengths.values())) != 1 or None in lengths.values():
        raise ValueError(
            "arrays must be a non-empty mapping of arrays with one common leading "
            f"(example) dimension; got lengths {lengths}.")
      self._num_examples = next(iter(lengths.values()))
      if self._num_examples < self._global_batch:
        raise ValueError(
            f"global_batch_size={self._global_batch} exceeds the {self._num_examples} "
            "examples: an epoch would have no batch.")
    self._perm_epoch, self._perm = None, None
    epoch, index = start_position
    self.set_state({"epoch": epoch, "index": index})

  @property
  def steps_per_epoch(self) -> int | None:
    """``N // global_batch_size`` batches per epoch; ``None`` for a toy (infinite)."""
    if self._toy is not None:
      return None
    return self._num_examples // self._global_batch

  @property
  def position(self) -> tuple[int, int]:
    """``(epoch, index)`` of the next batch; ``(0, step)`` for a toy."""
    return self._epoch, self._index

  def get_state(self) -> dict[str, int]:
    """The position as plain ints, ``{'epoch': e, 'index': i}``, for a checkpoint."""
    return {"epoch": self._epoch, "index": self._index}

  def set_state(self, state: Mapping[str, Any]) -> None:
    """Moves to a position saved by ``get_state`` (ints or 0-d arrays).

    Raises:
      ValueError: on a position this iterator cannot have (e.g. saved with another
        batch size or dataset).
    """
    epoch, index = int(state["epoch"]), int(state["index"])
    if self._toy is not None:
      if epoch != 0 or index < 0:
        raise ValueError(f"A toy stream's position is (0, step >= 0); got ({epoch}, {index}).")
    elif epoch < 0 or not 0 <= index < self.steps_per_epoch:
      raise ValueError(
          f"Position ({epoch}, {index}) is out of range: epoch >= 0 and 0 <= index < "
          f"steps_per_epoch = {self.steps_per_epoch}.")
    self._epoch, self._index = epoch, index

  def __iter__(self) -> "BatchIterator":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if self._toy is not None:
      batch = self._toy_batch(self._index)
      self._index += 1
      return batch
    perm = self._permutation(self._epoch)
    start = self._index * self._global_batch + self._process * self._per_process
    indices = perm[start:start + self._per_process]
    batch = {k: np.take(v, indices, axis=0).reshape(
        self._devices, self._per_device, *v.shape[1:]) for k, v in self._arrays.items()}
    self._index += 1
    if self._index == self.steps_per_epoch:
      self._epoch, self._index = self._epoch + 1, 0
    return batch

  def _permutation(self, epoch: int) -> np.ndarray:
    if self._perm_epoch != epoch:
      rng = np.random.default_rng([self._seed, epoch])
      self._perm, self._perm_epoch = rng.permutation(self._num_examples), epoch
    return self._perm

  def _toy_batch(self, step: int) -> dict[str, np.ndarray]:
    points = toy2d.sample_toy(self._toy, np.random.default_rng([self._seed, step]),
                              self._global_batch)
    mine = points[self._process * self._per_process:(self._process + 1) * self._per_process]
    return {_TOY_KEY: mine.reshape(self._devices, self._per_device, 2)}

  def __repr__(self) -> str:
    data = repr(self._toy) if self._toy is not None else f"{self._num_examples} examples"
    return (f"BatchIterator({data}, global_batch_size={self._global_batch}, "
            f"process {self._process}/{self._processes}, {self._devices} devices, "
            f"position={self.position})")


class GroupedBatches:
  """Stacks ``k`` consecutive batches of an iterator into one, on axis 1.

  Each leaf ``(D, B, ...)`` of the ``k`` batches becomes ``(D, k, B, ...)``: one
  step's worth of batches for a step that makes several updates (a GAN's
  ``n_critic`` discriminator updates). The position is the wrapped iterator's, which
  is always at a group boundary, so a resumed run regroups exactly as before.

  Args:
    batches: an iterator with ``get_state``/``set_state`` (e.g. ``BatchIterator``).
    k: batches per group, ``≥ 1``.

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> it = data.BatchIterator({"x": np.arange(12.0)}, global_batch_size=2, seed=0,
    ...                         local_device_count=1, process_index=0, process_count=1)
    >>> next(data.GroupedBatches(it, 3))["x"].shape
    (1, 3, 2)
  """

  def __init__(self, batches, k: int):
    self._batches = batches
    self._k = _positive_int(k, "k")

  def get_state(self) -> dict[str, int]:
    return self._batches.get_state()

  def set_state(self, state: Mapping[str, Any]) -> None:
    self._batches.set_state(state)

  def __iter__(self) -> "GroupedBatches":
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    group = [next(self._batches) for _ in range(self._k)]
    return jax.tree.map(lambda *xs: np.stack(xs, axis=1), *group)


# --- Device prefetch. ---

_ITEM, _END, _ERROR = "item", "end", "error"
# Prefetchers still running, closed at interpreter exit before JAX tears down its
# backends (atexit runs handlers in reverse order of registration; jax registers first).
_LIVE: "weakref.WeakSet[_DevicePrefetcher]" = weakref.WeakSet()


def _put_while_running(q: queue.Queue, item: tuple, stop: threading.Event) -> bool:
  while not stop.is_set():
    try:
      q.put(item, timeout=0.05)
      return True
    except queue.Full:
      pass
  return False


def _produce(iterator: Iterator[PyTree], get_state, put_on_devices, q: queue.Queue,
             stop: threading.Event) -> None:
  """The background thread: next host batch -> device arrays -> queue, until stopped.

  It holds no reference to the prefetcher, so dropping the prefetcher lets it be
  garbage-collected, which stops this thread.
  """
  try:
    while not stop.is_set():
      try:
        batch = next(iterator)
      except StopIteration:
        _put_while_running(q, (_END, None, None), stop)
        return
      state = get_state() if get_state is not None else None
      if not _put_while_running(q, (_ITEM, put_on_devices(batch), state), stop):
        return
  except BaseException as e:  # pylint: disable=broad-except  # Re-raised by the consumer.
    _put_while_running(q, (_ERROR, e, None), stop)


class _DevicePrefetcher:
  """Iterator over device batches filled by a daemon thread; see prefetch_to_device."""

  def __init__(self, iterator, size: int, devices: Sequence[jax.Device]):
    get_state = getattr(iterator, "get_state", None)
    self._state = get_state() if get_state is not None else None
    self._queue: queue.Queue = queue.Queue(maxsize=size)
    self._stop = threading.Event()
    self._closed = False
    self._thread = threading.Thread(
        target=_produce, name="jgen-prefetch-to-device", daemon=True,
        args=(iter(iterator), get_state, _device_put_fn(devices), self._queue, self._stop))
    _LIVE.add(self)
    self._thread.start()

  def __iter__(self) -> "_DevicePrefetcher":
    return self

  def __next__(self) -> PyTree:
    if self._closed:
      raise StopIteration
    kind, value, state = self._queue.get()
    if kind == _ITEM:
      self._state = state
      return value
    self.close()
    if kind == _ERROR:
      raise value
    raise StopIteration

  def get_state(self) -> Any:
    """The wrapped iterator's ``get_state()`` after the last batch returned here.

    The thread runs ahead of the consumer, so the wrapped iterator's own state is
    up to ``size + 1`` batches ahead: checkpoint this one.
    """
    return self._state

  def close(self, timeout: float = 10.0) -> None:
    """Stops the thread, waits for it (up to ``timeout`` s) and drops queued batches."""
    self._closed = True
    self._stop.set()
    self._drain()  # Frees a thread blocked on a full queue.
    if self._thread is not threading.current_thread():
      self._thread.join(timeout)
      if self._thread.is_alive():
        logging.warning("prefetch_to_device: the thread did not stop within %.0f s.", timeout)
    self._drain()

  def _drain(self) -> None:
    while True:
      try:
        self._queue.get_nowait()
      except queue.Empty:
        return

  def __enter__(self) -> "_DevicePrefetcher":
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  def __del__(self) -> None:
    # Only signal: joining in a finalizer could block the garbage collector.
    self._stop.set()


@atexit.register
def _close_live_prefetchers() -> None:
  for prefetcher in list(_LIVE):
    prefetcher.close(timeout=1.0)


def _device_put_fn(devices: Sequence[jax.Device]):
  """Host (D, ...) leaves -> arrays sharded along axis 0 over the D devices."""
  mesh = jax.sharding.Mesh(np.asarray(devices), ("devices",))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("devices"))

  def put(batch: PyTree) -> PyTree:
    def put_leaf(x):
      if np.ndim(x) == 0 or np.shape(x)[0] != len(devices):
        raise ValueError(
            f"prefetch_to_device: every leaf needs a leading device axis of size "
            f"{len(devices)} (one slice per device); got shape {np.shape(x)}.")
      return jax.device_put(x, sharding)
    return jax.tree.map(put_leaf, batch)

  return put


def prefetch_to_device(iterator: Iterator[PyTree], size: int = 2, *,
                       devices: Sequence[jax.Device] | None = None) -> Iterator[PyTree]:
  """Assembles and transfers the next batches in a background thread.

  A daemon thread pulls host batches (pytrees of ``(D, ...)`` arrays, e.g. from
  ``BatchIterator``) and ``jax.device_put``\\ s each leaf with a ``NamedSharding``
  over a 1-D mesh of the ``D`` devices, split along axis 0: device ``d`` holds slice
  ``d``, the layout ``pmap`` maps over (jax's replacement for the deprecated
  ``jax.device_put_sharded``, as in ``flax.jax_utils.prefetch_to_device``). Up to
  ``size`` transferred batches wait in a queue, so the data work and the transfer
  overlap the training step instead of running on the training thread.

  The returned iterator yields the device batches in order; an exception raised
  while producing a batch is re-raised by ``next`` (same exception object). It stops
  its thread on ``close()``, on leaving a ``with`` block, when it is garbage-collected,
  or at interpreter exit. Its ``get_state()`` is the wrapped iterator's state after the
  last batch it returned, the one to checkpoint: the wrapped iterator itself runs
  ahead.

  Args:
    iterator: iterator (or iterable) of pytrees of arrays with leading axis ``D``.
    size: number of device batches to keep ready, ``≥ 1``.
    devices: the ``D`` devices, in ``pmap`` order; default ``jax.local_devices()``.

  Returns:
    An iterator of pytrees of ``jax.Array`` with the same shapes, plus ``close()``,
    ``get_state()`` and the context-manager protocol.

  Raises:
    ValueError: if ``size < 1``; from ``next``, if a leaf's leading axis is not ``D``.

  References:
    ``flax.jax_utils.prefetch_to_device`` (synchronous version, Flax 0.12).

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> batches = data.BatchIterator({"x": np.arange(8.0)}, global_batch_size=4, seed=0)
    >>> with data.prefetch_to_device(batches) as device_batches:
    ...   batch = next(device_batches)
    >>> batch["x"].shape
    (1, 4)
  """
  size = _positive_int(size, "size")
  devices = jax.local_devices() if devices is None else list(devices)
  return _DevicePrefetcher(iterator, size, devices)
