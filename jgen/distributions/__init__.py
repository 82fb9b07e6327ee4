"""Probability distributions as pytrees: what decoders and likelihood models return."""

from jgen.distributions.base import Distribution
from jgen.distributions.bernoulli import Bernoulli
from jgen.distributions.categorical import Categorical
from jgen.distributions.discretized_logistic import DiscretizedLogistic
from jgen.distributions.discretized_logistic_mixture import DiscretizedLogisticMixture
from jgen.distributions.normal import Normal
