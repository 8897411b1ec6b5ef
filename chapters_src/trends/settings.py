"""Hyperparameters of the three new-trends chapters, one :class:`~chapters_src.profiles.ProfileSet` each.

``full`` holds the source chapters' values; ``standard`` builds on a laptop CPU in minutes and still learns;
``smoke`` runs in seconds (tests, CI).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..profiles import ProfileSet


@dataclass(frozen=True)
class BayesianSettings:
    """Bayesian softmax regression (source ch. 8 §8.1.3: Edward ``KLqp``, batch 100, "n_iter=100" = 100 epochs)."""

    train_examples: int | None     # MNIST training images used (None: all)
    epochs: int                    # passes over the training set (the source's "iterations")
    batch_size: int                # 100 in the source
    learning_rate: float           # Edward's default optimiser: Adam, 0.1 …
    decay_steps: int               # … multiplied by ``decay_rate`` every ``decay_steps`` steps (staircase)
    decay_rate: float
    posterior_samples: int         # weight draws for the posterior predictive (30 in the source)
    letters_per_class: int         # out-of-distribution letters per class A–J


@dataclass(frozen=True)
class CapsuleSettings:
    """CapsNet (Sabour, Frosst & Hinton 2017; ch. 20 §10). ``full`` is the paper's network."""

    conv_filters: int              # Conv1 kernels, 9×9 (256)
    primary_channels: int          # PrimaryCaps channels of capsules (32)
    primary_dim: int               # dimensions of a primary capsule (8)
    digit_dim: int                 # dimensions of a DigitCaps capsule (16)
    routings: int                  # routing iterations (3)
    decoder_units: tuple[int, int] # reconstruction decoder (512, 1024)
    train_examples: int | None
    epochs: int
    batch_size: int
    learning_rate: float
    demo_dimensions: int           # DigitCaps dimensions shown in the perturbation player
    baseline_filters: tuple[int, int]  # the comparison CNN's two 5×5 convolutions …
    baseline_dense_units: int      # … and its dense layer, sized so that its parameter count matches the CapsNet's
                                   # without the decoder (within capsules.BASELINE_PARAMETER_TOLERANCE; tested)


@dataclass(frozen=True)
class SiameseSettings:
    """Siamese few-shot faces (source ch. 8 §8.3.3: 8,000 pairs, batch 64, 10 epochs, 1,000 trials per N)."""

    image_scale: int               # images shrunk by this factor (1 = the source's 112×92)
    train_pairs: int               # pairs drawn per model (8,000)
    epochs: int
    batch_size: int
    learning_rate: float
    held_out_subjects: int         # subjects never seen in training (the source: none)
    trials: int                    # N-way test cases per N (1,000)
    n_ways: tuple[int, ...]


BAYESIAN = ProfileSet(
    smoke=BayesianSettings(train_examples=1_500, epochs=6, batch_size=100, learning_rate=0.1, decay_steps=100,
                           decay_rate=0.9, posterior_samples=30, letters_per_class=20),
    standard=BayesianSettings(train_examples=None, epochs=30, batch_size=100, learning_rate=0.1, decay_steps=100,
                              decay_rate=0.9, posterior_samples=30, letters_per_class=100),
    full=BayesianSettings(train_examples=None, epochs=100, batch_size=100, learning_rate=0.1, decay_steps=100,
                          decay_rate=0.9, posterior_samples=30, letters_per_class=1_000),
)

CAPSULES = ProfileSet(
    smoke=CapsuleSettings(conv_filters=16, primary_channels=4, primary_dim=8, digit_dim=16, routings=3,
                          decoder_units=(128, 256), train_examples=600, epochs=2, batch_size=32, learning_rate=5e-3,
                          demo_dimensions=6, baseline_filters=(32, 64), baseline_dense_units=169),
    standard=CapsuleSettings(conv_filters=32, primary_channels=8, primary_dim=8, digit_dim=16, routings=3,
                             decoder_units=(256, 512), train_examples=6_000, epochs=4, batch_size=32,
                             learning_rate=3e-3, demo_dimensions=16, baseline_filters=(32, 64),
                             baseline_dense_units=469),
    full=CapsuleSettings(conv_filters=256, primary_channels=32, primary_dim=8, digit_dim=16, routings=3,
                         decoder_units=(512, 1024), train_examples=None, epochs=50, batch_size=100,
                         learning_rate=1e-3, demo_dimensions=16, baseline_filters=(64, 128),
                         baseline_dense_units=3_204),
)

SIAMESE = ProfileSet(
    smoke=SiameseSettings(image_scale=4, train_pairs=1_200, epochs=3, batch_size=64, learning_rate=1e-3,
                          held_out_subjects=16, trials=60, n_ways=(4, 9, 16, 25, 36, 40)),
    standard=SiameseSettings(image_scale=2, train_pairs=3_000, epochs=5, batch_size=64, learning_rate=1e-3,
                             held_out_subjects=16, trials=100, n_ways=(4, 9, 16, 25, 36, 40)),
    full=SiameseSettings(image_scale=1, train_pairs=8_000, epochs=10, batch_size=64, learning_rate=1e-3,
                         held_out_subjects=16, trials=1_000, n_ways=(4, 9, 16, 25, 36, 40)),
)
