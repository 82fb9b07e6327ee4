"""Unit tests for the shared loop's bookkeeping (end-to-end runs: tests/experiments)."""

import numpy as np
import pytest

from jgen.train import loop


def test_advance_across_epochs_and_for_endless_streams():
  assert loop._advance({"epoch": 0, "index": 3}, 5, 4) == {"epoch": 2, "index": 0}
  assert loop._advance({"epoch": 1, "index": 2}, 1, 4) == {"epoch": 1, "index": 3}
  assert loop._advance({"epoch": 0, "index": 3}, 5, None) == {"epoch": 0, "index": 8}


def test_grouped_stacks_consecutive_batches_on_axis_1():
  batches = iter([{"x": np.full((2, 3), i)} for i in range(6)])
  first = next(loop._grouped(batches, 3))
  assert first["x"].shape == (2, 3, 3)
  np.testing.assert_array_equal(first["x"][0, :, 0], [0, 1, 2])


def test_non_finite_metrics_name_the_step_and_the_checkpoint():
  loop._check_finite(5, {"loss": np.float32(1.0)}, "/w", 4)  # Finite: no error.
  with pytest.raises(loop.NonFiniteLossError,
                     match=r"step 7: \{'loss': nan\}.*step 5\) is kept in /w"):
    loop._check_finite(7, {"loss": np.float32(np.nan), "ok": 1.0}, "/w", 5)
  with pytest.raises(loop.NonFiniteLossError, match="no checkpoint had been written"):
    loop._check_finite(1, {"loss": np.inf}, "/w", None)
