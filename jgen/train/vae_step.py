"""The latent-variable-model state and train step: AE, DAE, VAE/CVAE, IWAE, VQ-VAE.

One optimizer, one parameter tree (``jgen.models.VAE``, ``VQVAE`` or ``VQVAE2``), one pure step
``vae_train_step(state, batch) -> (state, metrics)`` whose ``objective`` selects:

- ``ae``: ``−log p(x | z = μ(x))``, a deterministic autoencoder;
- ``dae``: ``−log p(x | z = μ(x̃))`` with ``x̃`` a corrupted ``x`` (Vincent et al. 2010);
- ``vae``: ``−(E_q[log p(x|z)] − β·KL(q(z|x) ‖ N(0, I)))``, one reparameterised sample
  (Kingma & Welling 2014); with labels in the batch and conditional modules, the CVAE
  (Sohn et al. 2015);
- ``iwae``: ``−log (1/k) Σᵢ p(x, zᵢ)/q(zᵢ|x)``, k samples (Burda et al. 2016);
- ``vqvae``: ``−log p(x|z_q) + codebook loss + β·commitment loss`` (van den Oord et al.
  2017), or with EMA codebooks (``state.ema_codebook``) the codebook loss is replaced
  by the EMA update. A two-level ``VQVAE2`` (Razavi et al. 2019) sums both levels'
  losses; its EMA codebooks are updated level by level.
"""

from collections.abc import Mapping
import functools
from typing import Any

from flax.training import train_state
import jax
from jax import lax
import jax.numpy as jnp
import optax

from jgen import losses
from jgen.data import corruption
from jgen.models import vq
from jgen.models import vqvae2 as vq2
from jgen.train import rng
from jgen.train.norms import global_norms_if
from jgen.train.parallel import example_keys
from jgen.typing import Array
from jgen.typing import PRNGKey

OBJECTIVES = ("ae", "dae", "vae", "iwae", "vqvae")
CORRUPTIONS = ("gaussian", "masking", "salt_and_pepper")


class VAEState(train_state.TrainState):
  """flax ``TrainState`` plus the run's PRNG key and optional EMA codebooks.

  Attributes:
    key: raw ``uint32`` key data of the run's base key (``fold_in(key, step)`` per step).
    ema_codebook: for a VQ-VAE whose codebooks are learned by exponential moving
      averages, its ``jgen.models.EMACodebookState`` (``VQVAE``), or a tuple of them
      with one per level (``VQVAE2``: top, bottom); else None. (One level keeps the
      bare state: checkpoints of one-level runs keep their structure.)
  """

  key: jax.Array
  ema_codebook: Any = None

  @property
  def base_key(self) -> PRNGKey:
    return jax.random.wrap_key_data(self.key)


def create_vae_state(key: PRNGKey, model, tx: optax.GradientTransformation, *,
                     example: Array, ema_codebook: bool = False) -> VAEState:
  """Initialises a ``VAEState`` for ``model`` on an example batch (B, H, W, C).

  Args:
    key: PRNG key (split into the parameters' and the run's key).
    model: a ``jgen.models.VAE``, ``VQVAE`` or ``VQVAE2``.
    tx: the optax transform.
    example: an input batch to trace shapes with; for a conditional model a tuple
      ``(images, labels)``.
    ema_codebook: VQ-VAE only: learn the codebooks by EMA (their parameters are then
      unused).

  Returns:
    A state at step 0.
  """
  init_key, run_key, code_key = jax.random.split(key, 3)
  args = example if isinstance(example, tuple) else (example,)
  params = model.init(init_key, *args)["params"]
  ema = None
  if ema_codebook:
    shapes = [c.shape for c in model.apply({"params": params}, method="codebooks")]
    keys = level_keys(code_key, len(shapes))
    ema = _pack([vq.init_ema_codebook(k, *shape) for k, shape in zip(keys, shapes)])
  return VAEState.create(apply_fn=model.apply, params=params, tx=tx,
                         key=jax.random.key_data(run_key), ema_codebook=ema)


def level_keys(key: PRNGKey, num_levels: int) -> list[PRNGKey]:
  """One key per VQ level; a single level keeps ``key`` itself (its runs and samples
  stay those of the one-level code, bit for bit)."""
  return list(jax.random.split(key, num_levels)) if num_levels > 1 else [key]


def _levels(ema) -> tuple[vq.EMACodebookState, ...]:
  """A state's EMA codebooks as a tuple, one per level."""
  return (ema,) if isinstance(ema, vq.EMACodebookState) else tuple(ema)


def _pack(levels):
  """The stored form of per-level EMA codebooks: one level bare, several as a tuple."""
  return levels[0] if len(levels) == 1 else tuple(levels)


