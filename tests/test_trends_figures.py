"""The new-trends settings (full = the source's values), the scrambled-face example and the figure functions."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from chapters_src.trends import capsules, figures, settings  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_full_profiles_hold_the_source_values():
    bayes = settings.BAYESIAN.get("full")
    assert (bayes.batch_size, bayes.epochs, bayes.posterior_samples, bayes.train_examples) == (100, 100, 30, None)
    caps = settings.CAPSULES.get("full")
    assert (caps.conv_filters, caps.primary_channels, caps.primary_dim, caps.digit_dim, caps.routings,
            caps.decoder_units) == (256, 32, 8, 16, 3, (512, 1024))
    siam = settings.SIAMESE.get("full")
    assert (siam.image_scale, siam.train_pairs, siam.epochs, siam.batch_size, siam.learning_rate, siam.trials,
            siam.n_ways) == (1, 8_000, 10, 64, 0.001, 1_000, (4, 9, 16, 25, 36, 40))
    for profile_set in (settings.BAYESIAN, settings.CAPSULES, settings.SIAMESE):
        assert profile_set.get("smoke").epochs <= profile_set.get("standard").epochs <= profile_set.get("full").epochs


def test_pooling_cannot_tell_a_scrambled_face_but_positions_can():
    face, scrambled = capsules.draw_parts(capsules.FACE_LAYOUT), capsules.draw_parts(capsules.SCRAMBLED_LAYOUT)
    assert not np.array_equal(face, scrambled) and face.sum() == scrambled.sum()
    pooled_face, where_face = capsules.pooled_part_detectors(face)
    pooled_scrambled, where_scrambled = capsules.pooled_part_detectors(scrambled)
    assert pooled_face == pooled_scrambled == {"eye": 1.0, "nose": 1.0, "mouth": 1.0}
    assert where_face != where_scrambled
    assert where_face["eye"][0] < where_face["nose"][0] < where_face["mouth"][0]       # eyes above nose above mouth


def test_figures_draw_what_they_say():
    assert len(figures.gaussian_weights().axes[0].lines) == 4
    votes = figures.image_and_votes(np.zeros(784), [7] * 30, "a 7")
    heights = [patch.get_height() for patch in votes.axes[1].patches]
    assert heights[7] == 30 and sum(heights) == 30
    assert len(figures.uncertainty_histograms([0.1, 0.2], [0.5, 0.9], "entropy").axes) == 1
    rejection = figures.rejection_curve([(0.0, 0.9), (0.5, 1.0)])
    assert list(rejection.axes[0].lines[0].get_ydata()) == [90.0, 100.0]
    assert len(figures.capsule_lengths(np.zeros((3, 28, 28, 1)), np.full((3, 10), 0.5), [0, 1, 2]).axes) == 6
    assert len(figures.perturbation_row(np.zeros((11, 28, 28, 1)), np.linspace(-0.25, 0.25, 11), "d").axes) == 11
    assert len(figures.n_way_case(np.zeros((4, 8, 8, 1)), np.zeros((4, 8, 8, 1)), [0.9, 0.1, 0.2, 0.3], "c").axes) == 5
    rows = [{"n_way": 4, "siamese": 0.9, "knn": 0.8}, {"n_way": 9, "siamese": 0.7, "knn": 0.6}]
    assert len(figures.n_way_results({"seen": rows}, source={4: (0.963, 0.876)}).axes[0].lines) == 5
    for draw in (figures.squash_curve, figures.data_hunger_schematic, figures.mann_diagram):
        assert draw().axes
