r"""The PixelCNN train step in PyTorch eager (2 threads), as a speed reference.

  python benchmarks/pixelcnn_torch_reference.py --steps=20   # needs torch (not a jgen dependency)

Mirrors ``experiments/configs/pixelcnn.py:pixelcnn`` layer for layer on binary 28×28
images: a 7×7 mask-A convolution to 2h = 64 features, 7 residual blocks
``x + 1×1(ReLU(3×3_B(ReLU(1×1(ReLU(x))))))`` (64 → 32 → 32 → 64), the head ReLU → 1×1
(64) → ReLU → 1×1 (1 logit), Bernoulli log-likelihood (BCE with logits, summed per
image, mean over the batch), Adam(1e-3), float32. The masks multiply the kernels in
every forward pass, as jgen's `MaskedConv2D` does. Prints one JSON line.
"""

import argparse
import json
import time

import torch
from torch import nn
import torch.nn.functional as F


class MaskedConv2d(nn.Conv2d):
  def __init__(self, cin, cout, k, mask_type):
    super().__init__(cin, cout, k, padding=k // 2)
    mask = torch.ones_like(self.weight)
    mask[:, :, k // 2, k // 2 + (mask_type == "B"):] = 0
    mask[:, :, k // 2 + 1:] = 0
    self.register_buffer("mask", mask)

  def forward(self, x):
    return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
  def __init__(self, hidden=32, blocks=7):
    super().__init__()
    self.first = MaskedConv2d(1, 2 * hidden, 7, "A")
    self.blocks = nn.ModuleList(nn.ModuleList([
        MaskedConv2d(2 * hidden, hidden, 1, "B"), MaskedConv2d(hidden, hidden, 3, "B"),
        MaskedConv2d(hidden, 2 * hidden, 1, "B")]) for _ in range(blocks))
    self.head = nn.ModuleList([MaskedConv2d(2 * hidden, 64, 1, "B"),
                               MaskedConv2d(64, 1, 1, "B")])

  def forward(self, x):
    h = self.first(x)
    for down, mid, up in self.blocks:
      h = h + up(F.relu(mid(F.relu(down(F.relu(h))))))
    return self.head[1](F.relu(self.head[0](F.relu(h))))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--batch", type=int, default=64)
  args = parser.parse_args()
  torch.set_num_threads(2)
  torch.manual_seed(0)
  model = PixelCNN()
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)
  batches = [torch.randint(0, 2, (args.batch, 1, 28, 28)).float() for _ in range(4)]

  def step(x):
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss

  for i in range(3):
    step(batches[i % 4])
  t = time.perf_counter()
  for i in range(args.steps):
    loss = step(batches[i % 4])
  float(loss)
  ms = 1000 * (time.perf_counter() - t) / args.steps
  print(json.dumps({"benchmark": "pixelcnn_train_step", "model": "pixelcnn",
                    "framework": "pytorch-eager", "torch": torch.__version__, "threads": 2,
                    "batch": args.batch, "steps": args.steps, "ms_per_step": round(ms, 2),
                    "examples_per_s": round(1000 * args.batch / ms, 1)}), flush=True)


if __name__ == "__main__":
  main()
