"""Tests for the latent-variable-model step: each objective's value, updates, pmap."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jgen import losses
from jgen.models import VAE
from jgen.models import VQVAE
from jgen.models import VQVAE2
from jgen.models import EMACodebookState
from jgen.models import ema_codebook_update
from jgen.models import Codebook
from jgen.models import MLPDecoder
from jgen.models import MLPEncoder
from jgen.models import VQDecoder
from jgen.models import VQEncoder
from jgen.train.parallel import example_keys
from jgen.train.vae_step import create_vae_state
from jgen.train.vae_step import vae_train_step
from jgen.train.vae_step import vq_codebooks

SHAPE = (8, 8, 1)


def _images(b=6, seed=0):
  return jnp.asarray(np.random.default_rng(seed).integers(0, 2, (b, *SHAPE)), jnp.float32)


def _vae_state(num_classes=0, tx=None):
  model = VAE(MLPEncoder(latent_dim=3, hidden=(16,), num_classes=num_classes),
              MLPDecoder(SHAPE, hidden=(16,), num_classes=num_classes))
  example = (_images(), jnp.zeros(6, jnp.int32)) if num_classes else _images()
  return create_vae_state(jax.random.key(0), model, tx or optax.adam(1e-2), example=example)


def _vq_state(ema=False, levels=1):
  model = VQVAE(VQEncoder(embedding_dim=4, features=8, num_residual_blocks=1),
                VQDecoder(SHAPE, features=8, num_residual_blocks=1),
                Codebook(num_codes=16, dim=4))
  if levels == 2:
    model = VQVAE2(SHAPE, num_codes=16, embedding_dim=4, features=8, num_residual_blocks=1)
  return create_vae_state(jax.random.key(0), model, optax.adam(1e-2), example=_images(),
                          ema_codebook=ema)


def _step(**kw):
  return jax.jit(functools.partial(vae_train_step, **kw))


def _equal(a, b):
  return all(np.array_equal(x, y)
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


@pytest.mark.parametrize("objective", ["ae", "dae", "vae", "iwae"])
def test_objectives_update_and_report(objective):
  state = _vae_state()
  new, metrics = _step(objective=objective)(state, {"x": _images()})
  assert int(new.step) == 1 and not _equal(new.params, state.params)
  assert np.isfinite(metrics["loss"]) and metrics["grad_norm"] > 0
  if objective == "iwae":
    assert metrics["iwae_bound"] >= metrics["elbo"] - 1e-4  # Jensen, per batch.


def test_vae_loss_is_minus_the_elbo_at_the_step_keys():
  state = _vae_state(tx=optax.sgd(0.0))
  x = _images()
  _, metrics = _step(objective="vae", beta=0.5)(state, {"x": x})
  params = {"params": state.params}
  mean, log_var = state.apply_fn(params, x, method="encode")
  keys = example_keys(jax.random.fold_in(state.base_key, 0), 6)
  z = jax.vmap(losses.reparameterize)(keys, mean, log_var)
  logits = state.apply_fn(params, z, method="decode").logits
  ll = losses.bernoulli_log_likelihood(logits, x)
  kl = losses.gaussian_kl(mean, log_var)
  np.testing.assert_allclose(metrics["loss"], -(ll - 0.5 * kl).mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["elbo"], (ll - kl).mean(), rtol=1e-5)


def test_autoencoder_is_deterministic_and_dae_is_not():
  state = _vae_state(tx=optax.sgd(0.0))
  x = {"x": _images()}
  a = _step(objective="ae")(state, x)[1]["loss"]
  b = _step(objective="ae")(state.replace(step=state.step + 7), x)[1]["loss"]
  assert a == b  # No randomness: the step's key does not matter.
  c = _step(objective="dae")(state, x)[1]["loss"]
  d = _step(objective="dae")(state.replace(step=state.step + 7), x)[1]["loss"]
  assert c != d


def test_conditional_vae_uses_the_labels():
  state = _vae_state(num_classes=3, tx=optax.sgd(0.0))
  x = _images()
  m0 = _step(objective="vae")(state, {"x": x, "label": jnp.zeros(6, jnp.int32)})[1]
  m1 = _step(objective="vae")(state, {"x": x, "label": jnp.full(6, 2, jnp.int32)})[1]
  assert m0["loss"] != m1["loss"]


@pytest.mark.parametrize("levels,names", [(1, ["codebook"]),
                                          (2, ["codebook_top", "codebook_bottom"])])
@pytest.mark.parametrize("ema", [False, True])
def test_vqvae_step(ema, levels, names):
  state = _vq_state(ema, levels)
  new, metrics = _step(objective="vqvae")(state, {"x": _images()})
  suffixes = [""] if levels == 1 else ["_top", "_bottom"]
  for suffix in suffixes:
    assert 1.0 <= metrics[f"perplexity{suffix}"] <= 16.0
  if ema and levels == 1:  # One level keeps the bare EMA state (checkpoints unchanged).
    assert isinstance(state.ema_codebook, EMACodebookState)
  if ema:
    # Each level's EMA codebook took exactly its own level's update.
    books = [np.asarray(b) for b in vq_codebooks(state)]
    quantized = state.apply_fn({"params": state.params}, _images(), books, method="quantize")
    old_levels = [state.ema_codebook] if levels == 1 else list(state.ema_codebook)
    new_levels = [new.ema_codebook] if levels == 1 else list(new.ema_codebook)
    for old, updated, (z, out) in zip(old_levels, new_levels, quantized, strict=True):
      chex.assert_trees_all_close(updated, ema_codebook_update(old, z, out.indices),
                                  rtol=1e-5, atol=1e-6)
  for name in names:
    old, updated = (s.params[name]["embedding"] for s in (state, new))
    if ema:  # The (unused) codebook parameters got no gradient.
      np.testing.assert_array_equal(updated, old)
    else:
      assert not np.array_equal(updated, old)


@pytest.mark.parametrize("ema", [False, True])
def test_vqvae2_loss_sums_both_levels_and_trains_the_top_through_the_bottom(ema):
  state = _vq_state(ema=ema, levels=2)
  x = _images()
  _, metrics = _step(objective="vqvae", commitment_cost=0.25)(state, {"x": x})
  params = {"params": state.params}
  books = vq_codebooks(state)
  (_, top), (_, bottom) = state.apply_fn(params, x, books, method="quantize")
  ll = state.apply_fn(params, top.quantized, bottom.quantized, method="decode").log_prob(x)
  # EMA codebooks: no codebook losses (the EMA updates move the codes).
  codebook = 0.0 if ema else top.codebook_loss + bottom.codebook_loss
  expected = -ll.mean() + codebook + 0.25 * (top.commitment_loss + bottom.commitment_loss)
  np.testing.assert_allclose(metrics["loss"], expected, rtol=1e-5)
  if ema:
    return

  # The bottom level's commitment loss reaches the top encoder: the bottom encoding
  # reads the (straight-through) quantized top level.
  def bottom_commitment(p):
    return state.apply_fn({"params": p}, x, books, method="quantize")[1][1].commitment_loss
  grads = jax.grad(bottom_commitment)(state.params)
  assert optax.tree.norm(grads["down_top"]) > 0 and optax.tree.norm(grads["pre_top"]) > 0


def test_no_retrace_and_bad_objective():
  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, batch):
    return vae_train_step(state, batch, objective="vae")

  state = _vae_state()
  state, _ = step(state, {"x": _images(seed=0)})
  state, _ = step(state, {"x": _images(seed=1)})
  with pytest.raises(ValueError, match="'elbo'.*ae, dae, vae, iwae, vqvae"):
    vae_train_step(state, {"x": _images()}, objective="elbo")


_PMAP_CODE = """
import json
import functools
import jax, jax.numpy as jnp, numpy as np, optax
from jgen.models import VAE, VQVAE2, MLPDecoder, MLPEncoder
from jgen.train import parallel
from jgen.train.vae_step import create_vae_state, vae_train_step

