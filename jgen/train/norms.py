"""The norms train steps report as health metrics (``grad_norm``, ``param_norm``)."""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import PyTree


def global_norm(tree: PyTree) -> Array:
  """``‖tree‖₂ = sqrt(Σ_leaves Σ_i x_i²)``, the value of ``optax.tree.norm``.

  Each leaf's sum of squares is a dot product ``vdot(x, x)`` rather than a reduction of
  ``x²``: XLA:CPU runs dots in its parallel matrix library but reductions in one
  thread, and the two norms of the steps read every weight and gradient once more.
  Measured on the MLP VAE step (1.4 M parameters, batch 100; ``benchmarks/steps.py``):
  the norms cost 2.5 ms of a 9.2 ms step as reductions, 0.9 ms as dots.

  Args:
    tree: a pytree of float arrays (gradients, parameters).

  Returns:
    A float32 scalar.
  """
  squares = [jnp.vdot(x.ravel(), x.ravel()).real for x in jax.tree.leaves(tree)]
  return jnp.sqrt(sum(squares, jnp.zeros((), jnp.float32)))


def global_norms_if(compute: bool, *trees: PyTree) -> tuple[Array, ...]:
  """``global_norm`` of each tree if ``compute``, else zeros (a Python bool: static).

  The steps' ``norms`` argument: the norms read every gradient and weight once more,
  10–25% of a small model's step on a CPU (the MLP VAE, MADE, the MLP RealNVP;
  ``benchmarks/steps.py``), so the training loop runs the steps whose metrics it does
  not log without them. Under ``lax.cond`` with a traced flag they cost as much as
  computing them (measured on the MLP RealNVP step), hence a static flag.

  Args:
    compute: whether to compute the norms (a Python bool, fixed at trace time).
    *trees: pytrees of float arrays.

  Returns:
    One float32 scalar per tree.
  """
  if compute:
    return tuple(global_norm(t) for t in trees)
  return tuple(jnp.zeros((), jnp.float32) for _ in trees)


__all__ = ["global_norm", "global_norms_if"]
