"""Capsule networks: squash, routing by agreement (vs a NumPy reference), the paper's CapsNet sizes, margin loss,
masking, perturbation inputs, and a smoke CapsNet that learns."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src import data  # noqa: E402
from chapters_src.trends import capsules, settings  # noqa: E402

to_numpy = keras.ops.convert_to_numpy


def test_squash_keeps_direction_and_maps_length_below_one():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 8)) * rng.uniform(0.01, 100, size=(50, 1))
    squashed = to_numpy(capsules.squash(vectors.astype("float32")))
    norms_in, norms_out = np.linalg.norm(vectors, axis=1), np.linalg.norm(squashed, axis=1)
    assert np.all(norms_out < 1.0)
    assert np.allclose(norms_out, norms_in ** 2 / (1 + norms_in ** 2), rtol=1e-4, atol=1e-6)
    cosine = (vectors * squashed).sum(axis=1) / (norms_in * norms_out)
    assert np.allclose(cosine, 1.0, atol=1e-5)
    assert np.allclose(squashed, capsules.squash_reference(vectors), rtol=1e-4, atol=1e-6)


def test_squash_limits_and_safety_at_zero():
    tiny, large = np.full((1, 4), 1e-3, "float32"), np.full((1, 4), 1e3, "float32")
    assert np.linalg.norm(to_numpy(capsules.squash(tiny))) < 1e-5
    assert np.linalg.norm(to_numpy(capsules.squash(large))) == pytest.approx(1.0, abs=1e-5)
    import tensorflow as tf

    zero = tf.Variable(tf.zeros((2, 8)))
    with tf.GradientTape() as tape:
        out = capsules.squash(zero)
        total = tf.reduce_sum(out)
    gradient = tape.gradient(total, zero)
    assert gradient is not None
    assert np.all(to_numpy(out) == 0.0) and np.all(np.isfinite(gradient.numpy()))


def test_routing_matches_numpy_reference_and_couplings_sum_to_one():
    predictions = np.random.default_rng(1).normal(size=(3, 12, 5, 4)).astype("float32")
    parents, coupling = capsules.routing_by_agreement(predictions, iterations=3)
    reference_parents, reference_coupling = capsules.routing_reference(predictions.astype("float64"), 3)
    assert np.allclose(to_numpy(parents), reference_parents, atol=1e-5)
    assert np.allclose(to_numpy(coupling), reference_coupling, atol=1e-5)
    assert np.allclose(to_numpy(coupling).sum(axis=2), 1.0, atol=1e-6)
    first_parents, first_coupling = capsules.routing_by_agreement(predictions, iterations=1)
    assert np.allclose(to_numpy(first_coupling), 1 / 5)                  # one iteration: uniform couplings


def test_routing_raises_the_coupling_of_agreeing_predictions():
    rng = np.random.default_rng(2)
    agreeing = np.array([1.0, 0.0, 0.0, 0.0]) + 0.05 * rng.normal(size=(8, 4))    # children 0..7 agree on parent 0
    predictions = np.zeros((1, 10, 2, 4))
    predictions[0, :8, 0] = agreeing
    predictions[0, 8:, 0] = rng.normal(size=(2, 4))                              # two dissenters
    predictions[0, :, 1] = rng.normal(size=(10, 4)) * 0.5                        # parent 1 gets random votes
    _, coupling = capsules.routing_by_agreement(predictions.astype("float32"), iterations=3)
    coupling = to_numpy(coupling)[0]
    assert np.all(coupling[:8, 0] > 0.5)                    # started at 0.5, rose for every agreeing child
    assert coupling[:8, 0].mean() > coupling[8:, 0].mean()


def test_the_papers_capsnet_has_the_published_sizes():
    train_model, eval_model, decoder = capsules.build_capsnet()
    assert train_model.get_layer("conv1").count_params() == 20_992
    assert train_model.get_layer("primarycaps_conv").count_params() == 5_308_672
    assert train_model.get_layer("digitcaps").count_params() == 1_474_560
    assert tuple(train_model.get_layer("conv1").output.shape[1:]) == (20, 20, 256)
    assert tuple(train_model.get_layer("primarycaps").output.shape[1:]) == (1152, 8)
    assert tuple(train_model.get_layer("digitcaps").output.shape[1:]) == (10, 16)
    assert [layer.count_params() for layer in decoder.layers if layer.count_params()] == [82_432, 525_312, 803_600]
    assert train_model.count_params() - decoder.count_params() == 6_804_224        # the paper's "6.8M"
    assert [tuple(out.shape[1:]) for out in eval_model.outputs] == [(10,), (10, 16), (28, 28, 1)]


def test_digit_capsule_couplings_sum_to_one_in_the_layer():
    layer = capsules.DigitCapsules(3, 4, routings=3)
    inputs = np.random.default_rng(3).normal(size=(2, 6, 5)).astype("float32")
    outputs = layer(inputs)
    _, coupling = layer.route(inputs)
    assert tuple(outputs.shape) == (2, 3, 4)
    assert np.allclose(to_numpy(coupling).sum(axis=-1), 1.0, atol=1e-6)
    kernel = to_numpy(layer.kernel)                                              # (children, parents, out, in)
    assert np.allclose(to_numpy(layer.predictions(inputs)), np.einsum("ijdk,bik->bijd", kernel, inputs), atol=1e-5)
    assert np.all(np.linalg.norm(to_numpy(outputs), axis=-1) < 1)


def test_margin_loss_by_hand():
    y_true = np.array([[0.0, 1.0, 0.0]], "float32")
    lengths = np.array([[0.3, 0.6, 0.05]], "float32")
    # present class: (0.9 − 0.6)² = 0.09; absent: 0.5·(0.3 − 0.1)² = 0.02; 0.05 < m⁻ costs nothing
    assert float(to_numpy(capsules.margin_loss(y_true, lengths))[0]) == pytest.approx(0.11, abs=1e-6)
    assert float(to_numpy(capsules.margin_loss(y_true, np.array([[0.0, 0.95, 0.1]], "float32")))[0]) == 0.0


def test_masking_keeps_the_true_or_the_longest_capsule():
    caps = np.zeros((1, 3, 2), "float32")
    caps[0, 0] = [0.1, 0.1]
    caps[0, 2] = [0.5, 0.5]
    by_label = to_numpy(capsules.MaskCapsules()([caps, np.array([[1.0, 0.0, 0.0]], "float32")]))
    by_length = to_numpy(capsules.MaskCapsules()(caps))
    assert by_label.tolist() == [[0.1, 0.1, 0, 0, 0, 0]] or np.allclose(by_label, [[0.1, 0.1, 0, 0, 0, 0]])
    assert np.allclose(by_length, [[0, 0, 0, 0, 0.5, 0.5]])


def test_perturb_capsule_changes_one_dimension_of_one_capsule():
    caps = np.arange(6, dtype="float32").reshape(3, 2)
    rows = capsules.perturb_capsule(caps, class_index=1, dimension=0, deltas=[-0.25, 0.0, 0.25])
    assert rows.shape == (3, 6)
    assert np.allclose(rows[:, 2], [1.75, 2.0, 2.25]) and np.allclose(rows[:, 3], 3.0)
    assert np.all(rows[:, [0, 1, 4, 5]] == 0)
    with pytest.raises(ValueError):
        capsules.perturb_capsule(caps, class_index=3, dimension=0, deltas=[0.0])


def test_smoke_capsnet_learns_and_reloads(tmp_path):
    chosen = settings.CAPSULES.get("smoke")
    digits = capsules.prepare_digits(data.load("mnist").data, chosen.train_examples)
    train_model, eval_model, _, result = capsules.train_capsnet(chosen, digits, tmp_path / "caps", verbose=0)
    assert result.history["loss"][-1] < result.history["loss"][0]
    accuracy = capsules.capsule_accuracy(eval_model, *digits[1])
    assert accuracy > 0.4, accuracy                                              # chance: 0.1
    assert np.allclose(train_model.get_layer("digitcaps").get_weights()[0],
                       eval_model.get_layer("digitcaps").get_weights()[0])      # one set of weights
    reloaded = keras.models.load_model(tmp_path / "caps" / "last.keras", compile=False)
    assert reloaded.get_layer("digitcaps").routings == chosen.routings


def test_baseline_cnn_shape_and_size():
    model = capsules.build_baseline_cnn()
    # conv 5·5·32+32, conv 5·5·32·64+64, dense 4·4·64·128+128, dense 128·10+10
    assert model.count_params() == 832 + 51_264 + 131_200 + 1_290
    assert tuple(model(np.zeros((2, 28, 28, 1), "float32")).shape) == (2, 10)


@pytest.mark.parametrize("profile", ["smoke", "standard", "full"])
def test_capsnet_classifier_parameters_match_the_built_network(profile):
    chosen = settings.CAPSULES.get(profile)
    train_model, _, decoder = capsules.build_capsnet(
        (28, 28, 1), 10, chosen.conv_filters, chosen.primary_channels, chosen.primary_dim, chosen.digit_dim,
        chosen.routings, chosen.decoder_units)
    assert capsules.capsnet_classifier_parameters(chosen) == train_model.count_params() - decoder.count_params()


@pytest.mark.parametrize("profile", ["smoke", "standard", "full"])
def test_baseline_cnn_is_matched_to_the_capsnet_in_every_profile(profile):
    chosen = settings.CAPSULES.get(profile)
    capsnet = capsules.capsnet_classifier_parameters(chosen)
    cnn = capsules.build_baseline_cnn(filters=chosen.baseline_filters, dense_units=chosen.baseline_dense_units)
    f1, f2 = chosen.baseline_filters
    d = chosen.baseline_dense_units
    assert cnn.count_params() == (25 * f1 + f1) + (25 * f1 * f2 + f2) + (16 * f2 * d + d) + (d * 10 + 10)
    assert abs(cnn.count_params() / capsnet - 1) <= capsules.BASELINE_PARAMETER_TOLERANCE, (cnn.count_params(), capsnet)


def test_reconstruction_loss_is_the_weighted_decoder_mse():
    rng = np.random.default_rng(5)
    images = rng.random((6, 28, 28, 1)).astype("float32")
    one_hot = np.eye(10, dtype="float32")[rng.integers(0, 10, size=6)]
    # the weight turns Keras' mean over 784 pixels into the paper's 0.0005 · summed squared error
    assert capsules.RECONSTRUCTION_WEIGHT == pytest.approx(0.0005 * 784)
    reconstruction_parts = []
    for weight in (capsules.RECONSTRUCTION_WEIGHT, 10 * capsules.RECONSTRUCTION_WEIGHT):
        keras.utils.set_random_seed(0)
        train_model, _, _ = capsules.build_capsnet(conv_filters=8, primary_channels=2, decoder_units=(16, 32),
                                                   reconstruction_weight=weight)
        lengths, reconstruction = (to_numpy(out) for out in train_model([images, one_hot]))
        margin = ((one_hot * np.maximum(0, 0.9 - lengths) ** 2
                   + 0.5 * (1 - one_hot) * np.maximum(0, lengths - 0.1) ** 2).sum(axis=1).mean())
        squared_errors = ((reconstruction - images) ** 2).reshape(len(images), -1)
        assert weight * squared_errors.mean() == pytest.approx(
            weight / capsules.RECONSTRUCTION_WEIGHT * 0.0005 * squared_errors.sum(axis=1).mean(), rel=1e-5)
        loss = train_model.evaluate([images, one_hot], [one_hot, images], batch_size=len(images), verbose=0,
                                    return_dict=True)["loss"]
        assert loss == pytest.approx(margin + weight * squared_errors.mean(), rel=1e-4)
        reconstruction_parts.append(loss - margin)
    assert reconstruction_parts[0] > 0
    assert reconstruction_parts[1] == pytest.approx(10 * reconstruction_parts[0], rel=1e-3)


def test_smoke_baseline_cnn_learns(tmp_path):
    chosen = settings.CAPSULES.get("smoke")
    digits = capsules.prepare_digits(data.load("mnist").data, chosen.train_examples)
    model, result = capsules.train_baseline(chosen, digits, tmp_path / "cnn", seed=42, verbose=0)
    assert model.count_params() == capsules.build_baseline_cnn(
        filters=chosen.baseline_filters, dense_units=chosen.baseline_dense_units).count_params()  # sized by settings
    assert result.history["loss"][-1] < 0.6 * result.history["loss"][0]
    accuracy = float(model.evaluate(*digits[1], verbose=0)[1])
    assert accuracy > 0.1 + 0.5, accuracy                                        # chance: 0.1
