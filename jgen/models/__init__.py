"""Flax modules: generators, discriminators, encoders, decoders."""

from jgen.models.dcgan import DCGANDiscriminator
from jgen.models.dcgan import DCGANGenerator
from jgen.models.decoders import ConvDecoder
from jgen.models.decoders import DecoderOutput
from jgen.models.decoders import MLPDecoder
from jgen.models.decoders import VQDecoder
from jgen.models.encoders import ConvEncoder
from jgen.models.encoders import MLPEncoder
from jgen.models.encoders import VQEncoder
from jgen.models.latents import interpolation_grid
from jgen.models.latents import lerp
from jgen.models.latents import slerp
from jgen.models.layers import SubPixelConvTranspose
from jgen.models.layers import subpixel_conv_transpose
from jgen.models.mlp import MLP
from jgen.models.mlp import MLPDiscriminator
from jgen.models.mlp import MLPGenerator
from jgen.models.mlp import count_params
from jgen.models.vae import VAE
from jgen.models.vae import VQVAE
from jgen.models.vae import Codebook
