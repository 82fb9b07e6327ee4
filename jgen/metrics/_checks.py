"""The input check every feature-space metric shares: feature arrays of one dimension."""

import jax
import jax.numpy as jnp

from jgen.typing import Array
from jgen.typing import ArrayLike


def feature_sets(named: dict[str, ArrayLike], *, min_points: int = 1, caller: str = "",
                 finite: bool = True) -> list[Array]:
  """``named`` feature arrays as float32, after checking each is ``(N_i, D)``, one ``D``.

  Args:
    named: ``{argument name: features}``, in the caller's argument order.
    min_points: the fewest rows each array may have.
    caller: prefixed to the messages (``'mmd_permutation_test: '``).
    finite: whether to reject NaN and inf (``False`` where NaN should propagate to a
      NaN result, as the two-sample tests do for a diverged generator).

  Raises:
    ValueError: naming the argument that is not 2-D, has a different ``D``, has fewer
      than ``min_points`` rows, or (``finite``, and not traced) non-finite values.
  """
  prefix = f"{caller}: " if caller else ""
  arrays = {name: jnp.asarray(x, jnp.float32) for name, x in named.items()}
  for name, x in arrays.items():
    if x.ndim != 2:
      raise ValueError(f"{prefix}{name} must be 2-D features (N, D) (flatten images "
                       f"first); got shape {x.shape}.")
  dims = {name: x.shape[1] for name, x in arrays.items()}
  if len(set(dims.values())) > 1:
    shapes = ", ".join(f"{name} {x.shape}" for name, x in arrays.items())
    raise ValueError(f"{prefix}the features must have the same feature dimension D; "
                     f"got {shapes}.")
  for name, x in arrays.items():
    if x.shape[0] < min_points:
      rows = f"{x.shape[0]} row" + ("" if x.shape[0] == 1 else "s")
      points = f"{min_points} point" + ("" if min_points == 1 else "s")
      raise ValueError(f"{prefix}{name} has {rows}; need at least {points}.")
    if finite and not isinstance(x, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(x))):
      raise ValueError(f"{prefix}{name} has non-finite values (NaN or inf).")
  return list(arrays.values())


__all__ = ["feature_sets"]
