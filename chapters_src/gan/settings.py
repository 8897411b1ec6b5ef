"""Hyperparameters of the four GAN notebooks, one ``ProfileSet`` per model.

``full`` is the source chapter: all 70,000 MNIST images, batch 128, the source's widths, epochs (vanilla 100,
DCGAN 50, CGAN 100, InfoGAN 50), initialiser (``RandomNormal(0, 0.02)``), learning rates (2e-4) and one
discriminator then two generator updates per batch. ``standard`` is what a laptop CPU trains in a few minutes per
model while the digits become recognisable: at most 2,000 images (the offline set has 1,797), batch 32 (four times
the updates per epoch), half the dense models' hidden units (``width_divisor=2``: 128/256/512) and a quarter of the
convolutional models' filters (``base_filters=16``: D 16/32/64, G 64/32/16). Measured changes that make
``standard`` learn in its few thousand steps (the notebooks explain each):

- vanilla GAN and CGAN: Keras' default Glorot-uniform kernels instead of ``RandomNormal(0, 0.02)``, which in
  these four-layer perceptrons without batch norm shrinks the signal a few hundred-fold (the discriminator's first
  logits have a standard deviation of about 0.002, its loss stays at log 4 for thousands of steps); and one
  generator update per discriminator update at twice the rate (4e-4): about the same generator progress per step
  for two thirds of the work; 60 epochs;
- InfoGAN: the generator's learning rate 1e-3 (Chen et al.'s value; the source mentions it as an option).

``smoke`` runs in seconds for CI, with ``standard``'s recipe. Every profile measures the Fréchet distance after
every epoch (``quality_every=1``; about 0.2–0.4 s per measurement of 600 samples on 2 CPU cores).

:data:`PADDING` sizes notebook 18's experiment on the source's mid-grey padding (the DCGAN trained twice, once on
digits padded with -1 and once with 0): a few epochs of the ``standard`` DCGAN on fewer images, so that the two
runs together cost well under a minute on 2 CPU cores.
"""
from __future__ import annotations

from dataclasses import dataclass

from chapters_src.profiles import ProfileSet


@dataclass(frozen=True)
class GanSettings:
    """One GAN notebook's settings.

    epochs, batch_size: the training loop; max_images: digits used (None: all; train + test as in the source);
    base_filters: width of the convolutional models (64 = the source); width_divisor: divides the dense
    models' hidden units (1 = the source's 256/512/1024); judge_epochs: epochs of the digit
    classifier used as a judge; quality_samples: generated samples per Fréchet-distance measurement;
    quality_every: measure every that many epochs (and always after the last); compiled: ``tf.function`` steps
    (False: eager, cheaper for a handful of steps); frames: frames of each precomputed explorer player;
    generator_learning_rate: the generator's Adam rate (the discriminator's is always 2e-4; the source suggests
    0.001 for the generator as an option); generator_updates: generator steps per discriminator step (the
    source: 2).
    """

    epochs: int
    batch_size: int
    max_images: int | None
    base_filters: int
    width_divisor: int
    judge_epochs: int
    quality_samples: int
    quality_every: int
    compiled: bool
    frames: int
    generator_learning_rate: float = 2e-4
    generator_updates: int = 2
    discriminator_learning_rate: float = 2e-4
    dense_initializer: str | None = None


@dataclass(frozen=True)
class PaddingSettings:
    """Notebook 18's padding experiment (:func:`chapters_src.gan.experiments.compare_padding`): each of the two
    DCGAN runs trains ``epochs`` epochs of ``batch_size`` on ``max_images`` digits (None: all) with
    ``base_filters``; ``samples`` generated digits measure each run (frame mean and Fréchet distance)."""

    epochs: int
    max_images: int | None
    batch_size: int
    base_filters: int
    samples: int
    compiled: bool = True


DENSE_RECIPE = dict(dense_initializer="glorot_uniform", generator_updates=1, generator_learning_rate=4e-4)
"""vanilla GAN and CGAN in ``smoke`` and ``standard`` (see the module's docstring)."""


def _smoke(**changes):
    values = dict(epochs=2, batch_size=64, max_images=384, base_filters=8, width_divisor=2, judge_epochs=2, quality_samples=200,
                  quality_every=1, compiled=True, frames=5)
    values.update(changes)
    return GanSettings(**values)


def _standard(**changes):
    values = dict(epochs=40, batch_size=32, max_images=2_000, base_filters=16, width_divisor=2, judge_epochs=4,
                  quality_samples=600, quality_every=1, compiled=True, frames=9)
    values.update(changes)
    return GanSettings(**values)


def _full(epochs):
    return GanSettings(epochs=epochs, batch_size=128, max_images=None, base_filters=64, width_divisor=1, judge_epochs=5,
                       quality_samples=2_000, quality_every=1, compiled=True, frames=11)


VANILLA = ProfileSet(smoke=_smoke(**DENSE_RECIPE), standard=_standard(epochs=60, **DENSE_RECIPE), full=_full(100))
DCGAN = ProfileSet(smoke=_smoke(), standard=_standard(epochs=10), full=_full(50))
CGAN = ProfileSet(smoke=_smoke(**DENSE_RECIPE), standard=_standard(epochs=60, **DENSE_RECIPE), full=_full(100))
INFOGAN = ProfileSet(smoke=_smoke(generator_learning_rate=1e-3),
                     standard=_standard(epochs=10, generator_learning_rate=1e-3), full=_full(50))
BY_KIND = {"vanilla": VANILLA, "dcgan": DCGAN, "cgan": CGAN, "infogan": INFOGAN}
PADDING = ProfileSet(smoke=PaddingSettings(epochs=2, max_images=128, batch_size=64, base_filters=8, samples=100,
                                           compiled=False),
                     standard=PaddingSettings(epochs=4, max_images=1_000, batch_size=32, base_filters=16, samples=600),
                     full=PaddingSettings(epochs=5, max_images=None, batch_size=128, base_filters=64, samples=2_000))
