"""End-to-end tests of `python -m experiments.gan` on tiny configs."""

import json
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "experiments" / "configs" / "gan_ring8.py")


@pytest.fixture(name="run")
def _run(run_module):
  """``run(workdir, *flags, check=True, timeout=600)``: ``python -m experiments.gan``."""
  def run(workdir, *flags, check=True, timeout=600):
    return run_module("experiments.gan", f"--workdir={workdir}", *flags, check=check,
                      timeout=timeout)
  return run


def _checkpoint_steps(workdir):
  ckpt = pathlib.Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in ckpt.iterdir() if p.name.isdigit()) if ckpt.exists() else []


def test_tiny_run_writes_everything_and_resumes(tmp_path, run):
  workdir = tmp_path / "run"
  proc = run(workdir, f"--config={CONFIG}:tiny")
  assert "step 40/40" in proc.stderr  # Progress lines.
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["step"] == 40 and summary["num_modes"] == 8
  assert 0 <= summary["modes_covered"] <= 8
  samples = np.load(workdir / "samples.npz")["samples"]
  assert samples.shape == (500, 2) and samples.dtype == np.float32
  lines = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  train = [m for m in lines if "train_d_loss" in m]
  assert [m["step"] for m in train] == [10, 20, 30, 40]
  assert any("eval_modes_covered" in m for m in lines)
  assert json.loads((workdir / "config.json").read_text())["data"]["name"] == "ring8"
  assert list((workdir / "tb").iterdir())
  assert (workdir / "figures" / "samples_0000040.png").exists()
  assert _checkpoint_steps(workdir) == [20, 40]

  # A second run with more steps resumes from step 40 instead of starting over.
  proc = run(workdir, f"--config={CONFIG}:tiny", "--config.training.num_steps=60")
  assert "Restored checkpoint at step 40" in proc.stderr
  assert "step 10/60" not in proc.stderr and "step 60/60" in proc.stderr
  assert _checkpoint_steps(workdir) == [20, 40, 60]

  # --sample_only regenerates samples.npz bit-identically from the newest checkpoint.
  before = np.load(workdir / "samples.npz")["samples"]
  (workdir / "samples.npz").unlink()
  run(workdir, f"--config={CONFIG}:tiny", "--config.training.num_steps=60", "--sample_only")
  np.testing.assert_array_equal(np.load(workdir / "samples.npz")["samples"], before)


def test_non_finite_loss_stops_with_the_step_and_keeps_the_checkpoint(tmp_path, run):
  workdir = tmp_path / "nan"
  # A learning rate of 3 makes the least-squares losses overflow at step 2 (seed 0).
  proc = run(workdir, f"--config={CONFIG}:tiny", "--config.loss.name=least_squares",
              "--config.optim.d_lr=3", "--config.optim.g_lr=3",
              "--config.training.checkpoint_every=1", check=False)
  assert proc.returncode != 0
  assert "Non-finite metrics at step" in proc.stderr
  step = int(proc.stderr.split("Non-finite metrics at step ")[1].split(":")[0])
  assert step >= 2
  assert _checkpoint_steps(workdir)[-1] == step - 1  # The last good one; none after it.
  assert not (workdir / "summary.json").exists()


def _tiny_mnist(tmp_path):
  """Flags for a random 64-image MNIST npz, built into a TFDS dir under tmp_path."""
  rng = np.random.default_rng(0)
  npz_dir = tmp_path / "npz"
  npz_dir.mkdir(exist_ok=True)
  np.savez(npz_dir / "mnist.npz",
           x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
           y_train=rng.integers(0, 10, 64, dtype=np.uint8),
           x_test=rng.integers(0, 256, (16, 28, 28), dtype=np.uint8),
           y_test=rng.integers(0, 10, 16, dtype=np.uint8))
  return f"--config.data.npz_dir={npz_dir}", f"--config.data.data_dir={tmp_path / 'tfds'}"


def test_dcgan_on_a_tiny_offline_mnist_writes_image_artefacts(tmp_path, run):
  workdir = tmp_path / "dcgan"
  config = REPO / "experiments" / "configs" / "dcgan_mnist.py"
  run(workdir, f"--config={config}:tiny", *_tiny_mnist(tmp_path))
  samples = np.load(workdir / "samples.npz")["samples"]
  assert samples.shape == (40, 28, 28, 1) and samples.dtype == np.uint8
  figures = {p.name for p in (workdir / "figures").iterdir()}
  assert {"samples_0000006.png", "interpolation_linear_0000006.png",
          "interpolation_slerp_0000006.png", "nearest_neighbours_0000006.png"} <= figures
  assert _checkpoint_steps(workdir) == [3, 6]
  # The evaluation suite: FID periodically, the tiny config's metrics at the end, and the
  # discriminator two-sample test both times.
  summary = json.loads((workdir / "summary.json").read_text())
  assert {"fid", "class_kl", "precision", "recall"} <= set(summary)
  assert summary["num_scored_samples"] == 40 and 0 < summary["discriminator_test_p_value"] <= 1
  lines = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [m["step"] for m in lines if "eval_fid" in m] == [3, 6]
  assert [m["eval_num_scored_samples"] for m in lines if "eval_fid" in m] == [20, 40]


