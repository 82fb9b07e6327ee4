r"""The flow benchmarks' models in PyTorch eager (2 threads), as a speed reference.

  python benchmarks/flows_torch_reference.py --model=glow   # needs torch (not a jgen dependency)

Mirrors `benchmarks.flow_step`'s models op for op, on MNIST-shaped data (28×28×1,
dequantized): the same layers in the same order as `jgen.models.flows` builds them,
the same bounded scales ``log σ(h + 2) − log σ(2)``, Adam(1e-3), float32.

- ``realnvp_mlp``: Logit(1e-6) → flatten → 4 × (ActNorm → affine coupling; alternating
  masks), MLP 784-1024-1024 conditioners.
- ``maf``: Logit(1e-6) → flatten → 5 × (ActNorm → MADE(1024) affine layer), reversed in
  between (natural ordering, evenly spread degrees).
- ``realnvp``: Logit(0.05) → the 3-scale RealNVP of ``flow_images.py:realnvp`` (width 32),
  an ActNorm before every coupling.
- ``glow``: ``flow_images.py:glow``: 2 levels × 6 steps of ActNorm → LU 1×1 conv →
  channel affine coupling (conv3×3 → ReLU → 1×1 → ReLU → conv3×3, width 64).

Prints one JSON line per model: ms per train step and examples/s, and for
``--sample`` the examples/s of drawing a batch.
"""

import argparse
import json
import math
import time

import torch
from torch import nn
import torch.nn.functional as F

LOG_SIG2 = math.log(1 / (1 + math.exp(-2.0)))


def bounded_log_scale(h):
  return F.logsigmoid(h + 2.0) - LOG_SIG2


class Logit(nn.Module):
  def __init__(self, alpha):
    super().__init__()
    self.alpha = alpha

  def inverse(self, x):
    p = self.alpha + (1 - 2 * self.alpha) * x
    log_p, log_1mp = torch.log(p), torch.log1p(-p)
    ld = (math.log(1 - 2 * self.alpha) - log_p - log_1mp).flatten(1).sum(1)
    return log_p - log_1mp, ld

  def forward_(self, y):
    s = 1 - 2 * self.alpha
    ld = (F.logsigmoid(y) + F.logsigmoid(-y) - math.log(s)).flatten(1).sum(1)
    return (torch.sigmoid(y) - self.alpha) / s, ld


class Flatten(nn.Module):
  def __init__(self, shape):
    super().__init__()
    self.shape = shape

  def inverse(self, x):
    return x.flatten(1), x.new_zeros(x.shape[0])

  def forward_(self, z):
    return z.reshape(z.shape[0], *self.shape), z.new_zeros(z.shape[0])


class ActNorm(nn.Module):
  def __init__(self, channels, image):
    super().__init__()
    self.bias = nn.Parameter(torch.zeros(channels))
    self.log_scale = nn.Parameter(torch.zeros(channels))
    self.image = image

  def _shape(self, v):
    return v.view(1, -1, 1, 1) if self.image else v

  def inverse(self, x):
    n = x.shape[2] * x.shape[3] if self.image else 1
    z = (x - self._shape(self.bias)) * torch.exp(-self._shape(self.log_scale))
    return z, (-n * self.log_scale.sum()).expand(x.shape[0])

  def forward_(self, z):
    n = z.shape[2] * z.shape[3] if self.image else 1
    x = z * torch.exp(self._shape(self.log_scale)) + self._shape(self.bias)
    return x, (n * self.log_scale.sum()).expand(z.shape[0])


class VectorCoupling(nn.Module):
  """Affine coupling, alternating mask (b_i = 1[i odd] ^ parity), MLP conditioner."""

  def __init__(self, dim, hidden, layers, parity):
    super().__init__()
    mask = (torch.arange(dim) % 2 == 1) != bool(parity)
    self.register_buffer("mask", mask.float())
    widths = [dim] + [hidden] * layers
    self.net = nn.Sequential(*[m for a, b in zip(widths[:-1], widths[1:], strict=True)
                               for m in (nn.Linear(a, b), nn.ReLU())])
    self.last = nn.Linear(hidden, 2 * dim)
    nn.init.zeros_(self.last.weight)

  def _params(self, x):
    p = self.last(self.net(x * self.mask)).view(x.shape[0], -1, 2)
    return (1 - self.mask) * bounded_log_scale(p[..., 0]), (1 - self.mask) * p[..., 1]

  def inverse(self, x):
    log_s, t = self._params(x)
    return x * torch.exp(log_s) + t, log_s.sum(1)

  def forward_(self, z):
    log_s, t = self._params(z)
    return (z - t) * torch.exp(-log_s), -log_s.sum(1)


