"""DeepDream: the source's loop (double-normalised loss, no step size, no clipping) and the fixed version."""
import numpy as np
import pytest

from chapters_src.cnn import deepdream as dd


@pytest.fixture(scope="module")
def network():
    base = dd.build_patch_cnn(seed=0)
    return dd.feature_extractor(base, dd.DREAM_LAYERS["patch_cnn"])


@pytest.fixture(scope="module")
def photo():
    image, provenance = dd.load_photo(48)
    assert "china" in provenance
    return image


def test_preprocess_deprocess_round_trip():
    x = np.arange(256, dtype="uint8").reshape(16, 16)[..., None].repeat(3, axis=-1)
    y = dd.preprocess(x)
    assert y.dtype == np.float32 and y.min() == -1.0 and y.max() == 1.0
    np.testing.assert_array_equal(dd.deprocess(y), x)
    assert dd.deprocess(np.array([-3.0, 3.0])).tolist() == [0, 255]


def test_load_photo_keeps_aspect(photo):
    assert photo.shape == (32, 48, 3) and photo.dtype == np.uint8  # china.jpg is 427×640


def test_patch_cnn_and_patches():
    model = dd.build_patch_cnn()
    assert model.count_params() == (448 + 2320) + (4640 + 9248) + (18496 + 36928) + 36928 + (64 * 6 + 6)
    x, y, names = dd.photo_patches(12, patch_size=16, seed=0)
    assert x.shape == (12, 16, 16, 3) and x.min() >= -1 and x.max() <= 1
    assert set(y) <= set(range(6)) and len(names) == 6
    assert model.predict(x, verbose=0).shape == (12, 6)


def test_source_loss_is_normalised_twice(network, photo):
    activations = network(dd.preprocess(photo)[None])
    fixed = float(dd.calc_loss(activations))
    source = float(dd.calc_loss_source(activations))
    expected = sum(float(np.mean(a)) / np.prod(a.shape) for a in activations)
    assert np.isclose(source, expected, rtol=1e-5)
    sizes = [np.prod(a.shape) for a in activations]
    assert source <= fixed / min(sizes) and min(sizes) > 1000


def test_source_loop_rises_but_leaves_the_range(network, photo):
    lines = []
    run = dd.source_deepdream(network, dd.preprocess(photo), steps=6, snapshot_every=3, report=lines.append)
    assert run.image.shape == photo.shape[:2] + (3,)
    assert lines == ["Step 3, loss %f" % run.losses[2], "Step 6, loss %f" % run.losses[5]]
    assert sorted(run.snapshots) == [0, 3, 6] and run.snapshots[6].dtype == np.uint8
    assert np.abs(run.image).max() > 1.5  # step 1 on a unit-std gradient, no clipping


def test_fixed_ascent_raises_the_loss_and_keeps_shape_and_range(network, photo):
    start = dd.preprocess(photo)
    run = dd.gradient_ascent(network, start, steps=8, step_size=0.02, snapshot_every=4)
    final = float(dd.calc_loss(network(run.image[None])))
    assert final > run.losses[0] * 1.05
    assert run.image.shape == start.shape and run.image.dtype == np.float32
    assert run.image.min() >= -1 and run.image.max() <= 1
    assert sorted(run.snapshots) == [0, 4, 8]


def test_tiled_gradients_are_the_rolled_image_gradient_rolled_back(network, photo):
    import tensorflow as tf

    start = dd.preprocess(photo)
    for tile_size in (64, 16):   # one tile covering the image, then 2×3 tiles of 16×16
        tiled = dd.tiled_gradients(network, start, tile_size=tile_size, rng=np.random.default_rng(0))
        rolled, (dy, dx) = dd.random_roll(start, tile_size // 2, np.random.default_rng(0))
        expected = np.zeros_like(rolled)
        for top in range(0, 32, min(tile_size, 32)):
            for left in range(0, 48, min(tile_size, 48)):
                tile = tf.constant(rolled[top:top + tile_size, left:left + tile_size])
                with tf.GradientTape() as tape:
                    tape.watch(tile)
                    loss = dd.calc_loss(network(tile[None]))
                expected[top:top + tile_size, left:left + tile_size] = tape.gradient(loss, tile).numpy()
        np.testing.assert_allclose(tiled, np.roll(expected, (-dy, -dx), axis=(0, 1)), rtol=1e-5, atol=1e-8)
        assert tiled.shape == start.shape and np.abs(tiled).sum() > 0


def test_octave_dream_rises_and_returns_to_the_original_size(network, photo):
    start = dd.preprocess(photo)
    before = float(dd.calc_loss(network(start[None])))
    run = dd.octave_dream(network, start, octaves=(-1, 0), steps_per_octave=4, step_size=0.02, tile_size=32)
    after = float(dd.calc_loss(network(run.image[None])))
    assert run.image.shape == start.shape and run.image.min() >= -1 and run.image.max() <= 1
    assert after > before
    assert sorted(run.snapshots) == [0, 4, 8]
    with pytest.raises(ValueError, match="octave_scale"):
        dd.octave_dream(network, start, octave_scale=1.0)


def test_dream_network_offline_is_the_patch_cnn(tmp_path):
    from chapters_src.cnn.cnn3_settings import DREAM

    import dataclasses

    settings = dataclasses.replace(DREAM.get("smoke"), patch_examples=128)
    net = dd.dream_network(settings, run_dir=str(tmp_path / "run"), verbose=0)
    assert net.name == "patch_cnn" and "no ImageNet" in net.provenance
    outputs = net.model(np.zeros((1, 40, 40, 3), "float32"))
    assert [tuple(o.shape[1:3]) for o in outputs] == [(20, 20), (10, 10), (10, 10), (5, 5)]


def test_inception_v3_has_the_source_layers(tmp_path, monkeypatch):
    """The ImageNet path: InceptionV3 (random weights offline) with mixed2–mixed5, the smallest input it takes."""
    from chapters_src.cnn import pretrained

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    base = pretrained.build("inception_v3", include_top=False).model
    model = dd.feature_extractor(base, dd.DREAM_LAYERS["inception_v3"])
    outputs = model(np.zeros((1, 75, 75, 3), "float32"))
    assert [tuple(o.shape[-1:]) for o in outputs] == [(288,), (768,), (768,), (768,)]
    run = dd.gradient_ascent(model, dd.preprocess(np.full((75, 75, 3), 128, "uint8")), steps=2)
    assert run.image.shape == (75, 75, 3) and run.image.min() >= -1 and run.image.max() <= 1
    # The source's printout: on its photo at 747 px wide, mixed2 alone has over a million units, so the twice
    # normalised loss prints "0.000000" with "%f" while the fixed loss (a plain mean per layer) does not.
    image, _ = dd.load_photo(747)
    activations = model(dd.preprocess(image)[None])
    assert np.prod(activations[0].shape) > 1_000_000
    source, fixed = float(dd.calc_loss_source(activations)), float(dd.calc_loss(activations))
    assert "%f" % source == "0.000000" and "%f" % fixed != "0.000000"
