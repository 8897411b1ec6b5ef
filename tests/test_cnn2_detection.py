"""Detection: region proposals, YOLO encoding and loss, average precision (hand-computed cases), the detector and
the mask head (shapes and learning)."""
import dataclasses

import keras
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn2_settings, detection as D
from chapters_src.data import scenes as scene_data


def test_region_proposals_from_felzenszwalb_find_the_objects():
    split = scene_data.multi_object_split(4, image_size=56, seed=3)
    for index in range(4):
        proposals = D.region_proposals(split.images[index], scale=100, sigma=0.5, min_size=20)
        assert proposals.ndim == 2 and proposals.shape[1] == 4 and len(proposals) >= 2
        assert np.all(proposals[:, 2:] > 0) and np.all(proposals[:, :2] + proposals[:, 2:] <= 1 + 1e-6)
        count = (split.labels[index] >= 0).sum()
        assert D.proposal_recall(proposals, split.boxes[index, :count], 0.5) >= 0.5
    assert D.proposal_recall(np.zeros((0, 4)), [[0, 0, 1, 1]]) == 0.0
    assert D.proposal_recall([[0, 0, 1, 1]], np.zeros((0, 4))) == 1.0


def test_region_proposals_equal_regionprops_boxes_of_the_same_segmentation():
    """Reference: skimage.measure.regionprops' bounding boxes (min_row, min_col, max_row, max_col; max exclusive)
    of the felzenszwalb label image, converted to normalised (x, y, w, h) independently."""
    from skimage.measure import regionprops
    from skimage.segmentation import felzenszwalb

    split = scene_data.multi_object_split(3, image_size=56, seed=5)
    for image, (scale, min_size) in zip(split.images, [(100, 20), (50, 10), (300, 40)]):
        segments = felzenszwalb(image.astype("float64"), scale=scale, sigma=0.5, min_size=min_size)
        reference = np.array([[c0 / 56, r0 / 56, (c1 - c0) / 56, (r1 - r0) / 56]
                              for r0, c0, r1, c1 in (region.bbox for region in regionprops(segments + 1))])
        ours = D.region_proposals(image, scale=scale, sigma=0.5, min_size=min_size)
        assert ours.shape == reference.shape and len(ours) == segments.max() + 1
        assert np.allclose(ours[np.lexsort(ours.T)], reference[np.lexsort(reference.T)], atol=1e-6)


def test_yolo_target_shape_is_s_s_5b_plus_c():
    target = D.encode_yolo([[0.1, 0.1, 0.2, 0.2]], [3], grid_size=7, boxes_per_cell=2, n_classes=20)
    assert target.shape == (7, 7, 5 * 2 + 20) == (7, 7, 30)          # YOLOv1 on VOC: 7×7×30
    assert D.yolo_depth(2, 20) == 30
    row, col = 1, 1                                                    # centre (0.2, 0.2) → cell (1, 1) of 7
    assert np.allclose(target[row, col, :5], [0.2 * 7 - 1, 0.2 * 7 - 1, 0.2, 0.2, 1.0])
    assert target[row, col, 10 + 3] == 1.0 and target.sum() == pytest.approx(target[row, col].sum())


def test_yolo_encode_decode_round_trip():
    split = scene_data.multi_object_split(30, image_size=56, seed=9)
    targets = D.encode_yolo_batch(split.boxes, split.labels, 7, 2, 3)
    assert targets.shape == (30, 7, 7, 13)
    for target, boxes, labels in zip(targets, split.boxes, split.labels):
        decoded = D.decode_yolo(target, boxes_per_cell=2, score_threshold=0.5)
        keep = labels >= 0
        order_true = np.lexsort(boxes[keep].T[::-1])
        order_decoded = np.lexsort(decoded.boxes.T[::-1])
        assert np.allclose(decoded.boxes[order_decoded], boxes[keep][order_true], atol=1e-6)
        assert decoded.labels[order_decoded].tolist() == labels[keep][order_true].tolist()
        assert np.all(decoded.scores == 1.0)