class MaskedLinear(nn.Linear):
  def __init__(self, a, b, mask, zero=False):
    super().__init__(a, b)
    self.register_buffer("mask", mask)
    if zero:
      nn.init.zeros_(self.weight)

  def forward(self, x):
    return F.linear(x, self.weight * self.mask, self.bias)


class MAFLayer(nn.Module):
  """MADE (natural ordering, evenly spread degrees) → affine z = s·x + t."""

  def __init__(self, dim, hidden):
    super().__init__()
    m0 = torch.arange(1, dim + 1)
    mh = 1 + torch.arange(hidden) * (dim - 1) // hidden
    self.h = MaskedLinear(dim, hidden, (mh[:, None] >= m0[None]).float())
    out = (m0[:, None] > mh[None]).float().repeat_interleave(2, 0)  # row d·2 + p.
    self.out = MaskedLinear(hidden, 2 * dim, out, zero=True)
    self.dim = dim

  def _params(self, x):
    p = self.out(F.relu(self.h(x))).view(x.shape[0], -1, 2)
    return bounded_log_scale(p[..., 0]), p[..., 1]

  def inverse(self, x):
    log_s, t = self._params(x)
    return x * torch.exp(log_s) + t, log_s.sum(1)

  def forward_(self, z):  # D sequential passes.
    x = torch.zeros_like(z)
    for _ in range(self.dim):
      log_s, t = self._params(x)
      x = (z - t) * torch.exp(-log_s)
    return x, -log_s.sum(1)


class Reverse(nn.Module):
  def inverse(self, x):
    return x.flip(-1), x.new_zeros(x.shape[0])

  forward_ = inverse


