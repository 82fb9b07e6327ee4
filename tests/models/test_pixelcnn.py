"""PixelCNN, gated PixelCNN, Row LSTM, Diagonal BiLSTM: causality by Jacobian, the blind
spot, normalisation, the categorical output, the two samplers."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgen.models.autoregressive_image import OUTPUTS
from jgen.models.masked_conv import MaskedConv2D
from jgen.models.masked_conv import causal_mask
from jgen.models.pixelcnn import GatedPixelCNN
from jgen.models.pixelcnn import PixelCNN
from jgen.models.pixelrnn import DiagonalBiLSTM
from jgen.models.pixelrnn import RowLSTM


def _pixelcnn(shape, **kw):
  return PixelCNN(event_shape=shape, hidden=6, num_blocks=2, kernel_size=3,
                  first_kernel_size=3, head_hidden=6, **kw)


def _gated(shape, **kw):
  return GatedPixelCNN(event_shape=shape, features=6, num_layers=3, kernel_size=3,
                       head_hidden=6, **kw)


def _row_lstm(shape, **kw):
  return RowLSTM(event_shape=shape, features=6, num_layers=2, first_kernel_size=3,
                 head_hidden=6, **kw)


def _diagonal(shape, **kw):
  return DiagonalBiLSTM(event_shape=shape, features=6, num_layers=2, first_kernel_size=3,
                        head_hidden=6, **kw)


MODELS = [_pixelcnn, _gated, _row_lstm, _diagonal]
IDS = ["pixelcnn", "gated", "row_lstm", "diagonal_bilstm"]


def _perturbed(params, seed=5, scale=0.3):
  """Every parameter moved: a fresh model's zero biases could hide a bad mask."""
  leaves, tree = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  return jax.tree.unflatten(tree, [p + scale * jax.random.normal(k, p.shape)
                                   for p, k in zip(leaves, keys, strict=True)])


def _outputs(dist):
  """Every parameter of the conditionals, ``(H, W, C, P)``, of a batch of one."""
  names = ("logits", "locs", "log_scales") if hasattr(dist, "locs") else ("logits",)
  params = [getattr(dist, name) for name in names]
  return jnp.concatenate([p.reshape(*p.shape[:4], -1) for p in params], axis=-1)[0]


def _jacobian(model, shape, labels=None, seed=0):
  """``|∂ output(i, j, c) / ∂ x(i', j', c')|`` summed over the output's parameters."""
  x = jax.random.uniform(jax.random.key(seed), (1, *shape))
  lab = None if labels is None else jnp.asarray(labels)
  params = model.init(jax.random.key(seed + 1), x, lab)
  jac = jax.jacfwd(lambda x: _outputs(model.apply(params, x, lab)))(x)  # (H,W,C,P,1,H,W,C)
  return np.abs(np.asarray(jac)).sum(axis=(3, 4))  # (H, W, C, H, W, C)


def _raster(shape):
  h, w, c = shape
  return np.arange(h * w * c).reshape(h, w, c)


def test_mask_a_and_b_order_the_colour_channels():
  a = causal_mask(1, 3, 6, "A", data_channels=3)[0, 0]
  b = causal_mask(1, 3, 6, "B", data_channels=3)[0, 0]
  # Input channel (R, G, B) -> output groups (two features each).
  np.testing.assert_array_equal(a, [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0] * 6])
  np.testing.assert_array_equal(b, [[1] * 6, [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]])
  full = causal_mask((3, 5), 1, 1, "B")[..., 0, 0]
  np.testing.assert_array_equal(full, [[1] * 5, [1, 1, 1, 0, 0], [0] * 5])


def test_an_unknown_output_is_named_with_the_valid_ones():
  with pytest.raises(ValueError, match=f"output='softmax'; valid: {', '.join(OUTPUTS)}"):
    _pixelcnn((4, 4, 1), output="softmax").init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))


def test_bad_masks_raise_clear_errors():
  with pytest.raises(ValueError, match="mask_type='C'; valid: A, B"):
    causal_mask(3, 1, 1, "C")
  with pytest.raises(ValueError, match="out_features=4 must be a multiple of data_channels=3"):
    causal_mask(3, 3, 4, "B", data_channels=3)


@pytest.mark.parametrize("kernel,mask_type,center", [(3, "B", None), (7, "A", None),
                                                     ((1, 3), "B", (0, 2)), ((2, 5), "A", (1, 2))])
