"""chapters_src.gan.training: losses vs hand-computed values, the shared step, the loop with checkpoint/resume."""
import json
import math

import numpy as np
import pytest

from chapters_src.gan import data as gd
from chapters_src.gan import training as gt


def _numpy(value):
    import keras

    return float(keras.ops.convert_to_numpy(value))


def _softplus(x):
    return np.log1p(np.exp(x))


def test_losses_match_hand_computed_binary_cross_entropy():
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    # BCE(logit, 1) = softplus(-logit); BCE(logit, 0) = softplus(logit)
    expected_d = np.mean(_softplus(-real)) + np.mean(_softplus(fake))
    assert _numpy(gt.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert _numpy(gt.generator_loss(fake)) == pytest.approx(np.mean(-np.log(1 / (1 + np.exp(-fake)))), rel=1e-5)
    assert _numpy(gt.generator_loss(np.zeros((4, 1), "float32"))) == pytest.approx(math.log(2), rel=1e-6)


def test_info_loss_corrected_and_book_versions():
    predicted = np.array([[0.5], [-1.0], [2.0]], "float32")
    codes = np.zeros((3, 11), "float32")
    codes[:, 0] = [0.5, 1.0, 0.0]
    codes[[0, 1, 2], [1 + 3, 1 + 0, 1 + 9]] = 1.0
    logits = np.zeros((3, 10), "float32")
    logits[0, 3] = 2.0
    corrected = np.mean((predicted[:, 0] - codes[:, 0]) ** 2)                     # (0 + 4 + 4) / 3
    book = np.sum(predicted ** 2)                                                  # ignores the code: 0.25 + 1 + 4
    assert _numpy(gt.continuous_info_loss(predicted, codes[:, :1])) == pytest.approx(corrected)
    assert _numpy(gt.continuous_info_loss(predicted, codes[:, :1], book=True)) == pytest.approx(book)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    category = -np.mean(np.sum(codes[:, 1:] * log_softmax, axis=1))
    total = gt.info_loss(predicted, logits, codes)
    assert _numpy(total) == pytest.approx(0.1 * corrected + 1.0 * category, rel=1e-5)
    # The corrected term is zero when Q recovers the code; the book's is not.
    assert _numpy(gt.continuous_info_loss(codes[:, :1], codes[:, :1])) == 0.0
    assert _numpy(gt.continuous_info_loss(codes[:, :1], codes[:, :1], book=True)) > 0


def test_sampled_codes_and_the_grid_codes():
    codes = gt.sample_codes(np.random.default_rng(0), 500)
    assert codes.shape == (500, 11)
    assert np.all(codes[:, 1:].sum(axis=1) == 1) and set(np.unique(codes[:, 1:])) == {0.0, 1.0}
    assert abs(codes[:, 0].mean()) < 0.15 and 0.85 < codes[:, 0].std() < 1.15     # N(0, 1)
    assert len(set(np.argmax(codes[:, 1:], axis=1))) == 10
    grid = gt.grid_codes()
    assert grid.shape == (40, 11)
    assert grid[:, 0].reshape(4, 10)[:, 0].tolist() == [-3, -1, 1, 3]              # one row per continuous value
    assert np.argmax(grid[:, 1:], axis=1).reshape(4, 10).tolist() == [list(range(10))] * 4
    noise = gt.sample_noise(np.random.default_rng(0), 1000)
    assert noise.shape == (1000, 100) and -1 <= noise.min() and noise.max() <= 1 and noise.min() < -0.99


def _weights(model, trainable=True):
    return [np.array(v) for v in (model.trainable_variables if trainable else model.non_trainable_variables)]


def _changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


@pytest.mark.parametrize("kind", ["dcgan", "cgan", "infogan"])
def test_each_optimiser_moves_only_its_own_network(kind):
    import keras

    keras.utils.set_random_seed(0)
    gan = gt.build_gan(kind, base_filters=4)
    trainer = gt.GanTrainer(gan, compiled=False)
    rng = np.random.default_rng(0)
    digits = gd.load_digits(prefer="substitute", max_images=16)
    images = gt.prepare_images(gan, digits.images)
    condition = gt.training_condition(gan, rng, gd.one_hot(digits.labels))
    noise = gt.sample_noise(rng, 16)
    generator_before, discriminator_before = _weights(gan.generator), _weights(gan.discriminator)
    losses = trainer.discriminator_step(images, condition, noise)
    assert all(np.isfinite(value) for value in losses.values())
    assert not any(_changed(generator_before, _weights(gan.generator)))
    assert all(_changed(discriminator_before, _weights(gan.discriminator)))        # every D variable moved
    discriminator_after = _weights(gan.discriminator)
    losses = trainer.generator_step(condition, noise, images)
    assert np.isfinite(losses["g_loss"])
    assert all(_changed(generator_before, _weights(gan.generator)))
    assert not any(_changed(discriminator_after, _weights(gan.discriminator)))
    # The optimisers hold slots for their own network only.
    assert trainer.discriminator_optimizer.iterations.numpy() == 1 == trainer.generator_optimizer.iterations.numpy()
    slot_shapes = {tuple(v.shape) for v in trainer.generator_optimizer.variables if len(v.shape)}
    assert slot_shapes <= {tuple(v.shape) for v in gan.generator.trainable_variables}


def test_train_step_is_one_discriminator_then_two_generator_updates_and_finite():
    import keras

    keras.utils.set_random_seed(0)
    gan = gt.build_gan("vanilla")
    trainer = gt.GanTrainer(gan)                                                  # compiled (tf.function)
    rng = np.random.default_rng(0)
    images = gt.prepare_images(gan, gd.load_digits(prefer="substitute", max_images=32).images)
    losses = trainer.train_step(images, None, gt.sample_noise(rng, 32))
    assert set(losses) == {"d_loss", "g_loss", "info_loss"}
    assert all(np.isfinite(value) for value in losses.values())
    assert int(trainer.discriminator_optimizer.iterations.numpy()) == 1
    assert int(trainer.generator_optimizer.iterations.numpy()) == 2
    trainer.train_step(images[:20], None, gt.sample_noise(rng, 20))                 # a partial batch: no retrace error
    assert trainer._discriminator_step.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="condition"):
        trainer.train_step(images, np.zeros((32, 10)), gt.sample_noise(rng, 32))


