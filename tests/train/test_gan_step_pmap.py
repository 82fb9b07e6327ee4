"""The pmapped GAN step over 8 fake CPU devices equals the single-device step."""

import pytest

_CODE = """
import json
import jax, jax.numpy as jnp, numpy as np, optax
from jgen.models.dcgan import DCGANDiscriminator, DCGANGenerator
from jgen.models.mlp import MLPDiscriminator, MLPGenerator
from jgen.models.stylegan import StyleGenerator
from jgen.train import parallel
from jgen.train.gan_state import create_gan_state
from jgen.train.gan_step import gan_train_step

assert jax.local_device_count() == 8
ARCH, LOSS, N_CRITIC = {arch!r}, {loss!r}, {n_critic}
LATENT, B = 4, 16
CLASSES = 10 if ARCH == "zoo" else 0
if ARCH == "zoo":  # Conditional BN, projection, spectral norm and attention in both.
  zoo = dict(base_features=8, num_classes=CLASSES, spectral_norm=True, attention_resolution=14)
  g, d, shape = DCGANGenerator(conditioning="cbn", **zoo), DCGANDiscriminator(
      conditioning="projection", **zoo), (28, 28, 1)
  g_par = DCGANGenerator(conditioning="cbn", bn_axis_name=parallel.AXIS_NAME, **zoo)
elif ARCH == "stylegan":  # Noise maps in the latent, w̄ averaged over the devices.
  g = StyleGenerator(28, 1, z_dim=4, w_dim=8, features=4, mapping_layers=2)
  d, shape, LATENT = DCGANDiscriminator(base_features=8), (28, 28, 1), g.latent_size
  g_par = g.clone(bn_axis_name=parallel.AXIS_NAME)
elif ARCH == "mlp":
  g, d, shape = MLPGenerator(hidden=(16, 16)), MLPDiscriminator(hidden=(16, 16)), (2,)
  g_par = MLPGenerator(hidden=(16, 16))
else:
  g, d, shape = DCGANGenerator(base_features=8), DCGANDiscriminator(base_features=8), (28, 28, 1)
  # The pmapped generator normalises with global-batch statistics.
  g_par = DCGANGenerator(base_features=8, bn_axis_name=parallel.AXIS_NAME)

def state_for(generator):
  return create_gan_state(jax.random.key(0), generator, d, optax.adam(1e-2), optax.adam(1e-2),
                          latent_dim=LATENT, data_shape=shape, use_ema=True,
                          num_classes=CLASSES)

def step(state, batch, axis_name=None):
  return gan_train_step(state, batch["x"], batch.get("y"), loss=LOSS, latent_dim=LATENT,
                        num_classes=CLASSES, n_critic=N_CRITIC, ema_decay=0.9,
                        axis_name=axis_name)

rng = np.random.default_rng(0)
batches = [{{"x": rng.uniform(-1, 1, (N_CRITIC, B) + shape).astype(np.float32)}}
           for _ in range(3)]
if CLASSES:
  for b in batches:
    b["y"] = rng.integers(0, CLASSES, (N_CRITIC, B)).astype(np.int32)

single = state_for(g)
single_step = jax.jit(step)
for b in batches:
  single, m_single = single_step(single, b)

def run_pmap():
  p_step = parallel.pmap_step(step)
  rstate = parallel.replicate(state_for(g_par))
  for b in batches:
    # (n_critic, B, ...) -> (devices, n_critic, B/devices, ...)
    per_device = jax.tree.map(
        lambda v: v.reshape((N_CRITIC, 8, B // 8) + v.shape[2:]).swapaxes(0, 1), b)
    rstate, m = p_step(rstate, per_device)
  return parallel.unreplicate(rstate), parallel.unreplicate(m)

pmapped, m_pmap = run_pmap()
again, _ = run_pmap()
leaves = lambda t: jax.tree.leaves(t)
diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(leaves(single), leaves(pmapped)))
identical = all(np.array_equal(a, b) for a, b in zip(leaves(pmapped), leaves(again)))
metric_diff = max(abs(float(m_single[k]) - float(m_pmap[k])) for k in m_single)
print(json.dumps(dict(max_param_diff=diff, bit_identical_rerun=identical,
                      metric_diff=metric_diff, steps=int(pmapped.step))))
"""


@pytest.mark.parametrize("arch,loss,n_critic", [
    ("mlp", "non_saturating", 1),
    ("mlp", "hinge", 2),
    ("dcgan", "least_squares", 1),
    ("zoo", "hinge", 2),
    ("stylegan", "non_saturating", 1),
])
def test_pmap_over_8_devices_equals_single_device(run_on_fake_devices, arch, loss, n_critic):
  result = run_on_fake_devices(_CODE.format(arch=arch, loss=loss, n_critic=n_critic))
  assert result["steps"] == 3
  # Float rounding in the cross-device means, amplified by Adam's normalisation (larger in
  # the zoo's bigger model: conditional BN statistics, attention, spectral norm).
  assert result["max_param_diff"] < (1e-4 if arch == "zoo" else 1e-5), result
  assert result["metric_diff"] < 1e-4, result
  assert result["bit_identical_rerun"], result
