"""flax.linen.SpectralNorm, as jgen's GANs use it, does what SN-GAN needs.

Checked for dense and conv kernels: the stored σ converges to the largest singular
value of the kernel (a conv kernel read as the (k_h·k_w·C_in, C_out) matrix, as
Miyato et al. do); u and σ change only when ``update_stats=True``; they live in
``batch_stats``, not ``params``, so no optimizer sees them; the normalised layer is
1-Lipschitz (dense and 1×1 conv) and √(k_h·k_w)-Lipschitz (k_h×k_w conv: each input
pixel enters k_h·k_w patches, so ‖conv‖ ≤ √(k_h k_w)·σ(reshaped kernel)).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

LAYERS = {
    "dense": (lambda: nn.Dense(24), (3, 40)),
    "conv1x1": (lambda: nn.Conv(12, (1, 1)), (2, 5, 5, 20)),
    "conv3x3": (lambda: nn.Conv(16, (3, 3), padding="SAME"), (2, 6, 6, 8)),
}


def _init(name):
  make, shape = LAYERS[name]
  module = nn.SpectralNorm(make())
  x = jax.random.normal(jax.random.key(0), shape)
  variables = module.init(jax.random.key(1), x, update_stats=False)
  return module, x, variables


def _updated(module, variables, x, times):
  apply = jax.jit(lambda v: module.apply(v, x, update_stats=True, mutable=["batch_stats"])[1])
  for _ in range(times):
    variables = {**variables, **apply(variables)}
  return variables


def _stat(variables, suffix):
  """The one statistic whose name ends with ``suffix`` ('sigma' or 'u')."""
  (leaf,) = [v for k, v in jax.tree_util.tree_leaves_with_path(variables["batch_stats"])
             if jax.tree_util.keystr(k).endswith(f"/{suffix}']")]
  return leaf


def _sigma_true(variables):
  kernel = np.asarray(variables["params"]["layer_instance"]["kernel"])
  return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


@pytest.mark.parametrize("name", list(LAYERS))
def test_sigma_converges_to_the_largest_singular_value(name):
  module, x, variables = _init(name)
  assert "params" in variables and set(variables["params"]) == {"layer_instance"}
  assert _stat(variables, "u").shape == (1, variables["params"]["layer_instance"][
      "kernel"].shape[-1])  # Statistics in batch_stats, out of the optimizer's params.
  variables = _updated(module, variables, x, 20)
  np.testing.assert_allclose(_stat(variables, "sigma"), _sigma_true(variables), rtol=0.02)


@pytest.mark.parametrize("name", list(LAYERS))
def test_statistics_unchanged_without_update(name):
  module, x, variables = _init(name)
  variables = _updated(module, variables, x, 3)
  y, updates = module.apply(variables, x, update_stats=False, mutable=["batch_stats"])
  same = jax.tree.map(np.array_equal, updates["batch_stats"], variables["batch_stats"])
  assert all(jax.tree.leaves(same))
  # And the output is the normalised layer's, deterministic given the stored u.
  np.testing.assert_array_equal(y, module.apply(variables, x, update_stats=False))


def _operator_norm(fn, x, iterations=200):
  """Largest singular value of a linear map by power iteration on its vjp∘jvp."""
  v = jax.random.normal(jax.random.key(3), x.shape)
  _, vjp = jax.vjp(fn, x)
  for _ in range(iterations):
    v = v / jnp.linalg.norm(v)
    v = vjp(jax.jvp(fn, (x,), (v,))[1])[0]
  return float(jnp.sqrt(jnp.linalg.norm(v)))


@pytest.mark.parametrize("name,bound", [("dense", 1.0), ("conv1x1", 1.0), ("conv3x3", 3.0)])
def test_normalised_layer_is_lipschitz(name, bound):
  module, x, variables = _init(name)
  variables = _updated(module, variables, x, 20)
  variables["params"] = jax.tree.map(lambda p: 5.0 * p, variables["params"])  # σ ≫ 1 first.
  variables = _updated(module, variables, x, 20)
  layer = lambda x: module.apply(variables, x, update_stats=False)  # noqa: E731
  norm = _operator_norm(layer, x)
  assert norm <= bound * (1 + 1e-3), norm
  if bound == 1.0:  # Dense and 1×1: the bound is tight (σ of the normalised kernel = 1).
    assert norm >= 1 - 1e-3, norm
