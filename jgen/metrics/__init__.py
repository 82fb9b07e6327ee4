"""Evaluation metrics for generative models."""

from jgen.metrics.modes import mode_coverage
