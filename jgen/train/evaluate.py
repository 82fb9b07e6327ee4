"""The evaluator interface every task uses, during training and at the end.

An *evaluator* is a callable ``evaluator(state, final) -> {name: value}`` returning
scalar test metrics of a (host, unreplicated) train state; ``final=True`` asks for the
full, possibly expensive evaluation (e.g. IWAE with k = 5,000), ``False`` for the
periodic one run every ``eval.every`` steps. A *figure function*
``figures(state) -> {name: uint8 (H, W, C) image}`` draws what a person would rather
look at. The trainer runs both through ``evaluate_and_draw``: metrics go to
``metrics.jsonl`` and TensorBoard with the ``eval_`` prefix, figures to
``workdir/figures/<name>_<step>.png`` and TensorBoard. The evaluation suite plugs in
as more evaluators.
"""

from collections.abc import Callable, Mapping, Sequence
import os
import time
from typing import Any

from absl import logging
import jax
import numpy as np

from jgen.figures import save_png
from jgen.train.summaries import MetricWriter
from jgen.typing import PyTree

Evaluator = Callable[[PyTree, bool], Mapping[str, Any]]
FigureFn = Callable[[PyTree], Mapping[str, np.ndarray]]


def _format(value: Any) -> str:
  return f"{value:.5g}" if isinstance(value, float) else str(value)


def evaluate_and_draw(step: int, state: PyTree, *, evaluators: Sequence[Evaluator],
                      figures: FigureFn | None, final: bool, workdir: str,
                      writer: MetricWriter) -> dict[str, Any]:
  """Runs every evaluator and the figure function on ``state`` at ``step``.

  Returns:
    The merged metrics (without the ``eval_`` prefix), plus ``eval_seconds``.

  Raises:
    ValueError: if two evaluators report the same metric name.
  """
  t0 = time.perf_counter()
  results: dict[str, Any] = {}
  for evaluator in evaluators:
    metrics = dict(evaluator(state, final))
    clash = set(metrics) & set(results)
    if clash:
      raise ValueError(f"Evaluators report the same metrics twice: {sorted(clash)}.")
    results |= metrics
  results["eval_seconds"] = time.perf_counter() - t0
  numeric = {k: v for k, v in results.items() if isinstance(v, (int, float, np.number))}
  writer.write_scalars(step, {f"eval_{k}": v for k, v in numeric.items()})
  logging.info("%s evaluation at step %d: %s", "final" if final else "periodic", step,
               "  ".join(f"{k}={_format(v)}" for k, v in sorted(results.items())))
  if figures is not None:
    images = figures(state)
    for name, image in images.items():
      if jax.process_index() == 0:
        save_png(os.path.join(workdir, "figures", f"{name}_{step:07d}.png"), image)
    writer.write_images(step, images)
  return results


__all__ = ["Evaluator", "FigureFn", "evaluate_and_draw"]
