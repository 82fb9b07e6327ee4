"""2-D toy densities, generated in code: Gaussian mixtures and the flow benchmarks' shapes.

*Mixtures* (`TOY_DATASETS`, mode-collapse experiments and flows): a uniform mixture of
``K`` isotropic Gaussians with a shared standard deviation ``σ``,

    p(x) = (1/K) Σ_k N(x; μ_k, σ² I₂).

- ``ring8``: 8 modes on a circle of radius 2 at angles ``2πk/8``, ``σ = 0.02``
  (Metz et al. 2017; VEEGAN and PacGAN use the same ring).
- ``grid25``: the 25 modes of the 5×5 grid ``{−4, −2, 0, 2, 4}²``, ``σ = 0.05``
  (Srivastava et al. 2017; Lin et al. 2018).
- ``eight_gaussians``: FFJORD's 8 modes at radius ``2√2`` (angles ``2πk/8``),
  ``σ = 0.5/√2`` (Grathwohl et al. 2019, ``toy_data.py``).

*Shapes* (`TOY_SHAPES`, the normalizing-flow benchmarks of FFJORD and NSF):

- ``two_moons``: scikit-learn's two interleaved half circles with noise ``0.1``,
  scaled ×2 and shifted by ``(−1, −0.2)``;
- ``checkerboard``: uniform on 8 of the 16 squares of side 2 tiling ``[−4, 4]²``
  (density ``1/32`` on them);
- ``pinwheel``: 5 arms, radial std 0.3, tangential std 0.1, rate 0.25, scaled ×2
  (Johnson et al. 2016).

`toy_log_prob` gives the exact density where it has a closed form (the mixtures and
the checkerboard), so a learned density's test NLL can be set beside the data's own.
The mode arrays are read-only, so a caller cannot shift a benchmark by accident.

References:
  Grathwohl, Chen, Bettencourt, Sutskever, Duvenaud. FFJORD: Free-form Continuous
  Dynamics for Scalable Reversible Generative Models. ICLR 2019. arXiv:1810.01367.
  Johnson, Duvenaud, Wiltschko, Datta, Adams. Composing graphical models with neural
  networks for structured representations and fast inference. NeurIPS 2016.
  arXiv:1603.06277.
  Metz, Poole, Pfau, Sohl-Dickstein. Unrolled Generative Adversarial Networks.
  ICLR 2017. arXiv:1611.02163.
  Srivastava, Valkov, Russell, Gutmann, Sutton. VEEGAN: Reducing Mode Collapse in
  GANs using Implicit Variational Learning. NeurIPS 2017. arXiv:1705.07761.
  Lin, Khetan, Fanti, Oh. PacGAN: The Power of Two Samples in Generative
  Adversarial Networks. NeurIPS 2018. arXiv:1712.04086.
"""

from collections.abc import Mapping
import math
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

# (8, 2): mode k at 2√2·(cos 2πk/8, sin 2πk/8).
EIGHT_GAUSSIANS_MODES = _read_only(_ring(8, 2.0 * math.sqrt(2.0)).astype(np.float32))
EIGHT_GAUSSIANS_STD = 0.5 / math.sqrt(2.0)

# The mixtures: name -> (modes (K, 2) float32, std).
TOY_DATASETS: Mapping[str, tuple[np.ndarray, float]] = types.MappingProxyType({
    "ring8": (RING8_MODES, RING8_STD),
    "grid25": (GRID25_MODES, GRID25_STD),
    "eight_gaussians": (EIGHT_GAUSSIANS_MODES, EIGHT_GAUSSIANS_STD),
})


def _two_moons(rng: np.random.Generator, n: int) -> np.ndarray:
  t = rng.uniform(0.0, math.pi, n)
  upper = rng.integers(0, 2, n).astype(bool)
  x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
  y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
  points = np.stack([x, y], -1) + 0.1 * rng.standard_normal((n, 2))
  return 2.0 * points + np.array([-1.0, -0.2])


def _checkerboard(rng: np.random.Generator, n: int) -> np.ndarray:
  x1 = rng.uniform(-2.0, 2.0, n)
  x2 = rng.uniform(0.0, 1.0, n) - 2.0 * rng.integers(0, 2, n) + np.floor(x1) % 2
  return 2.0 * np.stack([x1, x2], -1)


