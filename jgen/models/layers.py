"""Layers shared by jgen's models."""

from collections.abc import Callable
import functools
from typing import Any

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp

from jgen.typing import Array

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


def _depth_to_space(z: Array, features: int) -> Array:
  """(N, H, W, 2·2·O) with channels ordered (py, px, o) → (N, 2H, 2W, O)."""
  n, h, w, _ = z.shape
  z = z.reshape(n, h, w, 2, 2, features).transpose(0, 1, 3, 2, 4, 5)
  return z.reshape(n, 2 * h, 2 * w, features)


def _phase_conv_transpose(x: Array, kernel: Array, precision: Any = None) -> Array:
  """``lax.conv_transpose(x, kernel, (2, 2), 'SAME')`` for a 4×4 kernel, as four 2×2 convs.

  Per axis, the stride-2 transposed convolution with padding (2, 2) gives
  ``y[2a] = x[a−1]·K[0] + x[a]·K[2]`` and ``y[2a+1] = x[a]·K[1] + x[a+1]·K[3]``: output
  phase ``p`` is an ordinary 2-tap correlation with taps ``K[p], K[p+2]``. In 2-D the
  four phases (py, px) are four 2×2 convolutions with sub-kernels
  ``K[py::2, px::2]``, interleaved by depth-to-space (Shi et al. 2016).
  """
  phases = []
  for py in (0, 1):
    for px in (0, 1):
      padding = ((1 - py, py), (1 - px, px))
      phases.append(lax.conv_general_dilated(
          x, kernel[py::2, px::2], (1, 1), padding,
          dimension_numbers=_DIMENSION_NUMBERS, precision=precision))
  z = jnp.concatenate(phases, axis=-1)  # Channels ordered (py, px, o).
  return _depth_to_space(z, kernel.shape[-1])


def _conv_transpose(x: Array, kernel: Array, precision: Any = None) -> Array:
  return lax.conv_transpose(x, kernel, (2, 2), "SAME", dimension_numbers=_DIMENSION_NUMBERS,
                            precision=precision)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def subpixel_conv_transpose(x: Array, kernel: Array, precision: Any = None) -> Array:
  """A 4×4 stride-2 'SAME' transposed convolution whose kernel gradient uses sub-pixel phases.

  The value is ``lax.conv_transpose(x, kernel, (2, 2), 'SAME')``, as is the input
  gradient (both fast on every backend). The kernel gradient is the gradient of the
  equal four-phase form (``_phase_conv_transpose``): XLA:CPU computes
  ``conv_transpose``'s own kernel gradient through a slow generic path (~90 ms for
  128→64 channels at 7×7, batch 64, against ~8 ms for the phase form).

  A ``custom_vjp`` function: reverse-mode only (``jax.grad``, ``vjp``); for forward
  mode (``jax.jvp``, ``jacfwd``) use ``nn.ConvTranspose`` (DCGAN: ``use_subpixel=False``).

  Args:
    x: (N, H, W, I) inputs.
    kernel: (4, 4, I, O) kernel, flax ``ConvTranspose`` layout (not flipped).
    precision: passed to the convolutions.

  Returns:
    (N, 2H, 2W, O).
  """
  return _conv_transpose(x, kernel, precision)


def _forward(x, kernel, precision):
  return _conv_transpose(x, kernel, precision), (x, kernel)


def _backward(precision, residuals, g):
  x, kernel = residuals
  _, x_vjp = jax.vjp(lambda x: _conv_transpose(x, kernel, precision), x)
  _, kernel_vjp = jax.vjp(lambda k: _phase_conv_transpose(x, k, precision), kernel)
  return x_vjp(g)[0], kernel_vjp(g)[0]


subpixel_conv_transpose.defvjp(_forward, _backward)


class SubPixelConvTranspose(nn.Module):
  """A 4×4 stride-2 transposed convolution (H, W) → (2H, 2W), computed by sub-pixel phases.

  The same function and parameters (``kernel`` (4, 4, in, out), ``bias`` (out,)) as
  ``nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')``, which is
  PyTorch's ``ConvTranspose2d(in, out, 4, stride=2, padding=1)`` up to the kernel's
  spatial flip. Why: XLA:CPU computes ConvTranspose's kernel gradient through a slow
  generic path (~90 ms for 128→64 channels at 7×7, batch 64); here that gradient is
  taken through the layer's four-phase (sub-pixel) form, four ordinary 2×2
  convolutions, while the value and the input gradient stay ``conv_transpose``'s.

  Attributes:
    features: output channels.
    use_bias: add a bias.
    kernel_init, bias_init: initialisers, as in ``nn.ConvTranspose``.
    precision: convolution precision.

  References:
    Shi et al. Real-Time Single Image and Video Super-Resolution Using an Efficient
    Sub-Pixel Convolutional Neural Network. CVPR 2016. arXiv:1609.05158.
  """

  features: int
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()
  precision: Any = None

  @nn.compact
  def __call__(self, x: Array) -> Array:
    if x.ndim != 4:
      raise ValueError(f"SubPixelConvTranspose expects (N, H, W, C) inputs; got {x.shape}.")
    kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
    y = subpixel_conv_transpose(x, kernel, self.precision)
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,))
    return y


def spectral_normalized(layer: nn.Module, update_stats: bool, enabled: bool = True,
                        name: str | None = None) -> Callable[..., Array]:
  """``layer``, or ``layer`` with spectrally normalised weights (`nn.SpectralNorm`).

  Call inside a module's compact method. The power-iteration vector ``u`` and the
  estimate ``σ`` live in the ``batch_stats`` collection (never seen by an optimizer)
  and change only when ``update_stats`` (training steps; never when sampling or
  evaluating). Every weight of ≥ 2 dimensions is divided by its largest singular value
  (``W / σ(W)``, a conv kernel read as a ``(k_h·k_w·C_in, C_out)`` matrix); biases are
  untouched. The layer's parameters keep their names either way.

  Args:
    layer: an unbound module (e.g. ``nn.Dense(128)``).
    update_stats: take one power-iteration step and store it.
    enabled: False returns ``layer`` unchanged.
    name: the wrapper's name (None: automatic).

  Returns:
    A callable with ``layer``'s call signature.

  References:
    Miyato, Kataoka, Koyama, Yoshida. Spectral Normalization for Generative Adversarial
    Networks. ICLR 2018. arXiv:1802.05957.
  """
  if not enabled:
    return layer
  wrapped = nn.SpectralNorm(layer, name=name)
  return functools.partial(wrapped, update_stats=update_stats)