class Squeeze(nn.Module):
  def inverse(self, x):  # NCHW space-to-depth, the channel order of jgen's NHWC one.
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
    return x.reshape(b, 4 * c, h // 2, w // 2), x.new_zeros(b)

  def forward_(self, z):
    b, c4, h, w = z.shape
    z = z.view(b, 2, 2, c4 // 4, h, w).permute(0, 3, 4, 1, 5, 2)
    return z.reshape(b, c4 // 4, 2 * h, 2 * w), z.new_zeros(b)


class UnSqueeze(Squeeze):
  inverse, forward_ = Squeeze.forward_, Squeeze.inverse


class ImageCoupling(nn.Module):
  """Affine coupling with a checkerboard or channel mask and the ConvConditioner."""

  def __init__(self, channels, width, mask, parity, hw):
    super().__init__()
    if mask == "checkerboard":
      i = torch.arange(hw)
      m = ((i[:, None] + i[None]) % 2 == 1).view(1, 1, hw, hw)
    else:
      m = (torch.arange(channels) < channels // 2).view(1, -1, 1, 1)
    self.register_buffer("mask", (m != bool(parity)).float())
    self.net = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(width, width, 1), nn.ReLU())
    self.last = nn.Conv2d(width, 2 * channels, 3, padding=1)
    nn.init.zeros_(self.last.weight)

  def _params(self, x):
    p = self.last(self.net(x * self.mask))
    p = p.view(x.shape[0], x.shape[1], 2, *x.shape[2:])  # channel c·2 + j, as jgen's.
    return (1 - self.mask) * bounded_log_scale(p[:, :, 0]), (1 - self.mask) * p[:, :, 1]

  def inverse(self, x):
    log_s, t = self._params(x)
    return x * torch.exp(log_s) + t, log_s.flatten(1).sum(1)

  def forward_(self, z):
    log_s, t = self._params(z)
    return (z - t) * torch.exp(-log_s), -log_s.flatten(1).sum(1)


class Conv1x1(nn.Module):
  def __init__(self, c):
    super().__init__()
    q = torch.linalg.qr(torch.randn(c, c))[0]
    self.lu = nn.Parameter(torch.triu(q, 1))  # Packed L, log s, U (values irrelevant here).
    self.c = c

  def _w(self):
    eye = torch.eye(self.c)
    lower = torch.tril(self.lu, -1) + eye
    log_s = torch.diagonal(self.lu)
    return lower, torch.triu(self.lu, 1) + torch.diag(torch.exp(log_s)), log_s

  def inverse(self, x):
    lower, upper, log_s = self._w()
    z = torch.einsum("oc,bchw->bohw", lower @ upper, x)
    return z, (x.shape[2] * x.shape[3] * log_s.sum()).expand(x.shape[0])

  def forward_(self, z):
    lower, upper, log_s = self._w()
    b, c, h, w = z.shape
    flat = z.permute(1, 0, 2, 3).reshape(c, -1)
    v = torch.linalg.solve_triangular(lower, flat, upper=False, unitriangular=True)
    v = torch.linalg.solve_triangular(upper, v, upper=True)
    x = v.reshape(c, b, h, w).permute(1, 0, 2, 3)
    return x, (-h * w * log_s.sum()).expand(b)


class Seq(nn.Module):
  """Data end first: ``inverse`` runs the list in order, ``forward_`` in reverse."""

  def __init__(self, *layers):
    super().__init__()
    self.layers = nn.ModuleList(layers)

  def inverse(self, x):
    ld = 0
    for layer in self.layers:
      x, d = layer.inverse(x)
      ld = ld + d
    return x, ld

  def forward_(self, z):
    ld = 0
    for layer in reversed(self.layers):
      z, d = layer.forward_(z)
      ld = ld + d
    return z, ld


class FactorOut(nn.Module):
  def __init__(self, inner):
    super().__init__()
    self.inner = inner

  def _split(self, x):
    k = x.shape[1] - x.shape[1] // 2
    return x[:, :k], x[:, k:]

  def inverse(self, x):
    keep, out = self._split(x)
    new, ld = self.inner.inverse(keep)
    return torch.cat([new, out], 1), ld

  def forward_(self, z):
    keep, out = self._split(z)
    new, ld = self.inner.forward_(keep)
    return torch.cat([new, out], 1), ld


def realnvp_scale(levels, c, hw, width, k):
  def coupling(mask, parity, ch, size):  # ActNorm in front, as jgen's real_nvp.
    return Seq(ActNorm(ch, True), ImageCoupling(ch, width, mask, parity, size))
  if levels == 1:
    return Seq(*(coupling("checkerboard", i % 2, c, hw) for i in range(k + 1)))
  return Seq(*(coupling("checkerboard", i % 2, c, hw) for i in range(k)), Squeeze(),
             *(coupling("channel", i % 2, 4 * c, hw // 2) for i in range(k)),
             FactorOut(realnvp_scale(levels - 1, 2 * c, hw // 2, width, k)), UnSqueeze())


def glow_level(levels, c, hw, width, k):
  c4, size = 4 * c, hw // 2
  steps = [Seq(ActNorm(c4, True), Conv1x1(c4), ImageCoupling(c4, width, "channel", 0, size))
           for _ in range(k)]
  if levels == 1:
    return Seq(Squeeze(), *steps, UnSqueeze())
  return Seq(Squeeze(), *steps, FactorOut(glow_level(levels - 1, c4 - c4 // 2, size, width, k)),
             UnSqueeze())


def build(name):
  if name == "realnvp_mlp":
    return Seq(Logit(1e-6), Flatten((1, 28, 28)),
               *(m for i in range(4)
                 for m in (ActNorm(784, False), VectorCoupling(784, 1024, 2, i % 2)))), 128
  if name == "maf":
    layers = [Logit(1e-6), Flatten((1, 28, 28))]
    for i in range(5):
      layers += [ActNorm(784, False), MAFLayer(784, 1024)]
      if i < 4:
        layers.append(Reverse())
    return Seq(*layers), 128
  if name == "realnvp":
    return Seq(Logit(0.05), realnvp_scale(3, 1, 28, 32, 3)), 64
  if name == "glow":
    return glow_level(2, 1, 28, 64, 6), 64
  raise ValueError(f"unknown model {name!r}")


def log_prob(flow, x):
  z, ld = flow.inverse(x)
  return -0.5 * (z.flatten(1) ** 2).sum(1) - 0.5 * math.log(2 * math.pi) * z[0].numel() + ld


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--model", required=True)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--sample", action="store_true")
  args = parser.parse_args()
  torch.set_num_threads(2)
  torch.manual_seed(0)
  flow, batch = build(args.model)
  opt = torch.optim.Adam(flow.parameters(), 1e-3)
  images = torch.randint(0, 256, (batch, 1, 28, 28)).float()

  def step():
    y = (images + torch.rand_like(images)) / 256  # Dequantization, as jgen's step.
    opt.zero_grad(set_to_none=True)
    loss = -log_prob(flow, y).mean()
    loss.backward()
    opt.step()

  for _ in range(3):
    step()
  t = time.perf_counter()
  for _ in range(args.steps):
    step()
  ms = 1000 * (time.perf_counter() - t) / args.steps
  out = {"benchmark": "flow_train_step", "model": args.model, "framework": "pytorch-eager",
         "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch,
         "steps": args.steps, "ms_per_step": round(ms, 2),
         "examples_per_s": round(1000 * batch / ms, 1)}
  if args.sample:
    with torch.no_grad():
      latent = (batch, 784) if args.model in ("realnvp_mlp", "maf") else (batch, 1, 28, 28)
      flow.forward_(torch.randn(latent))
      t = time.perf_counter()
      for _ in range(3):
        flow.forward_(torch.randn(latent))
      out["sample_examples_per_s"] = round(3 * batch / (time.perf_counter() - t), 1)
  print(json.dumps(out), flush=True)


if __name__ == "__main__":
  main()