def test_masked_conv_equals_the_full_convolution_with_the_masked_kernel(kernel, mask_type,
                                                                        center):
  """MaskedConv2D skips the kernel rows below the centre (all masked): same outputs."""
  conv = MaskedConv2D(6, kernel, mask_type, data_channels=3, center=center)
  x = jax.random.normal(jax.random.key(0), (2, 8, 9, 3))
  params = _perturbed(conv.init(jax.random.key(1), x))
  kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
  ci, cj = center or (kh // 2, kw // 2)
  full = params["params"]["kernel"] * causal_mask((kh, kw), 3, 6, mask_type, 3, (ci, cj))
  want = jax.lax.conv_general_dilated(x, full, (1, 1), ((ci, kh - 1 - ci), (cj, kw - 1 - cj)),
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))
  np.testing.assert_allclose(conv.apply(params, x), want + params["params"]["bias"],
                             rtol=1e-5, atol=1e-5)


def test_masked_conv_keeps_the_spatial_shape_with_an_off_centre_tap():
  conv = MaskedConv2D(2, (1, 3), "B", center=(0, 2))
  x = jnp.ones((1, 4, 5, 1))
  y, _ = conv.init_with_output(jax.random.key(0), x)
  assert y.shape == (1, 4, 5, 2)


@pytest.mark.parametrize("make", MODELS, ids=IDS)
@pytest.mark.parametrize("shape,output", [((5, 5, 1), "bernoulli"),
                                          ((4, 4, 3), "logistic_mixture")])
def test_outputs_never_see_their_own_or_later_sub_pixels(make, shape, output):
  jac = _jacobian(make(shape, output=output), shape)
  order = _raster(shape)
  later = order[None, None, None, :, :, :] >= order[:, :, :, None, None, None]
  assert np.all(jac[later] == 0.0)  # Exactly zero, not small.
  assert np.any(jac[~later] > 0.0)


def test_gated_pixelcnn_is_causal_with_class_conditioning():
  shape = (4, 4, 3)
  jac = _jacobian(_gated(shape, num_classes=3), shape, labels=[2])
  order = _raster(shape)
  assert np.all(jac[order[None, None, None] >= order[..., None, None, None]] == 0.0)


def test_pixelcnn_has_a_blind_spot_and_gated_pixelcnn_has_none():
  shape = (6, 7, 1)
  i, j = 3, 3
  plain = _jacobian(PixelCNN(event_shape=shape, hidden=6, num_blocks=4, kernel_size=3,
                             first_kernel_size=3, head_hidden=6), shape)[i, j, 0, ..., 0]
  gated = _jacobian(GatedPixelCNN(event_shape=shape, features=6, num_layers=4,
                                  kernel_size=3, head_hidden=6), shape)[i, j, 0, ..., 0]
  earlier = _raster(shape)[..., 0] < _raster(shape)[i, j, 0]
  # Stacked 3x3 masks reach (i-1, j+1) but never (i-1, j+2): the blind spot.
  assert plain[i - 1, j + 1] > 0 and plain[i - 1, j + 2] == 0 and plain[i - 1, j + 3] == 0
  # Gated: every earlier pixel within its receptive field (4 layers: rows i-4.., all
  # columns j-4..j+4 of the rows above, j-4.. of its own row) influences (i, j).
  assert np.all(gated[earlier & (np.arange(7)[None] <= j + 3)] > 0)


@pytest.mark.parametrize("make", MODELS, ids=IDS)
@pytest.mark.parametrize("shape", [(2, 2, 1), (2, 2, 3)])
def test_probabilities_of_all_binary_images_sum_to_one(make, shape):
  model = make(shape)
  d = int(np.prod(shape))
  images = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=d))).reshape(-1, *shape)
  params = _perturbed(model.init(jax.random.key(0), images[:1]), seed=1, scale=0.5)
  log_p = model.apply(params, images).log_prob(images)
  np.testing.assert_allclose(float(jax.nn.logsumexp(log_p)), 0.0, atol=1e-5)