def test_missing_dataset_fails_with_one_clear_message(tmp_path, run):
  config = REPO / "experiments" / "configs" / "dcgan_mnist.py"
  proc = run(tmp_path / "w", f"--config={config}:tiny",
              f"--config.data.data_dir={tmp_path / 'empty'}", check=False, timeout=120)
  assert proc.returncode != 0
  assert "mnist" in proc.stderr and "npz" in proc.stderr
  assert "Traceback" not in proc.stderr


ZOO = REPO / "experiments" / "configs" / "gan_zoo.py"


def test_conditional_zoo_model_draws_classes_and_scores_them(tmp_path, run):
  workdir = tmp_path / "cgan"
  # CAS (600 classifier steps) is tested in tests/metrics/test_cas.py; here its labels.
  run(workdir, f"--config={ZOO}:cgan_projection,tiny",
      "--config.eval.sample_metrics=('fid', 'class_accuracy')", *_tiny_mnist(tmp_path))
  archive = np.load(workdir / "samples.npz")
  np.testing.assert_array_equal(archive["labels"], np.arange(40) % 10)
  assert "classes_0000006.png" in {p.name for p in (workdir / "figures").iterdir()}
  summary = json.loads((workdir / "summary.json").read_text())
  assert 0 <= summary["class_accuracy"] <= 1
  assert 0 < summary["discriminator_test_p_value"] <= 1


def test_spectral_norm_run_resumes_exactly(tmp_path, run):
  """SNGAN's spectral-norm vectors are checkpointed: 6 + 2 steps == 8 steps."""
  data_flags = _tiny_mnist(tmp_path)
  flags = (f"--config={ZOO}:sngan,tiny", "--config.training.num_steps=8",
           "--config.eval.sample_metrics=('fid',)", *data_flags)
  run(tmp_path / "straight", *flags)
  run(tmp_path / "resumed", *flags[:1], *flags[2:])  # 6 steps ...
  proc = run(tmp_path / "resumed", *flags)           # ... then 2 more.
  assert "Restored checkpoint at step 6" in proc.stderr
  np.testing.assert_array_equal(np.load(tmp_path / "straight" / "samples.npz")["samples"],
                                np.load(tmp_path / "resumed" / "samples.npz")["samples"])


def test_biggan_trains_then_truncation_curve_and_latent_arithmetic(tmp_path, run, run_module):
  workdir = tmp_path / "biggan"
  data_flags = _tiny_mnist(tmp_path)
  run(workdir, f"--config={ZOO}:biggan,tiny", "--config.eval.sample_metrics=('fid',)",
      *data_flags)
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["step"] == 6 and np.isfinite(summary["fid"])
  proc = run_module("experiments.truncation", f"--workdir={workdir}", "--thresholds=0,0.5",
                    "--num_samples=40", data_flags[0].replace("--config.data.", "--"),
                    data_flags[1].replace("--config.data.", "--"))
  results = json.loads((workdir / "truncation.json").read_text())
  assert [r["threshold"] for r in results] == [0.0, 0.5]
  assert all({"fid", "precision", "recall", "class_accuracy"} <= set(r) for r in results)
  assert len(proc.stdout.strip().splitlines()) == 2
  figures = {p.name for p in (workdir / "figures").iterdir()}
  assert {"truncation_curve.png", "truncation_samples.png"} <= figures

  bad = run_module("experiments.truncation", f"--workdir={tmp_path / 'nothing'}", check=False)
  assert bad.returncode != 0 and "holds no config.json" in bad.stderr
  assert "Traceback" not in bad.stderr

  # Latent-vector arithmetic on the same run: z + k·v along the ink direction.
  run_module("experiments.latent_arithmetic", f"--workdir={workdir}", "--num_latents=400",
             "--steps=-0.5,0,0.5")
  sweep = json.loads((workdir / "latent_arithmetic_ink.json").read_text())
  assert sweep["k"] == [-0.5, 0.0, 0.5] and sweep["same_class"][1] == 1.0
  assert len(sweep["mean_attribute"]) == 3
  assert (workdir / "figures" / "latent_arithmetic_ink.png").exists()


def test_stylegan_trains_then_truncation_in_w(tmp_path, run, run_module):
  workdir = tmp_path / "stylegan"
  data_flags = _tiny_mnist(tmp_path)
  run(workdir, f"--config={ZOO}:stylegan,tiny", "--config.eval.sample_metrics=('fid',)",
      "--config.eval.every=6", *data_flags)
  figures = {p.name for p in (workdir / "figures").iterdir()}
  assert {"style_mixing_0000006.png", "truncation_w_0000006.png"} <= figures
  assert np.isfinite(json.loads((workdir / "summary.json").read_text())["fid"])
  run_module("experiments.truncation", f"--workdir={workdir}", "--psi=1,0",
             "--num_samples=40", data_flags[0].replace("--config.data.", "--"),
             data_flags[1].replace("--config.data.", "--"))
  results = json.loads((workdir / "truncation.json").read_text())
  assert [r["psi"] for r in results] == [1.0, 0.0]
  # ψ = 0 puts every sample at w̄: the noise alone varies them, so recall collapses.
  assert results[1]["recall"] <= results[0]["recall"]
