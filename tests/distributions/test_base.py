"""Tests for jgen.distributions.base: event sums and the interface."""

import jax.numpy as jnp
import numpy as np
import pytest

from jgen.distributions import base


def test_sum_event_sums_exactly_the_last_dims():
  x = jnp.arange(24.0).reshape(2, 3, 4)
  np.testing.assert_array_equal(base.sum_event(x, 0), x)
  np.testing.assert_array_equal(base.sum_event(x, 1), x.sum(-1))
  np.testing.assert_array_equal(base.sum_event(x, 2), x.sum((1, 2)))


def test_the_base_class_has_no_distribution():
  d = base.Distribution()
  for method in (lambda: d.log_prob(0.0), lambda: d.sample(None), d.mean, d.mode):
    with pytest.raises(NotImplementedError):
      method()
