"""Tests for jgen.models._common: labels, image sizes and the residual block."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models import _common


def test_one_hot_labels_checks_and_encodes():
  np.testing.assert_array_equal(_common.one_hot_labels("M", np.array([0, 2]), 3, 2),
                                [[1, 0, 0], [0, 0, 1]])
  assert _common.one_hot_labels("M", None, 0, 2) is None
  with pytest.raises(ValueError, match="M is unconditional"):
    _common.one_hot_labels("M", np.array([0]), 0, 1)
  with pytest.raises(ValueError, match="M is conditional"):
    _common.one_hot_labels("M", None, 3, 2)
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); got values in \[0, 5\]"):
    _common.one_hot_labels("M", np.array([0, 5]), 3, 2)


def test_image_sizes_and_float_inputs():
  _common.check_image_size("M", 28)
  with pytest.raises(ValueError, match=r"M supports image_size in \[28, 32\]; got 30"):
    _common.check_image_size("M", 30)
  assert _common.as_float(np.zeros(2, np.uint8)).dtype == jnp.float32


def test_residual_block_adds_its_input():
  block = _common.ResidualBlock(hidden=4)
  x = jnp.ones((1, 3, 3, 2))
  params = block.init(jax.random.key(0), x)
  zero = jax.tree.map(jnp.zeros_like, params)
  np.testing.assert_array_equal(block.apply(zero, x), x)  # Zero weights: the identity.
