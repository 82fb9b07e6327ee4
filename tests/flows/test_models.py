"""The flow density models of `jgen.models.flows`: exact log-densities and sampling.

Every model: ``decode(encode(x)) = x``; ``log_prob`` equals ``log N(f⁻¹(x)) + log|det
J_{f⁻¹}|`` with the Jacobian from ``jax.jacfwd`` on single events (images 4×4, so the
Jacobian is 16×16); the 2-D models' densities integrate to 1 on a grid; identity at
init where the flow starts with zero-initialised layers.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jgen.models import flows

IMAGE = (4, 4, 1)

IMAGE_MODELS = {
    "nice": lambda: flows.nice(IMAGE, hidden=8, num_hidden_layers=1, num_couplings=2,
                               logit_alpha=0.05),
    "realnvp": lambda: flows.real_nvp(IMAGE, num_scales=2, width=4, couplings_per_stage=1),
    "glow": lambda: flows.glow(IMAGE, num_levels=2, steps_per_level=1, width=4),
    "maf": lambda: flows.maf(IMAGE, hidden=8, num_layers=2, logit_alpha=1e-6),
}
VECTOR_MODELS = {
    "realnvp": lambda: flows.real_nvp_vector((2,), hidden=16, num_couplings=4),
    "nice": lambda: flows.nice((2,), hidden=16, num_hidden_layers=2, num_couplings=4),
    "maf": lambda: flows.maf((2,), hidden=16, num_layers=3),
    "iaf": lambda: flows.maf((2,), hidden=16, num_layers=3, inverse=True),
    "nsf": lambda: flows.neural_spline_flow((2,), hidden=16, num_layers=2, bound=4.0),
    "nsf_ar": lambda: flows.neural_spline_flow((2,), kind="autoregressive", hidden=16,
                                               num_layers=2, bound=4.0),
}


def _exact_log_prob(model, variables, x):
  """``log N(f⁻¹(x)) + slogdet(jacfwd(f⁻¹))`` event by event."""
  def one(event):
    def encode(flat):
      return model.apply(variables, flat.reshape((1, *event.shape)), method="encode").ravel()
    z = encode(event.ravel())
    log_det = jnp.linalg.slogdet(jax.jacfwd(encode)(event.ravel()))[1]
    return jax.scipy.stats.norm.logpdf(z).sum() + log_det
  return jax.vmap(one)(x)


def _check_model(model, x, perturb, key):
  variables = model.init(key(), x)
  params = perturb(variables, scale=0.5)

  @jax.jit
  def run(params, x):
    z = model.apply(params, x, method="encode")
    return dict(log_prob=model.apply(params, x), exact=_exact_log_prob(model, params, x),
                x_back=model.apply(params, z, method="decode"), z=z)

  out = jax.tree.map(np.asarray, run(params, x))
  np.testing.assert_allclose(out["x_back"], x, atol=1e-5 * max(1.0, np.abs(x).max()))
  np.testing.assert_allclose(out["log_prob"], out["exact"], rtol=1e-4, atol=1e-3)
  return variables, params, out


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_image_flows_log_prob_is_the_change_of_variables(name, perturb, key):
  x = np.random.default_rng(0).uniform(0.0, 1.0, (3, *IMAGE)).astype(np.float32)
  _, _, out = _check_model(IMAGE_MODELS[name](), x, perturb, key)
  assert out["z"].size == x.size


@pytest.mark.parametrize("name", sorted(VECTOR_MODELS))
def test_2d_flows_are_exact_and_integrate_to_one(name, perturb, key):
  x = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32) * 2.0
  model = VECTOR_MODELS[name]()
  _, params, _ = _check_model(model, x, perturb, key)
  # ∫ p = 1 on [−12, 12]²: a Riemann sum over 300² cells (the perturbed flow is
  # within a few units of its standardised base, so the mass outside is negligible).
  step = 24.0 / 300
  centres = -12.0 + step * (np.arange(300) + 0.5)
  grid = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2).astype(np.float32)
  mass = float(jnp.exp(jax.jit(model.apply)(params, grid)).sum()) * step**2
  assert abs(mass - 1.0) < 0.01, mass


@pytest.mark.parametrize("name", ["realnvp", "nice", "maf", "nsf"])
def test_2d_flows_start_as_the_standardising_actnorm(name, key):
  # Zero-initialised couplings and MADEs: a fresh flow is its data-end ActNorm, so the
  # init batch comes out standardised and log p is that of N(mean, diag(var)).
  x = (np.random.default_rng(2).normal(size=(256, 2)) * [3.0, 0.5] + [1.0, -2.0]).astype(
      np.float32)
  model = VECTOR_MODELS[name]()
  variables = model.init(key(), x)
  z = np.asarray(model.apply(variables, x, method="encode"))
  np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-5)
  np.testing.assert_allclose(z.std(0), 1.0, atol=1e-4)
  expected = stats.norm(x.mean(0), x.std(0)).logpdf(x).sum(1)
  np.testing.assert_allclose(model.apply(variables, x), expected, rtol=1e-4, atol=1e-4)


def test_sampling_at_temperature_scales_the_latents(perturb, key):
  model = IMAGE_MODELS["glow"]()
  x = np.random.default_rng(3).uniform(size=(2, *IMAGE)).astype(np.float32)
  params = perturb(model.init(key(), x))
  sample = jax.jit(model.apply, static_argnums=(2, 3), static_argnames="method")
  k = jax.random.key(7)
  hot = sample(params, k, 5, 1.0, method="sample")
  cold = sample(params, k, 5, 0.5, method="sample")
  z = jax.random.normal(k, (5, *IMAGE))
  np.testing.assert_allclose(hot, model.apply(params, z, method="decode"), atol=1e-5)
  np.testing.assert_allclose(cold, model.apply(params, 0.5 * z, method="decode"), atol=1e-5)
  zero = model.apply(params, k, 5, 0.0, method="sample")  # T = 0: the mode of the latent.
  np.testing.assert_allclose(zero, np.broadcast_to(zero[:1], zero.shape), atol=1e-6)


def test_bad_inputs_raise_clear_errors(key):
  model = VECTOR_MODELS["realnvp"]()
  variables = model.init(key(), np.zeros((4, 2), np.float32) + np.arange(4)[:, None])
  with pytest.raises(ValueError, match=r"expects data of shape \(B, 2\); got \(4, 3\)"):
    model.apply(variables, np.zeros((4, 3)))
  with pytest.raises(ValueError, match=r"divisible by 2\^2 = 4 for its 2 squeezes"):
    flows.glow((6, 6, 1), num_levels=2)
  with pytest.raises(ValueError, match=r"kind='spline' is not valid; choose from"):
    flows.neural_spline_flow((2,), kind="spline")
