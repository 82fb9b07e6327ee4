"""Evaluation metrics for generative models."""

from jgen.metrics.likelihood import bits_per_dim
from jgen.metrics.likelihood import codebook_perplexity
from jgen.metrics.likelihood import importance_weighted_log_likelihood
from jgen.metrics.likelihood import reconstruction_mse
from jgen.metrics.modes import mode_coverage
