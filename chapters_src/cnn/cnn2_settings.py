"""Settings of the "Advanced CNNs II" chapters (localization, segmentation, detection, instance segmentation), one
per profile.

The source (*Deep Learning with TensorFlow and Keras*, 3rd ed., ch. 20 §1) is conceptual: it fixes only α = 0.5
for the combined localization loss and YOLO's S = 7 grid with 7 × 7 × (5B + C) outputs (B = 2 in the YOLO paper).
``full`` therefore uses those values plus the published settings of the examples we compare with: YOLOv1's
448-pixel input (Redmon et al. 2016) and the keras-io U-Net's 160-pixel input, batch 32, Adam 1e-4 and 50 epochs.
``full`` also downloads the real datasets (Oxford-IIIT Pets, PASCAL VOC 2007) when online; ``smoke`` and
``standard`` use them only if tfds has already prepared them, and the generated scenes otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..profiles import ProfileSet


@dataclass(frozen=True)
class LocalizationSettings:
    image_size: int                 # pixels (square)
    train_size: int                 # training images (10 % of them are held out for validation)
    test_size: int
    trunk_filters: tuple[int, ...]  # one conv + 2×2 max-pool block per entry
    epochs: int
    batch_size: int
    learning_rate: float
    alpha: float                    # L = α·L_class + (1 − α)·L_box (source: 0.5 unless domain knowledge says otherwise)
    download_real: bool             # download the real data when online (else only use it if already prepared)


@dataclass(frozen=True)
class SegmentationSettings:
    image_size: int
    train_size: int
    test_size: int
    depth: int                      # U-Net levels: the input side must be divisible by 2**depth
    base_filters: int               # filters of the first level, doubled at every level
    epochs: int
    batch_size: int
    learning_rate: float
    download_real: bool


@dataclass(frozen=True)
class DetectionSettings:
    image_size: int                 # image_size / 2**len(trunk_filters) = grid_size
    grid_size: int                  # YOLO's S
    boxes_per_cell: int             # YOLO's B
    train_size: int
    test_size: int
    trunk_filters: tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    score_threshold: float          # keep detections scoring above this (confidence × class probability)
    nms_iou_threshold: float
    download_real: bool


@dataclass(frozen=True)
class InstanceSettings:
    detector: DetectionSettings     # the detector whose boxes the mask head reads (notebook 06's in standard/full)
    mask_size: int                  # side of the mask head's RoIAlign-ed masks
    mask_train_size: int            # training images for the mask head (the first ones of the detector's)
    mask_epochs: int
    mask_batch_size: int
    mask_learning_rate: float


LOCALIZATION = ProfileSet(
    smoke=LocalizationSettings(image_size=32, train_size=600, test_size=150, trunk_filters=(16, 32, 32), epochs=5,
                               batch_size=32, learning_rate=3e-3, alpha=0.5, download_real=False),
    standard=LocalizationSettings(image_size=48, train_size=2000, test_size=300, trunk_filters=(16, 32, 64, 64),
                                  epochs=10, batch_size=32, learning_rate=2e-3, alpha=0.5, download_real=False),
    full=LocalizationSettings(image_size=128, train_size=3680, test_size=1000, trunk_filters=(32, 64, 128, 128, 256),
                              epochs=30, batch_size=32, learning_rate=1e-3, alpha=0.5, download_real=True),
)

SEGMENTATION = ProfileSet(
    smoke=SegmentationSettings(image_size=32, train_size=300, test_size=80, depth=2, base_filters=8, epochs=4,
                               batch_size=8, learning_rate=3e-3, download_real=False),
    standard=SegmentationSettings(image_size=48, train_size=1000, test_size=200, depth=3, base_filters=16, epochs=10,
                                  batch_size=16, learning_rate=2e-3, download_real=False),
    full=SegmentationSettings(image_size=160, train_size=6390, test_size=1000, depth=4, base_filters=32, epochs=50,
                              batch_size=32, learning_rate=1e-4, download_real=True),
)

DETECTION = ProfileSet(
    smoke=DetectionSettings(image_size=56, grid_size=7, boxes_per_cell=2, train_size=600, test_size=100,
                            trunk_filters=(16, 32, 32), epochs=5, batch_size=32, learning_rate=3e-3,
                            score_threshold=0.3, nms_iou_threshold=0.5, download_real=False),
    standard=DetectionSettings(image_size=56, grid_size=7, boxes_per_cell=2, train_size=2000, test_size=300,
                               trunk_filters=(32, 64, 64), epochs=15, batch_size=32, learning_rate=2e-3,
                               score_threshold=0.3, nms_iou_threshold=0.5, download_real=False),
    full=DetectionSettings(image_size=448, grid_size=7, boxes_per_cell=2, train_size=5011, test_size=4952,
                           trunk_filters=(32, 64, 128, 256, 512, 512), epochs=60, batch_size=32, learning_rate=1e-3,
                           score_threshold=0.2, nms_iou_threshold=0.5, download_real=True),
)

INSTANCE = ProfileSet(
    # the detector settings are notebook 06's, so that notebook 06b reuses the detector notebook 06 trained when it
    # finds its finished run (detection.load_or_train_detector), and trains the same one otherwise
    smoke=InstanceSettings(detector=DETECTION.get("smoke"), mask_size=14, mask_train_size=300, mask_epochs=3,
                           mask_batch_size=8, mask_learning_rate=3e-3),
    standard=InstanceSettings(detector=DETECTION.get("standard"), mask_size=14, mask_train_size=1000, mask_epochs=6,
                              mask_batch_size=16, mask_learning_rate=2e-3),
    full=InstanceSettings(detector=DETECTION.get("full"), mask_size=28, mask_train_size=5011, mask_epochs=20,
                          mask_batch_size=16, mask_learning_rate=1e-3),
)
