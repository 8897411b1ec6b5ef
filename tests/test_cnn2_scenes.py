"""The generated scenes (shapes on clutter with boxes and masks) and their registration with real tfds sources."""
import numpy as np
import pytest
import tensorflow as tf

from chapters_src import data
from chapters_src.data import scenes


def test_shape_masks_and_tight_boxes():
    square = scenes.shape_mask("square", (10.0, 8.0), 6, 20)
    assert square.sum() == 36                                # a 6×6 block of pixel centres
    assert np.allclose(scenes.mask_box(square) * 20, [7, 5, 6, 6])
    circle = scenes.shape_mask("circle", (10.0, 10.0), 10, 20)
    assert abs(circle.sum() - np.pi * 25) < 10
    triangle = scenes.shape_mask("triangle", (10.0, 10.0), 10, 20)
    rows = np.flatnonzero(triangle.any(axis=1))
    assert triangle[rows[0]].sum() < triangle[rows[-1]].sum()       # apex at the top, base at the bottom
    with pytest.raises(ValueError, match="kind"):
        scenes.shape_mask("star", (1, 1), 2, 4)
    with pytest.raises(ValueError, match="empty"):
        scenes.mask_box(np.zeros((3, 3), bool))


def test_single_object_split_is_deterministic_and_boxes_fit_objects():
    first = scenes.single_object_split(12, image_size=32, seed=5)
    again = scenes.single_object_split(12, image_size=32, seed=5)
    other = scenes.single_object_split(12, image_size=32, seed=6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first.images, other.images)
    assert first.images.shape == (12, 32, 32, 3) and first.images.dtype == np.float32
    assert 0 <= first.images.min() and first.images.max() <= 1
    assert set(first.labels.tolist()) <= {0, 1, 2} and first.boxes.shape == (12, 4)
    x, y, w, h = first.boxes.T
    assert np.all(x >= 0) and np.all(y >= 0) and np.all(x + w <= 1) and np.all(y + h <= 1)
    assert np.all(w >= 0.25) and np.all(w <= 0.75)


def test_multi_object_split_masks_instances_and_boxes_agree():
    split = scenes.multi_object_split(20, image_size=56, seed=1)
    assert split.boxes.shape == (20, scenes.MAX_OBJECTS, 4) and split.labels.shape == (20, scenes.MAX_OBJECTS)
    for index in range(20):
        count = int((split.labels[index] >= 0).sum())
        assert count >= 1 and np.all(split.labels[index, count:] == -1) and np.all(split.boxes[index, count:] == 0)
        assert split.instances[index].max() == count
        cells = set()
        for k in range(count):
            pixels = split.instances[index] == k + 1
            assert np.allclose(scenes.mask_box(pixels), split.boxes[index, k])       # box = tight box of the mask
            assert np.all(split.masks[index][pixels] == split.labels[index, k] + 1)
            x, y, w, h = split.boxes[index, k]
            cells.add((int((y + h / 2) * 7), int((x + w / 2) * 7)))
        assert len(cells) == count                                                  # centres in distinct 7×7 cells
        assert np.array_equal(split.masks[index] > 0, split.instances[index] > 0)


def test_registered_datasets_substitute_offline():
    for name in scenes.SCENE_DATASETS:
        assert name in data.available()
        loaded = data.load(name, image_size=32, train_size=8, test_size=4)
        assert loaded.provenance.kind == "substitute"
        assert "tfds:" in loaded.provenance.source
        assert len(loaded.data.train.images) == 8 and len(loaded.data.test.images) == 4
    segmentation = data.load("segmentation_scenes", image_size=32, train_size=8, test_size=4).data
    assert segmentation.class_names == ("background", "circle", "square", "triangle")
    assert segmentation.train.masks.shape == (8, 32, 32) and segmentation.train.masks.max() <= 3
    with pytest.raises(data.RealDataUnavailableError):
        data.load("detection_scenes", prefer="real")


def test_preference_uses_real_data_only_when_prepared_or_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert scenes.preference("localization_scenes", download_real=False) == "substitute"
    assert scenes.preference("localization_scenes", download_real=True) == "auto"
    prepared = tmp_path / "oxford_iiit_pet" / "4.0.0"
    prepared.mkdir(parents=True)
    (prepared / "dataset_info.json").write_text("{}")
    assert scenes.preference("segmentation_scenes", download_real=False) == "auto"
    with pytest.raises(ValueError, match="name"):
        scenes.real_data_prepared("mnist")


def _fake_pets(count):
    images = np.random.default_rng(0).integers(0, 255, (count, 40, 60, 3)).astype("uint8")
    trimaps = np.ones((count, 40, 60, 1), "uint8") * 2
    trimaps[:, 10:30, 20:40] = 1
    head = np.tile(np.array([[0.25, 0.5, 0.75, 1.0]], "float32"), (count, 1))     # (ymin, xmin, ymax, xmax)
    head[0] = 0                                                                   # an image without a head box
    split = tf.data.Dataset.from_tensor_slices({"image": images, "segmentation_mask": trimaps, "head_bbox": head,
                                                "species": np.arange(count) % 2, "label": np.arange(count) % 37})
    return {"train": split, "test": split}


def test_pet_readers_convert_boxes_and_trimaps():
    localization = scenes.read_pets_localization(_fake_pets(5), image_size=16, train_size=3, test_size=2)
    assert localization.class_names == ("cat", "dog")
    assert localization.train.images.shape == (3, 16, 16, 3) and localization.train.images.max() <= 1
    assert np.allclose(localization.train.boxes, [[0.5, 0.25, 0.5, 0.5]] * 3)       # empty head box skipped
    assert localization.train.labels.tolist() == [1, 0, 1]
    segmentation = scenes.read_pets_segmentation(_fake_pets(3), image_size=20, train_size=2, test_size=2)
    assert segmentation.train.masks.shape == (2, 20, 20)
    assert set(np.unique(segmentation.train.masks)) == {0, 1}                        # trimap 1, 2 → 0 pet, 1 background


def test_voc_reader_pads_objects():
    objects = {"bbox": tf.ragged.constant([[[0.0, 0.0, 0.5, 0.5]], [[0.1, 0.2, 0.3, 0.6]] * 6], ragged_rank=1),
               "label": tf.ragged.constant([[14], [2] * 6])}
    images = np.zeros((2, 30, 30, 3), "uint8")
    split = tf.data.Dataset.from_tensor_slices({"image": images, "objects": objects})
    detection = scenes.read_voc_detection({"train": split, "test": split}, image_size=16, train_size=2, test_size=2)
    assert detection.class_names[14] == "person" and len(detection.class_names) == 20
    assert detection.train.labels.tolist() == [[14, -1, -1, -1], [2, 2, 2, 2]]
    assert np.allclose(detection.train.boxes[1, 0], [0.2, 0.1, 0.4, 0.2])
    assert detection.train.masks is None and detection.train.instances is None
