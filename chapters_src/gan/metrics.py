"""Measured sample quality: a digit classifier (the *judge*) trained once on real digits, and what it measures.

- :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to two sets of judge features
  (FID-style, Heusel et al. 2017, with our small judge instead of Inception: numbers are comparable only within this
  companion). Baselines: real vs. real (two disjoint halves: the floor) and uniform noise vs. real (the ceiling).
- :func:`label_fidelity`: CGAN, the judge's accuracy on samples generated for each label.
- :func:`code_purity`: InfoGAN, which digit each categorical code produces and how purely.
- :func:`orientation_degrees` / :func:`rotation_by_code`: the slant of a digit from its second image moments,
  to see whether the continuous code rotates digits (the source reports about ±20° for c = ∓3).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from . import data as gan_data

FEATURE_LAYER = "features"


# --------------------------------------------------------------------------------------------- the judge
def build_judge(feature_size: int = 64):
    """A small CNN on ``(28, 28, 1)`` digits in [-1, 1]: conv 32 → pool → conv 64 → pool → Dense ``feature_size``
    (named ``features``, taken before its ReLU so that no dead unit makes the covariance singular: the space the
    Fréchet distance is measured in) → ReLU → Dense 10 softmax."""
    import keras

    inputs = keras.Input((28, 28, 1), name="digit")
    x = keras.layers.Conv2D(32, 3, activation="relu", name="conv_1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool_1")(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(name="pool_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    features = keras.layers.Dense(feature_size, name=FEATURE_LAYER)(x)
    hidden = keras.layers.ReLU(name="relu_features")(features)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit_probabilities")(hidden)
    return keras.Model(inputs, outputs, name="digit_judge")


def judge_inputs(images) -> np.ndarray:
    """Any generated/real layout → ``(N, 28, 28, 1)`` float32 in [-1, 1]: ``(N, 784)`` is reshaped, 32×32 images
    lose their 2-pixel frame."""
    pictures = gan_data.as_display_images(images)
    if pictures.shape[1:] == (32, 32):
        pictures = pictures[:, 2:-2, 2:-2]
    if pictures.shape[1:] != (28, 28):
        raise ValueError(f"images must be 28×28 (or 32×32 padded) digits; got {pictures.shape[1:]}")
    return np.clip(pictures, -1.0, 1.0)[..., None].astype("float32")


@dataclasses.dataclass
class Judge:
    """The trained classifier, its feature extractor and its accuracy on held-out real digits."""

    model: object
    feature_model: object
    test_accuracy: float

    def features(self, images, batch_size: int = 256) -> np.ndarray:
        """``(N, feature_size)`` features of the judge's hidden layer."""
        return np.asarray(self.feature_model.predict(judge_inputs(images), batch_size=batch_size, verbose=0))

    def predict(self, images, batch_size: int = 256) -> np.ndarray:
        """Predicted digits ``(N,)``."""
        probabilities = self.model.predict(judge_inputs(images), batch_size=batch_size, verbose=0)
        return np.argmax(probabilities, axis=1)


