"""Tests for jgen.train.evaluate: the evaluator interface the trainer runs."""

import json

import numpy as np
import pytest

from jgen.train.evaluate import evaluate_and_draw
from jgen.train.summaries import MetricWriter


def test_metrics_get_the_eval_prefix_and_figures_are_saved(tmp_path):
  calls = []

  def evaluator(state, final):
    calls.append((state, final))
    return {"test_nll": 88.5, "num_test_examples": 10}

  def figures(state):
    return {"samples": np.zeros((4, 4, 1), np.uint8)}

  with MetricWriter(tmp_path) as writer:
    results = evaluate_and_draw(12, "state", evaluators=[evaluator], figures=figures,
                                final=True, workdir=str(tmp_path), writer=writer)
  assert calls == [("state", True)]
  assert results["test_nll"] == 88.5 and results["eval_seconds"] >= 0
  line = json.loads((tmp_path / "metrics.jsonl").read_text())
  assert line["step"] == 12 and line["eval_test_nll"] == 88.5
  assert (tmp_path / "figures" / "samples_0000012.png").exists()


def test_two_evaluators_reporting_one_name_is_an_error(tmp_path):
  with MetricWriter(tmp_path, enabled=False) as writer, pytest.raises(
      ValueError, match=r"same metrics twice: \['x'\]"):
    evaluate_and_draw(1, None, evaluators=[lambda s, f: {"x": 1.0}] * 2, figures=None,
                      final=False, workdir=str(tmp_path), writer=writer)
