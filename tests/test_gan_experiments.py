"""chapters_src.gan.experiments: the comparison table of notebook 20 copes with models not (yet) measured."""
import dataclasses

import keras
import numpy as np
import pytest

from chapters_src import training
from chapters_src.gan import experiments as ge
from chapters_src.gan import settings as gs


def _row(kind, settings):
    return {"model": ge.NAMES[kind], "kind": kind, "epochs": settings.epochs, "frechet_distance": 12.5,
            "real_vs_real": 2.0, "noise_vs_real": 170.0, "seconds_per_epoch": 1.5, "frechet_history": [None, 12.5],
            "settings": dataclasses.asdict(settings)}


def test_missing_unreadable_and_stale_quality_files_are_reported_not_dropped(tmp_path):
    expected = {kind: profile_set.get("standard") for kind, profile_set in gs.BY_KIND.items()}
    for kind in ("vanilla", "cgan", "infogan"):
        (tmp_path / kind).mkdir()
    training.write_json_atomically(tmp_path / "vanilla" / ge.QUALITY_FILENAME, _row("vanilla", expected["vanilla"]))
    (tmp_path / "cgan" / ge.QUALITY_FILENAME).write_text('{"model": "condit')            # being written / broken
    stale = dataclasses.replace(expected["infogan"], epochs=3)
    training.write_json_atomically(tmp_path / "infogan" / ge.QUALITY_FILENAME, _row("infogan", stale))
    assert sorted(p.name for p in (tmp_path / "vanilla").iterdir()) == [ge.QUALITY_FILENAME]  # no temporary left
    rows, missing = ge.load_quality_rows(tmp_path, expected_settings=expected)
    assert [row["kind"] for row in rows] == ["vanilla"]
    assert list(missing) == ["dcgan", "cgan", "infogan"]
    assert "run the DCGAN notebook" in missing["dcgan"]
    assert "could not be read" in missing["cgan"]
    assert "other settings" in missing["infogan"]
    table = ge.quality_table(rows, missing)
    assert table.count("not measured") == 3 and "| vanilla GAN | 40 | 12.5 |" not in table
    assert f"| vanilla GAN | {expected['vanilla'].epochs} | 12.5 |" in table
    # Without expected settings the stale row counts (the file itself is fine).
    rows, missing = ge.load_quality_rows(tmp_path)
    assert [row["kind"] for row in rows] == ["vanilla", "infogan"] and list(missing) == ["dcgan", "cgan"]


def test_every_profile_measures_the_frechet_distance_after_every_epoch():
    for profile_set in gs.BY_KIND.values():
        assert [profile_set.get(profile).quality_every for profile in ("smoke", "standard", "full")] == [1, 1, 1]


def test_frame_mean_reads_only_the_2_pixel_frame():
    from chapters_src.gan import data as gd

    inside = np.full((3, 28, 28), 0.7, "float32")
    assert gd.frame_mean(gd.pad_to_32(inside)) == -1.0
    assert gd.frame_mean(gd.pad_to_32(inside, value=0.0)) == 0.0
    assert gd.frame_mean(gd.pad_to_32(inside, value=0.25).reshape(3, 1024)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="32×32"):
        gd.frame_mean(inside)


def test_compare_padding_trains_both_paddings_alike_and_reloads_finished_runs(tmp_path):
    from chapters_src.gan import data as gd
    from chapters_src.gan import metrics as gm

    rng = np.random.default_rng(0)
    digits = gd.GanDigits(rng.uniform(-1, 1, (48, 28, 28)).astype("float32"), rng.integers(0, 10, 48), "noise")
    model = gm.build_judge()
    judge = gm.Judge(model, keras.Model(model.input, model.get_layer(gm.FEATURE_LAYER).output), 0.0)
    reference = gm.quality_reference(judge, digits.images)
    settings = gs.PaddingSettings(epochs=2, max_images=40, batch_size=16, base_filters=4, samples=12, compiled=False)
    comparison = ge.compare_padding(settings, digits, reference, tmp_path)
    assert comparison.padding_values == (-1.0, 0.0)
    assert comparison.real_frame_means.tolist() == [-1.0, 0.0]                  # exactly the padding values
    assert comparison.frame_mean_history.shape == comparison.d_loss.shape == comparison.g_loss.shape == (2, 2)
    assert comparison.grids.shape == (2, 40, 32, 32) and comparison.frechet_distances.shape == (2,)
    for values in (comparison.frame_mean_history, comparison.d_loss, comparison.g_loss, comparison.frechet_distances):
        assert np.all(np.isfinite(values))
    assert np.all(np.abs(comparison.frame_mean_history) <= 1.0) and np.all(comparison.seconds > 0)
    # Same seed, same batches, same noise: the two runs differ only through the padding, so their losses differ.
    assert not np.allclose(comparison.d_loss[0], comparison.d_loss[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pad+0", "pad-1"]
    again = ge.compare_padding(settings, digits, reference, tmp_path)           # finished runs: loaded, not trained
    assert again.seconds.tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(again.frame_mean_history, comparison.frame_mean_history)
    np.testing.assert_allclose(again.frechet_distances, comparison.frechet_distances, rtol=1e-5)
    with pytest.raises(ValueError, match="distinct"):
        ge.compare_padding(settings, digits, reference, tmp_path, padding_values=(0.0, 0.0))


def test_padding_experiment_settings_stay_small_in_smoke_and_standard():
    smoke, standard = gs.PADDING.get("smoke"), gs.PADDING.get("standard")
    assert smoke.epochs * smoke.max_images <= 1_000
    assert standard.epochs * standard.max_images <= 5_000 and standard.base_filters == gs.DCGAN.get("standard").base_filters