@pytest.mark.parametrize("kind, joint_batch, separates", [("dcgan", False, True), ("infogan", True, True),
                                                           ("infogan", False, False)])
def test_discriminator_learns_to_tell_an_all_real_from_an_all_fake_batch(kind, joint_batch, separates):
    """Discriminator updates only, real digits against the untrained generator's grey images: an easy task that
    the loss must learn within 30 steps (D's GAN loss, info loss excluded, from log 4 ≈ 1.39 to < 0.7). The InfoGAN
    discriminator has batch norm after its Dense 1024; fed all-real and all-fake batches separately (the source,
    ``joint_batch=False``) that batch norm normalises each batch's features to the same mean and variance, so it
    stays near log 4: the bug that kept the InfoGAN at a Fréchet distance worse than noise. Read as one batch
    (the default for InfoGAN) it learns like the DCGAN."""
    import keras

    keras.utils.set_random_seed(0)
    gan = gt.build_gan(kind, base_filters=4, joint_batch=joint_batch)
    assert gan.joint_batch == joint_batch
    trainer = gt.GanTrainer(gan)
    images = gt.prepare_images(gan, gd.load_digits(prefer="substitute", max_images=256).images)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(30):
        batch = rng.choice(len(images), 32, replace=False)
        step = trainer.discriminator_step(images[batch], gt.training_condition(gan, rng, batch),
                                          gt.sample_noise(rng, 32))
        losses.append(step["d_loss"] - step["info_loss"])
    assert losses[0] == pytest.approx(2 * math.log(2), abs=0.05)
    if separates:
        assert np.mean(losses[-5:]) < 0.7, losses[-5:]
    else:
        assert np.mean(losses[-5:]) > 1.2, losses[-5:]


def test_joint_batch_is_the_infogan_default_and_needs_the_real_images():
    assert [gt.build_gan(kind, base_filters=4).joint_batch for kind in ("vanilla", "dcgan", "cgan", "infogan")] == [
        False, False, False, True]
    gan = gt.build_gan("infogan", base_filters=4)
    trainer = gt.GanTrainer(gan, compiled=False)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="real_images"):
        trainer.generator_step(gt.sample_codes(rng, 4), gt.sample_noise(rng, 4))
    # One joint step: the generator's update reads the real images (its loss depends on them through batch norm).
    images = gt.prepare_images(gan, gd.load_digits(prefer="substitute", max_images=10).images[:8])
    codes, noise = gt.sample_codes(rng, 8), gt.sample_noise(rng, 8)
    weights = gan.generator.get_weights()
    first = trainer.generator_step(codes, noise, images)["g_loss"]
    gan.generator.set_weights(weights)
    second = trainer.generator_step(codes, noise, -np.ones_like(images))["g_loss"]
    assert np.isfinite(first) and abs(first - second) > 1e-4


def test_generator_output_changes_with_the_label_for_a_fixed_z():
    import keras

    keras.utils.set_random_seed(0)
    gan = gt.build_gan("cgan")
    noise = np.repeat(gt.sample_noise(np.random.default_rng(0), 1), 10, axis=0)
    outputs = gt.generate(gan, noise, gd.one_hot(np.arange(10)))
    differences = [np.abs(outputs[i] - outputs[j]).max() for i in range(10) for j in range(i + 1, 10)]
    assert min(differences) > 1e-3
    same = gt.generate(gan, noise, gd.one_hot(np.full(10, 4)))
    np.testing.assert_allclose(same[0], same[9], atol=1e-6)
    with pytest.raises(ValueError, match="condition"):
        gt.generate(gan, noise)


