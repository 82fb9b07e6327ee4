r"""jgen's default train steps in PyTorch eager (2 threads, float32), as speed references.

  /work/torchvenv/bin/python benchmarks/torch_steps.py --model=NAME [--steps=20] [--batch=B]

Needs torch (not a jgen dependency). Each NAME mirrors a jgen config layer for layer:
the same widths, kernels, strides, norms, activations, likelihood, loss and number of
forward/backward passes, Adam with the config's learning rate (schedules are left out:
they do not change a step's cost). The inputs are what jgen's benchmarks feed: random
uint8 images of the dataset's shape (0/1 for binarized MNIST, 0..255 otherwise; labels
0..9 for class-conditional models), preprocessed inside the timed step as jgen's task
does. Prints one JSON line: ms per step, examples/s and the number of trainable
parameters, which equals jgen's count of the same config (spectral-norm vectors and
batch-norm statistics are state, not parameters, on both sides).

  vae             vae_binarized_mnist.py: MLP 784-512-512-50, Bernoulli decoder, one
                  reparameterised sample, batch 100.
  iwae            vae_binarized_mnist.py:iwae: the same with k = 5 samples decoded as one
                  k·B batch, the IWAE bound by logsumexp.
  conv_vae        vae_fashion_mnist.py: 4×4 stride-2 convs 32 → 64, 32 latents, 4×4
                  stride-2 transposed convs back, discretized logistic on [−1, 1].
  vqvae           vqvae_fashion_mnist.py: 128-wide encoder/decoder with two residual
                  blocks each, learned 512 × 64 codebook, straight-through, β = 0.25,
                  unit-variance Gaussian decoder on x/255, batch 64.
  nade            nade_binarized_mnist.py: NADE(500), jgen's default 'scan' recursion.
  made            made_binarized_mnist.py: MADE(500), one fixed mask (natural order).
  pixelcnn        pixelcnn.py: the PixelCNN of benchmarks/pixelcnn_torch_reference.py.
  gated_pixelcnn  pixelcnn.py:gated: 8 gated layers of 32 features, 7 then 3 kernels.
  row_lstm        pixelcnn.py:row_lstm: 7×7 mask A, 2 Row LSTM layers of 32 (1×3
                  kernels), a Python loop over the 28 rows.
  diagonal_bilstm pixelcnn.py:diagonal_bilstm: 7×7 mask A, 2 Diagonal BiLSTM layers of
                  32, a Python loop over the 55 diagonals, both directions at once.
  dcgan           dcgan_mnist.py: the players of benchmarks/dcgan_torch_reference.py.
  sngan           gan_zoo.py:sngan: DCGAN with spectral norm on D, hinge loss.
  biggan          gan_zoo.py:biggan: BigGAN-mini (ch 8), n_critic 2, orthogonal reg.
  realnvp_mlp, maf, realnvp, glow
                  flow_images.py: the flows of benchmarks/flows_torch_reference.py.

The GAN steps follow `jgen.train.gan_step`: one differentiated generator pass serves
the last D update and the G update, earlier critic updates draw their own samples
(no gradient), G's gradient goes back through the updated D without D's weight
gradients, then the generator EMA (decay 0.999, warmed up). examples/s counts the
64 examples of one D update, as `benchmarks.gan_step` does. (So ``dcgan`` here does a
little more than dcgan_torch_reference.py's own step: the EMA, and the uint8 scaling;
it skips D's weight gradients in the G update.)

Not mirrored, on purpose: the scalar metrics jgen's steps also return (gradient and
parameter norms, VQ perplexity, D's mean outputs), a few ops on the parameters; the
random draws (jgen: per-example threefry keys; here torch's generator); the
initialisation. The PixelCNNs' (and the PixelRNNs' first) masked k×k convolutions run
on the whole masked kernel (the usual PyTorch way); jgen convolves with the rows up to
the centre only, the same function with fewer multiplications, and runs 1×1 ones as
matmuls (so does the Diagonal BiLSTM here: its stream is channels-last, as in jgen).
"""

import argparse
from collections.abc import Callable
import itertools
import json
import math
import pathlib
import sys
import time
from typing import NamedTuple

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

# The existing references live beside this file; import them whether this runs as a
# file or as `python -m benchmarks.torch_steps`.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dcgan_torch_reference  # noqa: E402
import flows_torch_reference  # noqa: E402
import pixelcnn_torch_reference  # noqa: E402

IMAGE = (1, 28, 28)  # MNIST and Fashion-MNIST, NCHW.
LOG_2PI = math.log(2 * math.pi)


class Bench(NamedTuple):
  params: list  # Trainable parameters (all players).
  step: Callable  # step(*batch) -> loss: one full train step (every optimizer update).
  make_batch: Callable  # () -> a tuple of uint8 images (and int64 labels).


# --- Data: what jgen's benchmarks feed, and jgen.data.preprocess_images' kinds. ---


def uint8_images(batch, high):
  return lambda: (torch.randint(0, high, (batch, *IMAGE), dtype=torch.uint8),)


