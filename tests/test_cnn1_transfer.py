"""Feature extraction and the two-phase transfer recipe: shapes, which layers train in each phase, frozen weights."""
import keras
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn1_settings, pretrained, transfer


def test_vgg16_feature_extraction_shapes():
    """One 224×224 image through keras.applications.VGG16(weights=None) cut at block4_pool and at fc2."""
    vgg = keras.applications.VGG16(weights=None)
    image = np.random.default_rng(0).uniform(0, 255, size=(1, 224, 224, 3)).astype("float32")
    x = pretrained.preprocess("vgg16", image)
    block4 = transfer.feature_extractor(vgg, "block4_pool")
    fc2 = transfer.feature_extractor(vgg, "fc2")
    assert keras.ops.convert_to_numpy(block4(x)).shape == (1, 14, 14, 512)
    fc2_features = keras.ops.convert_to_numpy(fc2(x))
    assert fc2_features.shape == (1, 4096) and np.all(fc2_features >= 0)          # fc2 ends in a ReLU
    assert tuple(fc2.output.shape) == (None, 4096) and fc2.layers[-1].name == "fc2"
    listing = transfer.layer_listing(vgg, last=3)
    assert listing == [(20, "fc1", (None, 4096)), (21, "fc2", (None, 4096)), (22, "predictions", (None, 1000))]
    with pytest.raises(ValueError, match="layer_name"):
        transfer.layer_index(vgg, "block6_pool")
    del vgg, block4, fc2
    keras.backend.clear_session()


@pytest.mark.parametrize("width", [16, 32])
def test_digit_base_counts_and_output_shape(width):
    """Three blocks of 3×3 conv (no bias) → BN → ReLU → 2×2 pool ('same'): 28 → 14 → 7 → 4."""
    base = transfer.build_digit_base(width=width)
    convolutions = 9 * 1 * width + 9 * width * 2 * width + 9 * 2 * width * 4 * width
    batch_norm = 4 * (width + 2 * width + 4 * width)
    assert base.count_params() == convolutions + batch_norm
    assert base.count_params() == {16: 23_632, 32: 93_344}[width]
    assert tuple(base.output.shape) == (None, 4, 4, 4 * width)
    assert [tuple(base.get_layer(f"block{b}_pool").output.shape[1:3]) for b in (1, 2, 3)] == [(14, 14), (7, 7), (4, 4)]
    head = transfer.build_transfer_model(base, 5, hidden_units=128)
    assert head.count_params() - base.count_params() == (4 * width * 128 + 128) + (128 * 5 + 5)
    assert tuple(head.output.shape) == (None, 5)
    with pytest.raises(ValueError, match="feature map"):
        transfer.build_transfer_model(head, 5)


def test_inception_v3_tail_and_top_two_blocks():
    inception = keras.applications.InceptionV3(weights=None)
    tail = transfer.layer_listing(inception, last=3)
    assert [(name, shape) for _, name, shape in tail] == [
        ("mixed10", (None, 8, 8, 2048)), ("avg_pool", (None, 2048)), ("predictions", (None, 1000))]  # no 'flatten'
    base = keras.Model(inception.input, inception.get_layer("mixed10").output)
    model = transfer.build_transfer_model(base, num_classes=200)
    assert tuple(model.get_layer("head_pool").output.shape) == (None, 2048)
    assert tuple(model.output.shape) == (None, 200)

    transfer.freeze(model)
    transfer.compile_phase(model, 1)
    assert transfer.trainable_layer_names(model) == ["head_dense", "head_predictions"]
    assert len(model.trainable_weights) == 4
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)

    start = transfer.unfreeze_from(model, after=transfer.INCEPTION_TOP_BLOCKS_AFTER)
    assert start == 249 != transfer.SOURCE_FREEZE_INDEX        # the source's 172 unfreezes far more today
    assert model.layers[start - 1].name == "mixed8"
    assert not any(layer.trainable for layer in model.layers[:start])
    after = model.layers[start:]
    assert all(layer.trainable != isinstance(layer, keras.layers.BatchNormalization) for layer in after)
    transfer.compile_phase(model, 2)
    config = model.optimizer.get_config()
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert config["learning_rate"] == pytest.approx(1e-4) and config["momentum"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="phase must be"):
        transfer.compile_phase(model, 3)
    with pytest.raises(ValueError, match="exactly one"):
        transfer.unfreeze_from(model)


def _weights(model, names):
    return {name: [np.array(w) for w in model.get_layer(name).weights] for name in names}


def test_frozen_weights_do_not_move_and_frozen_batch_norm_runs_in_inference_mode():
    keras.utils.set_random_seed(0)
    base = transfer.build_digit_base((12, 12, 1), width=4)
    model = transfer.build_transfer_model(base, 3, hidden_units=8)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(40, 12, 12, 1)).astype("float32"), rng.integers(0, 3, 40)
    base_layers = ["block1_conv", "block1_bn", "block3_conv", "block3_bn"]

    transfer.freeze(model)
    transfer.compile_phase(model, 1)
    before = _weights(model, base_layers + ["head_dense"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = _weights(model, base_layers + ["head_dense"])
    for name in base_layers:     # kernels AND the BN moving statistics stay put
        assert all(np.array_equal(a, b) for a, b in zip(before[name], after[name])), name
    assert not np.array_equal(before["head_dense"][0], after["head_dense"][0])
    bn = model.get_layer("block1_bn")
    probe = np.random.default_rng(1).normal(size=(4, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn(probe, training=True)),
                               keras.ops.convert_to_numpy(bn(probe, training=False)), atol=1e-6)

    transfer.unfreeze_from(model, "block3_conv")
    transfer.compile_phase(model, 2, learning_rate=1e-2)
    assert "block3_conv" in transfer.trainable_layer_names(model)
    assert "block3_bn" not in transfer.trainable_layer_names(model)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    final = _weights(model, base_layers)
    assert all(np.array_equal(a, b) for a, b in zip(after["block1_conv"], final["block1_conv"]))
    assert all(np.array_equal(a, b) for a, b in zip(after["block3_bn"], final["block3_bn"]))
    assert not np.array_equal(after["block3_conv"][0], final["block3_conv"][0])


def test_digits_transfer_learns_in_smoke():
    settings = cnn1_settings.TRANSFER_SETTINGS.get("smoke")
    result = transfer.digits_transfer_experiment(settings, data.load("mnist").data)
    assert result.accuracy["source task (0–4)"] > 0.8
    assert result.accuracy["after phase 1 (head only)"] > 0.2 + 0.3       # 5 classes: chance is 0.2
    assert result.accuracy["after phase 2 (fine-tuned)"] > 0.5
    # the frozen, pretrained base gives the head a head start over training from scratch
    assert result.histories["phase1"]["val_accuracy"][0] > result.histories["scratch"]["val_accuracy"][0]
    assert set(result.histories) == {"pretrain", "phase1", "phase2", "scratch"}


def test_linear_probe_and_split():
    (source, target) = transfer.split_digits(data.load("mnist").data, target_train_examples=50)
    (x_source, y_source), _ = source
    (x_target, y_target), (x_target_test, y_target_test) = target
    assert set(np.unique(y_source)) == {0, 1, 2, 3, 4} and set(np.unique(y_target_test)) == {0, 1, 2, 3, 4}
    assert len(x_target) == 50 and x_target.shape[1:] == (28, 28, 1) and x_target.max() <= 1.0
    accuracy = transfer.linear_probe(x_target, y_target, x_target_test, y_target_test)
    assert accuracy > 0.6
