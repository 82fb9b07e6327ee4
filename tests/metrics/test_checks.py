"""The shared feature-array check: which argument is wrong, and why."""

import jax
import numpy as np
import pytest

from jgen.metrics._checks import feature_sets


def test_returns_float32_arrays_in_argument_order():
  a, b = feature_sets({"a": np.zeros((3, 2), np.int32), "b": np.ones((5, 2))})
  assert a.dtype == b.dtype == np.float32 and a.shape == (3, 2) and b.shape == (5, 2)


@pytest.mark.parametrize("named, kwargs, message", [
    ({"a": np.zeros(3), "b": np.zeros((3, 2))}, {}, r"a must be 2-D features \(N, D\).*\(3,\)"),
    ({"a": np.zeros((3, 2)), "b": np.zeros((3, 4))}, {},
     r"same feature dimension D; got a \(3, 2\), b \(3, 4\)"),
    ({"a": np.zeros((3, 2)), "b": np.zeros((1, 2))}, {"min_points": 2},
     "b has 1 row; need at least 2 points"),
    ({"a": np.full((3, 2), np.nan)}, {"caller": "kid"}, "kid: a has non-finite values"),
])
def test_names_the_bad_argument(named, kwargs, message):
  with pytest.raises(ValueError, match=message):
    feature_sets(named, **kwargs)


def test_nan_passes_when_allowed_and_tracers_skip_the_value_check():
  (x,) = feature_sets({"x": np.full((2, 2), np.nan)}, finite=False)
  assert np.isnan(np.asarray(x)).all()
  traced = jax.jit(lambda v: feature_sets({"v": v})[0] * 2)(np.full((2, 2), np.inf))
  assert np.isinf(np.asarray(traced)).all()
