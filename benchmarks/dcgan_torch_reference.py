r"""The same DCGAN-MNIST train step in PyTorch eager (2 threads), as a speed reference.

  python -m benchmarks.dcgan_torch_reference   # needs torch; not a jgen dependency

Mirrors `experiments/configs/dcgan_mnist.py` layer for layer (generator: bias-free
Dense → BN → ReLU → 4×4 s2 transposed convs with BN → tanh; discriminator: two 4×4 s2
convs with LeakyReLU(0.2), no BN → linear), batch 64, Adam(2e-4, β1 = 0.5), float32,
non-saturating loss, one discriminator and one generator update sharing one generator
pass, as jgen's step does. Prints one JSON line like `benchmarks.gan_step`.
"""

import json
import time

import torch
from torch import nn

BATCH, LATENT, STEPS = 64, 100, 50


def build_models():
  """The (generator, discriminator) pair, also used by `benchmarks/torch_steps.py`."""
  generator = nn.Sequential(
      nn.Linear(LATENT, 7 * 7 * 128, bias=False), nn.Unflatten(1, (128, 7, 7)),
      nn.BatchNorm2d(128, momentum=0.1), nn.ReLU(),
      nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
  discriminator = nn.Sequential(
      nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
      nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(7 * 7 * 128, 1))
  return generator, discriminator


def main():
  torch.set_num_threads(2)
  torch.manual_seed(0)
  generator, discriminator = build_models()
  g_opt = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
  d_opt = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
  bce = nn.BCEWithLogitsLoss()
  real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
  ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)

  def step():
    fake = generator(torch.randn(BATCH, LATENT))
    d_opt.zero_grad(set_to_none=True)
    d_loss = (bce(discriminator(real)[:, 0], ones)
              + bce(discriminator(fake.detach())[:, 0], zeros))
    d_loss.backward()
    d_opt.step()
    g_opt.zero_grad(set_to_none=True)
    bce(discriminator(fake)[:, 0], ones).backward()
    g_opt.step()

  for _ in range(3):
    step()
  t = time.perf_counter()
  for _ in range(STEPS):
    step()
  ms = 1000 * (time.perf_counter() - t) / STEPS
  print(json.dumps({"benchmark": "dcgan_mnist_train_step", "framework": "pytorch-eager",
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "batch": BATCH, "steps": STEPS, "ms_per_step": round(ms, 2),
                    "examples_per_s": round(1000 * BATCH / ms, 1)}))


if __name__ == "__main__":
  main()