@pytest.mark.parametrize("shape", [(5, 6, 1), (4, 5, 3)])
def test_diagonal_bilstm_sees_every_earlier_sub_pixel_and_row_lstm_does_not(shape):
  """One layer each: the Diagonal BiLSTM's field is the whole past, the Row LSTM's a
  triangle above the pixel. Summed over several points, so that no dead ReLU of one
  point hides a dependence."""
  earlier = _raster(shape)[None, None, None] < _raster(shape)[..., None, None, None]
  for make, complete in ((DiagonalBiLSTM, True), (RowLSTM, False)):
    model = make(event_shape=shape, features=6, num_layers=1, first_kernel_size=3,
                 head_hidden=12)
    jacobian = jax.jit(jax.jacfwd(lambda x, params: model.apply(params, x).logits[0]))
    total = 0.0
    for seed in range(12):
      x = jax.random.uniform(jax.random.key(seed), (1, *shape))
      params = _perturbed(model.init(jax.random.key(1), x), seed=5 + seed)
      total = total + np.abs(np.asarray(jacobian(x, params)))[:, :, :, 0]
    assert np.all(total[~earlier] == 0.0)
    assert np.all(total[earlier] > 0.0) == complete, make.__name__


@pytest.mark.parametrize("make", MODELS, ids=IDS)
def test_categorical_output_is_causal_normalised_and_reads_class_indices(make):
  shape, k = (2, 2, 2), 3  # Two channels of three levels: 3^8 = 6,561 images.
  model = make(shape, output="categorical", num_categories=k, embed_dim=2)
  images = jnp.asarray(list(itertools.product(range(k), repeat=8)), jnp.float32)
  images = images.reshape(-1, *shape)
  params = _perturbed(model.init(jax.random.key(0), images[:1]))
  log_p = model.apply(params, images, method="log_prob")
  np.testing.assert_allclose(float(jax.nn.logsumexp(log_p)), 0.0, atol=1e-4)
  dist = model.apply(params, images[:5])
  assert dist.logits.shape == (5, *shape, k)
  np.testing.assert_allclose(log_p[:5], dist.log_prob(images[:5].astype(jnp.int32)),
                             rtol=1e-6)
  # Causality by perturbation (the inputs are discrete): changing the sub-pixels at
  # and after p leaves every conditional before and at p unchanged.
  order = _raster(shape)
  x = images[1234:1235]
  conditionals = jax.jit(lambda x: model.apply(params, x).logits[0])
  logits = np.asarray(conditionals(x))
  for p in range(order.size):
    changed = np.asarray(conditionals(jnp.where(jnp.asarray(order >= p), (x + 1) % k, x)))
    np.testing.assert_array_equal(changed[order <= p], logits[order <= p])
    assert p > 0 or not np.array_equal(changed, logits)  # The later ones did change.


def test_reference_sampler_draws_from_the_model():
  shape = (2, 2, 1)
  model = _gated(shape)
  images = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4))).reshape(-1, *shape)
  params = model.init(jax.random.key(0), images[:1])
  probs = np.exp(np.asarray(model.apply(params, images).log_prob(images)))
  n = 20_000
  samples = jax.jit(lambda k: model.apply(params, k, n, method="sample"))(jax.random.key(2))
  index = np.asarray(samples).reshape(n, 4) @ (2 ** np.arange(3, -1, -1))
  freq = np.bincount(index.astype(int), minlength=16) / n
  tolerance = 4 * np.sqrt(probs * (1 - probs) / n) + 1e-3  # Four standard errors.
  assert np.all(np.abs(freq - probs) <= tolerance), (freq, probs)


@pytest.mark.parametrize("make", MODELS, ids=IDS)
@pytest.mark.parametrize("cached", [False, True], ids=["reference", "cached"])
def test_completion_keeps_the_given_sub_pixels(make, cached):
  shape = (4, 4, 1)
  model = make(shape)
  given = jnp.ones((3, *shape))
  params = model.init(jax.random.key(0), given)
  out = model.apply(params, jax.random.key(1), 3, None, given, 8, cached, method="sample")
  np.testing.assert_array_equal(out[:, :2], 1.0)
  assert set(np.unique(out[:, 2:])) <= {0.0, 1.0}