def level_suffixes(num_levels: int) -> list[str]:
  """Metric-name suffixes of a VQ-VAE's levels: ``['']``, or ``['_top', '_bottom']``."""
  return [""] if num_levels == 1 else [f"_{name}" for name in vq2.LEVELS[-num_levels:]]


def is_vq(params) -> bool:
  """Whether parameters are a VQ model's (``VQVAE``, ``VQVAE2``: its ``codebook…``)."""
  return any(name.startswith("codebook") for name in params)


def vq_codebooks(state: VAEState) -> tuple[Array, ...]:
  """The codebooks a VQ-VAE state quantizes with, one per level (top first): the EMA
  ones when it has them."""
  if state.ema_codebook is not None:
    return tuple(jnp.asarray(level.codebook) for level in _levels(state.ema_codebook))
  return tuple(state.apply_fn({"params": state.params}, method="codebooks"))


def vq_levels(state: VAEState, x: Array, *, axis_name: str | None = None
              ) -> tuple[tuple[Array, vq.VQOutput], ...]:
  """``((z_e, VQOutput), …)`` of images ``x`` (B, H, W, C) at each level of a VQ-VAE
  state, top first (``z_e`` (B, h, w, D) per level), with its (EMA or learned) codebooks."""
  return state.apply_fn({"params": state.params}, x, vq_codebooks(state),
                        axis_name=axis_name, method="quantize")


def reconstruct(state: VAEState, x: Array, y: Array | None = None):
  """``p(x | code(x))`` through the deterministic code, and the code indices.

  Gaussian-latent models (VAE, AE, DAE) decode the posterior mean; a VQ-VAE decodes
  the nearest codes of its (EMA or learned) codebooks and also returns their indices
  (None otherwise).

  Args:
    state: a ``VAEState``.
    x: ``(B, H, W, C)`` model-scale images.
    y: ``(B,)`` labels for a conditional model, else None.

  Returns:
    ``(distribution over (H, W, C) events, indices or None)``; a VQ-VAE's indices
    are a tuple with one (B, h, w) map per level (top first).
  """
  params = {"params": state.params}
  if is_vq(state.params):
    outs = [out for _, out in vq_levels(state, x)]
    return (state.apply_fn(params, *(out.quantized for out in outs), method="decode"),
            tuple(out.indices for out in outs))
  mean, _ = state.apply_fn(params, x, y, method="encode")
  return state.apply_fn(params, mean, y, method="decode"), None


def corrupt(key: PRNGKey, x: Array, kind: str, level: float) -> Array:
  """One example's corruption for the denoising autoencoder (Vincent et al. 2010)."""
  if kind == "gaussian":
    return corruption.gaussian_noise(key, x, level)
  if kind == "masking":
    return corruption.masking_noise(key, x, level)
  if kind == "salt_and_pepper":
    return corruption.salt_and_pepper(key, x, level)
  raise ValueError(f"Unknown corruption {kind!r}; valid: {', '.join(CORRUPTIONS)}.")


def _per_example(fn, keys, *args):
  return jax.vmap(fn)(keys, *args)


def _gaussian_objective(params, state, x, y, keys, *, objective, beta, num_samples,
                        corruption_kind, corruption_level):
  """(loss, metrics) for ae / dae / vae / iwae."""
  def apply(method, *args):
    return state.apply_fn({"params": params}, *args, method=method)

  if objective == "dae":
    noisy = _per_example(
        lambda k, xi: corrupt(k, xi, corruption_kind, corruption_level), keys, x)
    mean, log_var = apply("encode", noisy, y)
  else:
    mean, log_var = apply("encode", x, y)

  if objective in ("ae", "dae"):
    ll = apply("decode", mean, y).log_prob(x)
    return -ll.mean(), {"reconstruction": ll.mean()}

  kl = losses.gaussian_kl(mean, log_var)
  if objective == "vae":
    z = _per_example(losses.reparameterize, keys, mean, log_var)
    objective_value, parts = losses.elbo(apply("decode", z, y).log_prob(x), kl,
                                         beta=beta)
    return -objective_value, parts

  # IWAE: k samples per example, decoded as one (k·B) batch.
  z = _per_example(functools.partial(losses.reparameterize, num_samples=num_samples),
                   keys, mean, log_var)  # (B, k, d)
  z = jnp.swapaxes(z, 0, 1)  # (k, B, d)
  k, b, d = z.shape
  y_rep = None if y is None else jnp.tile(y, k)
  out = apply("decode", z.reshape(k * b, d), y_rep)
  x_rep = jnp.broadcast_to(x, (k, *x.shape)).reshape(k * b, *x.shape[1:])
  ll = out.log_prob(x_rep).reshape(k, b)
  log_prior = losses.gaussian_log_likelihood(z, jnp.zeros_like(z), jnp.zeros_like(z),
                                             event_ndims=1)
  log_q = losses.gaussian_log_likelihood(z, mean, log_var, event_ndims=1)
  log_w = ll + log_prior - log_q
  bound = losses.iwae_bound(log_w).mean()
  return -bound, {"iwae_bound": bound, "reconstruction": ll.mean(), "kl": kl.mean(),
                  "elbo": log_w.mean()}