def symmetric(x):  # jgen.data.scale_to_symmetric: [0, 255] → [−1, 1].
  return x.float() / 127.5 - 1


def dequantize(x):  # jgen.data.dequantize_uniform: (x + u)/256, kept below x's upper edge.
  x = x.float()
  upper = (x + 1) / 256
  return torch.minimum((x + torch.rand_like(x)) / 256, torch.nextafter(upper, x.new_zeros(())))


def minimise(params, lr, loss_fn, make_batch):
  """A one-optimizer step: Adam(lr) on ``loss_fn(*batch)``."""
  params = [p for p in params if p.requires_grad]
  opt = torch.optim.Adam(params, lr)

  def step(*batch):
    loss = loss_fn(*batch)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss
  return Bench(params, step, make_batch)


def parameters(*modules):
  return [p for m in modules for p in m.parameters()]


# --- Likelihood terms, as jgen.losses computes them (per example, summed over pixels). ---


def bernoulli_ll(logits, x):  # Σ x·l − softplus(l) over the last axis.
  return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def gaussian_kl(mean, log_var):  # KL(N(μ, σ²) ‖ N(0, I)), with expm1 as jgen.
  return 0.5 * (mean ** 2 + torch.expm1(log_var) - log_var).sum(-1)


def reparameterize(mean, log_var, *sample_shape):
  return mean + torch.exp(0.5 * log_var) * torch.randn(*sample_shape, *mean.shape)


def log1mexp(log_a):  # jgen.losses.vae._log1mexp, branch for branch.
  a = torch.exp(log_a)
  tiny, small = log_a < -20.0, a <= math.log(2.0)
  a_small = torch.where(small & ~tiny, a, 0.5)
  a_large = torch.where(small, 1.0, a)
  return torch.where(tiny, log_a - 0.5 * a, torch.where(
      small, torch.log(-torch.expm1(-a_small)), torch.log1p(-torch.exp(-a_large))))


def discretized_logistic_ll(x, loc, log_scale, num_bins=256):
  """jgen.losses.discretized_logistic_log_likelihood: 8-bit data on [−1, 1]."""
  h = 1.0 / (num_bins - 1)
  inv_scale, centred = torch.exp(-log_scale), x - loc
  log_cdf_upper = F.logsigmoid(inv_scale * (centred + h))
  log_sf_lower = F.logsigmoid(-inv_scale * (centred - h))
  log_interior = log_cdf_upper + log_sf_lower + log1mexp(math.log(2 * h) - log_scale)
  log_probs = torch.where(x < -1 + h, log_cdf_upper,
                          torch.where(x > 1 - h, log_sf_lower, log_interior))
  return log_probs.flatten(1).sum(1)


# --- VAEs (jgen.tasks.vae, jgen.train.vae_step). ---


