"""chapters_src.gan.metrics: Fréchet distance vs closed forms, fidelity/purity arithmetic, orientation, the judge."""
import numpy as np
import pytest

from chapters_src.gan import data as gd
from chapters_src.gan import metrics as gm
from chapters_src.gan import settings as gs


def test_frechet_distance_of_diagonal_gaussians_has_a_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)   # 5 + 2
    assert gm.frechet_distance_gaussians(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(expected)
    assert gm.frechet_distance_gaussians(mean_a, np.diag(var_a), mean_a, np.diag(var_a)) == pytest.approx(0, abs=1e-9)
    # Not diagonal: invariant to a common rotation of both distributions.
    rotation = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    rotated = gm.frechet_distance_gaussians(rotation @ mean_a, rotation @ np.diag(var_a) @ rotation.T,
                                            rotation @ mean_b, rotation @ np.diag(var_b) @ rotation.T)
    assert rotated == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_samples():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 2))
    b = rng.normal(loc=[3.0, 0.0], scale=[1.0, 2.0], size=(4000, 2))
    assert gm.frechet_distance(a, b) == pytest.approx(9.0 + 1.0, rel=0.05)
    assert gm.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same d"):
        gm.frechet_distance(a, b[:, :1])


def test_label_fidelity_and_code_purity_arithmetic():
    fidelity = gm.label_fidelity(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 3]), classes=4)
    np.testing.assert_allclose(fidelity, [1.0, 0.5, 1.0, 0.0])
    codes = np.repeat(np.arange(10), 4)
    book = np.array([3, 0, 2, 6, 4, 7, 5, 8, 9, 1])                                 # the source's code → digit map
    predicted = book[codes].copy()
    predicted[::4] = (predicted[::4] + 1) % 10                                        # one in four is wrong
    digits, purity = gm.code_purity(predicted, codes)
    assert digits.tolist() == book.tolist()
    np.testing.assert_allclose(purity, 0.75)
    with pytest.raises(ValueError):
        gm.label_fidelity(np.zeros(3, int), np.zeros(4, int))


def _slanted_bar(degrees_clockwise, size=28):
    """A thick bar through the centre, its top leaning right by the given angle, in [-1, 1] pixels."""
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    y, x = (size - 1) / 2 - rows, cols - (size - 1) / 2                               # y up, x right
    angle = np.radians(degrees_clockwise)
    along = x * np.sin(angle) + y * np.cos(angle)
    across = x * np.cos(angle) - y * np.sin(angle)
    ink = (np.abs(across) < 1.5) & (np.abs(along) < 10)
    return np.where(ink, 1.0, -1.0).astype("float32")


def test_orientation_measures_the_slant_from_vertical():
    angles = [-30.0, -20.0, 0.0, 15.0, 25.0]
    measured = gm.orientation_degrees(np.stack([_slanted_bar(a) for a in angles]))
    np.testing.assert_allclose(measured, angles, atol=2.0)
    values = np.array([-3.0, -1.0, 1.0, 3.0])
    slope = gm.rotation_by_code(gm.orientation_degrees(np.stack([_slanted_bar(20 * v / 3) for v in values])), values)
    assert slope * 6 == pytest.approx(40.0, abs=3.0)                                  # −20° … +20°, as the source


def test_judge_inputs_crop_the_32_pixel_frame():
    padded = gd.pad_to_32(np.zeros((2, 28, 28)) + 0.25)
    assert np.all(gm.judge_inputs(padded) == 0.25) and gm.judge_inputs(padded).shape == (2, 28, 28, 1)
    assert gm.judge_inputs(np.zeros((3, 784))).shape == (3, 28, 28, 1)


def test_judge_reads_digits_and_separates_noise_from_real(tmp_path):
    """The judge must beat chance by far, and in its features real digits must be much closer to other real digits
    than noise is."""
    import keras

    keras.utils.set_random_seed(0)
    digits = gd.load_digits(prefer="substitute")
    settings = gs.VANILLA.get("smoke")
    judge = gm.train_judge(digits, tmp_path / "judge", epochs=settings.judge_epochs)
    assert judge.test_accuracy > 0.8
    reference = gm.quality_reference(judge, digits.images)
    assert reference.noise_vs_real > 10 * reference.real_vs_real
    again = gm.train_judge(digits, tmp_path / "judge", epochs=settings.judge_epochs)        # loads the finished run
    assert again.test_accuracy == pytest.approx(judge.test_accuracy)


def test_a_judge_published_by_another_notebook_meanwhile_is_loaded_not_overwritten(tmp_path, monkeypatch, capsys):
    """The four notebooks share the judge folder and may run at once: each trains in a private folder and renames
    it into place; the loser of that race loads the winner's judge (so all measure alike) and leaves no private
    folder behind. A folder holding an unfinished run is not touched."""
    import keras

    digits = gd.load_digits(prefer="substitute", max_images=600)
    first = gm.train_judge(digits, tmp_path / "judge", epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judge"]
    # Pretend the judge was not there yet when this notebook looked (another notebook publishes while it trains).
    real_check, calls = gm._finished_judge, []

    def not_yet_at_first(folder, epochs):
        calls.append(folder)
        return None if len(calls) == 1 else real_check(folder, epochs)

    monkeypatch.setattr(gm, "_finished_judge", not_yet_at_first)
    keras.utils.set_random_seed(123)
    second = gm.train_judge(digits, tmp_path / "judge", epochs=1)
    assert len(calls) == 2                                     # the rename failed, then the published run was found
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judge"]
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(gm, "_finished_judge", real_check)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a judge")
    third = gm.train_judge(digits, tmp_path / "other", epochs=1)
    assert third.test_accuracy > 0.3 and (tmp_path / "other" / "notes.txt").exists()
    assert "unfinished or different run" in capsys.readouterr().out


def test_profiles_follow_the_source_in_full():
    assert [gs.BY_KIND[kind].get("full").epochs for kind in ("vanilla", "dcgan", "cgan", "infogan")] == [100, 50,
                                                                                                         100, 50]
    for profile_set in gs.BY_KIND.values():
        full, smoke = profile_set.get("full"), profile_set.get("smoke")
        assert full.batch_size == 128 and full.max_images is None and full.base_filters == 64
        assert (full.generator_updates, full.generator_learning_rate, full.discriminator_learning_rate,
                full.dense_initializer) == (2, 2e-4, 2e-4, None)
        assert smoke.epochs <= 2 and smoke.max_images <= 512