@pytest.mark.parametrize("make,shape,kw", [
    (_pixelcnn, (5, 4, 1), dict(output="bernoulli")),
    (_pixelcnn, (3, 3, 3), dict(output="logistic_mixture", num_mixtures=2)),
    (_pixelcnn, (4, 3, 2), dict(output="categorical", num_categories=5, embed_dim=3)),
    (_gated, (5, 4, 1), dict(output="bernoulli")),
    (_gated, (3, 3, 3), dict(output="logistic_mixture", num_mixtures=2)),
    (_gated, (4, 4, 1), dict(output="bernoulli", num_classes=3)),
    (_gated, (4, 4, 3), dict(output="logistic_mixture", num_mixtures=2, num_classes=3,
                             condition_shape=(2, 2))),
    (_gated, (4, 4, 1), dict(output="categorical", num_categories=4, embed_dim=2,
                             num_classes=3, condition_shape=(2, 2), condition_layers=1)),
    (_gated, (4, 3, 2), dict(output="categorical", num_categories=5, embed_dim=3)),
    (_row_lstm, (5, 4, 1), dict(output="bernoulli")),
    (_row_lstm, (3, 3, 3), dict(output="logistic_mixture", num_mixtures=2)),
    (_row_lstm, (4, 3, 2), dict(output="categorical", num_categories=5, embed_dim=3)),
    (_diagonal, (5, 4, 1), dict(output="bernoulli")),
    (_diagonal, (3, 3, 3), dict(output="logistic_mixture", num_mixtures=2)),
    (_diagonal, (4, 3, 2), dict(output="categorical", num_categories=5, embed_dim=3)),
], ids=["pixelcnn", "pixelcnn-rgb-mixture", "pixelcnn-categorical", "gated",
        "gated-rgb-mixture", "gated-classes", "gated-class-map", "gated-class-map-stack",
        "gated-categorical", "row_lstm",
        "row_lstm-rgb-mixture", "row_lstm-categorical", "diagonal_bilstm",
        "diagonal_bilstm-rgb-mixture", "diagonal_bilstm-categorical"])
def test_cached_sampler_draws_the_reference_samples(make, shape, kw):
  model = make(shape, **kw)
  n = 6
  cells = tuple(kw.get("condition_shape", ()))  # One label per image, or a map each.
  labels = ((jnp.arange(n * int(np.prod(cells))) % 3).reshape(n, *cells)
            if kw.get("num_classes") else None)
  params = _perturbed(model.init(jax.random.key(0), jnp.zeros((1, *shape)),
                                 None if labels is None else labels[:1]))

  def draw(cached, start=0, given=None):
    return np.asarray(jax.jit(lambda k: model.apply(
        params, k, n, labels, given, start, cached, method="sample"))(jax.random.key(3)))
  reference, fast = draw(False), draw(True)
  assert len(np.unique(reference)) > 1
  np.testing.assert_array_equal(fast, reference)
  # Completion from the same reference images: the kept part and the draws agree too.
  np.testing.assert_array_equal(draw(True, 5, reference * 0 + 1),
                                draw(False, 5, reference * 0 + 1))


def test_labels_steer_the_conditional_model_and_are_checked():
  shape = (4, 4, 1)
  model = _gated(shape, num_classes=3)
  x = jnp.zeros((2, *shape))
  params = model.init(jax.random.key(0), x, jnp.array([0, 1]))
  params = jax.tree.map(lambda p: p + 0.1, params)
  l0 = model.apply(params, x, jnp.array([0, 0])).logits
  l1 = model.apply(params, x, jnp.array([1, 1])).logits
  assert not np.allclose(l0, l1)
  with pytest.raises(ValueError, match=r"GatedPixelCNN\(num_classes=3\) takes labels iff"):
    model.apply(params, x)
  with pytest.raises(ValueError, match=r"PixelCNN\(num_classes=0\) takes labels iff"):
    _pixelcnn(shape).init(jax.random.key(0), x, jnp.array([0, 1]))
  with pytest.raises(ValueError, match=r"expects images of shape \(B, 4, 4, 1\)"):
    _pixelcnn(shape).init(jax.random.key(0), jnp.zeros((2, 4, 4)))


