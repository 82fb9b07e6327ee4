"""End-to-end tests of `python -m experiments.vae` on tiny configs and tiny offline data."""

import json
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = REPO / "experiments" / "configs"


@pytest.fixture(name="npz_dir")
def _npz_dir(tiny_npz_dir):
  return tiny_npz_dir


@pytest.fixture(name="run")
def _run(run_module):
  """``run(workdir, config, npz_dir, tfds_dir, *flags)``: ``python -m experiments.vae``."""
  def run(workdir, config, npz_dir, tfds_dir, *flags):
    return run_module("experiments.vae", f"--workdir={workdir}", f"--config={config}",
                      f"--config.data.npz_dir={npz_dir}", f"--config.data.data_dir={tfds_dir}",
                      *flags)
  return run


COMMON = {"reconstructions", "prior_samples", "latent_traversal",
          "interpolation_linear", "interpolation_slerp", "editing"}


@pytest.mark.parametrize("variant,figures,has_nll", [
    ("tiny", COMMON | {"manifold"}, True),  # VAE, 2-D latent.
    ("tiny,iwae", COMMON, True),
    ("tiny,cvae", COMMON | {"style_transfer"}, True),
    ("tiny,dae", COMMON | {"denoising_corrupted_denoised_clean"}, False),
])
def test_variants_write_their_figures(tmp_path, npz_dir, variant, figures, has_nll, run):
  workdir = tmp_path / "run"
  run(workdir, f"{CONFIGS / 'vae_binarized_mnist.py'}:{variant}", npz_dir, tmp_path / "tfds")
  assert {f"{name}_0000006.png" for name in figures} <= {
      p.name for p in (workdir / "figures").iterdir()}
  samples = np.load(workdir / "samples.npz")["samples"]
  assert samples.shape == (40, 28, 28, 1) and samples.dtype == np.uint8
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["step"] == 6
  if has_nll:
    # IWAE (k=20) log-likelihood ≥ ELBO, i.e. NLL ≤ −ELBO; both finite and positive.
    assert 0 < summary["test_nll_iwae"] <= summary["test_negative_elbo"] + 1e-3
    assert summary["num_test_examples"] == 32


@pytest.mark.parametrize("variant,levels", [("tiny,ema", [""]),
                                            ("tiny,ema,vq2", ["_top", "_bottom"])])
def test_vqvae_writes_codebook_usage_and_resumes(tmp_path, npz_dir, run, variant, levels):
  workdir = tmp_path / "vq"
  config = f"{CONFIGS / 'vqvae_fashion_mnist.py'}:{variant}"
  run(workdir, config, npz_dir, tmp_path / "tfds")
  assert {"reconstructions_0000006.png",
          *(f"codebook_usage{name}_0000006.png" for name in levels)} <= {
      p.name for p in (workdir / "figures").iterdir()}
  summary = json.loads((workdir / "summary.json").read_text())
  assert 0 < summary["test_reconstruction_mse"] < 1
  for name in levels:
    assert 1 <= summary[f"test_codebook_perplexity{name}"] <= 16
  metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert any(f"train_perplexity{levels[-1]}" in m for m in metrics)
  proc = run(workdir, config, npz_dir, tmp_path / "tfds", "--config.training.num_steps=8")
  assert "Restored checkpoint at step 6" in proc.stderr
  assert json.loads((workdir / "summary.json").read_text())["step"] == 8


def test_conv_vae_with_logistic_decoder_reports_bits_per_dim(tmp_path, npz_dir, run):
  workdir = tmp_path / "conv"
  run(workdir, f"{CONFIGS / 'vae_fashion_mnist.py'}:tiny", npz_dir, tmp_path / "tfds")
  assert {f"{name}_0000006.png" for name in COMMON} <= {
      p.name for p in (workdir / "figures").iterdir()}
  summary = json.loads((workdir / "summary.json").read_text())
  assert 0 < summary["test_reconstruction_mse"] < 1
  # Finite and positive (6 steps on random pixels need not beat uniform's 8 bits/dim).
  assert 0 < summary["test_bits_per_dim_iwae"] < 100