SHAPE = (8, 8, 1)
x = jnp.asarray(np.random.default_rng(0).integers(0, 2, (16, *SHAPE)), jnp.float32)
if {objective!r} == "vqvae":  # Both levels, EMA codebooks updated from the global batch.
  model = VQVAE2(SHAPE, num_codes=8, embedding_dim=4, features=8, num_residual_blocks=1)
else:
  model = VAE(MLPEncoder(latent_dim=3, hidden=(16,)), MLPDecoder(SHAPE, hidden=(16,)))
state = create_vae_state(jax.random.key(0), model, optax.adam(1e-2), example=x,
                         ema_codebook={objective!r} == "vqvae")
step = functools.partial(vae_train_step, objective={objective!r})
single = state
for _ in range(3):
  single, _ = jax.jit(step)(single, {{"x": x}})
rstate = parallel.replicate(state)
p_step = parallel.pmap_step(step)
for _ in range(3):
  rstate, _ = p_step(rstate, {{"x": x.reshape(8, 2, *SHAPE)}})
pmapped = parallel.unreplicate(rstate)
diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(jax.tree.leaves((single.params, single.ema_codebook)),
                           jax.tree.leaves((pmapped.params, pmapped.ema_codebook))))
print(json.dumps({{"diff": diff}}))
"""


@pytest.mark.parametrize("objective", ["vae", "dae", "vqvae"])
def test_pmap_over_8_devices_equals_single_device(run_on_fake_devices, objective):
  assert run_on_fake_devices(_PMAP_CODE.format(objective=objective))["diff"] < 1e-5
