"""End-to-end tests of `python -m experiments.main`, the one binary of every task."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jgen.train import trainer
from jgen.train.checkpoint import Checkpointer

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = REPO / "experiments" / "configs"


@pytest.fixture(name="npz_dir")
def _npz_dir(tiny_npz_dir):
  return tiny_npz_dir


def _flags(workdir, config, npz_dir, *flags):
  return [f"--workdir={workdir}", f"--config={config}", f"--config.data.npz_dir={npz_dir}",
          f"--config.data.data_dir={pathlib.Path(npz_dir).parent / 'tfds'}", *flags]


@pytest.fixture(name="run")
def _run(run_module):
  """``run(workdir, config, npz_dir, *flags, check, timeout)``: ``experiments.main``."""
  def run(workdir, config, npz_dir, *flags, check=True, timeout=600):
    return run_module("experiments.main", *_flags(workdir, config, npz_dir, *flags),
                      check=check, timeout=timeout)
  return run


def _checkpoint_steps(workdir):
  ckpt = pathlib.Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in ckpt.iterdir() if p.name.isdigit()) if ckpt.exists() else []


@pytest.mark.parametrize("config,nll_keys", [
    ("nade_binarized_mnist.py:tiny", ["test_nll"]),
    ("made_binarized_mnist.py:tiny,masks32", ["test_nll_1mask", "test_nll_32masks"]),
])
def test_likelihood_models_write_everything(tmp_path, npz_dir, config, nll_keys, run):
  workdir = tmp_path / "run"
  proc = run(workdir, CONFIGS / config, npz_dir)
  assert "step 6/6" in proc.stderr and "final evaluation at step 6" in proc.stderr
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["step"] == 6 and summary["num_test_examples"] == 32
  for key in nll_keys:  # Exact NLL of random binary pixels: about 784·log 2 = 543 nats.
    assert 400 < summary[key] < 700, summary
    assert summary[key.replace("nll", "bits_per_dim")] == pytest.approx(
        summary[key] / (784 * np.log(2)))
  samples = np.load(workdir / "samples.npz")["samples"]
  assert samples.shape == (40, 28, 28, 1) and samples.dtype == np.uint8
  assert set(np.unique(samples)) <= {0, 255}
  lines = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
  # Periodic evaluation at step 3 (one mask), the final one at step 6.
  periodic = [m for m in lines if any(k.startswith("eval_test_nll") for k in m)]
  assert [m["step"] for m in periodic] == [3, 6]
  assert [m["step"] for m in lines if "train_loss" in m] == [2, 4, 6]
  assert {"samples_0000003.png", "samples_0000006.png", "nearest_neighbours_0000006.png"} <= {
      p.name for p in (workdir / "figures").iterdir()}
  # The evaluation suite at the end only (sampling is the expensive part).
  assert {"fid", "class_kl", "precision", "recall"} <= set(summary)
  assert not any("eval_fid" in m for m in periodic if m["step"] == 3)


@pytest.mark.parametrize("variant,binary", [
    ("tiny", True), ("tiny,gated,fashion_mnist", False), ("tiny,conditional", True),
    ("tiny,diagonal_bilstm", True), ("tiny,row_lstm,fashion_mnist,softmax", False)])
def test_pixelcnns_train_and_sample_through_the_binary(tmp_path, npz_dir, variant, binary, run):
  workdir = tmp_path / "run"
  proc = run(workdir, f"{CONFIGS / 'pixelcnn.py'}:{variant}", npz_dir)
  assert "final evaluation at step 4" in proc.stderr
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["num_test_examples"] == 16
  # Random pixels: ~log 2 nats per binary pixel; a fresh logistic mixture or softmax
  # pays several bits per 8-bit sub-pixel (about the 8 bits of a uniform guess).
  low, high = (400, 700) if binary else (2 * 784 * np.log(2), 12 * 784 * np.log(2))
  assert low < summary["test_nll"] < high, summary
  assert summary["test_bits_per_dim"] == pytest.approx(summary["test_nll"] / (784 * np.log(2)))
  saved = np.load(workdir / "samples.npz")
  samples = saved["samples"]
  assert samples.shape == (8, 28, 28, 1) and samples.dtype == np.uint8
  if "conditional" in variant:  # Classes 0, 1, ..., 9, 0, ... with the samples.
    np.testing.assert_array_equal(saved["labels"], np.arange(8) % 10)
  else:
    assert "labels" not in saved
  if binary:
    assert set(np.unique(samples)) <= {0, 255}
  else:
    assert len(np.unique(samples)) > 2
  assert {"samples_0000004.png", "completions_0000004.png"} <= {
      p.name for p in (workdir / "figures").iterdir()}


def test_a_vq_vae_prior_learns_the_code_maps_and_samples_images(tmp_path, npz_dir, vqvae_run,
                                                               run):
  prior = tmp_path / "prior"
  proc = run(prior, f"{CONFIGS / 'pixelcnn.py'}:tiny,vq_prior", npz_dir,
             f"--config.data.vqvae_workdir={vqvae_run[0]}")
  assert "final evaluation at step 4" in proc.stderr
  summary = json.loads((prior / "summary.json").read_text())
  # 7x7 maps of the tiny VQ-VAE's 16 codes: a fresh prior is near uniform, 49 log 16.
  uniform = 49 * np.log(16)
  assert 0.5 * uniform < summary["test_nll"] < 1.5 * uniform, summary
  assert summary["test_bits_per_dim"] == pytest.approx(summary["test_nll"] / (49 * np.log(2)))
  samples = np.load(prior / "samples.npz")["samples"]  # Decoded: images, not codes.
  assert samples.shape == (8, 28, 28, 1) and samples.dtype == np.uint8
  assert {"samples_0000004.png", "completions_0000004.png"} <= {
      p.name for p in (prior / "figures").iterdir()}
  assert {"fid", "precision"} <= set(summary)  # Scored as images of Fashion-MNIST.


def test_vqvae2_priors_top_then_bottom_sample_the_hierarchy(tmp_path, npz_dir, vqvae2_run, run):
  vqvae = f"--config.data.vqvae_workdir={vqvae2_run[0]}"
  top = tmp_path / "top"
  run(top, f"{CONFIGS / 'pixelcnn.py'}:tiny,vq2_top", npz_dir, vqvae)
  summary = json.loads((top / "summary.json").read_text())
  # 7x7 top maps of 16 codes: a fresh prior is near uniform, 49 log 16; no images.
  assert 0.5 * 49 * np.log(16) < summary["test_nll"] < 1.5 * 49 * np.log(16), summary
  assert "num_samples" not in summary and not (top / "samples.npz").exists()

  bottom = tmp_path / "bottom"
  run(bottom, f"{CONFIGS / 'pixelcnn.py'}:tiny,vq2_bottom", npz_dir, vqvae,
      f"--config.data.top_prior_workdir={top}")
  summary = json.loads((bottom / "summary.json").read_text())
  # 14x14 bottom maps given the top map: near uniform too, 196 log 16.
  assert 0.5 * 196 * np.log(16) < summary["test_nll"] < 1.5 * 196 * np.log(16), summary
  samples = np.load(bottom / "samples.npz")["samples"]  # Top → bottom → decoder: images.
  assert samples.shape == (8, 28, 28, 1) and samples.dtype == np.uint8
  assert {"samples_0000004.png", "completions_0000004.png", "resampled_0000004.png"} <= {
      p.name for p in (bottom / "figures").iterdir()}
  assert {"fid", "precision"} <= set(summary)


def test_image_flow_trains_on_dequantized_mnist_and_writes_everything(tmp_path, npz_dir, run):
  workdir = tmp_path / "run"
  proc = run(workdir, f"{CONFIGS / 'flow_images.py'}:tiny,glow", npz_dir)
  assert "final evaluation at step 4" in proc.stderr
  summary = json.loads((workdir / "summary.json").read_text())
  # Dequantized uniform-random pixels: a fresh flow pays about 8 bits per dimension
  # (it is not yet uniform on [0, 1)^D, so a little more), never less.
  assert 8.0 < summary["test_bits_per_dim"] < 9.5, summary
  assert summary["test_bits_per_dim"] == pytest.approx(summary["test_nll"] / (784 * np.log(2)))
  samples = np.load(workdir / "samples.npz")["samples"]
  assert samples.shape == (64, 28, 28, 1) and samples.dtype == np.uint8
  assert len(np.unique(samples)) > 10  # 8-bit samples, not binary ones.
  figures = {p.name for p in (workdir / "figures").iterdir()}
  assert {"samples_0000004.png", "samples_t07_0000004.png",
          "interpolation_0000004.png"} <= figures
  assert {"fid", "class_kl", "precision", "recall"} <= set(summary)


def test_2d_flow_reports_the_data_entropy_and_draws_its_density(tmp_path, npz_dir, run):
  workdir = tmp_path / "run"
  run(workdir, f"{CONFIGS / 'flow_toy2d.py'}:tiny,maf,checkerboard", npz_dir)
  summary = json.loads((workdir / "summary.json").read_text())
  # Checkerboard: uniform on 8 squares of area 4, entropy log 32.
  assert summary["data_nll"] == pytest.approx(np.log(32.0))
  assert summary["kl_data_to_model"] == pytest.approx(summary["test_nll"] - np.log(32.0))
  assert summary["kl_data_to_model"] > 0
  points = np.load(workdir / "samples.npz")["samples"]
  assert points.shape == (50, 2) and points.dtype == np.float32
  assert {"density_0000006.png", "samples_0000006.png"} <= {
      p.name for p in (workdir / "figures").iterdir()}


RESUME_CASES = {
    # config, steps: long enough for the kill to land mid-run.
    "gan": (f"{CONFIGS / 'gan_ring8.py'}:tiny", 1500, ["--config.training.ema_decay=0.99"]),
    "vae": (f"{CONFIGS / 'vae_binarized_mnist.py'}:tiny,iwae", 600, []),
    "likelihood": (f"{CONFIGS / 'made_binarized_mnist.py'}:tiny,masks32", 600,
                   ["--config.eval.num_masks=(1,)"]),
}


@pytest.mark.parametrize("task", list(RESUME_CASES))
def test_sigkill_and_restart_is_bit_identical_to_uninterrupted(tmp_path, npz_dir, task, run):
  config, steps, extra = RESUME_CASES[task]
  flags = [f"--config.training.num_steps={steps}", "--config.training.checkpoint_every=50",
           "--config.training.log_every=500", "--config.eval.every=100000",
           "--config.eval.num_samples=40", *extra]
  straight, killed = tmp_path / "straight", tmp_path / "killed"
  run(straight, config, npz_dir, *flags)

  proc = subprocess.Popen([sys.executable, "-m", "experiments.main",
                           *_flags(killed, config, npz_dir, *flags)], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
  deadline = time.time() + 300
  while not _checkpoint_steps(killed) and time.time() < deadline and proc.poll() is None:
    time.sleep(0.01)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  steps_at_kill = _checkpoint_steps(killed)
  assert steps_at_kill and steps_at_kill[-1] < steps, steps_at_kill
  assert not (killed / "summary.json").exists()

  restarted = run(killed, config, npz_dir, *flags)
  assert f"Restored checkpoint at step {steps_at_kill[-1]}" in restarted.stderr
  np.testing.assert_array_equal(np.load(straight / "samples.npz")["samples"],
                                np.load(killed / "samples.npz")["samples"])
  final = [_final_state(w, config, flags) for w in (straight, killed)]
  assert int(final[0].step) == int(final[1].step) == steps
  for a, b in zip(jax.tree.leaves(final[0]), jax.tree.leaves(final[1]), strict=True):
    np.testing.assert_array_equal(a, b)  # Params, optimizer states, EMA, key: bit-identical.


def _final_state(workdir, config_arg, flags):
  import importlib  # pylint: disable=g-import-not-at-top
  path, _, variant = config_arg.partition(":")
  module = importlib.import_module(f"experiments.configs.{pathlib.Path(path).stem}")
  config = module.get_config(variant)
  for flag in flags:  # Apply the overrides that change the state's structure.
    name, value = flag[len("--config."):].split("=")
    if name == "training.ema_decay":
      config.training.ema_decay = float(value)
  task = trainer.validate_config(config)
  from jgen import data  # pylint: disable=g-import-not-at-top
  ckpt = Checkpointer(pathlib.Path(workdir) / "checkpoints")
  state, _ = ckpt.restore_latest(task.init_state(config, data.dataset_info(config.data.name)))
  ckpt.close()
  return state


def test_a_bad_value_fails_at_startup_with_one_message_and_no_traceback(tmp_path, npz_dir, run):
  config = CONFIGS / "made_binarized_mnist.py:tiny"
  proc = run(tmp_path / "bad", config, npz_dir, "--config.task=flow", check=False,
             timeout=120)
  assert proc.returncode != 0
  assert ("task='flow' is not valid; choose from ('gan', 'vae', 'likelihood', 'classifier')"
          in proc.stderr), proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr
  assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("config,field,value,message", [
    ("made_binarized_mnist", "model.arch", "wavenet",
     "model.arch='wavenet' is not valid; choose from"),
    ("pixelcnn", "model.pixelcnn", {"hiden": 3},
     "model.pixelcnn.hiden is not an argument of model.arch='pixelcnn'; valid: hidden,"),
    ("pixelcnn", "data.preprocess", "dequantize",
     "data.preprocess on binarized_mnist='dequantize' is not valid; choose from ('binary',)"),
    ("pixelcnn", "model.pixelcnn", {"num_classes": 10},
     "model.pixelcnn.num_classes is not an argument of model.arch='pixelcnn'"),
    ("pixelcnn", "model.pixelcnn", {"num_categories": 10},
     "model.pixelcnn.num_categories is not an argument of model.arch='pixelcnn'"),
    ("pixelcnn", "data.vqvae_workdir", "/nonexistent",
     "data.vqvae_workdir='/nonexistent' holds no config.json: train a VQ-VAE there first"),
    ("made_binarized_mnist", "data.preprocess", "unit",
     "data.preprocess='unit' is not valid; choose from"),
    ("made_binarized_mnist", "eval.num_masks", (64,),
     "eval.num_masks=(64,) must lie in [1, model.num_masks=1]"),
    ("made_binarized_mnist", "optim.schedule", "step", "optim.schedule='step' is not valid"),
    ("flow_images", "data.preprocess", "unit",
     "data.preprocess='unit' on mnist: flows model 8-bit images dequantized"),
    ("flow_images", "model.arch", "iaf", "model.arch='iaf' is offered on the 2-D toys only"),
    ("flow_toy2d", "model.arch", "glow", "model.arch='glow' is offered on images only"),
    ("flow_toy2d", "model.flow", {"widht": 3},
     "model.flow.widht is not an argument of model.arch='realnvp'; valid: hidden,"),
    ("nade_binarized_mnist", "data.name", "two_moons",
     "data.name='two_moons' is a 2-D toy; model.arch='nade' needs binary images"),
    ("gan_ring8", "loss.name", "wgan", "Unknown GAN loss 'wgan'; valid: minimax"),
    ("gan_ring8", "data.name", "mnits", "data.name='mnits' is not valid; choose from"),
    ("gan_ring8", "model.arch", "resnet", "model.arch='resnet' is not valid"),
    ("gan_ring8", "data.batch_size", 0, "data.batch_size=0 is not valid"),
    ("dcgan_mnist", "eval.sample_metrics", ("fid", "fud"), "['fud'] not valid; choose from"),
    ("dcgan_mnist", "eval.feature_network", "imagenet",
     "eval.feature_network='imagenet' is not valid"),
])
def test_bad_values_are_named_with_the_valid_choices(config, field, value, message):
  # The same check the binary runs first (the test above shows it stops there).
  import importlib  # pylint: disable=g-import-not-at-top
  cfg = importlib.import_module(f"experiments.configs.{config}").get_config("tiny")
  section, name = field.split(".")
  cfg[section][name] = value
  with pytest.raises(ValueError) as error:
    trainer.validate_config(cfg)
  assert message in str(error.value)


def test_binaries_add_the_cpu_xla_flag_unless_xla_flags_sets_it():
  from experiments import xla_flags  # pylint: disable=g-import-not-at-top
  assert xla_flags.with_default_xla_flags("") == xla_flags.CPU_XLA_FLAG
  devices = "--xla_force_host_platform_device_count=8"
  assert xla_flags.with_default_xla_flags(devices) == f"{devices} {xla_flags.CPU_XLA_FLAG}"
  own = "--xla_cpu_experimental_ynn_fusion_type=none " + devices
  assert xla_flags.with_default_xla_flags(own) == own


def test_a_conditional_pixelcnn_needs_the_datas_labels():
  from experiments.configs import pixelcnn  # pylint: disable=g-import-not-at-top
  cfg = pixelcnn.get_config("tiny,gated")
  cfg.model.pixelcnn.num_classes = 10
  with pytest.raises(ValueError, match="binarized_mnist has no labels"):
    trainer.validate_config(cfg)
  cfg = pixelcnn.get_config("tiny,conditional")
  cfg.model.pixelcnn.num_classes = 5
  with pytest.raises(ValueError, match="must be 0 .unconditional. or the 10 classes of mnist"):
    trainer.validate_config(cfg)
