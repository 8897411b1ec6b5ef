"""Siamese few-shot learning: the loader (and the source's reshape bug), the network's size, the L1 layer, pair
counts and samplers (the source's and the corrected ones), the 1-NN baseline, and a smoke model that learns."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src import data  # noqa: E402
from chapters_src.data import faces  # noqa: E402
from chapters_src.trends import settings, siamese  # noqa: E402


@pytest.fixture(scope="module")
def face_root(tmp_path_factory):
    return faces.synthetic_faces(root=tmp_path_factory.mktemp("faces") / "orl")


@pytest.fixture(scope="module")
def id_image(face_root):
    return siamese.load_images_ids(face_root, scale=4)


def test_loader_reads_the_orl_layout_in_height_width_order(face_root):
    full = siamese.load_images_ids(face_root)
    assert sorted(full) == list(range(1, 41))
    assert full[1].shape == (10, 112, 92, 1) and full[1].dtype == np.uint8
    from PIL import Image

    with Image.open(face_root / "s3" / "7.pgm") as image:
        assert np.array_equal(full[3][6, ..., 0], np.asarray(image))
    small = siamese.load_images_ids(face_root, scale=4)
    assert small[1].shape == (10, 28, 23, 1)
    assert abs(float(small[1].mean()) - float(full[1][:, :112, :92].mean())) < 1.0


def test_source_reshape_scrambles_rows(face_root):
    image = siamese.load_images_ids(face_root)[1][0, ..., 0]
    wrong = siamese.source_reshape(image)
    assert wrong.shape == (92, 112, 1)
    assert np.array_equal(wrong.ravel(), image.ravel())              # same pixels …
    assert not np.array_equal(wrong[1, :92, 0], image[1])             # … but row 1 starts in the middle of a row
    assert np.array_equal(wrong[1, :92, 0], image.ravel()[112:204])


def test_downscale_averages_blocks():
    images = np.arange(16, dtype="uint8").reshape(1, 4, 4)
    assert siamese.downscale(images, 2).tolist() == [[[2, 4], [10, 12]]]   # rint(2.5) = 2, rint(4.5) = 4


def test_network_has_the_source_parameter_count():
    model = siamese.build_siamese_network()
    assert model.count_params() == 1_823_893
    base = model.get_layer("shared_cnn")
    assert tuple(base.layers[0].output.shape[1:]) == (107, 87, 16)
    assert [layer.count_params() for layer in base.layers if layer.count_params()] == [592, 1_823_250]
    assert model.get_layer("same_subject").count_params() == 51
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)


def test_the_source_shape_gives_the_same_count_but_the_wrong_picture():
    assert siamese.build_siamese_network((92, 112, 1)).count_params() == 1_823_893  # why the bug went unnoticed


def test_l1_distance_layer_and_serialisation(tmp_path):
    a, b = np.array([[1.0, -2.0, 3.0]], "float32"), np.array([[0.5, 2.0, 3.0]], "float32")
    assert np.allclose(keras.ops.convert_to_numpy(siamese.L1Distance()([a, b])), [[0.5, 4.0, 0.0]])
    model = siamese.build_siamese_network((20, 16, 1))
    model.save(tmp_path / "siamese.keras")
    reloaded = keras.models.load_model(tmp_path / "siamese.keras", compile=False)
    x = [np.random.default_rng(0).random((2, 20, 16, 1)).astype("float32")] * 2
    assert np.allclose(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))


def test_pair_counts_match_the_source():
    assert siamese.pair_counts() == {"positive_per_subject": 45, "positive_total": 1_800,
                                     "negative_per_subject_pair": 100, "negative_total": 78_000}
    small = {i: np.zeros((4, 2, 2, 1), "uint8") for i in (1, 2, 3)}
    positives, negatives = siamese.all_pairs(small)
    counts = siamese.pair_counts(3, 4)
    assert len(positives) == counts["positive_total"] == 18 and len(negatives) == counts["negative_total"] == 48


def _tagged(n_subjects=12, n_images=10):
    """Images whose pixels encode (subject, image): pixel [0,0] = subject, [0,1] = image."""
    id_image = {}
    for subject in range(1, n_subjects + 1):
        images = np.zeros((n_images, 3, 3, 1), "uint8")
        images[:, 0, 0, 0] = subject
        images[:, 0, 1, 0] = np.arange(n_images)
        id_image[subject] = images
    return id_image


def test_gen_train_data_is_balanced_and_labels_are_right():
    id_image = _tagged()
    (x1, x2), y = siamese.gen_train_data(400, id_image, np.random.default_rng(0))
    assert x1.shape == (400, 3, 3, 1) and y.mean() == 0.5
    same_subject = x1[:, 0, 0, 0] == x2[:, 0, 0, 0]
    assert np.array_equal(same_subject, y == 1)
    assert np.all(x1[y == 1, 0, 1, 0] != x2[y == 1, 0, 1, 0])          # positives: two different images
    (_, _), unshuffled = siamese.gen_train_data(400, id_image, np.random.default_rng(0), shuffle=False)
    assert unshuffled[-40:].sum() == 0                                 # the source's last 10 %: negatives only
    assert 0.3 < y[-40:].mean() < 0.7                                  # shuffled: both kinds


def test_corrected_sampler_never_repeats_the_true_subject():
    id_image = _tagged()
    rng = np.random.default_rng(1)
    for n_way in (4, 9, 12):
        for _ in range(200):
            (queries, candidates), ids = siamese.gen_test_case(n_way, id_image, rng)
            assert len(set(ids.tolist())) == n_way                       # distinct subjects
            true_subject = ids[0]
            assert np.all(candidates[1:, 0, 0, 0] * 255 != true_subject)  # no distractor shows the true subject
            assert candidates[0, 0, 0, 0] * 255 == true_subject
            assert candidates[0, 0, 1, 0] != queries[0, 0, 1, 0]         # positive is another image
            assert np.all(queries == queries[0])


def test_source_sampler_draws_with_replacement():
    id_image = _tagged(n_subjects=40)
    rng = np.random.default_rng(2)
    repeats = 0
    positives = set()
    for _ in range(500):
        (queries, candidates), ids = siamese.gen_test_case(9, id_image, rng, corrected=False)
        repeats += ids[0] in ids[1:]
        positives.add(int(round((candidates[0, 0, 1, 0] - queries[0, 0, 1, 0]) * 255)) % 10)
    # P(true subject among 8 distractors) = 1 − (39/40)^8 = 0.183
    assert 0.12 < repeats / 500 < 0.25
    assert 9 not in positives and 0 not in positives                   # never image q − 1 (or q itself)


def test_test_case_checks_n_way():
    with pytest.raises(ValueError, match="n_way"):
        siamese.gen_test_case(13, _tagged(), np.random.default_rng(0))


def test_nearest_neighbour_baseline():
    queries = np.zeros((3, 2, 2, 1))
    candidates = np.stack([np.full((2, 2, 1), v) for v in (0.5, 0.1, 0.9)])
    assert siamese.nearest_neighbour_choice(queries, candidates) == 1


def test_split_subjects_keeps_the_last_ones_unseen():
    seen, unseen = siamese.split_subjects(range(1, 41), 16)
    assert seen == list(range(1, 25)) and unseen == list(range(25, 41))
    with pytest.raises(ValueError):
        siamese.split_subjects(range(1, 5), 3)


def test_smoke_siamese_learns_and_beats_chance(id_image, tmp_path):
    chosen = settings.SIAMESE.get("smoke")
    seen, unseen = siamese.split_subjects(id_image, chosen.held_out_subjects)
    model, result = siamese.train_siamese(chosen, id_image, seen, tmp_path / "siamese", verbose=0)
    assert result.history["loss"][-1] < result.history["loss"][0]
    rows = siamese.evaluate_n_way(model, id_image, (4, 9), 100, np.random.default_rng(0), subjects=unseen)
    assert rows[0]["siamese"] > 0.25 + 0.15 and rows[1]["siamese"] > 1 / 9 + 0.15   # unseen subjects, chance 1/N
    assert all(row["trials"] == 100 for row in rows)


def test_id_image_from_labels_groups_classes_for_the_samplers():
    images = np.arange(6 * 4, dtype="uint8").reshape(6, 2, 2)
    grouped = siamese.id_image_from_labels(images, [3, 1, 3, 1, 3, 1])
    assert sorted(grouped) == [1, 3] and grouped[3].shape == (3, 2, 2, 1)
    assert np.array_equal(grouped[1][..., 0], images[[1, 3, 5]])
    (queries, candidates), ids = siamese.gen_test_case(2, grouped, np.random.default_rng(0))
    assert sorted(ids.tolist()) == [1, 3]