def test_two_objects_in_one_cell_use_two_slots_and_extra_ones_are_dropped():
    boxes = [[0.0, 0.0, 0.1, 0.1], [0.01, 0.01, 0.08, 0.08], [0.02, 0.02, 0.05, 0.05]]
    target = D.encode_yolo(boxes, [1, 1, 0], grid_size=7, boxes_per_cell=2, n_classes=2)
    assert target[0, 0, 4] == 1 and target[0, 0, 9] == 1 and target[..., [4, 9]].sum() == 2
    assert target[0, 0, 10:].tolist() == [0.0, 1.0]                    # the cell's class: the first object's
    decoded = D.decode_yolo(target, 2, 0.5)
    assert len(decoded.boxes) == 2
    with pytest.raises(ValueError, match="labels"):
        D.encode_yolo(boxes, [0, 1, 5], n_classes=2)


def test_yolo_loss_single_cell_by_hand():
    y_true = np.array([[[[0.5, 0.5, 0.25, 0.25, 1.0, 1.0, 0.0]]]], "float32")       # S = 1, B = 1, C = 2
    y_pred = np.array([[[[0.5, 0.5, 0.16, 0.36, 0.8, 0.7, 0.3]]]], "float32")
    coord = 5.0 * ((0.5 - 0.4) ** 2 + (0.5 - 0.6) ** 2)                               # √.25 − √.16, √.25 − √.36
    expected = coord - np.log(0.8) - np.log(0.7)
    assert float(D.yolo_loss(y_true, y_pred, boxes_per_cell=1)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(D.yolo_loss(y_true, y_true, boxes_per_cell=1)[0]) == pytest.approx(0.0, abs=1e-4)


def test_yolo_loss_picks_the_responsible_predictor_by_iou():
    # S = 2, B = 2, C = 1; one object in cell (0, 0), centre (0.25, 0.25) of the image, 0.5 × 0.5.
    y_true = np.zeros((1, 2, 2, 11), "float32")
    y_true[0, 0, 0, :5] = [0.5, 0.5, 0.5, 0.5, 1.0]
    y_true[0, 0, 0, 10] = 1.0
    y_pred = np.zeros((1, 2, 2, 11), "float32")
    y_pred[..., 4] = y_pred[..., 9] = 0.1                                              # every confidence 0.1
    y_pred[..., 10] = 1.0
    y_pred[0, 0, 0, :5] = [0.5, 0.5, 0.1, 0.1, 0.6]      # slot 0: small box (IoU 0.04), confident
    y_pred[0, 0, 0, 5:10] = [0.5, 0.5, 0.5, 0.5, 0.3]    # slot 1: the exact box (IoU 1): responsible
    expected = -np.log(0.3) - 0.5 * np.log(1 - 0.6) - 0.5 * 6 * np.log(1 - 0.1)
    assert float(D.yolo_loss(y_true, y_pred, boxes_per_cell=2)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(D.YoloLoss(boxes_per_cell=2)(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def _box(x):
    return [x, 0.0, 0.2, 0.2]


def test_average_precision_hand_computed_cases():
    truth = [np.array([_box(0.0), _box(0.5)])]
    # ranked: TP (0.9), FP (0.8), TP (0.7): precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → AP = ½·1 + ½·⅔
    detections = [(np.array([_box(0.0), _box(0.8), _box(0.5)]), np.array([0.9, 0.8, 0.7]))]
    result = D.average_precision(detections, truth)
    assert result.ap == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert np.allclose(result.precision, [1, 0.5, 2 / 3]) and np.allclose(result.recall, [0.5, 0.5, 1])
    # a false positive ranked first: precision 0 then 1/2 at recall 1 → AP = 1/2
    assert D.average_precision([(np.array([_box(0.8), _box(0.0)]), np.array([0.9, 0.8]))],
                               [np.array([_box(0.0)])]).ap == pytest.approx(0.5)
    # a duplicate detection after full recall costs nothing; a duplicate is never a second true positive
    duplicate = D.average_precision([(np.array([_box(0.0), _box(0.01)]), np.array([0.9, 0.8]))], [np.array([_box(0.0)])])
    assert duplicate.ap == pytest.approx(1.0) and np.allclose(duplicate.precision, [1.0, 0.5])
    # two images, only the first object found → AP = 1/2; no detections → 0; no true boxes → NaN
    assert D.average_precision([(np.array([_box(0.0)]), np.array([0.9])), (np.zeros((0, 4)), np.zeros(0))],
                               [np.array([_box(0.0)]), np.array([_box(0.0)])]).ap == pytest.approx(0.5)
    assert D.average_precision([(np.zeros((0, 4)), np.zeros(0))], [np.array([_box(0.0)])]).ap == 0.0
    assert np.isnan(D.average_precision([(np.array([_box(0.0)]), np.array([0.9]))], [np.zeros((0, 4))]).ap)


def test_iou_threshold_decides_true_positives():
    shifted = [(np.array([[0.1, 0.0, 0.2, 0.2]]), np.array([0.9]))]                   # IoU 1/3 with the truth
    truth = [np.array([_box(0.0)])]
    assert D.average_precision(shifted, truth, iou_threshold=0.5).ap == 0.0
    assert D.average_precision(shifted, truth, iou_threshold=0.3).ap == 1.0


def test_mean_average_precision_averages_classes_with_objects():
    detections = [D.Detections(np.array([_box(0.0), _box(0.8), _box(0.5)], "float32"),
                               np.array([0.9, 0.8, 0.7], "float32"), np.array([0, 1, 1]))]
    true_boxes = np.array([[_box(0.0), _box(0.5), _box(0.8), [0, 0, 0, 0]]], "float32")
    true_labels = np.array([[0, 1, 1, -1]])
    mean_ap, per_class = D.mean_average_precision(detections, true_boxes, true_labels, n_classes=3)
    assert set(per_class) == {0, 1}                                   # class 2 has no object: left out
    assert per_class[0].ap == pytest.approx(1.0) and per_class[1].ap == pytest.approx(1.0)
    assert mean_ap == pytest.approx(1.0)
    true_labels = np.array([[0, 1, 2, -1]])     # the object at 0.8 is class 2 now: missed, and a class-1 false positive
    mean_ap, per_class = D.mean_average_precision(detections, true_boxes, true_labels, n_classes=3)
    assert per_class[1].ap == pytest.approx(0.5) and per_class[2].ap == 0.0      # class 1: FP then TP
    assert mean_ap == pytest.approx((1.0 + 0.5 + 0.0) / 3)


def test_detector_output_shape_and_pluggable_trunk():
    model = D.build_detector((56, 56, 3), n_classes=3, boxes_per_cell=2, trunk_filters=(8, 8, 8))
    output = np.asarray(model(np.zeros((2, 56, 56, 3), "float32")))
    assert output.shape == (2, 7, 7, 13)
    assert np.all((output[..., :10] > 0) & (output[..., :10] < 1))
    assert np.allclose(output[..., 10:].sum(-1), 1.0, atol=1e-5)
    trunk = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 8, strides=8)], name="backbone")
    model = D.build_detector((112, 112, 3), n_classes=20, trunk=trunk)
    assert model.output.shape[1:] == (14, 14, 30) and model.get_layer("backbone") is trunk


def test_mask_targets_and_paste_round_trip():
    split = scene_data.multi_object_split(6, image_size=56, seed=2)
    targets = D.mask_targets(split.instances, split.boxes, split.labels, mask_size=14)
    assert targets.shape == (6, scene_data.MAX_OBJECTS, 14, 14)
    assert np.all(targets[split.labels < 0] == 0)
    for index in range(6):
        count = (split.labels[index] >= 0).sum()
        pasted = D.paste_masks(targets[index, :count], split.boxes[index, :count], 56)
        for k in range(count):
            assert D.mask_iou(pasted[k], split.instances[index] == k + 1) > 0.8
    assert D.mask_iou(np.ones((4, 4)), np.ones((4, 4))) == 1.0
    assert D.mask_iou(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0
    half = np.zeros((4, 4), bool)
    half[:2] = True
    assert D.mask_iou(half, np.ones((4, 4))) == 0.5


def test_masked_binary_crossentropy_ignores_padding():
    y_true = np.array([[[[1.0, 0.0]], [[-1.0, -1.0]]]], "float32")          # (1 image, 2 boxes, 1×2 masks)
    y_pred = np.array([[[[0.8, 0.4]], [[0.1, 0.9]]]], "float32")
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    assert float(D.masked_binary_crossentropy(y_true, y_pred)[0]) == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(42)
    settings = cnn2_settings.DETECTION.get("smoke")
    scenes = data.load("detection_scenes", prefer="substitute", image_size=settings.image_size,
                       train_size=settings.train_size, test_size=settings.test_size).data
    detector, result = D.train_detector(settings, scenes, str(tmp_path_factory.mktemp("detector")), verbose=0)
    return settings, scenes, detector, result


def test_detector_learns_in_smoke(trained):
    settings, scenes, detector, result = trained
    assert result.history["loss"][-1] < 0.5 * result.history["loss"][0]
    detections = D.detect(detector, scenes.test.images, score_threshold=0.05)
    mean_ap, _ = D.mean_average_precision(detections, scenes.test.boxes, scenes.test.labels, 3)
    # trivial baseline: the mean training box, with every class, in every cell whose centre it would cover
    mean_box = scenes.train.boxes[scenes.train.labels >= 0].mean(axis=0)
    centres = [((c + 0.5) / 7 - mean_box[2] / 2, (r + 0.5) / 7 - mean_box[3] / 2) for r in range(7) for c in range(7)]
    guesses = np.array([[x, y, mean_box[2], mean_box[3]] for x, y in centres], "float32")
    baseline = [D.Detections(np.tile(guesses, (3, 1)), np.full(147, 0.5, "float32"), np.repeat(np.arange(3), 49))
                for _ in scenes.test.images]
    baseline_map, _ = D.mean_average_precision(baseline, scenes.test.boxes, scenes.test.labels, 3)
    assert mean_ap > baseline_map + 0.15, (mean_ap, baseline_map)


class _FakeClockModel:
    """predict() advances a fake clock by 1 s + 0.01 s per image, and by 5 s more on its first (warm-up) call."""

    def __init__(self, clock):
        self.clock, self.calls = clock, []

    def predict(self, images, batch_size, verbose):
        self.calls.append((len(images), batch_size))
        self.clock[0] += 1.0 + 0.01 * len(images) + (5.0 if len(self.calls) == 1 else 0.0)


def test_images_per_second_divides_the_image_count_by_the_fastest_timed_call(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(D.time, "perf_counter", lambda: clock[0])
    model = _FakeClockModel(clock)
    throughput = D.images_per_second(model, np.zeros((100, 4, 4, 3)), batch_size=10, repeats=3)
    assert model.calls == [(10, 10), (100, 10), (100, 10), (100, 10)]       # warm-up on one batch, then 3 timed
    assert throughput == pytest.approx(100 / 2.0)                            # the warm-up's 5 s are not counted
    with pytest.raises(ValueError, match="repeats"):
        D.images_per_second(model, np.zeros((4, 4, 4, 3)), repeats=0)


def test_detector_throughput_is_higher_in_batches_and_matches_a_timed_predict(trained):
    _, scenes, detector, _ = trained
    images = scenes.test.images[:64]
    batched = D.images_per_second(detector, images, batch_size=32, repeats=3)
    one_by_one = D.images_per_second(detector, images[:16], batch_size=1, repeats=3)
    assert batched > 2 * one_by_one, (batched, one_by_one)        # 2 steps instead of 16: per-step overhead shared
    start = D.time.perf_counter()
    detector.predict(images, batch_size=32, verbose=0)
    timed = len(images) / (D.time.perf_counter() - start)
    assert timed < 2 * batched, (timed, batched)                  # the fastest of 3 runs is not beaten by far


def test_a_finished_detector_run_is_reused_only_with_the_same_settings(trained, tmp_path):
    settings, scenes, detector, result = trained
    assert D.finished_detector_run(result.run_dir, settings, scenes)
    longer = dataclasses.replace(settings, epochs=settings.epochs + 1)
    assert not D.finished_detector_run(result.run_dir, longer, scenes)
    assert not D.finished_detector_run(tmp_path / "nothing", settings, scenes)
    reused, source = D.load_or_train_detector(settings, scenes, str(tmp_path / "unused"),
                                              reuse_dirs=[tmp_path / "nothing", result.run_dir])
    assert source == str(result.run_dir) and not (tmp_path / "unused").exists()
    images = scenes.test.images[:4]
    assert np.allclose(reused.predict(images, verbose=0), detector.predict(images, verbose=0), atol=1e-5)


def test_architecture_diagrams_draw_every_block_and_arrow():
    import matplotlib.pyplot as plt

    for name in D.ARCHITECTURES:
        figure = D.draw_architecture(name)
        gids = {artist.get_gid() for artist in figure.axes[0].get_children() if artist.get_gid()}
        assert "image" in gids and any("->" in gid for gid in gids), name
        plt.close(figure)
    assert "7×7×30" in " ".join(t.get_text() for t in D.draw_architecture("YOLO").axes[0].texts)
    rcnn = " ".join(t.get_text() for t in D.draw_architecture("R-CNN").axes[0].texts)
    assert "Selective Search" in rcnn and "once per region" in rcnn
    mask_rcnn = D.draw_architecture("Mask R-CNN", mask_size=14).axes[0]
    assert "mask" in {a.get_gid() for a in mask_rcnn.get_children()} and "RoIAlign" in " ".join(
        t.get_text() for t in mask_rcnn.texts)
    with pytest.raises(ValueError, match="name"):
        D.draw_architecture("SSD")
    plt.close("all")


def test_mask_head_learns_in_smoke(trained, tmp_path):
    _, scenes, _, _ = trained
    settings = cnn2_settings.INSTANCE.get("smoke")
    assert settings.detector.image_size == scenes.train.images.shape[1]
    keras.utils.set_random_seed(0)
    model, result = D.train_mask_head(settings, scenes, str(tmp_path), verbose=0)
    assert model.output.shape[1:] == (scene_data.MAX_OBJECTS, settings.mask_size, settings.mask_size)
    assert result.history["loss"][-1] < 0.8 * result.history["loss"][0]
    learned, filled = [], []
    counts = (scenes.test.labels[:20] >= 0).sum(axis=1)
    all_masks = D.predict_instance_masks(model, scenes.test.images[:20],
                                         [b[:c] for b, c in zip(scenes.test.boxes[:20], counts)])
    extra = D.predict_instance_masks(model, scenes.test.images[:1], [np.tile(scenes.test.boxes[0, :1], (9, 1))])
    assert extra[0].shape == (9, 56, 56)      # more boxes than max_boxes
    assert all(np.array_equal(m, extra[0][0]) for m in extra[0])
    for index in range(20):
        count = counts[index]
        boxes = scenes.test.boxes[index, :count]
        masks = all_masks[index]
        whole_boxes = D.paste_masks(np.ones((count, 2, 2)), boxes, 56)   # baseline: fill the box
        for k in range(count):
            truth = scenes.test.instances[index] == k + 1
            learned.append(D.mask_iou(masks[k], truth))
            filled.append(D.mask_iou(whole_boxes[k], truth))
    assert np.mean(learned) > np.mean(filled) + 0.03, (np.mean(learned), np.mean(filled))
