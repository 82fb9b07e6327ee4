r"""MADE on statically binarized MNIST (Germain et al. 2015), one hidden layer of 500 ReLUs.

  python -m experiments.main --workdir=/tmp/made \
      --config=experiments/configs/made_binarized_mnist.py:masks32 \
      --config.data.npz_dir=../shared/data

Default: one fixed mask (natural ordering). ``masks32``: connectivity-agnostic
training over a set of 32 masks (hidden degrees redrawn per mask, raster ordering), one
drawn per step, and the test NLL of the 1-mask and 32-mask ensembles (Germain et al.
2015). ``orderings``: each mask also draws its own input ordering (order-agnostic).
Otherwise as the NADE config (the `likelihood` task). Sampling takes 784 network
passes, so samples.npz holds 1,000 samples. ``direct``: add the masked direct
input→output weights, so that each conditional sees its nearest predecessors without
going through the few hidden units of degree just below its own. Variants:
``masks32``, ``orderings``, ``direct``, ``tiny`` (combine: 'tiny,masks32').
"""

from experiments.configs import nade_binarized_mnist


def get_config(variant: str = ""):
  names = [v for v in variant.split(",") if v]
  config = nade_binarized_mnist.get_config("tiny" if "tiny" in names else "")
  config.model.arch = "made"
  config.eval.num_samples = min(config.eval.num_samples, 1000)
  for name in names:
    if name == "masks32":
      config.model.num_masks = 32
      config.eval.num_masks = (1, 32)
    elif name == "orderings":
      config.model.order_agnostic = True
    elif name == "direct":
      config.model.direct = True
    elif name != "tiny":
      raise ValueError(f"Unknown config variant {name!r}; valid: masks32, orderings, direct, tiny.")
  return config