def _vq_objective(params, state, x, *, commitment_cost, axis_name):
  """(loss, (metrics, z_e per level, indices per level)) of a VQ-VAE, any number of
  levels: the reconstruction term plus each level's codebook and commitment losses."""
  levels = vq_levels(state.replace(params=params), x, axis_name=axis_name)
  outs = [out for _, out in levels]
  ll = state.apply_fn({"params": params}, *(out.quantized for out in outs),
                      method="decode").log_prob(x)
  codebook_loss = sum(out.codebook_loss for out in outs)
  commitment_loss = sum(out.commitment_loss for out in outs)
  loss = -ll.mean() + commitment_cost * commitment_loss
  if state.ema_codebook is None:
    loss = loss + codebook_loss
  metrics = {"reconstruction": ll.mean(), "codebook_loss": codebook_loss,
             "commitment_loss": commitment_loss}
  metrics |= {f"perplexity{name}": out.perplexity
              for name, out in zip(level_suffixes(len(outs)), outs)}
  return loss, (metrics, tuple(z for z, _ in levels), tuple(out.indices for out in outs))


def vae_train_step(
    state: VAEState,
    batch: Mapping[str, Array],
    *,
    objective: str = "vae",
    beta: float = 1.0,
    num_samples: int = 5,
    corruption_kind: str = "gaussian",
    corruption_level: float = 0.3,
    commitment_cost: float = 0.25,
    ema_decay: float = 0.99,
    norms: bool = True,
    axis_name: str | None = None,
) -> tuple[VAEState, dict[str, Array]]:
  """One optimizer update of a latent-variable model (see the module docstring).

  Random draws (reparameterisation noise, corruption) use one key per example,
  ``fold_in(fold_in(key, step), global example index)``, so a pmapped step equals the
  single-device step on the same global batch.

  Args:
    state: the current ``VAEState``.
    batch: ``{'x': (B, H, W, C) float images, preprocessed for the decoder's
      likelihood}``, plus ``'label': (B,)`` ints for a conditional model.
    objective: one of ``OBJECTIVES``.
    beta: KL weight of the ``vae`` objective.
    num_samples: k of the ``iwae`` objective.
    corruption_kind, corruption_level: the ``dae`` corruption (``CORRUPTIONS``) and
      its strength (noise std or corrupted fraction).
    commitment_cost: β of the VQ-VAE commitment loss (0.25 in the paper).
    ema_decay: decay of an EMA codebook.
    norms: whether to compute ``grad_norm`` and ``param_norm`` (else they are 0);
      the training loop skips them on the steps it does not log.
    axis_name: the pmap axis to average over, or None.

  Returns:
    The new state and a flat dict of scalar metrics: ``loss``, the objective's parts
    (``reconstruction``, ``kl``, ``elbo``, ``iwae_bound``; a VQ-VAE's ``codebook_loss``
    and ``commitment_loss`` summed over its levels and each level's ``perplexity``, or
    ``perplexity_top`` and ``perplexity_bottom``),
    ``grad_norm``, ``param_norm``.

  Raises:
    ValueError: for an unknown objective or corruption.
  """
  if objective not in OBJECTIVES:
    raise ValueError(f"Unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}.")
  x, y = batch["x"], batch.get("label")
  keys = example_keys(rng.step_key(state.base_key, state.step), x.shape[0], axis_name)

  if objective == "vqvae":
    loss_fn = functools.partial(_vq_objective, state=state, x=x,
                                commitment_cost=commitment_cost, axis_name=axis_name)
  else:
    def loss_fn(params):
      loss, metrics = _gaussian_objective(
          params, state, x, y, keys, objective=objective, beta=beta,
          num_samples=num_samples, corruption_kind=corruption_kind,
          corruption_level=corruption_level)
      return loss, (metrics, None, None)

  (loss, (metrics, z_e, indices)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params)
  if axis_name is not None:
    grads = lax.pmean(grads, axis_name)
  new_state = state.apply_gradients(grads=grads)
  if state.ema_codebook is not None:
    new_state = new_state.replace(ema_codebook=_pack([
        vq.ema_codebook_update(level, z, i, decay=ema_decay, axis_name=axis_name)
        for level, z, i in zip(_levels(state.ema_codebook), z_e, indices)]))
  grad_norm, param_norm = global_norms_if(norms, grads, new_state.params)
  metrics = {"loss": loss, **metrics, "grad_norm": grad_norm, "param_norm": param_norm}
  if axis_name is not None:
    metrics = lax.pmean(metrics, axis_name)
  return new_state, metrics
