"""The latent-variable task: AE, DAE, VAE/CVAE, IWAE and VQ-VAE (`jgen.train.vae_step`).

Config (see ``experiments/configs/vae_binarized_mnist.py``): ``model.arch`` (``mlp``,
``conv``, ``vq``), ``model.likelihood`` (the decoder's distribution), ``loss.objective``,
``data.preprocess`` (how uint8 images become model data). Evaluation on the test split:
reconstruction MSE for every model, codebook perplexity for VQ-VAEs (each level of the
two-level ``model.arch='vq2'``, Razavi et al. 2019), and for the
likelihood models (vae, iwae) the test −ELBO and the IWAE estimate of −log p(x) —
periodically on ``eval.periodic_num_examples`` examples with
``eval.periodic_iwae_samples`` importance samples, at the end on the whole split with
``eval.iwae_samples``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen import data
from jgen import metrics
from jgen.models import VAE
from jgen.models import VQVAE
from jgen.models import VQVAE2
from jgen.models import Codebook
from jgen.models import ConvDecoder
from jgen.models import ConvEncoder
from jgen.models import MLPDecoder
from jgen.models import MLPEncoder
from jgen.models import VQDecoder
from jgen.models import VQEncoder
from jgen.models.decoders import LIKELIHOODS
from jgen.tasks import vae_figures
from jgen.tasks.base import Task
from jgen.tasks.base import batched
from jgen.tasks.base import check_choices
from jgen.tasks.base import check_positive
from jgen.tasks.base import learning_rate
from jgen.tasks.base import load_eval_data
from jgen.train import parallel
from jgen.train import rng
from jgen.train.vae_step import CORRUPTIONS
from jgen.train.vae_step import OBJECTIVES
from jgen.train.vae_step import VAEState
from jgen.train.vae_step import create_vae_state
from jgen.train.vae_step import level_keys
from jgen.train.vae_step import level_suffixes
from jgen.train.vae_step import reconstruct
from jgen.train.vae_step import vq_levels
from jgen.train.vae_step import vae_train_step
from jgen.train.vae_step import vq_codebooks

ARCHITECTURES = ("mlp", "conv", "vq", "vq2")
VQ_ARCHITECTURES = ("vq", "vq2")
# Every kind but 'levels' (integer classes, for a categorical output).
PREPROCESSING = tuple(kind for kind in data.PREPROCESSING if kind != "levels")


def validate(config, info) -> None:
  if info.is_toy:
    raise ValueError(f"data.name={config.data.name!r} is a 2-D toy; the vae task needs images.")
  check_choices({
      "data.preprocess": (config.data.preprocess, PREPROCESSING),
      "model.arch": (config.model.arch, ARCHITECTURES),
      "model.likelihood": (config.model.likelihood, LIKELIHOODS),
      "loss.objective": (config.loss.objective, OBJECTIVES),
      "loss.corruption": (config.loss.corruption, CORRUPTIONS),
  })
  if is_vq(config) != (config.loss.objective == "vqvae"):
    raise ValueError(
        f"model.arch={config.model.arch!r} does not fit loss.objective="
        f"{config.loss.objective!r}: the 'vqvae' objective goes with the 'vq' and 'vq2' "
        "archs.")
  if is_vq(config) and config.model.conditional:
    raise ValueError(f"model.conditional=True: model.arch={config.model.arch!r} is "
                     "unconditional (a class-conditional VQ-VAE's prior would carry the "
                     "label); use 'mlp' or 'conv' for a CVAE.")
  if config.model.get("ema_codebook", False) and not is_vq(config):
    raise ValueError(f"model.ema_codebook=True is for a VQ-VAE (model.arch one of "
                     f"{VQ_ARCHITECTURES}); got model.arch={config.model.arch!r}.")
  if info.binary and config.data.preprocess != "binary":
    raise ValueError(f"{info.name} is already binary: use data.preprocess='binary'.")
  if config.model.likelihood == "bernoulli" and config.data.preprocess == "symmetric":
    raise ValueError("A Bernoulli decoder needs data in [0, 1]; data.preprocess="
                     "'symmetric' gives [−1, 1].")
  if config.model.likelihood == "logistic" and config.data.preprocess != "symmetric":
    raise ValueError("The discretized logistic likelihood needs data.preprocess='symmetric'.")
  if config.model.conditional and not info.has_labels:
    raise ValueError(f"{info.name} has no labels in TFDS; a conditional VAE needs "
                     "data.name='mnist' (e.g. with data.preprocess='dynamic_binarize').")
  check_positive(config, "model.latent_dim", "loss.num_samples", "eval.batch_size",
                 "eval.iwae_samples", "eval.periodic_iwae_samples")
  learning_rate(config)  # Checks optim.lr and optim.schedule.


def is_vq(config) -> bool:
  """A VQ-VAE (one level, ``'vq'``, or two, ``'vq2'``)."""
  return config.model.arch in VQ_ARCHITECTURES


def build_model(config, info):
  """The configured ``VAE``, ``VQVAE`` or ``VQVAE2`` module."""
  m = config.model
  num_classes = info.num_classes if m.conditional else 0
  head = {"likelihood": m.likelihood}
  if m.likelihood == "gaussian":
    head.update(variance=m.variance, fixed_log_var=m.fixed_log_var)
  if m.arch == "vq2":
    return VQVAE2(info.shape, num_codes=m.num_codes, embedding_dim=m.code_dim,
                  features=m.base_features, **head)
  if m.arch == "vq":
    return VQVAE(VQEncoder(embedding_dim=m.code_dim, features=m.base_features),
                 VQDecoder(info.shape, features=m.base_features, **head),
                 Codebook(num_codes=m.num_codes, dim=m.code_dim))
  if m.arch == "mlp":
    hidden = (m.hidden, m.hidden)
    return VAE(MLPEncoder(m.latent_dim, hidden=hidden, num_classes=num_classes),
               MLPDecoder(info.shape, hidden=hidden, num_classes=num_classes, **head))
  return VAE(ConvEncoder(m.latent_dim, base_features=m.base_features,
                         image_size=info.shape[0], num_classes=num_classes),
             ConvDecoder(info.shape, base_features=m.base_features, num_classes=num_classes,
                         **head))


def init_state(config, info) -> VAEState:
  example = jnp.zeros((2, *info.shape))
  if config.model.conditional:
    example = (example, jnp.zeros((2,), jnp.int32))
  return create_vae_state(jax.random.key(config.seed), build_model(config, info),
                          optax.adam(learning_rate(config)), example=example,
                          ema_codebook=config.model.ema_codebook)


def train_step(config, info):
  del info

  def step(state, batch, axis_name=None, norms=True):
    images = batch["image"]
    key = rng.stream_key(rng.step_key(state.base_key, state.step), "binarize")
    keys = parallel.example_keys(key, images.shape[0], axis_name)
    inputs = {"x": data.preprocess_images(images, config.data.preprocess, keys)}
    if config.model.conditional:
      inputs["label"] = batch["label"].astype(jnp.int32)
    return vae_train_step(
        state, inputs, objective=config.loss.objective, beta=config.loss.beta,
        num_samples=config.loss.num_samples, corruption_kind=config.loss.corruption,
        corruption_level=config.loss.corruption_level,
        commitment_cost=config.loss.commitment_cost, norms=norms,
        axis_name=axis_name)
  return step


def _is_likelihood_model(config) -> bool:
  return not is_vq(config) and config.loss.objective not in ("ae", "dae")


def make_evaluate(config, *, iwae_samples: int):
  """``evaluate(state, test) -> metrics`` (see the module docstring), jitted once."""
  kind, y_key = config.data.preprocess, "label" if config.model.conditional else None
  likelihood_model = _is_likelihood_model(config)

  @jax.jit  # The state is an argument: closed over, its weights became XLA constants.
  def batch_metrics(state, batch, key):
    x, y = batch["x"], batch.get(y_key)
    out, indices = reconstruct(state, x, y)
    # The image the model outputs is its mean, in [0, 1] intensity.
    recon = jnp.clip(data.to_unit_interval(out.mean(), kind), 0.0, 1.0)
    result = {"sq_err": metrics.reconstruction_mse(data.to_unit_interval(x, kind), recon)}
    if indices is not None:  # "indices", or "indices_top" and "indices_bottom".
      result |= {f"indices{name}": level
                 for name, level in zip(level_suffixes(len(indices)), indices)}
    if likelihood_model:
      params = {"params": state.params}
      result["log_px"], result["elbo"] = metrics.importance_weighted_log_likelihood(
          lambda x: state.apply_fn(params, x, y, method="encode"),
          lambda z, x: state.apply_fn(params, z, y, method="decode").log_prob(x),
          x, key, num_samples=iwae_samples,
          chunk_size=min(config.eval.iwae_chunk, iwae_samples))
    return result

  def evaluate(state: VAEState, test) -> dict[str, float]:
    arrays = {k: v for k, v in test.items() if k == "x" or k == y_key}
    per_example = batched(lambda b, k: batch_metrics(state, b, k), arrays,
                          config.eval.batch_size, rng.stream_key(state.base_key, "eval"))
    results = {"test_reconstruction_mse": float(per_example["sq_err"].mean()),
               "num_test_examples": int(test["x"].shape[0])}
    for name in [k for k in per_example if k.startswith("indices")]:
      results[f"test_codebook_perplexity{name[len('indices'):]}"] = (
          metrics.codebook_perplexity(per_example[name], config.model.num_codes))
    if likelihood_model:
      nll = -float(per_example["log_px"].mean())
      results |= {"test_nll_iwae": nll,
                  "test_negative_elbo": -float(per_example["elbo"].mean()),
                  "test_bits_per_dim_iwae": float(metrics.bits_per_dim(
                      nll, int(np.prod(test["x"].shape[1:])))),
                  "iwae_samples": iwae_samples}
    return results
  return evaluate


def evaluate(config, state: VAEState, test, *, iwae_samples: int) -> dict[str, float]:
  """Test metrics of ``state`` on preprocessed ``test`` data (one-off; see make_evaluate)."""
  return make_evaluate(config, iwae_samples=iwae_samples)(state, test)


def evaluators(config, info):
  del info
  full = load_eval_data(config, config.eval.num_examples)
  periodic = {k: v[:config.eval.periodic_num_examples] for k, v in full.items()}

  final_fn = make_evaluate(config, iwae_samples=config.eval.iwae_samples)
  periodic_fn = make_evaluate(config, iwae_samples=config.eval.periodic_iwae_samples)

  def evaluator(state, final):
    return final_fn(state, full) if final else periodic_fn(state, periodic)
  return [evaluator]


def figures(config, info):
  return vae_figures.make_figures(config, info, load_eval_data(config, 16))


def sampler(config, info):
  """``draw(state, key, num)``: prior samples (decoder means) as uint8 NHWC.

  Gaussian-latent models decode ``z ~ N(0, I)``; a VQ-VAE decodes codes drawn
  uniformly at every level (its learned prior is a `likelihood` run over its code
  maps, `jgen.tasks.vq_codes`). A CVAE's classes are `sample_labels`.
  """
  @jax.jit
  def draw(state, key, labels):
    params = {"params": state.params}
    if is_vq(config):
      example = jnp.zeros((labels.shape[0], *info.shape))
      maps = jax.eval_shape(lambda x: [o.indices for _, o in vq_levels(state, x)], example)
      keys = level_keys(key, len(maps))
      return state.apply_fn(params, *(
          jnp.take(book, jax.random.randint(k, m.shape, 0, config.model.num_codes), axis=0)
          for k, m, book in zip(keys, maps, vq_codebooks(state))), method="decode").mean()
    z = jax.random.normal(key, (labels.shape[0], config.model.latent_dim))
    y = labels if config.model.conditional else None
    return state.apply_fn(params, z, y, method="decode").mean()

  def draw_all(state: VAEState, key, num: int, chunk: int = 500) -> np.ndarray:
    # Unconditional models ignore the labels; they only set the chunk's size.
    labels = _labels(info, num)
    out = [draw(state, jax.random.fold_in(key, i), labels[start:start + chunk])
           for i, start in enumerate(range(0, num, chunk))]
    return np.asarray(data.to_uint8(jnp.concatenate(out), config.data.preprocess))
  return draw_all


def _labels(info, num: int) -> np.ndarray:
  return np.arange(num) % max(info.num_classes, 1)


def sample_labels(config, info, num: int) -> np.ndarray | None:
  """A CVAE's sample classes: ``0, 1, …, C−1, 0, 1, …`` (as `sampler` draws them)."""
  return _labels(info, num) if config.model.conditional else None


TASK = Task(name="vae", validate=validate, init_state=init_state, train_step=train_step,
            evaluators=evaluators, figures=figures, sampler=sampler,
            sample_labels=sample_labels)