def train_judge(digits: gan_data.GanDigits, run_dir, epochs: int = 3, test_fraction: float = 0.2, seed: int = 0,
                verbose=0) -> Judge:
    """Train :func:`build_judge` on ``digits`` (a random ``1 - test_fraction`` of them) with
    :func:`chapters_src.training.fit`, or load it when ``run_dir`` holds it already.

    The four GAN notebooks share one judge folder and may run at the same time (``make test`` runs notebooks in
    parallel), so the folder is written once and atomically: a notebook that finds no finished judge trains one
    in a private folder next to it and renames that folder to ``run_dir``; if another notebook got there first
    the rename fails and the other's judge is loaded instead. Every notebook therefore measures with the same
    judge, and no notebook reads a half-written one. A ``run_dir`` that holds an unfinished or different run
    (another ``epochs``) is left alone: the judge is then trained in the private folder and used from there."""
    import keras

    from chapters_src import training

    if not 0.05 <= test_fraction <= 0.5:
        raise ValueError(f"test_fraction must be in [0.05, 0.5]; got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(digits.images))
    test_count = int(round(len(order) * test_fraction))
    test, train = order[:test_count], order[test_count:]
    x, y = judge_inputs(digits.images), digits.labels

    def fit_in(folder):
        keras.utils.set_random_seed(seed)
        model = build_judge()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        training.fit(model, x[train], y[train], validation_data=(x[test], y[test]), epochs=epochs, batch_size=64,
                     run_dir=folder, verbose=verbose)
        return model

    final = Path(run_dir)
    if _finished_judge(final, epochs) is None:
        private = final.parent / f".{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        model = fit_in(private)
        try:
            os.rename(private, final)                       # atomic: the whole finished folder appears at once
        except OSError:
            if _finished_judge(final, epochs) is not None:  # another notebook published its judge first
                shutil.rmtree(private, ignore_errors=True)
                model = fit_in(final)                       # load that one: every notebook measures alike
            else:
                print(f"{final} holds an unfinished or different run; using the judge trained in {private}")
    else:
        model = fit_in(final)                               # a finished run: loaded, not trained
    accuracy = float(np.mean(np.argmax(model.predict(x[test], verbose=0), axis=1) == y[test]))
    return Judge(model, keras.Model(model.input, model.get_layer(FEATURE_LAYER).output), accuracy)


def _finished_judge(folder: Path, epochs: int):
    """The state of a judge run in ``folder`` trained for exactly ``epochs`` epochs, else None."""
    from chapters_src import training

    state = training.read_state(folder)
    return state if state is not None and state.get("epochs_completed") == epochs else None


# --------------------------------------------------------------------------------------------- Fréchet distance
def frechet_distance_gaussians(mean_a, covariance_a, mean_b, covariance_b) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}) (the imaginary round-off of ``sqrtm`` is dropped)."""
    from scipy import linalg

    mean_a, mean_b = np.atleast_1d(mean_a).astype("float64"), np.atleast_1d(mean_b).astype("float64")
    covariance_a, covariance_b = np.atleast_2d(covariance_a), np.atleast_2d(covariance_b)
    if mean_a.shape != mean_b.shape or covariance_a.shape != covariance_b.shape or \
            covariance_a.shape != (len(mean_a), len(mean_a)):
        raise ValueError("means must be (d,) and covariances (d, d) with the same d")
    root = linalg.sqrtm(covariance_a @ covariance_b)
    if not np.all(np.isfinite(root)):  # singular product: regularise slightly, as the FID reference code does
        offset = np.eye(len(mean_a)) * 1e-6
        root = linalg.sqrtm((covariance_a + offset) @ (covariance_b + offset))
    value = np.sum((mean_a - mean_b) ** 2) + np.trace(covariance_a + covariance_b - 2.0 * np.real(root))
    return float(max(value, 0.0))


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N_a, d)`` and ``(N_b, d)`` (N ≥ 2)."""
    a, b = np.asarray(features_a, dtype="float64"), np.asarray(features_b, dtype="float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"features must be two (N, d) arrays with the same d and N >= 2; got {a.shape}, {b.shape}")
    return frechet_distance_gaussians(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def noise_images(count: int, seed: int = 0, size: int = 28) -> np.ndarray:
    """Uniform noise in [-1, 1], ``(count, size, size)``: the baseline a generator must beat."""
    return np.random.default_rng(seed).uniform(-1, 1, size=(count, size, size)).astype("float32")


@dataclasses.dataclass
class QualityReference:
    """Judge features of real digits and the two baselines, computed once per notebook."""

    judge: Judge
    real_features: np.ndarray
    real_vs_real: float
    noise_vs_real: float

    def distance_to_real(self, images) -> float:
        """Fréchet distance between ``images`` and the reference real digits, in judge features."""
        return frechet_distance(self.judge.features(images), self.real_features)


def quality_reference(judge: Judge, real_images, seed: int = 0) -> QualityReference:
    """Split ``real_images`` into two random halves: the first is the reference, the distance between the halves
    is the real-vs-real floor; noise of the same count gives the ceiling."""
    order = np.random.default_rng(seed).permutation(len(real_images))
    half = len(order) // 2
    reference = judge.features(np.asarray(real_images)[order[:half]])
    other = judge.features(np.asarray(real_images)[order[half:2 * half]])
    noise = judge.features(noise_images(half, seed))
    return QualityReference(judge, reference, frechet_distance(other, reference), frechet_distance(noise, reference))


# --------------------------------------------------------------------------------------------- CGAN, InfoGAN
def label_fidelity(predicted_digits, intended_labels, classes: int = 10) -> np.ndarray:
    """Per label, the fraction of samples generated for it that the judge reads as that digit ``(classes,)``
    (NaN for a label with no sample)."""
    predicted, intended = np.asarray(predicted_digits), np.asarray(intended_labels)
    if predicted.shape != intended.shape or predicted.ndim != 1:
        raise ValueError("predicted_digits and intended_labels must be 1-D arrays of the same length")
    return np.array([np.mean(predicted[intended == label] == label) if np.any(intended == label) else np.nan
                     for label in range(classes)])


def code_purity(predicted_digits, codes, classes: int = 10):
    """For each categorical code: the digit the judge reads most often and the fraction of samples that are it.

    Returns ``(digit_per_code (classes,), purity_per_code (classes,))``; a perfect disentangling has purity 1
    everywhere and a permutation of 0–9 as digits (the source: 3, 0, 2, 6, 4, 7, 5, 8, 9, 1).
    """
    predicted, codes = np.asarray(predicted_digits), np.asarray(codes)
    if predicted.shape != codes.shape or predicted.ndim != 1:
        raise ValueError("predicted_digits and codes must be 1-D arrays of the same length")
    digits, purities = np.zeros(classes, dtype=int), np.full(classes, np.nan)
    for code in range(classes):
        seen = predicted[codes == code]
        if len(seen):
            counts = np.bincount(seen, minlength=10)
            digits[code], purities[code] = int(np.argmax(counts)), counts.max() / len(seen)
    return digits, purities


def orientation_degrees(images) -> np.ndarray:
    """The slant of each digit from vertical, in degrees (positive: the top leans right, i.e. clockwise), from
    the second central moments of its ink (pixel values mapped from [-1, 1] to ink 0..1)."""
    pictures = gan_data.as_display_images(images)
    ink = np.clip((pictures + 1.0) / 2.0, 0.0, 1.0)
    height, width = ink.shape[1:]
    rows, cols = np.mgrid[0:height, 0:width].astype("float64")
    mass = ink.sum(axis=(1, 2)) + 1e-9
    row_mean = (ink * rows).sum(axis=(1, 2)) / mass
    col_mean = (ink * cols).sum(axis=(1, 2)) / mass
    dy = rows[None] - row_mean[:, None, None]
    dx = cols[None] - col_mean[:, None, None]
    mu_xx = (ink * dx * dx).sum(axis=(1, 2)) / mass
    mu_yy = (ink * dy * dy).sum(axis=(1, 2)) / mass
    mu_xy = (ink * dx * dy).sum(axis=(1, 2)) / mass
    # principal axis angle from the x axis (rows grow downwards, so flip dy), then measured from vertical
    axis_angle = 0.5 * np.degrees(np.arctan2(-2.0 * mu_xy, mu_xx - mu_yy))
    return 90.0 - np.mod(axis_angle, 180.0)


def rotation_by_code(orientations, continuous_values) -> float:
    """Slope of orientation (degrees) against the continuous code: degrees of clockwise rotation per unit of c
    (least squares). Multiply by 6 for the change from c = −3 to c = 3."""
    x, y = np.asarray(continuous_values, dtype="float64"), np.asarray(orientations, dtype="float64")
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2 or np.ptp(x) == 0:
        raise ValueError("orientations and continuous_values must be 1-D, equally long, with distinct values")
    return float(np.polyfit(x, y, 1)[0])
