"""Normalizing flows: bijectors with distrax's contract, pure pytrees and Flax modules.

See `jgen.flows.base` for the contract and direction convention and
`jgen.flows.composition` for how parameter-free and Flax bijectors compose.
"""

from jgen.flows.actnorm import ActNorm
from jgen.flows.autoregressive import AffineAutoregressive
from jgen.flows.autoregressive import MADEConditioner
from jgen.flows.autoregressive import SplineAutoregressive
from jgen.flows.base import Bijector
from jgen.flows.base import FlaxBijector
from jgen.flows.base import bounded_log_scale
from jgen.flows.composition import BoundBijector
from jgen.flows.composition import Chain
from jgen.flows.composition import Flow
from jgen.flows.composition import Inverse
from jgen.flows.conditioners import ConvConditioner
from jgen.flows.conditioners import MLPConditioner
from jgen.flows.conv1x1 import Conv1x1
from jgen.flows.coupling import AdditiveCoupling
from jgen.flows.coupling import AffineCoupling
from jgen.flows.coupling import SplineCoupling
from jgen.flows.coupling import coupling_mask
from jgen.flows.image import FactorOut
from jgen.flows.image import Reshape
from jgen.flows.image import Squeeze
from jgen.flows.permutations import Permute
from jgen.flows.permutations import Reverse
from jgen.flows.preprocess import Logit
from jgen.flows.preprocess import dequantized_bits_per_dim
from jgen.flows.splines import RationalQuadraticSpline
from jgen.flows.splines import num_spline_params
from jgen.flows.splines import rational_quadratic_spline
from jgen.flows.transformed import Transformed

__all__ = [
    "ActNorm",
    "AdditiveCoupling",
    "AffineAutoregressive",
    "AffineCoupling",
    "Bijector",
    "BoundBijector",
    "Chain",
    "ConvConditioner",
    "Conv1x1",
    "FactorOut",
    "FlaxBijector",
    "Flow",
    "Inverse",
    "Logit",
    "MADEConditioner",
    "MLPConditioner",
    "Permute",
    "RationalQuadraticSpline",
    "Reshape",
    "Reverse",
    "SplineAutoregressive",
    "SplineCoupling",
    "Squeeze",
    "Transformed",
    "bounded_log_scale",
    "coupling_mask",
    "dequantized_bits_per_dim",
    "num_spline_params",
    "rational_quadratic_spline",
]
