r"""One convolution's forward and backward pass, XLA:CPU against PyTorch eager.

  python -m benchmarks.conv_ops --torch_python=/path/to/venv/bin/python [--rounds=2]

The convolutions that dominate the conv models' steps (`benchmarks/steps.py`), at their
shapes in the default configs: ``y = conv(x, w)``, then the input and kernel gradients
for a given cotangent, the work of one layer in a train step. jgen's side is a
``jax.jit`` of ``lax.conv_general_dilated`` and its VJP (NHWC, HWIO, with the binaries'
XLA flag); PyTorch's is ``F.conv2d`` and ``torch.autograd.grad`` (NCHW, 2 threads),
run by this same file under ``--torch_python`` (``--framework=torch``). Alternating,
``--rounds`` rounds; one JSON line per case, framework and round, then the ratio.
"""

import argparse
import json
import subprocess
import sys
import time

# name → (batch, height = width, in channels, out channels, kernel (kh, kw), stride).
CASES = {
    # PixelCNN: a mask-B 3×3 on 2h = 32 features, convolved over rows ≤ centre (2×3).
    "pixelcnn_3x3_b": (64, 28, 32, 32, (2, 3), 1),
    # PixelCNN's first layer: mask A 7×7 → 4×7 rows, 1 → 64.
    "pixelcnn_7x7_a": (64, 28, 1, 64, (4, 7), 1),
    # Glow (width 64): the coupling's first and last 3×3 at the first level (14×14).
    "glow_3x3_in": (64, 14, 2, 64, (3, 3), 1),
    "glow_3x3_out": (64, 14, 64, 4, (3, 3), 1),
    # DCGAN's discriminator: the two 4×4 stride-2 convolutions.
    "dcgan_d_4x4_s2_a": (64, 28, 1, 64, (4, 4), 2),
    "dcgan_d_4x4_s2_b": (64, 14, 64, 128, (4, 4), 2),
    # DCGAN's generator: one phase of the 128 → 64 sub-pixel transposed convolution.
    "dcgan_g_2x2_phase": (64, 8, 128, 64, (2, 2), 1),
}


def _jax_timer(case, reps: int):
  from benchmarks import common  # pylint: disable=g-import-not-at-top  (sets XLA_FLAGS)
  del common
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  b, hw, cin, cout, (kh, kw), stride = case
  rng = np.random.default_rng(0)
  x = rng.standard_normal((b, hw, hw, cin), np.float32)
  w = rng.standard_normal((kh, kw, cin, cout), np.float32)

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  @jax.jit
  def fwd_bwd(x, w, g):
    y, vjp = jax.vjp(conv, x, w)
    return (y, *vjp(g))

  g = rng.standard_normal(jax.eval_shape(conv, x, w).shape, np.float32)
  jax.block_until_ready(fwd_bwd(x, w, g))

  def run():
    t = time.perf_counter()
    for _ in range(reps):
      out = fwd_bwd(x, w, g)
    jax.block_until_ready(out)
    return 1000 * (time.perf_counter() - t) / reps
  return run


def _torch_ms(case, reps: int) -> float:
  import torch  # pylint: disable=g-import-not-at-top
  import torch.nn.functional as F  # pylint: disable=g-import-not-at-top

  torch.set_num_threads(2)
  b, hw, cin, cout, (kh, kw), stride = case
  x = torch.randn(b, cin, hw, hw, requires_grad=True)
  w = torch.randn(cout, cin, kh, kw, requires_grad=True)
  # "SAME" as XLA pads it: ceil(hw / s) outputs, the odd padding row on the far side.
  pads = []
  for k in (kw, kh):
    total = max((-(-hw // stride) - 1) * stride + k - hw, 0)
    pads += [total // 2, total - total // 2]

  symmetric = pads[0] == pads[1] and pads[2] == pads[3]

  def fwd_bwd():  # Padding inside the convolution where it is symmetric, as a model would.
    y = (F.conv2d(x, w, stride=stride, padding=(pads[2], pads[0])) if symmetric
         else F.conv2d(F.pad(x, pads), w, stride=stride))
    return torch.autograd.grad(y, (x, w), torch.ones_like(y))

  fwd_bwd()
  t = time.perf_counter()
  for _ in range(reps):
    fwd_bwd()
  return 1000 * (time.perf_counter() - t) / reps


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--torch_python", default="")
  parser.add_argument("--framework", default="jax", choices=("jax", "torch"))
  parser.add_argument("--case", default="")
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--reps", type=int, default=50)
  args = parser.parse_args()
  if args.framework == "torch":
    print(json.dumps({"ms": _torch_ms(CASES[args.case], args.reps)}))
    return
  timers = {name: _jax_timer(case, args.reps) for name, case in CASES.items()}
  for r in range(args.rounds):
    for name, run in timers.items():
      ms = {"jax": run()}
      if args.torch_python:
        proc = subprocess.run([args.torch_python, __file__, "--framework=torch",
                               f"--case={name}", f"--reps={args.reps}"],
                              capture_output=True, text=True, check=True)
        ms["torch"] = json.loads(proc.stdout.strip().splitlines()[-1])["ms"]
      out = {"benchmark": "conv_fwd_bwd", "case": name, "round": r, "shape": CASES[name],
             **{f"{k}_ms": round(v, 3) for k, v in ms.items()}}
      if "torch" in ms:
        out["xla_speed_over_torch"] = round(ms["torch"] / ms["jax"], 2)
      print(json.dumps(out), flush=True)


if __name__ == "__main__":
  if __package__ is None:  # Run as a file (the PyTorch side): the repo on the path.
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
  main()