def test_a_short_training_run_moves_samples_towards_the_data():
    """Learns: generated digits start mid-grey everywhere (tanh of small numbers ≈ 0); after 24 steps their mean
    pixel must be at least twice as close to the data's (mostly background) mean, and a good part of their pixels
    must have become background (< -0.9), as in real digits. An untrained or wrongly wired step fails both."""
    import keras

    keras.utils.set_random_seed(0)
    digits = gd.load_digits(prefer="substitute", max_images=512)
    gan = gt.build_gan("vanilla")
    images = gt.prepare_images(gan, digits.images)
    probe = gt.sample_noise(np.random.default_rng(5), 256)
    data_mean, data_background = float(images.mean()), float(np.mean(images < -0.9))
    before = gt.generate(gan, probe)
    gap_before = abs(float(before.mean()) - data_mean)
    trainer = gt.GanTrainer(gan)
    rng = np.random.default_rng(0)
    for epoch in range(3):
        for batch in gd.batch_indices(len(images), 64, rng):
            trainer.train_step(images[batch], None, gt.sample_noise(rng, len(batch)))
    samples = gt.generate(gan, probe)
    gap_after = abs(float(samples.mean()) - data_mean)
    assert data_mean < -0.5 and gap_before > 0.5 and data_background > 0.6
    assert np.mean(before < -0.9) == 0.0
    assert gap_after < 0.5 * gap_before, (gap_before, gap_after)
    assert np.mean(samples < -0.9) > 0.3 * data_background, np.mean(samples < -0.9)


def _train(tmp_path, name, epochs, resume=True, kind="dcgan"):
    import keras

    keras.utils.set_random_seed(3)
    gan = gt.build_gan(kind, base_filters=4)
    digits = gd.load_digits(prefer="substitute", max_images=30)
    trainer = gt.GanTrainer(gan, compiled=False)
    result = gt.train_gan(trainer, gt.prepare_images(gan, digits.images), epochs=epochs, batch_size=12,
                          run_dir=tmp_path / name, resume=resume, seed=1, verbose=0,
                          epoch_end=lambda epoch, g: {"epoch_seen": epoch})
    return gan, trainer, result


def test_resumed_run_equals_an_uninterrupted_run(tmp_path):
    gan_full, trainer_full, full = _train(tmp_path, "full", epochs=2)
    _train(tmp_path, "split", epochs=1)
    gan_split, trainer_split, split = _train(tmp_path, "split", epochs=2)           # new process, same run_dir
    assert split.resumed_from == 1 and split.epochs_run == 1 and split.epochs_completed == 2
    assert full.history["epoch_seen"] == split.history["epoch_seen"] == [1.0, 2.0]
    assert len(split.step_losses["d_loss"]) == 6                                    # 3 batches (12, 12, 6) × 2
    for a, b in zip(gan_full.generator.get_weights() + gan_full.discriminator.get_weights(),
                    gan_split.generator.get_weights() + gan_split.discriminator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(full.history["d_loss"], split.history["d_loss"], rtol=1e-4)
    assert split.grids.shape == (2, 40, 32, 32)
    assert int(trainer_split.generator_optimizer.iterations.numpy()) == 12          # optimizer state restored
    # A finished run is loaded, not trained again.
    gan_again, _, again = _train(tmp_path, "split", epochs=2)
    assert again.epochs_run == 0
    for a, b in zip(gan_again.generator.get_weights(), gan_split.generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_interrupted_commit_is_cleaned_up_and_a_changed_checkpoint_is_not_trusted(tmp_path, capsys):
    _train(tmp_path, "run", epochs=1)
    run = tmp_path / "run"
    (run / "checkpoint-epoch-0002.npz").write_bytes(b"half written")                # killed before the commit
    (run / ".tmp-1-checkpoint-epoch-0002.npz").write_bytes(b"x")
    _, _, result = _train(tmp_path, "run", epochs=2)
    assert result.resumed_from == 1
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint-epoch-0002.npz", "state.json"]
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_completed"] == 2 and state["checkpoint"] == "checkpoint-epoch-0002.npz"
    with open(run / "checkpoint-epoch-0002.npz", "ab") as handle:                    # corrupted afterwards
        handle.write(b"junk")
    _, _, result = _train(tmp_path, "run", epochs=1)
    assert result.resumed_from == 0 and result.epochs_run == 1
    assert "starting fresh" in capsys.readouterr().out
    with pytest.raises(ValueError, match="holds a dcgan run"):
        _train(tmp_path, "run", epochs=3, kind="infogan")


def test_training_arguments_are_checked(tmp_path):
    gan = gt.build_gan("cgan")
    trainer = gt.GanTrainer(gan, compiled=False)
    images = np.zeros((8, 784), "float32")
    with pytest.raises(ValueError, match="labels"):
        gt.train_gan(trainer, images, epochs=1, batch_size=4, run_dir=tmp_path)
    with pytest.raises(ValueError, match="shape"):
        gt.train_gan(trainer, np.zeros((8, 28, 28)), gd.one_hot(np.zeros(8, int)), epochs=1, batch_size=4,
                     run_dir=tmp_path)
    with pytest.raises(ValueError, match="epochs"):
        gt.train_gan(trainer, images, gd.one_hot(np.zeros(8, int)), epochs=0, batch_size=4, run_dir=tmp_path)
    with pytest.raises(ValueError, match="book_continuous_loss"):
        gt.build_gan("dcgan", book_continuous_loss=True)