def _pinwheel(rng: np.random.Generator, n: int, arms: int = 5, radial_std: float = 0.3,
              tangential_std: float = 0.1, rate: float = 0.25) -> np.ndarray:
  arm = rng.integers(0, arms, n)
  features = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
  features[:, 0] += 1.0
  angle = 2.0 * math.pi * arm / arms + rate * np.exp(features[:, 0])
  c, s = np.cos(angle), np.sin(angle)
  return 2.0 * np.stack([c * features[:, 0] - s * features[:, 1],
                         s * features[:, 0] + c * features[:, 1]], -1)


# The shapes: name -> sampler (rng, n) -> (n, 2) float64.
TOY_SHAPES = types.MappingProxyType({
    "two_moons": _two_moons, "checkerboard": _checkerboard, "pinwheel": _pinwheel})
# Every toy name.
TOY_NAMES = (*TOY_DATASETS, *TOY_SHAPES)


def sample_toy(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
  """Draws ``n`` points from a 2-D toy.

  For a mixture, ``x_i = μ_{k_i} + σ ε_i`` with ``k_i ~ Uniform{0, ..., K−1}`` and
  ``ε_i ~ N(0, I₂)``: the mode indices are drawn first (one ``rng.integers`` call),
  then the noise (one ``rng.standard_normal`` call). Every toy draws from ``rng``
  only, so a generator in a given state always yields the same points.

  Args:
    name: one of ``TOY_NAMES``.
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
  _check_toy(name)
  if n < 0:
    raise ValueError(f"n must be non-negative; got {n}.")
  if name in TOY_SHAPES:
    return TOY_SHAPES[name](rng, n).astype(np.float32)
  modes, std = TOY_DATASETS[name]
  k = rng.integers(0, len(modes), size=n)
  noise = rng.standard_normal((n, 2))
  return (modes[k] + std * noise).astype(np.float32)


def _check_toy(name: str) -> None:
  if name not in TOY_NAMES:
    raise ValueError(f"Unknown toy dataset {name!r}; valid names: {', '.join(TOY_NAMES)}.")


# Toys whose density has a closed form (`toy_log_prob`).
TOYS_WITH_DENSITY = (*TOY_DATASETS, "checkerboard")


def toy_log_prob(name: str, x: np.ndarray) -> np.ndarray:
  """The exact log-density ``log p(x)`` of a toy, in nats, float64.

  Mixtures: ``log (1/K) Σ_k N(x; μ_k, σ² I₂)`` (a stable log-sum-exp). Checkerboard:
  ``log(1/32)`` on its 8 squares of area 4 and ``−∞`` elsewhere. The mean of
  ``−toy_log_prob`` over fresh samples estimates the data's entropy, the lowest
  expected test NLL any model can reach.

  Args:
    name: one of ``TOYS_WITH_DENSITY``.
    x: ``(N, 2)`` points.

  Returns:
    ``(N,)`` float64.

  Raises:
    ValueError: for a toy without a closed-form density (two moons, pinwheel) or an
      unknown name.
  """
  _check_toy(name)
  x = np.asarray(x, np.float64)
  if name == "checkerboard":
    x1, x2 = np.floor(x[:, 0] / 2.0), np.floor(x[:, 1] / 2.0)
    inside = (np.abs(x) <= 4.0).all(-1) & ((x1 + x2) % 2 == 0)
    return np.where(inside, -math.log(32.0), -np.inf)
  if name not in TOY_DATASETS:
    raise ValueError(f"toy_log_prob: {name!r} has no closed-form density; "
                     f"valid names: {', '.join(TOYS_WITH_DENSITY)}.")
  modes, std = TOY_DATASETS[name]
  sq = ((x[:, None, :] - modes[None].astype(np.float64)) ** 2).sum(-1)  # (N, K)
  log_terms = -0.5 * sq / std**2 - math.log(2.0 * math.pi * std**2)
  top = log_terms.max(1)
  return top + np.log(np.exp(log_terms - top[:, None]).mean(1))
