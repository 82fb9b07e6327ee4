"""The exact-likelihood train step: one optimizer, minimise −log p(x).

For every model that returns its exact log-likelihood — NADE and MADE now, normalizing
flows and PixelCNNs next — through a distribution object's ``log_prob``. The loss is
the batch mean of ``−log p(x)`` in nats per example; under ``pmap`` the gradient and
metrics are averaged over the devices, so the step equals the single-device step on
the same global batch.
"""

from collections.abc import Callable
import math

from flax.training import train_state
import jax
from jax import lax
import optax

from jgen.train import rng
from jgen.train.norms import global_norms_if
from jgen.typing import Array
from jgen.typing import Params
from jgen.typing import PRNGKey

LogProbFn = Callable[[Params, Array, PRNGKey], Array]


class LikelihoodState(train_state.TrainState):
  """flax ``TrainState`` plus the run's PRNG key (raw ``uint32`` key data)."""

  key: jax.Array

  @property
  def base_key(self) -> PRNGKey:
    return jax.random.wrap_key_data(self.key)


def create_likelihood_state(key: PRNGKey, model, tx: optax.GradientTransformation, *,
                            example: Array, **example_kwargs) -> LikelihoodState:
  """Initialises a ``LikelihoodState`` for ``model`` on an example batch.

  Args:
    key: PRNG key, split into the parameters' and the run's key.
    model: a Flax module whose ``apply(variables, x)`` returns a distribution.
    tx: the optax transform.
    example: an input batch to trace shapes with, e.g. zeros (2, H, W, C).
    **example_kwargs: further inputs of ``model``, e.g. ``labels`` of a conditional one.

  Returns:
    A state at step 0.
  """
  init_key, run_key = jax.random.split(key)
  params = model.init(init_key, example, **example_kwargs)["params"]
  return LikelihoodState.create(apply_fn=model.apply, params=params, tx=tx,
                                key=jax.random.key_data(run_key))


def likelihood_train_step(
    state: LikelihoodState,
    x: Array,
    *,
    log_prob_fn: LogProbFn | None = None,
    norms: bool = True,
    axis_name: str | None = None,
) -> tuple[LikelihoodState, dict[str, Array]]:
  """One update minimising ``L = −(1/B) Σ_b log p(x_b)``.

  Args:
    state: the current ``LikelihoodState``.
    x: ``(B, *event_shape)`` preprocessed data (this device's share under pmap).
    log_prob_fn: ``(params, x, key) -> log p(x)`` per example (B,), with ``key`` the
      step's key ``fold_in(base_key, step)`` (the same on every device; derive
      per-example draws with ``parallel.example_keys``). Default:
      ``state.apply_fn({'params': params}, x).log_prob(x)``.
    norms: whether to compute ``grad_norm`` and ``param_norm`` (else they are 0);
      the training loop skips them on the steps it does not log.
    axis_name: the pmap axis to average over, or None.

  Returns:
    The new state and scalar metrics: ``loss`` (nats per example), ``bits_per_dim``,
    ``grad_norm``, ``param_norm``.
  """
  if log_prob_fn is None:
    def log_prob_fn(params, x, key):
      del key
      return state.apply_fn({"params": params}, x).log_prob(x)

  key = rng.step_key(state.base_key, state.step)

  def loss_fn(params):
    return -log_prob_fn(params, x, key).mean()

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  if axis_name is not None:
    grads = lax.pmean(grads, axis_name)
  new_state = state.apply_gradients(grads=grads)
  dims = math.prod(x.shape[1:])
  grad_norm, param_norm = global_norms_if(norms, grads, new_state.params)
  metrics = {"loss": loss, "bits_per_dim": loss / (dims * math.log(2.0)),
             "grad_norm": grad_norm, "param_norm": param_norm}
  if axis_name is not None:
    metrics = lax.pmean(metrics, axis_name)
  return new_state, metrics


__all__ = ["LikelihoodState", "LogProbFn", "create_likelihood_state",
           "likelihood_train_step"]
