r"""The 5×5 grid of Gaussians (σ = 0.05) with MLPs; otherwise the ring8 defaults.

  python -m experiments.gan --workdir=/tmp/gan_grid25 \
      --config=experiments/configs/gan_grid25.py

Expected on 2 CPU cores: a few minutes; modes covered (of 25) and %HQ in summary.json.
"""

from experiments.configs import gan_ring8


def get_config(variant: str = ""):
  config = gan_ring8.get_config(variant)
  config.data.name = "grid25"
  return config
