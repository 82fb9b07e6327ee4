"""Input pipelines: TFDS splits in RAM, 2-D toys, pmap batches and preprocessing."""

from jgen.data.corruption import gaussian_noise
from jgen.data.corruption import masking_noise
from jgen.data.corruption import salt_and_pepper
from jgen.data.pipeline import BatchIterator
from jgen.data.pipeline import prefetch_to_device
from jgen.data.preprocess import binarize_dynamic
from jgen.data.preprocess import binarize_static
from jgen.data.preprocess import dequantize_uniform
from jgen.data.preprocess import inverse_scale_to_uint8
from jgen.data.preprocess import scale_to_symmetric
from jgen.data.sources import DatasetNotAvailableError
from jgen.data.sources import load_split
from jgen.data.sources import prepare_from_npz
from jgen.data.toy2d import GRID25_MODES
from jgen.data.toy2d import GRID25_STD
from jgen.data.toy2d import RING8_MODES
from jgen.data.toy2d import RING8_STD
from jgen.data.toy2d import TOY_DATASETS
from jgen.data.toy2d import sample_toy
