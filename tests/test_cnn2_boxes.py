"""Boxes: IoU, non-max suppression (vs tf.image.non_max_suppression), ROI max-pooling and RoIAlign (vs NumPy)."""
import numpy as np
import pytest
import tensorflow as tf

from chapters_src.cnn import boxes as B


def test_iou_identical_disjoint_and_known_overlap():
    box = (0.1, 0.2, 0.4, 0.3)
    assert B.iou(box, box) == pytest.approx(1.0)
    assert B.iou((0.0, 0.0, 0.2, 0.2), (0.5, 0.5, 0.2, 0.2)) == 0.0
    assert B.iou((0.0, 0.0, 0.2, 0.2), (0.2, 0.0, 0.2, 0.2)) == 0.0          # touching edges: no area in common
    # 2×2 and 2×2 shifted by 1 in x: intersection 2, union 6
    assert B.iou((0, 0, 2, 2), (1, 0, 2, 2)) == pytest.approx(2 / 6)
    # a box inside another: intersection = small area, union = large area
    assert B.iou((0, 0, 4, 4), (1, 1, 2, 2)) == pytest.approx(4 / 16)
    # partial overlap in both axes: [0,3]×[0,2] and [2,5]×[1,4] → 1×1 / (6 + 9 − 1)
    assert B.iou((0, 0, 3, 2), (2, 1, 3, 3)) == pytest.approx(1 / 14)
    assert B.iou((0.3, 0.3, 0.0, 0.0), (0.3, 0.3, 0.0, 0.0)) == 0.0         # empty boxes: defined as 0


def test_iou_is_symmetric_and_broadcasts():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0, 0.5, (10, 2)), rng.uniform(0.05, 0.5, (10, 2))], axis=1)
    b = np.concatenate([rng.uniform(0, 0.5, (10, 2)), rng.uniform(0.05, 0.5, (10, 2))], axis=1)
    assert np.allclose(B.iou(a, b), B.iou(b, a))
    table = B.pairwise_iou(a, b)
    assert table.shape == (10, 10)
    assert np.allclose(np.diag(table), B.iou(a, b))
    assert np.all((table >= 0) & (table <= 1))


def test_box_conversions_round_trip_and_bad_input():
    boxes = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 1.0]])
    assert np.allclose(B.xywh_to_corners(boxes), [[0.1, 0.2, 0.4, 0.6], [0, 0, 1, 1]])
    assert np.allclose(B.corners_to_xywh(B.xywh_to_corners(boxes)), boxes)
    with pytest.raises(ValueError, match="shape"):
        B.iou((0, 0, 1), (0, 0, 1, 1))
    with pytest.raises(ValueError, match="non-negative"):
        B.iou((0, 0, -1, 1), (0, 0, 1, 1))


def _random_boxes(rng, count):
    return np.concatenate([rng.uniform(0, 0.7, (count, 2)), rng.uniform(0.05, 0.3, (count, 2))], axis=1)


@pytest.mark.parametrize("seed, threshold, limit, score_threshold",
                         [(0, 0.5, None, float("-inf")), (1, 0.3, None, float("-inf")), (2, 0.0, None, float("-inf")),
                          (3, 0.7, 5, float("-inf")), (4, 0.5, None, 0.4), (5, 1.0, 10, 0.2)])
def test_nms_matches_tensorflow(seed, threshold, limit, score_threshold):
    rng = np.random.default_rng(seed)
    boxes, scores = _random_boxes(rng, 40), rng.permutation(40) / 40.0 + 0.01     # distinct scores
    ours = B.non_max_suppression(boxes, scores, threshold, limit, score_threshold)
    corners = B.xywh_to_corners(boxes)[:, [1, 0, 3, 2]].astype("float32")          # TF wants (y1, x1, y2, x2)
    theirs = tf.image.non_max_suppression(corners, scores.astype("float32"), limit or 40, threshold,
                                          score_threshold).numpy()
    assert ours.tolist() == theirs.tolist()