def test_a_label_map_conditions_each_pixel_on_its_cell_and_stays_causal_and_normalised():
  shape, cells = (4, 4, 1), (2, 2)
  by_map = _gated(shape, num_classes=3, condition_shape=cells)
  by_image = _gated(shape, num_classes=3)
  x = jax.random.bernoulli(jax.random.key(0), 0.5, (1, *shape)).astype(jnp.float32)
  labels = jnp.array([[[2, 0], [1, 2]]])
  params = _perturbed(by_map.init(jax.random.key(1), x, labels))
  logits = lambda lab: np.asarray(by_map.apply(params, x, lab).logits)[0, ..., 0]
  # The same parameters as one label per image: a constant map is that label.
  np.testing.assert_array_equal(logits(jnp.full((1, 2, 2), 1)),
                                np.asarray(by_image.apply(params, x, jnp.array([1])).logits)[
                                    0, ..., 0])
  # Cell (1, 1) covers pixels (2..3, 2..3): changing it leaves every earlier conditional.
  moved = logits(labels.at[0, 1, 1].set(0)) != logits(labels)
  first = 2 * 4 + 2  # Pixel (2, 2) in raster order.
  assert not moved.reshape(-1)[:first].any() and moved.reshape(-1)[first]
  # Causal in the image given the map, and normalised over all 16 binary images.
  jac = _jacobian(by_map, shape, labels=labels)
  order = _raster(shape)
  assert np.all(jac[order[None, None, None] >= order[..., None, None, None]] == 0.0)
  tiny = _gated((2, 2, 1), num_classes=3, condition_shape=(1, 2))
  images = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4))).reshape(-1, 2, 2, 1)
  lab = jnp.broadcast_to(jnp.array([[[2, 1]]]), (16, 1, 2))
  p = _perturbed(tiny.init(jax.random.key(2), images[:1], lab[:1]), scale=0.5)
  np.testing.assert_allclose(float(jax.nn.logsumexp(tiny.apply(p, images, lab).log_prob(
      images))), 0.0, atol=1e-5)


def test_a_conditioning_stack_lets_every_pixel_read_the_whole_map_and_stays_causal():
  shape, cells = (4, 4, 1), (2, 2)
  model = _gated(shape, num_classes=3, condition_shape=cells, condition_layers=1)
  x = jax.random.bernoulli(jax.random.key(0), 0.5, (1, *shape)).astype(jnp.float32)
  labels = jnp.array([[[2, 0], [1, 2]]])
  params = _perturbed(model.init(jax.random.key(1), x, labels))
  logits = lambda lab: np.asarray(model.apply(params, x, lab).logits)[0, ..., 0]
  # The last cell (rows 2-3, columns 2-3) moves the very first pixel's conditional: the
  # map is given, so the stack reads it below and to the right as well.
  moved = logits(labels.at[0, 1, 1].set(0)) != logits(labels)
  assert moved[0, 0] and moved.all()
  jac = _jacobian(model, shape, labels=labels)
  order = _raster(shape)
  assert np.all(jac[order[None, None, None] >= order[..., None, None, None]] == 0.0)
  tiny = _gated((2, 2, 1), num_classes=3, condition_shape=(1, 2), condition_layers=2)
  images = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4))).reshape(-1, 2, 2, 1)
  lab = jnp.broadcast_to(jnp.array([[[2, 1]]]), (16, 1, 2))
  p = _perturbed(tiny.init(jax.random.key(2), images[:1], lab[:1]), scale=0.5)
  np.testing.assert_allclose(float(jax.nn.logsumexp(tiny.apply(p, images, lab).log_prob(
      images))), 0.0, atol=1e-5)
  with pytest.raises(ValueError, match=r"condition_layers=2 must be ≥ 0, and > 0 only with "
                                       r"a label map"):
    _gated(shape, num_classes=3, condition_layers=2).init(jax.random.key(0), x,
                                                          jnp.array([1]))


def test_label_maps_of_the_wrong_shape_are_named():
  x = jnp.zeros((2, 4, 4, 1))
  with pytest.raises(ValueError, match=r"labels of shape \(2, 2, 2\); got \(2,\)"):
    _gated((4, 4, 1), num_classes=3, condition_shape=(2, 2)).init(
        jax.random.key(0), x, jnp.array([0, 1]))
  with pytest.raises(ValueError, match=r"condition_shape=\(2, 2\) needs num_classes > 0"):
    _gated((4, 4, 1), condition_shape=(2, 2)).init(jax.random.key(0), x)
  with pytest.raises(ValueError, match=r"condition_shape=\(3, 3\) must divide"):
    _gated((4, 4, 1), num_classes=3, condition_shape=(3, 3)).init(
        jax.random.key(0), x, jnp.zeros((2, 3, 3), jnp.int32))
