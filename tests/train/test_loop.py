"""Unit tests for the shared loop's bookkeeping (end-to-end runs: tests/experiments)."""

import numpy as np
import pytest

from jgen.train import loop


def test_non_finite_metrics_name_the_step_and_the_checkpoint():
  loop._check_finite(5, {"loss": np.float32(1.0)}, "/w", 4)  # Finite: no error.
  with pytest.raises(loop.NonFiniteLossError,
                     match=r"step 7: \{'loss': nan\}.*step 5\) is kept in /w"):
    loop._check_finite(7, {"loss": np.float32(np.nan), "ok": 1.0}, "/w", 5)
  with pytest.raises(loop.NonFiniteLossError, match="no checkpoint had been written"):
    loop._check_finite(1, {"loss": np.inf}, "/w", None)
