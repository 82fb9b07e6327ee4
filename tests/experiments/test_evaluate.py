"""`python -m experiments.evaluate` and the feature-network commands, end to end."""

import json

import numpy as np

from jgen.metrics import feature_networks


def test_scores_a_samples_file_and_writes_json_and_the_figure(tmp_path, tiny_npz_dir,
                                                              run_module):
  test = np.load(tiny_npz_dir / "mnist.npz")["x_test"][..., None]
  np.savez(tmp_path / "samples.npz", samples=test, labels=np.arange(len(test)) % 10)
  proc = run_module("experiments.evaluate", f"--samples={tmp_path / 'samples.npz'}",
                    "--dataset=mnist", f"--npz_dir={tiny_npz_dir}",
                    f"--data_dir={tiny_npz_dir.parent / 'tfds'}",
                    "--metrics=fid,kid,precision_recall,class_kl")
  printed = json.loads(proc.stdout.strip().splitlines()[-1])
  written = json.loads((tmp_path / "evaluation.json").read_text())
  assert printed == written
  assert written["num_samples"] == 32 and written["feature_network"] == "mnist"
  # The samples are the test split itself: FID ~ 0, precision = 1.
  assert abs(written["fid"]) < 1e-3 and written["precision"] == 1.0
  assert (tmp_path / "nearest_neighbours.png").stat().st_size > 0


def test_bad_samples_stop_with_one_clear_message(tmp_path, tiny_npz_dir, run_module):
  np.savez(tmp_path / "samples.npz", samples=np.zeros((8, 28, 28, 1), np.float32))
  proc = run_module("experiments.evaluate", f"--samples={tmp_path / 'samples.npz'}",
                    "--dataset=mnist", f"--npz_dir={tiny_npz_dir}", check=False)
  assert proc.returncode != 0
  assert "dtype float32; expected uint8" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_classifier_run_exports_a_loadable_feature_network(tmp_path, tiny_npz_dir,
                                                           run_module):
  config = "experiments/configs/feature_network.py:mnist,tiny"
  flags = [f"--workdir={tmp_path / 'run'}", f"--config={config}",
           f"--config.data.npz_dir={tiny_npz_dir}",
           f"--config.data.data_dir={tiny_npz_dir.parent / 'tfds'}"]
  run_module("experiments.main", *flags)
  summary = json.loads((tmp_path / "run" / "summary.json").read_text())
  assert summary["step"] == 6 and 0.0 <= summary["test_accuracy"] <= 1.0
  assert not (tmp_path / "run" / "samples.npz").exists()  # A classifier samples nothing.
  out = tmp_path / "net.npz"
  proc = run_module("experiments.export_feature_network", *flags[:2], f"--output={out}")
  assert f"sha256={feature_networks._sha256(str(out))}" in proc.stdout
  net = feature_networks.load_feature_network(str(out))
  assert net.model.widths == (8, 16)