def test_nms_hand_case_and_arguments():
    boxes = [(0, 0, 1, 1), (0.1, 0, 1, 1), (2, 2, 1, 1)]    # the second overlaps the first with IoU 0.9/1.1
    assert B.non_max_suppression(boxes, [0.9, 0.8, 0.7], iou_threshold=0.5).tolist() == [0, 2]
    assert B.non_max_suppression(boxes, [0.9, 0.8, 0.7], iou_threshold=0.85).tolist() == [0, 1, 2]
    assert B.non_max_suppression(np.zeros((0, 4)), []).tolist() == []
    with pytest.raises(ValueError, match="iou_threshold"):
        B.non_max_suppression(boxes, [1, 2, 3], iou_threshold=1.5)
    with pytest.raises(ValueError, match="one value per box"):
        B.non_max_suppression(boxes, [1, 2])


def test_roi_max_pool_reference_hand_case():
    feature_map = np.arange(16, dtype="float32").reshape(4, 4, 1)
    pooled = B.roi_max_pool_reference(feature_map, (0, 0, 1, 1), (2, 2))
    assert pooled[..., 0].tolist() == [[5, 7], [13, 15]]               # max of each 2×2 quadrant
    # the right 3 columns (cells 1..3) of the top 2 rows into 1×2 bins: columns {1, 2} and {2, 3} (ceil overlaps)
    pooled = B.roi_max_pool_reference(feature_map, (0.25, 0.0, 0.75, 0.5), (1, 2))
    assert pooled[..., 0].tolist() == [[6, 7]]
    # a box smaller than a cell still covers one cell
    assert B.roi_max_pool_reference(feature_map, (0.3, 0.3, 0.01, 0.01), 1)[0, 0, 0] == 5
    assert B.roi_cells(0.3, 0.01, 4) == (1, 2)


@pytest.mark.parametrize("output_size", [(2, 2), (3, 5), 7])
def test_roi_max_pool_layer_matches_reference(output_size):
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(2, 9, 11, 3)).astype("float32")
    boxes = _random_boxes(rng, 10).reshape(2, 5, 4).astype("float32")
    keras_output = B.RoiMaxPool(output_size)(maps, boxes).numpy()
    height, width = (output_size, output_size) if isinstance(output_size, int) else output_size
    assert keras_output.shape == (2, 5, height, width, 3)
    reference = np.stack([np.stack([B.roi_max_pool_reference(maps[b], boxes[b, r], output_size) for r in range(5)])
                          for b in range(2)])
    assert np.allclose(keras_output, reference)


def test_roi_align_layer_matches_reference_and_interpolates():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(2, 8, 10, 4)).astype("float32")
    boxes = _random_boxes(rng, 6).reshape(2, 3, 4).astype("float32")
    keras_output = B.RoiAlign((4, 3))(maps, boxes).numpy()
    reference = np.stack([np.stack([B.roi_align_reference(maps[b], boxes[b, r], (4, 3)) for r in range(3)])
                          for b in range(2)])
    assert keras_output.shape == (2, 3, 4, 3, 4)
    assert np.allclose(keras_output, reference, atol=1e-5)
    # on a linear ramp, bilinear sampling returns the ramp at the bin centres
    ramp = np.tile(np.arange(8, dtype="float32")[None, :, None], (8, 1, 1))         # value = column index
    aligned = B.roi_align_reference(ramp, (0.0, 0.0, 0.5, 0.5), (1, 2))
    assert np.allclose(aligned[0, :, 0], [0.5, 2.5])                              # centres at x = 1 and 3 → −0.5


def test_roi_layers_reject_bad_output_sizes():
    for bad in (0, (2,), (2, 0), "7", True):
        with pytest.raises(ValueError, match="output_size"):
            B.RoiMaxPool(bad)
        with pytest.raises(ValueError, match="output_size"):
            B.roi_align_reference(np.zeros((4, 4, 1)), (0, 0, 1, 1), bad)


def test_block_diagram_rejects_unknown_kinds_and_blocks():
    import matplotlib.pyplot as plt

    from chapters_src.cnn.boxes import Block, block_diagram

    figure = block_diagram({"a": Block(0, 0, "a", "data"), "b": Block(2, 0, "b")}, [("a", "b", "flows")])
    assert {"a", "b", "a->b"} <= {artist.get_gid() for artist in figure.axes[0].get_children()}
    with pytest.raises(ValueError, match="kind"):
        block_diagram({"a": Block(0, 0, "a", "colourful")})
    with pytest.raises(ValueError, match="does not exist"):
        block_diagram({"a": Block(0, 0, "a")}, [("a", "c")])
    plt.close("all")
