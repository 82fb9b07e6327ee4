"""Evaluation metrics for generative models: likelihoods, modes and sample quality.

Sample-quality metrics take *features* (any network's; jgen ships its own feature
networks, `jgen.metrics.feature_networks`), so that they stay pure array functions;
`jgen.metrics.suite` runs them all on a set of uint8 images.
"""

from jgen.metrics.attributes import attribute_sweep
from jgen.metrics.attributes import attribute_vector
from jgen.metrics.attributes import AttributeSweep
from jgen.metrics.cas import classification_accuracy_score
from jgen.metrics.classes import class_histogram
from jgen.metrics.classes import class_histogram_kl
from jgen.metrics.classes import inception_score
from jgen.metrics.classes import num_classes_covered
from jgen.metrics.feature_networks import FeatureNetwork
from jgen.metrics.feature_networks import load_feature_network
from jgen.metrics.feature_networks import save_feature_network
from jgen.metrics.fid import frechet_distance
from jgen.metrics.fid import frechet_inception_distance
from jgen.metrics.fid import gaussian_statistics
from jgen.metrics.kernels import gaussian_kernel
from jgen.metrics.kernels import mmd2_unbiased
from jgen.metrics.kernels import polynomial_kernel
from jgen.metrics.kid import kernel_inception_distance
from jgen.metrics.likelihood import bits_per_dim
from jgen.metrics.likelihood import codebook_perplexity
from jgen.metrics.likelihood import importance_weighted_log_likelihood
from jgen.metrics.likelihood import reconstruction_mse
from jgen.metrics.memorization import data_copying_test
from jgen.metrics.memorization import nearest_neighbour_figure
from jgen.metrics.memorization import nearest_training_examples
from jgen.metrics.modes import mode_coverage
from jgen.metrics.prdc import density_coverage
from jgen.metrics.prdc import precision_recall
from jgen.metrics.two_sample import TwoSampleResult
from jgen.metrics.two_sample import binomial_tail
from jgen.metrics.two_sample import classifier_two_sample_test
from jgen.metrics.two_sample import discriminator_two_sample_test
from jgen.metrics.two_sample import median_heuristic_bandwidth
from jgen.metrics.two_sample import mmd_permutation_test
