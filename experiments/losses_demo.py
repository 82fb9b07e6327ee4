r"""Evaluates jgen's GAN losses where their values are known in closed form.

For data P = N(0.6, 1) and model Q = N(0, 1) it feeds each f-divergence's optimal
critic, as raw logits, to `jgen.losses.f_gan_discriminator_loss` and prints the
resulting variational bound beside D_f(P‖Q) by numerical integration, then the
minimax value at D* = p/(p + q) beside 2·JSD − log 4. Runs offline in seconds:

  python -m experiments.losses_demo
"""

import math

from absl import app
import jax
import jax.numpy as jnp
import numpy as np

from jgen import losses

_MEAN_P = 0.6


def _log_ratio(x):
  return -0.5 * (x - _MEAN_P) ** 2 + 0.5 * x**2  # log p(x) − log q(x).


def _inverse_activation(div, t, lo=-60.0, hi=60.0, iters=200):
  """g_f⁻¹(t) by bisection: every g_f is increasing."""
  lo, hi = jnp.full_like(t, lo), jnp.full_like(t, hi)
  for _ in range(iters):
    mid = 0.5 * (lo + hi)
    below = div.activation(mid) < t
    lo, hi = jnp.where(below, mid, lo), jnp.where(below, hi, mid)
  return 0.5 * (lo + hi)


def main(argv):
  del argv
  with jax.enable_x64(True):
    _print_table()


def _print_table():
  n = 100_000
  u = (np.arange(n) + 0.5) / n
  z = jax.scipy.special.ndtri(jnp.asarray(u))  # Normal quantiles: midpoint quadrature.
  x_p, x_q = jnp.asarray(z + _MEAN_P), jnp.asarray(z)
  grid = jnp.linspace(-12.0, 12.0, 200_001)
  q_grid, ratio_grid = jnp.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi), jnp.exp(_log_ratio(grid))

  print(f"{'divergence':>22} {'D_f by quadrature':>18} {'-f_gan_discriminator_loss(V*)':>30}")
  cases = [(name, {}) for name in losses.F_DIVERGENCES if name != "alpha"]
  cases += [("alpha", {"alpha": -1.0}), ("alpha", {"alpha": 2.0})]
  for name, params in cases:
    div = losses.get_f_divergence(name, **params)
    d_f = float(jnp.trapezoid(q_grid * div.f(ratio_grid), grid))
    v_p = _inverse_activation(div, div.f_prime(jnp.exp(_log_ratio(x_p))))
    v_q = _inverse_activation(div, div.f_prime(jnp.exp(_log_ratio(x_q))))
    bound = -float(losses.f_gan_discriminator_loss(v_p, v_q, name, **params))
    label = name + "".join(f"({k}={v})" for k, v in params.items())
    print(f"{label:>22} {d_f:18.6f} {bound:30.6f}")

  value = -float(losses.minimax_discriminator_loss(_log_ratio(x_p), _log_ratio(x_q)))
  js = float(jnp.trapezoid(q_grid * losses.get_f_divergence("jensen_shannon").f(ratio_grid), grid))
  print(f"\nminimax value at D*: {value:.6f}   2·JSD − log 4: {js - math.log(4):.6f}")


if __name__ == "__main__":
  app.run(main)
