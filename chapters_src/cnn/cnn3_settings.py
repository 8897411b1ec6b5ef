"""Hyperparameters of "Advanced CNNs III" (what networks see, DeepDream, neural style transfer), one per profile.

- ``VISUALIZATION``: notebook 07 (activation maximization, saliency, Grad-CAM, activation atlas).
- ``DREAM``: notebook 08 (DeepDream).
- ``STYLE``: notebook 09 (neural style transfer).

``full`` holds the source chapters' values: keras-vis ``max_iter=500`` on VGG16 at 224 px (001 §2), the keras-vis
MNIST model trained 5 epochs with batch 128 (004 §3), InceptionV3 ``mixed2``–``mixed5`` with 400 steps and a
snapshot every 50 (000 §4), and the neural-style run of 1,000 iterations with a checkpoint every 100 (002 §3.8).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..profiles import ProfileSet


@dataclass(frozen=True)
class VisualizationSettings:
    """Notebook 07. ``train_examples`` digits train the small CNN (None: all) for ``epochs`` epochs."""

    train_examples: int | None
    epochs: int
    batch_size: int
    conv_filters: tuple[int, int]      # the keras-vis MNIST model: (32, 64)
    dense_units: int                   # ... and Dense(128)
    maximization_steps: int            # gradient-ascent steps of activation maximization (keras-vis: 500)
    maximization_step_size: float      # step on the RMS-normalised gradient, in input units
    vgg_image_size: int                # VGG16 input size for the ImageNet panels (224 = the source)
    atlas_examples: int                # images whose activations build the atlas
    atlas_grid: int                    # the atlas is atlas_grid × atlas_grid cells
    atlas_feature_steps: int           # feature-visualisation steps per atlas cell (0: mean input only)


@dataclass(frozen=True)
class DreamSettings:
    """Notebook 08. ``image_width``: the photo is resized to this width (the source used a 747-px photo)."""

    image_width: int
    source_steps: int                  # the source's loop: 400 steps
    snapshot_every: int                # ... showing the image every 50 steps
    step_size: float                   # the fixed version's step (TF tutorial: 0.01)
    steps_per_octave: int
    octaves: tuple[int, ...]           # octave exponents: the image is scaled by octave_scale ** octave
    octave_scale: float
    tile_size: int                     # random-roll tiling: gradients computed on tiles of this size
    patch_examples: int                # offline network: patches cut from the bundled photos
    patch_epochs: int


@dataclass(frozen=True)
class StyleSettings:
    """Notebook 09 and the command-line program. ``width``: content width in pixels (the source: the file's)."""

    width: int
    iterations: int                    # neural_style.py default 100; the book's run 1,000
    checkpoint_iterations: int
    print_iterations: int | None
    pooling: str                       # "max" (the source) or "avg" (Gatys et al.)
    benchmark_width: int               # iterations/s are measured at this width (256 px)
    benchmark_iterations: int


VISUALIZATION = ProfileSet(
    smoke=VisualizationSettings(train_examples=600, epochs=2, batch_size=64, conv_filters=(16, 32), dense_units=64,
                                maximization_steps=20, maximization_step_size=0.05, vgg_image_size=64,
                                atlas_examples=150, atlas_grid=5, atlas_feature_steps=0),
    standard=VisualizationSettings(train_examples=None, epochs=5, batch_size=64, conv_filters=(32, 64),
                                   dense_units=128, maximization_steps=150, maximization_step_size=0.05,
                                   vgg_image_size=128, atlas_examples=297, atlas_grid=7, atlas_feature_steps=60),
    full=VisualizationSettings(train_examples=None, epochs=5, batch_size=128, conv_filters=(32, 64), dense_units=128,
                               maximization_steps=500, maximization_step_size=0.05, vgg_image_size=224,
                               atlas_examples=2000, atlas_grid=12, atlas_feature_steps=200),
)

DREAM = ProfileSet(
    smoke=DreamSettings(image_width=96, source_steps=10, snapshot_every=5, step_size=0.01, steps_per_octave=3,
                        octaves=(-1, 0), octave_scale=1.3, tile_size=64, patch_examples=300, patch_epochs=1),
    standard=DreamSettings(image_width=256, source_steps=100, snapshot_every=25, step_size=0.01,
                           steps_per_octave=30, octaves=(-2, -1, 0), octave_scale=1.3, tile_size=128,
                           patch_examples=4000, patch_epochs=4),
    full=DreamSettings(image_width=747, source_steps=400, snapshot_every=50, step_size=0.01, steps_per_octave=100,
                       octaves=(-2, -1, 0, 1, 2), octave_scale=1.3, tile_size=512, patch_examples=20000,
                       patch_epochs=10),
)

STYLE = ProfileSet(
    smoke=StyleSettings(width=64, iterations=12, checkpoint_iterations=4, print_iterations=None, pooling="max",
                        benchmark_width=64, benchmark_iterations=2),
    standard=StyleSettings(width=128, iterations=100, checkpoint_iterations=20, print_iterations=50,
                           pooling="max", benchmark_width=256, benchmark_iterations=3),
    full=StyleSettings(width=512, iterations=1000, checkpoint_iterations=100, print_iterations=None, pooling="max",
                       benchmark_width=256, benchmark_iterations=20),
)
