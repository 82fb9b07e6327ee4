"""Pure objectives for generative models."""

from jgen.losses.f_divergences import F_DIVERGENCES
from jgen.losses.f_divergences import FDivergence
from jgen.losses.f_divergences import get_f_divergence
from jgen.losses.gan import f_gan_discriminator_loss
from jgen.losses.gan import f_gan_generator_loss
from jgen.losses.gan import gradient_penalty
from jgen.losses.gan import hinge_discriminator_loss
from jgen.losses.gan import hinge_generator_loss
from jgen.losses.gan import least_squares_discriminator_loss
from jgen.losses.gan import least_squares_generator_loss
from jgen.losses.gan import minimax_discriminator_loss
from jgen.losses.gan import minimax_generator_loss
from jgen.losses.gan import non_saturating_generator_loss
from jgen.losses.gan import wasserstein_critic_loss
from jgen.losses.gan import wasserstein_generator_loss
from jgen.losses.regularization import orthogonal_regularization
from jgen.losses.vae import bernoulli_log_likelihood
from jgen.losses.vae import discretized_logistic_log_likelihood
from jgen.losses.vae import elbo
from jgen.losses.vae import gaussian_kl
from jgen.losses.vae import gaussian_kl_between
from jgen.losses.vae import gaussian_log_likelihood
from jgen.losses.vae import iwae_bound
from jgen.losses.vae import reparameterize
