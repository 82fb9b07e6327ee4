"""Train states, steps, parallelism, checkpoints and the shared loop."""

from jgen.train.checkpoint import Checkpointer
from jgen.train.checkpoint import restore_newest_state
from jgen.train.gan_state import GANState
from jgen.train.gan_state import create_gan_state
from jgen.train.gan_step import GAN_LOSSES
from jgen.train.gan_step import GANLossPair
from jgen.train.gan_step import gan_loss_pair
from jgen.train.gan_step import gan_train_step
from jgen.train.loop import NonFiniteLossError
from jgen.train.loop import PeriodicHook
from jgen.train.loop import train_loop
from jgen.train.parallel import AXIS_NAME
from jgen.train.parallel import initialize_distributed
from jgen.train.parallel import pmap_step
from jgen.train.parallel import replicate
from jgen.train.parallel import unreplicate
from jgen.train.summaries import MetricWriter
