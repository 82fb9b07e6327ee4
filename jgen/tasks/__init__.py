"""Model families as tasks on the one trainer: ``TASKS[config.task]``."""

import types

from jgen.tasks import classifier
from jgen.tasks import gan
from jgen.tasks import likelihood
from jgen.tasks import vae
from jgen.tasks.base import Task

TASKS = types.MappingProxyType({
    "gan": gan.TASK,
    "vae": vae.TASK,
    "likelihood": likelihood.TASK,
    "classifier": classifier.TASK,
})


def get_task(name: str) -> Task:
  """The task called ``name``.

  Raises:
    ValueError: naming the bad value and the valid tasks.
  """
  if name not in TASKS:
    raise ValueError(f"task={name!r} is not valid; choose from {tuple(TASKS)}.")
  return TASKS[name]
