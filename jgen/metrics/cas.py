"""Classification Accuracy Score: does a conditional model's (x, y) teach a classifier?

Ravuri & Vinyals, "Classification Accuracy Score for Conditional Generative Models",
NeurIPS 2019: train a classifier on generated pairs ``(x, y)`` only, report its accuracy
on the real test set. It falls when samples of a class are wrong, missing modes or
not diverse, which FID on unconditional features cannot see.
"""

from collections.abc import Sequence
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jgen.models.classifier import ConvClassifier
from jgen.typing import PRNGKey


def classification_accuracy_score(
    train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
    test_labels: np.ndarray, key: PRNGKey, *, num_steps: int = 600, batch_size: int = 128,
    learning_rate: float = 1e-3, widths: Sequence[int] = (16, 32, 64)) -> float:
  """Test accuracy of a `ConvClassifier` trained on generated ``(images, labels)``.

  Args:
    train_images: uint8 ``(N, H, W, C)`` generated images; ``train_labels`` (N,) their
      conditioning classes.
    test_images, test_labels: the real test set, uint8 and ``(M,)``.
    key: PRNG key (initialisation and minibatches).
    num_steps, batch_size, learning_rate: Adam on the cross-entropy.
    widths: the classifier's block widths (small: it is trained at every evaluation).

  Returns:
    Accuracy in [0, 1] on the real test set.

  Raises:
    ValueError: when images and labels differ in number or shape.
  """
  train_labels = np.asarray(train_labels, np.int32)
  test_labels = np.asarray(test_labels, np.int32)
  if train_images.shape[0] != train_labels.shape[0] or (
      test_images.shape[0] != test_labels.shape[0]):
    raise ValueError(f"cas: {train_images.shape[0]} generated images with "
                     f"{train_labels.shape[0]} labels, {test_images.shape[0]} test images "
                     f"with {test_labels.shape[0]} labels.")
  if train_images.shape[1:] != test_images.shape[1:]:
    raise ValueError(f"cas: generated images {train_images.shape[1:]} and test images "
                     f"{test_images.shape[1:]} differ in shape.")
  num_classes = int(max(train_labels.max(), test_labels.max())) + 1
  model = ConvClassifier(num_classes=num_classes, widths=tuple(widths),
                         groups=min(8, min(widths)))
  tx = optax.adam(learning_rate)
  init_key, batch_key = jax.random.split(key)
  params = model.init(init_key, jnp.zeros((1, *train_images.shape[1:])))["params"]
  opt_state = tx.init(params)
  images = jnp.asarray(train_images)
  labels = jnp.asarray(train_labels)

  @jax.jit
  def step(params, opt_state, i):
    index = jax.random.randint(jax.random.fold_in(batch_key, i), (batch_size,), 0,
                               images.shape[0])

    def loss(params):
      logits = model.apply({"params": params}, images[index].astype(jnp.float32) / 255.0)
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels[index]).mean()
    grads = jax.grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for i in range(num_steps):
    params, opt_state = step(params, opt_state, i)
  return _accuracy(model, params, test_images, test_labels)


@functools.partial(jax.jit, static_argnums=0)
def _predict(model, params, images):
  return jnp.argmax(model.apply({"params": params}, images.astype(jnp.float32) / 255.0), -1)


def _accuracy(model, params, images, labels, batch_size: int = 1000) -> float:
  correct = [np.asarray(_predict(model, params, images[s:s + batch_size]))
             == labels[s:s + batch_size] for s in range(0, images.shape[0], batch_size)]
  return float(np.mean(np.concatenate(correct)))


__all__ = ["classification_accuracy_score"]
