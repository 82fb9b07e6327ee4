"""2-D mixture-of-Gaussians toys for mode-collapse experiments, generated in code.

Each toy is a uniform mixture of ``K`` isotropic Gaussians with a shared standard
deviation ``σ``:

    p(x) = (1/K) Σ_k N(x; μ_k, σ² I₂).

- ``ring8``: 8 modes on a circle of radius 2 at angles ``2πk/8``, ``σ = 0.02``
  (Metz et al. 2017; VEEGAN and PacGAN use the same ring).
- ``grid25``: the 25 modes of the 5×5 grid ``{−4, −2, 0, 2, 4}²``, ``σ = 0.05``
  (Srivastava et al. 2017; Lin et al. 2018).

The mode arrays are read-only, so a caller cannot shift a benchmark by accident.

References:
  Metz, Poole, Pfau, Sohl-Dickstein. Unrolled Generative Adversarial Networks.
  ICLR 2017. arXiv:1611.02163.
  Srivastava, Valkov, Russell, Gutmann, Sutton. VEEGAN: Reducing Mode Collapse in
  GANs using Implicit Variational Learning. NeurIPS 2017. arXiv:1705.07761.
  Lin, Khetan, Fanti, Oh. PacGAN: The Power of Two Samples in Generative
  Adversarial Networks. NeurIPS 2018. arXiv:1712.04086.
"""

from collections.abc import Mapping
import types

import numpy as np


def _read_only(array: np.ndarray) -> np.ndarray:
  array.flags.writeable = False
  return array


def _ring(num_modes: int, radius: float) -> np.ndarray:
  angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
  return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=-1)


def _grid(values: tuple[float, ...]) -> np.ndarray:
  xs, ys = np.meshgrid(values, values, indexing="ij")
  return np.stack([xs.ravel(), ys.ravel()], axis=-1)


# (8, 2): mode k at 2·(cos 2πk/8, sin 2πk/8).
RING8_MODES = _read_only(_ring(8, 2.0).astype(np.float32))
RING8_STD = 0.02
# (25, 2): row-major over the first coordinate, (−4, −4), (−4, −2), ..., (4, 4).
GRID25_MODES = _read_only(_grid((-4.0, -2.0, 0.0, 2.0, 4.0)).astype(np.float32))
GRID25_STD = 0.05

# name -> (modes (K, 2) float32, std).
TOY_DATASETS: Mapping[str, tuple[np.ndarray, float]] = types.MappingProxyType({
    "ring8": (RING8_MODES, RING8_STD),
    "grid25": (GRID25_MODES, GRID25_STD),
})


def sample_toy(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
  """Draws ``n`` points from a 2-D mixture-of-Gaussians toy.

  ``x_i = μ_{k_i} + σ ε_i`` with ``k_i ~ Uniform{0, ..., K−1}`` and
  ``ε_i ~ N(0, I₂)``. The mode indices are drawn first (one ``rng.integers`` call),
  then the noise (one ``rng.standard_normal`` call), so a generator in a given state
  always yields the same points.

  Args:
    name: a key of ``TOY_DATASETS`` (``'ring8'`` or ``'grid25'``).
    rng: the NumPy generator to draw from (advanced in place).
    n: number of points, ``n ≥ 0``.

  Returns:
    ``(n, 2)`` float32 points.

  Raises:
    ValueError: on an unknown name or a negative ``n``.

  References:
    Metz et al. Unrolled Generative Adversarial Networks. ICLR 2017.
    arXiv:1611.02163.

  Example:
    >>> import numpy as np
    >>> from jgen import data
    >>> x = data.sample_toy("ring8", np.random.default_rng(0), 5)
    >>> x.shape, x.dtype
    ((5, 2), dtype('float32'))
  """
  if name not in TOY_DATASETS:
    raise ValueError(
        f"Unknown toy dataset {name!r}; valid names: {', '.join(TOY_DATASETS)}.")
  if n < 0:
    raise ValueError(f"n must be non-negative; got {n}.")
  modes, std = TOY_DATASETS[name]
  k = rng.integers(0, len(modes), size=n)
  noise = rng.standard_normal((n, 2))
  return (modes[k] + std * noise).astype(np.float32)
