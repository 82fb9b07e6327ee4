"""Type aliases shared across jgen."""

from typing import Any

import jax

ArrayLike = jax.typing.ArrayLike
Array = jax.Array
# A typed key from `jax.random.key(seed)`.
PRNGKey = jax.Array
# A Flax variable collection or any pytree of arrays.
Params = Any
PyTree = Any