def mlp(*widths):  # jgen.models.mlp.MLP: [Linear → ReLU]* → Linear.
  layers = [m for a, b in zip(widths[:-1], widths[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
  return nn.Sequential(*layers[:-1])


def vae(batch, num_samples=0):
  """MLPEncoder/MLPDecoder(512, 512), 50 latents: the ELBO (num_samples 0) or IWAE-k."""
  encoder, decoder = mlp(784, 512, 512, 100), mlp(50, 512, 512, 784)

  def loss(images):
    x = images.float().flatten(1)  # 'binary': the stored 0/1 pixels.
    mean, log_var = encoder(x).chunk(2, -1)
    if not num_samples:
      ll = bernoulli_ll(decoder(reparameterize(mean, log_var)), x)
      return -(ll - gaussian_kl(mean, log_var)).mean()
    k = num_samples
    z = reparameterize(mean, log_var, k)  # (k, B, d), decoded as one (k·B) batch.
    logits = decoder(z.flatten(0, 1)).view(k, *x.shape)
    ll = bernoulli_ll(logits, x.expand_as(logits))
    log_prior = -0.5 * (LOG_2PI + z ** 2).sum(-1)
    log_q = -0.5 * (LOG_2PI + log_var + (z - mean) ** 2 * torch.exp(-log_var)).sum(-1)
    return -(torch.logsumexp(ll + log_prior - log_q, 0) - math.log(k)).mean()
  return minimise(parameters(encoder, decoder), 1e-3, loss, uint8_images(batch, 2))


def conv_vae(batch):
  """ConvEncoder/ConvDecoder(base 32), 32 latents, discretized logistic, 'symmetric' data.

  jgen's SubPixelConvTranspose is ConvTranspose2d(4, stride 2, padding 1) computed
  another way (same function, same parameters).
  """
  encoder = nn.Sequential(
      nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
      nn.Flatten(), nn.Linear(7 * 7 * 64, 2 * 32))
  decoder = nn.Sequential(
      nn.Linear(32, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
      nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
      nn.ConvTranspose2d(32, 2, 4, 2, 1))  # Per pixel: loc, log_scale.

  def loss(images):
    x = symmetric(images)
    mean, log_var = encoder(x).chunk(2, -1)
    loc, log_scale = decoder(reparameterize(mean, log_var)).chunk(2, 1)
    return -(discretized_logistic_ll(x, loc, log_scale) - gaussian_kl(mean, log_var)).mean()
  return minimise(parameters(encoder, decoder), 1e-3, loss, uint8_images(batch, 256))


class Residual(nn.Module):
  """jgen.models._common.ResidualBlock: x + Conv1×1(ReLU(Conv3×3(ReLU(x))))."""

  def __init__(self, features):
    super().__init__()
    self.conv3 = nn.Conv2d(features, features, 3, padding=1)
    self.conv1 = nn.Conv2d(features, features, 1)

  def forward(self, x):
    return x + self.conv1(F.relu(self.conv3(F.relu(x))))


def vqvae(batch, features=128, code_dim=64, num_codes=512, commitment_cost=0.25):
  """VQEncoder/VQDecoder(128), a learned Codebook(512, 64), jgen.models.vector_quantize."""
  encoder = nn.Sequential(
      nn.Conv2d(1, features, 4, 2, 1), nn.ReLU(), nn.Conv2d(features, features, 4, 2, 1),
      nn.ReLU(), Residual(features), Residual(features), nn.ReLU(),
      nn.Conv2d(features, code_dim, 1))
  decoder = nn.Sequential(
      nn.Conv2d(code_dim, features, 3, padding=1), Residual(features), Residual(features),
      nn.ReLU(), nn.ConvTranspose2d(features, features, 4, 2, 1), nn.ReLU(),
      nn.ConvTranspose2d(features, 1, 4, 2, 1))  # The mean of a unit-variance Gaussian.
  codebook = nn.Parameter(torch.empty(num_codes, code_dim).uniform_(-1 / num_codes,
                                                                      1 / num_codes))

  def loss(images):
    x = images.float() / 255  # 'unit'.
    z_e = encoder(x)
    b, d, h, w = z_e.shape
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # One vector per position, as NHWC.
    with torch.no_grad():  # Nearest codes: ‖z‖² − 2 z·e + ‖e‖².
      distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ codebook.T
                   + codebook.pow(2).sum(1))
      indices = distances.argmin(1)
    z_q = codebook[indices]
    quantized = flat + (z_q - flat).detach()  # Straight-through.
    codebook_loss = (flat.detach() - z_q).pow(2).sum(1).mean()
    commitment_loss = (flat - z_q.detach()).pow(2).sum(1).mean()
    mean = decoder(quantized.view(b, h, w, d).permute(0, 3, 1, 2).contiguous())
    ll = -0.5 * (LOG_2PI + (x - mean) ** 2).flatten(1).sum(1)
    return -ll.mean() + codebook_loss + commitment_cost * commitment_loss
  return minimise([*parameters(encoder, decoder), codebook], 2e-4, loss,
                  uint8_images(batch, 256))


# --- Autoregressive models (jgen.tasks.likelihood: loss = mean −log p(x)). ---


class NADE(nn.Module):
  """jgen.models.NADE's default 'scan' recursion, one position at a time.

  ``logit_i = b_i + σ(a_i)·V_i``, ``a_{i+1} = a_i + x_i W_i`` from ``a_1 = c``: the
  literal loop that jgen runs as a ``lax.scan`` over the 784 positions.
  """

  def __init__(self, dim=784, hidden=500):
    super().__init__()
    self.W = nn.Parameter(torch.randn(dim, hidden) / math.sqrt(dim))
    self.c = nn.Parameter(torch.zeros(hidden))
    self.V = nn.Parameter(torch.randn(dim, hidden) / math.sqrt(hidden))
    self.b = nn.Parameter(torch.zeros(dim))

  def forward(self, x):
    a = self.c.expand(x.shape[0], -1)
    logits = []
    # unbind: one backward node per tensor; indexing W[i] would add a (D, H) gradient
    # per position.
    for x_i, w_i, v_i in zip(x.unbind(1), self.W.unbind(0), self.V.unbind(0), strict=True):
      logits.append(torch.sigmoid(a) @ v_i)
      a = a + x_i[:, None] * w_i
    return self.b + torch.stack(logits, 1)


def nade(batch):
  model = NADE()

  def loss(images):
    x = images.float().flatten(1)
    return -bernoulli_ll(model(x), x).mean()
  return minimise(model.parameters(), 1e-3, loss, uint8_images(batch, 2))


def made(batch, dim=784, hidden=500):
  """MADE(500): natural ordering, hidden degrees 1 + ⌊k·(D − 1)/H⌋ (jgen.models.made_masks);
  the masks multiply the weights in every pass (flows_torch_reference.MaskedLinear)."""
  m0 = torch.arange(1, dim + 1)
  mh = 1 + torch.arange(hidden) * (dim - 1) // hidden
  model = nn.Sequential(
      flows_torch_reference.MaskedLinear(dim, hidden, (mh[:, None] >= m0[None]).float()),
      nn.ReLU(),
      flows_torch_reference.MaskedLinear(hidden, dim, (m0[:, None] > mh[None]).float()))

  def loss(images):
    x = images.float().flatten(1)
    return -bernoulli_ll(model(x), x).mean()
  return minimise(model.parameters(), 1e-3, loss, uint8_images(batch, 2))


def pixelcnn_bench(model, batch):
  """Bernoulli conditionals on binarized MNIST, Adam(1e-3)."""
  def loss(images):
    x = images.float()
    return -bernoulli_ll(model(x).flatten(1), x.flatten(1)).mean()
  return minimise(model.parameters(), 1e-3, loss, uint8_images(batch, 2))


class VerticalConv(nn.Conv2d):
  """The vertical stack's (r + 1)×(2r + 1) convolution over rows i − r … i (jgen: nn.Conv,
  padding ((r, 0), (r, r)))."""

  def __init__(self, cin, cout, r):
    super().__init__(cin, cout, (r + 1, 2 * r + 1))
    self.r = r

  def forward(self, x):
    return super().forward(F.pad(x, (self.r, self.r, self.r, 0)))


class RowConv(nn.Conv2d):
  """The horizontal stack's 1×(r + 1) MaskedConv2D, centre (0, r): columns j − r … j;
  mask A drops the pixel's own tap. The mask multiplies the kernel in every pass (all
  ones for mask B on one channel, as in jgen)."""

  def __init__(self, cin, cout, r, mask_type):
    super().__init__(cin, cout, (1, r + 1))
    mask = torch.ones_like(self.weight)
    if mask_type == "A":
      mask[..., r] = 0
    self.register_buffer("mask", mask)
    self.r = r

  def forward(self, x):
    return F.conv2d(F.pad(x, (self.r, 0, 0, 0)), self.weight * self.mask, self.bias)


def gate(x):  # tanh(a) ⊙ σ(b), the channels split in halves.
  a, b = x.chunk(2, 1)
  return torch.tanh(a) * torch.sigmoid(b)


class GatedPixelCNN(nn.Module):
  """jgen.models.GatedPixelCNN on one channel, unconditional, Bernoulli head.

  Layer l (radius r: 3 for the first, 1 after): ``v' = VerticalConv(v)``; link =
  1×1(v' shifted down a row); ``u = gate(RowConv(h) + link)``; ``h += 1×1_B(u)`` (no
  residual in the first layer); ``skip += 1×1_B(u)``; ``v = gate(v')``. Head:
  ReLU → 1×1_B(64) → ReLU → 1×1_B(1) on the skips' sum.
  """

  def __init__(self, features=32, num_layers=8, kernel_size=7, layer_kernel_size=3,
               head_hidden=64):
    super().__init__()
    f, masked = features, pixelcnn_torch_reference.MaskedConv2d
    radii = [kernel_size // 2] + [layer_kernel_size // 2] * (num_layers - 1)
    inputs = [1] + [f] * (num_layers - 1)
    self.v_convs = nn.ModuleList(VerticalConv(c, 2 * f, r) for c, r in zip(inputs, radii))
    self.links = nn.ModuleList(nn.Conv2d(2 * f, 2 * f, 1) for _ in radii)
    self.h_convs = nn.ModuleList(RowConv(c, 2 * f, r, "B" if i else "A")
                                 for i, (c, r) in enumerate(zip(inputs, radii)))
    self.skips = nn.ModuleList(masked(f, f, 1, "B") for _ in radii)
    self.h_outs = nn.ModuleList(masked(f, f, 1, "B") for _ in radii)
    self.head = nn.ModuleList([masked(f, head_hidden, 1, "B"), masked(head_hidden, 1, 1, "B")])

  def forward(self, x):
    v = h = x
    skip = 0
    for i in range(len(self.v_convs)):
      v_pre = self.v_convs[i](v)
      link = self.links[i](F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1])  # Rows above only.
      if i + 1 < len(self.v_convs):  # The last layer's gated v is unused (jgen: DCE'd).
        v = gate(v_pre)
      u = gate(self.h_convs[i](h) + link)
      out = self.h_outs[i](u)
      h = out if i == 0 else h + out
      skip = skip + self.skips[i](u)
    return self.head[1](F.relu(self.head[0](F.relu(skip))))


# PixelRNN (jgen.models.pixelrnn) on one channel: the gates o, f, i, g are the four
# quarters of the 4F pre-activations (jgen's channel groups, C = 1).


def lstm_update(gates, cell):  # jgen.models.pixelrnn._lstm_update: (h, c).
  o, f, i, g = gates.chunk(4, -1)
  cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
  return torch.sigmoid(o) * torch.tanh(cell), cell


def pointwise(conv, x):  # A masked 1×1 conv on channels-last x, as jgen runs it: a matmul.
  return F.linear(x, (conv.weight * conv.mask).flatten(1), conv.bias)


class MaskedRowConv(nn.Conv2d):
  """jgen's MaskedConv2D((1, k), 'B') on one channel: a 'SAME' 1×k convolution along the
  row with the taps right of the centre zeroed in every pass (unlike RowConv, all k taps
  are parameters, as in jgen)."""

  def __init__(self, cin, cout, k):
    super().__init__(cin, cout, (1, k), padding=(0, k // 2))
    mask = torch.ones_like(self.weight)
    mask[..., k // 2 + 1:] = 0
    self.register_buffer("mask", mask)

  def forward(self, x):
    return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class RowLSTM(nn.Module):
  """jgen.models.RowLSTM, Bernoulli head.

  ``s = 7×7_A(x)``; per layer the input-to-state gates ``1×k_B(s)`` of the whole image,
  then a loop over the rows (jgen's ``lax.scan``): gates += the k shifted copies of the
  row above's states, concatenated, @ K^{ss} (jgen's ``_conv_row``: one matmul) + b, the
  LSTM update; ``s += 1×1_B(h)``. Head: ReLU → 1×1_B(64) → ReLU → 1×1_B(1).
  """

  def __init__(self, features=32, num_layers=2, kernel_size=3, first_kernel_size=7,
               head_hidden=64):
    super().__init__()
    f, k, masked = features, kernel_size, pixelcnn_torch_reference.MaskedConv2d
    layers, self.r = range(num_layers), k // 2
    self.first = masked(1, f, first_kernel_size, "A")
    self.input_convs = nn.ModuleList(MaskedRowConv(f, 4 * f, k) for _ in layers)
    # jgen's (k, F, 4F) kernels, kept as the (k·F, 4F) matrix the matmul reads.
    self.state_kernels = nn.ParameterList(
        nn.Parameter(torch.randn(k * f, 4 * f) / math.sqrt(k * f)) for _ in layers)
    self.state_biases = nn.ParameterList(nn.Parameter(torch.zeros(4 * f)) for _ in layers)
    self.outs = nn.ModuleList(masked(f, f, 1, "B") for _ in layers)
    self.head = nn.ModuleList([masked(f, head_hidden, 1, "B"), masked(head_hidden, 1, 1, "B")])

  def forward(self, x):
    s = self.first(x)
    (n, f, _, width), r = s.shape, self.r
    for conv, kernel, bias, out in zip(self.input_convs, self.state_kernels,
                                       self.state_biases, self.outs, strict=True):
      h = cell = s.new_zeros(n, width, f)
      hs = []
      for gates_in in conv(s).permute(2, 0, 3, 1).unbind(0):  # Rows (N, W, 4F).
        padded = F.pad(h, (0, 0, r, r))
        windows = torch.cat([padded[:, t:t + width] for t in range(2 * r + 1)], -1)
        h, cell = lstm_update(gates_in + windows @ kernel + bias, cell)
        hs.append(h)
      s = s + out(torch.stack(hs, 1).permute(0, 3, 1, 2))
    return self.head[1](F.relu(self.head[0](F.relu(s))))


def skew(x):  # (…, H, W, F) → (…, H, W+H−1, F), row i shifted right by i (jgen's _skew).
  *lead, h, w, f = x.shape
  x = F.pad(x, (0, 0, 0, h)).reshape(*lead, h * (w + h), f)
  return x[..., :h * (w + h - 1), :].reshape(*lead, h, w + h - 1, f)


def unskew(x, width):  # The inverse of skew (jgen's _unskew).
  *lead, h, _, f = x.shape
  x = F.pad(x.reshape(*lead, h * (width + h - 1), f), (0, 0, 0, h))
  return x.reshape(*lead, h, width + h, f)[..., :width, :]


def shift_down(x, dim):  # Row i ← row i − 1 along dim, zeros in row 0 (jgen's _shift_down).
  return F.pad(x, (0, 0) * (x.ndim - 1 - dim) + (1, 0)).narrow(dim, 0, x.shape[dim])


class DiagonalBiLSTM(nn.Module):
  """jgen.models.DiagonalBiLSTM, Bernoulli head, channels-last after the first conv (as
  jgen: every later op is a matmul over the features).

  ``s = 7×7_A(x)``; per layer the left-to-right gates ``1×1_B(s)`` and the right-to-left
  ones ``Linear([s, x])`` (mirrored), stacked and skewed; a loop over the 55 skewed
  columns (jgen's ``lax.scan``) runs both directions at once: gates += [h shifted down a
  row, h] @ K^{ss}_d + b_d (one batched matmul), the LSTM update, zeros outside the
  image; unskewed, ``s += 1×1_B(h_→ + h_← shifted down a row)``. Head as RowLSTM's.
  """

  def __init__(self, features=32, num_layers=2, first_kernel_size=7, head_hidden=64):
    super().__init__()
    f, masked = features, pixelcnn_torch_reference.MaskedConv2d
    layers = range(num_layers)
    self.first = masked(1, f, first_kernel_size, "A")
    self.lr_inputs = nn.ModuleList(masked(f, 4 * f, 1, "B") for _ in layers)
    self.rl_inputs = nn.ModuleList(nn.Linear(f + 1, 4 * f) for _ in layers)
    # Per direction (→, ←), the 2×1 kernel over [the state above, the state beside].
    self.state_kernels = nn.ParameterList(
        nn.Parameter(torch.randn(2, 2 * f, 4 * f) / math.sqrt(2 * f)) for _ in layers)
    self.state_biases = nn.ParameterList(nn.Parameter(torch.zeros(2, 4 * f)) for _ in layers)
    self.outs = nn.ModuleList(masked(f, f, 1, "B") for _ in layers)
    self.head = nn.ModuleList([masked(f, head_hidden, 1, "B"), masked(head_hidden, 1, 1, "B")])

  def forward(self, x):
    pixels = x.permute(0, 2, 3, 1)
    s = self.first(x).permute(0, 2, 3, 1)
    for lr_input, rl_input, kernel, bias, out in zip(
        self.lr_inputs, self.rl_inputs, self.state_kernels, self.state_biases, self.outs,
        strict=True):
      gates_in = torch.stack([pointwise(lr_input, s),
                              rl_input(torch.cat([s, pixels], -1)).flip(2)])
      lr, rl = self._diagonal_lstms(kernel, bias, gates_in)
      s = s + pointwise(out, lr + shift_down(rl.flip(2), 1))
    logits = pointwise(self.head[1], F.relu(pointwise(self.head[0], F.relu(s))))
    return logits.permute(0, 3, 1, 2)

  @staticmethod
  def _diagonal_lstms(kernel, bias, gates_in):
    """(2, N, H, W, 4F) gates → both directions' states (2, N, H, W, F)."""
    _, n, height, width, _ = gates_in.shape
    inside = skew(gates_in.new_ones(height, width, 1))  # 1 on the image, 0 around it.
    h = cell = gates_in.new_zeros(2, n, height, kernel.shape[1] // 2)
    hs = []
    for g_in, valid in zip(skew(gates_in).unbind(3), inside.unbind(1), strict=True):
      # h is the previous diagonal: (i, j−1) in row i, (i−1, j) one row down.
      neighbours = torch.cat([shift_down(h, 2), h], -1)
      gates = g_in + torch.einsum("dnhf,dfg->dnhg", neighbours, kernel) + bias[:, None, None]
      h, cell = lstm_update(gates, cell)
      h, cell = h * valid, cell * valid  # States outside the image stay zero.
      hs.append(h)
    return unskew(torch.stack(hs, 3), width).unbind(0)


# --- GANs (jgen.tasks.gan, jgen.train.gan_step). ---


# Per loss: (discriminator loss of (real, fake) outputs, generator loss of fake outputs).
GAN_LOSSES = {
    "hinge": (lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
              lambda fake: -fake.mean()),
    "non_saturating": (lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
                       lambda fake: F.softplus(-fake).mean()),
}


def orthogonal_penalty(generator, exclude):
  """BigGAN's Σ_W ‖WWᵀ ⊙ (1 − I)‖²_F (jgen.losses.orthogonal_regularization) over G's raw
  weights of ≥ 2 dims, each read as (filters, fan-in); parameters named ``exclude…``
  (the class embedding) left out."""
  pairs = [(w, 1 - torch.eye(w.shape[0])) for name, w in generator.named_parameters()
           if w.ndim >= 2 and not name.startswith(exclude)]

  def penalty():
    total = 0
    for w, off_diagonal in pairs:
      w = w.flatten(1)
      total = total + ((w @ w.T) * off_diagonal).pow(2).sum()
    return total
  return penalty


def gan(generator, discriminator, batch, *, loss, latent, lr, betas, n_critic=1,
        num_classes=0, orthogonal_weight=0.0, ema_decay=0.999):
  """One jgen GAN step: n_critic D updates, one G update, the generator EMA.

  ``lr`` is (G's, D's). Both players stay in training mode throughout: batch statistics
  in G, and one power iteration per spectral-normed weight in every call of either
  player, as flax's SpectralNorm does in every call (jgen's G update runs D with
  ``train=False``, which only skips storing the iterate).
  """
  g_params, d_params = parameters(generator), parameters(discriminator)
  g_opt = torch.optim.Adam(g_params, lr[0], betas=betas)
  d_opt = torch.optim.Adam(d_params, lr[1], betas=betas)
  d_loss_fn, g_loss_fn = GAN_LOSSES[loss]
  ortho = orthogonal_penalty(generator, "shared") if orthogonal_weight else None
  ema, step_count = [p.detach().clone() for p in g_params], itertools.count()

  def generate(z, labels):
    return generator(z, labels) if num_classes else generator(z)

  def score(x, labels):  # (B,) raw outputs.
    return (discriminator(x, labels) if num_classes else discriminator(x)).view(-1)

  def draw():
    return (torch.randn(batch, latent),
            torch.randint(0, num_classes, (batch,)) if num_classes else None)

  def step(images, labels=None):
    real = symmetric(images)  # (n_critic, B, C, H, W).
    z, g_labels = draw()
    fake = generate(z, g_labels)  # Kept for the G update.
    for i in range(n_critic):
      if i == n_critic - 1:
        d_fake, d_labels = fake.detach(), g_labels
      else:  # Earlier critic updates: their own samples, no gradient.
        z_i, d_labels = draw()
        with torch.no_grad():
          d_fake = generate(z_i, d_labels)
      d_loss = d_loss_fn(score(real[i], None if labels is None else labels[i]),
                         score(d_fake, d_labels))
      d_opt.zero_grad(set_to_none=True)
      d_loss.backward()
      d_opt.step()
    g_loss = g_loss_fn(score(fake, g_labels))
    if ortho:
      g_loss = g_loss + orthogonal_weight * ortho()
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward(inputs=g_params)  # Through D, without D's weight gradients.
    g_opt.step()
    with torch.no_grad():  # jgen's warmed-up EMA: decay min(0.999, (1 + t)/(10 + t)).
      t = next(step_count)
      torch._foreach_lerp_(ema, g_params, 1 - min(ema_decay, (1 + t) / (10 + t)))
    return g_loss

  def make_batch():
    images = torch.randint(0, 256, (n_critic, batch, *IMAGE), dtype=torch.uint8)
    return (images, torch.randint(0, 10, (n_critic, batch))) if num_classes else (images,)
  return Bench(g_params + d_params, step, make_batch)


def dcgan(batch):
  generator, discriminator = dcgan_torch_reference.build_models()
  return gan(generator, discriminator, batch, loss="non_saturating",
             latent=dcgan_torch_reference.LATENT, lr=(2e-4, 2e-4), betas=(0.5, 0.999))


def sngan(batch):
  """DCGAN's players, spectral norm (one power iteration per call) on every D weight."""
  generator, discriminator = dcgan_torch_reference.build_models()
  for layer in discriminator:
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
      spectral_norm(layer)
  return gan(generator, discriminator, batch, loss="hinge",
             latent=dcgan_torch_reference.LATENT, lr=(2e-4, 2e-4), betas=(0.5, 0.999))


def sn_conv(cin, cout, k):  # jgen.models.biggan._conv: 'SAME', spectral norm.
  return spectral_norm(nn.Conv2d(cin, cout, k, padding=k // 2))


class ConditionalBatchNorm(nn.Module):
  """jgen.models.ConditionalBatchNorm: (1 + W_γ c) ⊙ BN(x) + W_β c, W spectral-normed."""

  def __init__(self, features, cond_dim):
    super().__init__()
    self.bn = nn.BatchNorm2d(features, affine=False)
    self.gain = spectral_norm(nn.Linear(cond_dim, features, bias=False))
    self.bias = spectral_norm(nn.Linear(cond_dim, features, bias=False))

  def forward(self, x, c):
    return (1 + self.gain(c)[:, :, None, None]) * self.bn(x) + self.bias(c)[:, :, None, None]


class UpBlock(nn.Module):
  """cBN → ReLU → ×2 nearest → conv3×3 → cBN → ReLU → conv3×3, plus ×2 → conv1×1."""

  def __init__(self, features, cond_dim):
    super().__init__()
    self.norm0 = ConditionalBatchNorm(features, cond_dim)
    self.conv0 = sn_conv(features, features, 3)
    self.norm1 = ConditionalBatchNorm(features, cond_dim)
    self.conv1 = sn_conv(features, features, 3)
    self.shortcut = sn_conv(features, features, 1)

  def forward(self, x, c):
    h = self.conv0(F.interpolate(F.relu(self.norm0(x, c)), scale_factor=2, mode="nearest"))
    h = self.conv1(F.relu(self.norm1(h, c)))
    return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class BigGANGenerator(nn.Module):
  """jgen.models.BigGANGenerator(28×28×1): z split in 3, shared embedding, 2 up-blocks."""

  def __init__(self, latent=96, num_classes=10, ch=8, shared_dim=32, size=7, blocks=2):
    super().__init__()
    self.features, self.size, self.chunks = 4 * ch, size, blocks + 1
    chunk = latent // self.chunks
    self.shared = nn.Embedding(num_classes, shared_dim)
    self.linear = spectral_norm(nn.Linear(chunk, size * size * self.features))
    self.blocks = nn.ModuleList(UpBlock(self.features, shared_dim + chunk)
                                for _ in range(blocks))
    self.bn = nn.BatchNorm2d(self.features)
    self.out = sn_conv(self.features, 1, 3)

  def forward(self, z, y):
    chunks, shared = z.chunk(self.chunks, 1), self.shared(y)
    h = self.linear(chunks[0]).view(-1, self.features, self.size, self.size)
    for block, chunk in zip(self.blocks, chunks[1:], strict=True):
      h = block(h, torch.cat([shared, chunk], 1))
    return torch.tanh(self.out(F.relu(self.bn(h))))


class DownBlock(nn.Module):
  """[ReLU →] conv3×3 → ReLU → conv3×3 → avg-pool, shortcut conv1×1 and pool (a
  pre-activated block convolves before pooling, the first block after)."""

  def __init__(self, cin, features, downsample, preactivation):
    super().__init__()
    self.conv0, self.conv1 = sn_conv(cin, features, 3), sn_conv(features, features, 3)
    self.shortcut = (sn_conv(cin, features, 1) if downsample or cin != features else None)
    self.downsample, self.preactivation = downsample, preactivation

  def forward(self, x):
    pool = (lambda v: F.avg_pool2d(v, 2)) if self.downsample else (lambda v: v)
    h = self.conv1(F.relu(self.conv0(F.relu(x) if self.preactivation else x)))
    shortcut = x
    if self.shortcut is not None:
      shortcut = (pool(self.shortcut(x)) if self.preactivation
                  else self.shortcut(pool(x)))
    return pool(h) + shortcut


class BigGANDiscriminator(nn.Module):
  """jgen.models.BigGANDiscriminator(28): 3 down-blocks (the last keeps 7×7), ReLU, sum
  pooling, the spectral-normed projection output ψ(h) + ⟨embed(y), h⟩."""

  def __init__(self, num_classes=10, ch=8, blocks=2):
    super().__init__()
    f = 4 * ch
    self.blocks = nn.Sequential(*(DownBlock(1 if i == 0 else f, f, i < blocks, i > 0)
                                  for i in range(blocks + 1)))
    self.psi = spectral_norm(nn.Linear(f, 1))
    self.embed = spectral_norm(nn.Embedding(num_classes, f))

  def forward(self, x, y):
    h = F.relu(self.blocks(x)).sum((2, 3))
    return self.psi(h)[:, 0] + (self.embed(y) * h).sum(1)


def biggan(batch):
  return gan(BigGANGenerator(), BigGANDiscriminator(), batch, loss="hinge", latent=96,
             lr=(1e-4, 4e-4), betas=(0.0, 0.999), n_critic=2, num_classes=10,
             orthogonal_weight=1e-4)


# --- Flows (flows_torch_reference's models, on 'dequantize'd 8-bit images). ---


def flow(name):
  def build(batch):
    model, _ = flows_torch_reference.build(name)
    return minimise(model.parameters(), 1e-3,
                    lambda images: -flows_torch_reference.log_prob(
                        model, dequantize(images)).mean(),
                    uint8_images(batch, 256))
  return build


# name -> (builder(batch) -> Bench, the jgen config's batch size).
MODELS = {
    "vae": (vae, 100),
    "iwae": (lambda batch: vae(batch, num_samples=5), 100),
    "conv_vae": (conv_vae, 100),
    "vqvae": (vqvae, 64),
    "nade": (nade, 100),
    "made": (made, 100),
    "pixelcnn": (lambda batch: pixelcnn_bench(pixelcnn_torch_reference.PixelCNN(), batch), 64),
    "gated_pixelcnn": (lambda batch: pixelcnn_bench(GatedPixelCNN(), batch), 64),
    "row_lstm": (lambda batch: pixelcnn_bench(RowLSTM(), batch), 64),
    "diagonal_bilstm": (lambda batch: pixelcnn_bench(DiagonalBiLSTM(), batch), 64),
    "dcgan": (dcgan, 64),
    "sngan": (sngan, 64),
    "biggan": (biggan, 64),
    # flow_images.py's batches (also what flows_torch_reference.build returns).
    **{name: (flow(name), batch) for name, batch in (("realnvp_mlp", 128), ("maf", 128),
                                                      ("realnvp", 64), ("glow", 64))},
}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True, choices=list(MODELS))
  parser.add_argument("--steps", type=int, default=20, help="timed steps (≥ 1)")
  parser.add_argument("--batch", type=int, default=0, help="default: the jgen config's")
  args = parser.parse_args()
  if args.steps < 1:
    parser.error("--steps must be ≥ 1")
  torch.set_num_threads(2)
  torch.manual_seed(0)
  build, default_batch = MODELS[args.model]
  batch = args.batch or default_batch
  bench = build(batch)
  batches = [bench.make_batch() for _ in range(4)]
  for i in range(3):
    bench.step(*batches[i % 4])
  t = time.perf_counter()
  for i in range(args.steps):
    loss = bench.step(*batches[i % 4])
  float(loss.detach())  # Forces completion.
  ms = 1000 * (time.perf_counter() - t) / args.steps
  print(json.dumps({"benchmark": "train_step", "model": args.model,
                    "framework": "pytorch-eager", "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "batch": batch, "steps": args.steps,
                    "params": sum(p.numel() for p in bench.params),
                    "ms_per_step": round(ms, 2),
                    "examples_per_s": round(1000 * batch / ms, 1)}), flush=True)


if __name__ == "__main__":
  main()
