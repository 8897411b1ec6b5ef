"""The shared GAN training core: losses, one training step for all four models, the loop with checkpoint/resume.

The source (ch. 7, E7.1) builds a TF1 graph with two ``AdamOptimizer(2e-4, beta1=0.5).minimize(var_list=...)`` ops
and, for every batch, runs the discriminator's once and the generator's twice. Here the same step is written with
``tf.GradientTape`` (TensorFlow is the backend; the losses and models use ``keras.ops`` only)::

    trainer = GanTrainer(build_gan("vanilla"))
    losses = trainer.train_step(real_images, condition, noise)      # D once, then G twice

Losses (on logits): D = BCE(D(x), 1) + BCE(D(G(z)), 0); G = BCE(D(G(z)), 1), the *non-saturating* loss
(−log D(G(z)) instead of log(1 − D(G(z))), whose gradient vanishes when D wins early). InfoGAN adds
λ_cont·L_cont + λ_cat·L_cat to both, and its discriminator reads real and fake images as one batch
(``Gan.joint_batch``: with the source's separate batches its dense batch norm hides real from fake).

:func:`train_gan` runs epochs over shuffled batches (the partial last batch included, with as many fakes as reals),
renders a fixed noise grid after each epoch, logs the losses of every step and commits a checkpoint per epoch to
``run_dir`` following :mod:`chapters_src.training`'s rules: ``checkpoint-epoch-NNNN.npz`` (both networks' weights,
both optimizers' states and the sample grids) is written to a temporary file and moved into place, then
``state.json`` naming it is written the same way (the commit point); files no state names are deleted on resume.
Re-running the cell continues after the last committed epoch, or loads the finished run without training.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from chapters_src import training as core_training

from . import data as gan_data
from . import models

STATE_FILENAME = "state.json"
CHECKPOINT_PREFIX = "checkpoint-epoch-"
STATE_FORMAT = "gan-1"
LEARNING_RATE, BETA_1, EPSILON = 2e-4, 0.5, 1e-8
LAMBDA_CONTINUOUS, LAMBDA_CATEGORY = 0.1, 1.0
GRID_CONTINUOUS_VALUES = (-3.0, -1.0, 1.0, 3.0)


# --------------------------------------------------------------------------------------------- the models
@dataclasses.dataclass
class Gan:
    """A generator, a discriminator and what ``kind`` of GAN they form (which inputs each takes).

    ``book_continuous_loss=True`` (InfoGAN only) uses the source's ``sum(Q_cont²)`` instead of the corrected
    ``mean((Q_cont − c_cont)²)``.

    ``joint_batch=True`` (the default for InfoGAN, see :func:`build_gan`): the discriminator reads the real and
    the fake images of a step as ONE batch, in its own update and in the generator's. The source calls it on the
    real batch and on the fake batch separately; the InfoGAN discriminator has batch norm after a dense layer
    (Dense 1024 → BN), which then rescales every one of the 1,024 features to mean 0 and variance 1 *within* an
    all-real and within an all-fake batch: whatever tells real from fake on average is normalised away and the
    real/fake logit cannot separate the two batches (its loss stays at log 4 ≈ 1.386, the generator gets no
    signal and draws grey texture). The convolutional batch norms of the DCGAN trunk average over positions as
    well and keep where the ink is, which is why the DCGAN learns with separate batches.
    """

    kind: str
    generator: object
    discriminator: object
    noise_size: int = models.NOISE_SIZE
    classes: int = models.CLASSES
    continuous_codes: int = models.CONTINUOUS_CODES
    book_continuous_loss: bool = False
    joint_batch: bool = False

    @property
    def conditional(self) -> bool:
        """True when the generator takes a second input (CGAN labels, InfoGAN codes)."""
        return self.kind in ("cgan", "infogan")

    @property
    def convolutional(self) -> bool:
        return self.kind in ("dcgan", "infogan")


def build_gan(kind: str, base_filters: int = 64, width_divisor: int = 1, book_continuous_loss: bool = False,
              dense_initializer=None, joint_batch: bool | None = None) -> Gan:
    """A fresh :class:`Gan` of ``kind`` (``vanilla``, ``dcgan``, ``cgan``, ``infogan``) from :mod:`.models`
    (``base_filters``, ``width_divisor``, ``dense_initializer``: see :func:`models.build_pair`; the defaults are the
    source's networks). ``joint_batch`` (default: True for InfoGAN only) feeds real and fake images to the
    discriminator as one batch; ``joint_batch=False`` gives the InfoGAN the source's separate batches, with which
    its discriminator cannot tell real from fake (see :class:`Gan`)."""
    generator, discriminator = models.build_pair(kind, base_filters=base_filters, width_divisor=width_divisor,
                                                 dense_initializer=dense_initializer)
    if book_continuous_loss and kind != "infogan":
        raise ValueError("book_continuous_loss applies to kind='infogan' only")
    joint_batch = kind == "infogan" if joint_batch is None else bool(joint_batch)
    return Gan(kind, generator, discriminator, book_continuous_loss=book_continuous_loss, joint_batch=joint_batch)


def prepare_images(gan_or_kind, images, padding_value: float = gan_data.BACKGROUND) -> np.ndarray:
    """``(N, 28, 28)`` digits in [-1, 1] → what the discriminator reads: ``(N, 784)`` for the dense models,
    ``(N, 32, 32, 1)`` padded with ``padding_value`` for the convolutional ones."""
    kind = getattr(gan_or_kind, "kind", gan_or_kind)
    if kind not in models.KINDS:
        raise ValueError(f"kind must be one of {models.KINDS}; got {kind!r}")
    if kind in ("dcgan", "infogan"):
        return gan_data.pad_to_32(images, value=padding_value)
    return gan_data.flatten(images)


# --------------------------------------------------------------------------------------------- losses
def _mean_bce(target_value: float, logits):
    import keras

    return keras.ops.mean(keras.ops.binary_crossentropy(keras.ops.full_like(logits, target_value), logits,
                                                        from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """BCE(real, 1) + BCE(fake, 0), each averaged over its batch (``sigmoid_cross_entropy_with_logits``)."""
    return _mean_bce(1.0, real_logits) + _mean_bce(0.0, fake_logits)


def generator_loss(fake_logits):
    """The non-saturating generator loss BCE(D(G(z)), 1) = mean(−log σ(logit))."""
    return _mean_bce(1.0, fake_logits)


def continuous_info_loss(predicted, code, book: bool = False):
    """Corrected: ``mean((Q_cont − c_cont)²)`` (Gaussian log-likelihood with fixed σ, up to constants).
    ``book=True``: the source's ``sum(Q_cont²)``, which ignores the sampled code and grows with the batch."""
    import keras

    if book:
        return keras.ops.sum(keras.ops.square(predicted))
    return keras.ops.mean(keras.ops.square(predicted - code))


def category_info_loss(category_logits, one_hot_category):
    """Softmax cross-entropy between the category head and the sampled one-hot category, batch mean."""
    import keras

    return keras.ops.mean(keras.ops.categorical_crossentropy(one_hot_category, category_logits, from_logits=True))


def info_loss(continuous_prediction, category_logits, codes, *, continuous_codes: int = models.CONTINUOUS_CODES,
              book: bool = False, lambda_continuous: float = LAMBDA_CONTINUOUS,
              lambda_category: float = LAMBDA_CATEGORY):
    """λ_cont·L_cont + λ_cat·L_cat for codes ``(batch, 1 + 10)`` laid out [continuous, one-hot category]
    (the source's ``d_info_loss``, with its undefined ``cat_loss`` read as ``d_cat_loss``)."""
    continuous = continuous_info_loss(continuous_prediction, codes[:, :continuous_codes], book=book)
    category = category_info_loss(category_logits, codes[:, continuous_codes:])
    return lambda_continuous * continuous + lambda_category * category


# --------------------------------------------------------------------------------------------- sampling
def sample_noise(rng: np.random.Generator, count: int, noise_size: int = models.NOISE_SIZE) -> np.ndarray:
    """z ~ U(−1, 1), float32 ``(count, noise_size)`` (the source's code; its text says Gaussian)."""
    return rng.uniform(-1.0, 1.0, size=(count, noise_size)).astype("float32")


def sample_codes(rng: np.random.Generator, count: int, classes: int = models.CLASSES,
                 continuous_codes: int = models.CONTINUOUS_CODES) -> np.ndarray:
    """InfoGAN codes (the source's ``gen_condition_variable``): float32 ``(count, continuous + classes)``;
    continuous ~ N(0, 1) first, then a one-hot category drawn uniformly."""
    continuous = rng.normal(size=(count, continuous_codes))
    category = gan_data.one_hot(rng.integers(0, classes, size=count), classes)
    return np.concatenate([continuous, category], axis=1).astype("float32")


def grid_codes(continuous_values=GRID_CONTINUOUS_VALUES, classes: int = models.CLASSES) -> np.ndarray:
    """The source's ``sample_c``: one row per continuous value (−3, −1, 1, 3), one column per category 0–9."""
    rows = []
    for value in continuous_values:
        for category in range(classes):
            code = np.zeros(1 + classes, dtype="float32")
            code[0], code[1 + category] = value, 1.0
            rows.append(code)
    return np.stack(rows)


def grid_condition(gan: Gan) -> np.ndarray | None:
    """The fixed condition of the 4×10 grid: CGAN labels 0–9 per row, InfoGAN :func:`grid_codes`, else None."""
    if gan.kind == "cgan":
        return gan_data.one_hot(gan_data.grid_labels(), gan.classes)
    if gan.kind == "infogan":
        return grid_codes(classes=gan.classes)
    return None


def training_condition(gan: Gan, rng: np.random.Generator, labels_batch) -> np.ndarray | None:
    """The condition fed with one batch: CGAN the batch's one-hot labels, InfoGAN freshly sampled codes."""
    if gan.kind == "cgan":
        return np.asarray(labels_batch, dtype="float32")
    if gan.kind == "infogan":
        return sample_codes(rng, len(labels_batch), gan.classes, gan.continuous_codes)
    return None


def _generator_inputs(gan: Gan, noise, condition):
    return [noise, condition] if gan.conditional else noise


def _discriminate(gan: Gan, images, condition, training: bool):
    """``(logits, continuous, category_logits)``; the last two are None except for InfoGAN."""
    if gan.kind == "cgan":
        return gan.discriminator([images, condition], training=training), None, None
    if gan.kind == "infogan":
        logits, continuous, category = gan.discriminator(images, training=training)
        return logits, continuous, category
    return gan.discriminator(images, training=training), None, None


def _discriminate_joint(gan: Gan, real_images, fake_images, condition):
    """D on real and fake images as ONE batch (training mode): ``(real_logits, fake_logits, fake_continuous,
    fake_category_logits)``. Batch normalisation then uses the statistics of the mixed batch."""
    import keras

    count = keras.ops.shape(real_images)[0]
    both = keras.ops.concatenate([real_images, fake_images], axis=0)
    conditions = keras.ops.concatenate([condition, condition], axis=0)
    logits, continuous, category = _discriminate(gan, both, conditions, training=True)
    if continuous is not None:
        continuous, category = continuous[count:], category[count:]
    return logits[:count], logits[count:], continuous, category


def generate(gan: Gan, noise, condition=None, batch_size: int = 256) -> np.ndarray:
    """Generator outputs (inference mode: batch norm uses its moving statistics) as a NumPy array."""
    import keras

    noise = np.asarray(noise, dtype="float32")
    if gan.conditional and condition is None:
        raise ValueError(f"a {gan.kind} generator needs condition (labels or codes) with the noise")
    parts = []
    for start in range(0, len(noise), batch_size):
        inputs = _generator_inputs(gan, noise[start:start + batch_size],
                                   None if condition is None else np.asarray(condition[start:start + batch_size],
                                                                             dtype="float32"))
        parts.append(keras.ops.convert_to_numpy(gan.generator(inputs, training=False)))
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------------- the step
class GanTrainer:
    """Two Adam optimisers (one per network) and the training step shared by the four GANs.

    ``generator_updates``: generator steps per discriminator step (the source: 2). Each optimiser is built on its
    own network's trainable variables only, so the discriminator step cannot move the generator and vice versa.
    ``compiled=False`` runs the steps eagerly: slower per step, but no tracing (seconds) before the first one,
    which is the better deal for a handful of steps (the smoke profile). ``generator_learning_rate`` (default:
    ``learning_rate``) gives the generator its own rate; the source suggests 0.001 for G with 0.0002 for D.
    """

    def __init__(self, gan: Gan, learning_rate: float = LEARNING_RATE, beta_1: float = BETA_1,
                 epsilon: float = EPSILON, generator_updates: int = 2, compiled: bool = True,
                 generator_learning_rate: float | None = None):
        import keras

        generator_learning_rate = learning_rate if generator_learning_rate is None else generator_learning_rate
        for name, value in (("learning_rate", learning_rate), ("generator_learning_rate", generator_learning_rate)):
            if not 0 < value < 1:
                raise ValueError(f"{name} must be in (0, 1); got {value!r}")
        if isinstance(generator_updates, bool) or not isinstance(generator_updates, int) or generator_updates < 1:
            raise ValueError(f"generator_updates must be an integer >= 1; got {generator_updates!r}")
        if keras.backend.backend() != "tensorflow":
            raise ValueError("the GAN training step uses tf.GradientTape: run Keras with KERAS_BACKEND=tensorflow")
        self.gan, self.generator_updates = gan, generator_updates
        self.generator_optimizer = keras.optimizers.Adam(generator_learning_rate, beta_1=beta_1, epsilon=epsilon)
        self.discriminator_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1, epsilon=epsilon)
        self.generator_optimizer.build(gan.generator.trainable_variables)
        self.discriminator_optimizer.build(gan.discriminator.trainable_variables)
        self.compiled = bool(compiled)
        self._discriminator_step = (self._compile(self._discriminator_step_eager, with_images=True) if compiled
                                    else self._discriminator_step_eager)
        self._generator_step = (self._compile(self._generator_step_eager, with_images=True) if compiled
                                else self._generator_step_eager)

    def _compile(self, function, with_images: bool):
        """``tf.function`` with a fixed signature (any batch size), so the partial last batch does not retrace."""
        import tensorflow as tf

        gan = self.gan
        image_shape = _image_shape(gan)
        signature = [tf.TensorSpec((None, _condition_width(gan)), tf.float32),
                     tf.TensorSpec((None, gan.noise_size), tf.float32)]
        if with_images:
            signature.insert(0, tf.TensorSpec((None, *image_shape), tf.float32))
        return tf.function(function, input_signature=signature)

    def _info(self, continuous, category, condition):
        gan = self.gan
        return info_loss(continuous, category, condition, continuous_codes=gan.continuous_codes,
                         book=gan.book_continuous_loss)

    def _discriminator_step_eager(self, real_images, condition, noise):
        import tensorflow as tf

        gan = self.gan
        real_images, condition, noise = (tf.convert_to_tensor(value) for value in (real_images, condition, noise))
        with tf.GradientTape() as tape:
            fake_images = gan.generator(_generator_inputs(gan, noise, condition), training=True)
            if gan.joint_batch:
                real_logits, fake_logits, continuous, category = _discriminate_joint(gan, real_images, fake_images,
                                                                                     condition)
            else:
                real_logits, _, _ = _discriminate(gan, real_images, condition, training=True)
                fake_logits, continuous, category = _discriminate(gan, fake_images, condition, training=True)
            loss = discriminator_loss(real_logits, fake_logits)
            info = self._info(continuous, category, condition) if gan.kind == "infogan" else tf.constant(0.0)
            total = loss + info
        variables = gan.discriminator.trainable_variables
        self.discriminator_optimizer.apply(tape.gradient(total, variables), variables)
        return {"d_loss": total, "info_loss": info}

    def _generator_step_eager(self, real_images, condition, noise):
        import tensorflow as tf

        gan = self.gan
        real_images, condition, noise = (tf.convert_to_tensor(value) for value in (real_images, condition, noise))
        with tf.GradientTape() as tape:
            fake_images = gan.generator(_generator_inputs(gan, noise, condition), training=True)
            if gan.joint_batch:
                fake_logits, continuous, category = _discriminate_joint(gan, real_images, fake_images, condition)[1:]
            else:
                fake_logits, continuous, category = _discriminate(gan, fake_images, condition, training=True)
            total = generator_loss(fake_logits)
            if gan.kind == "infogan":
                total = total + self._info(continuous, category, condition)
        variables = gan.generator.trainable_variables
        self.generator_optimizer.apply(tape.gradient(total, variables), variables)
        return {"g_loss": total}

    def discriminator_step(self, real_images, condition, noise) -> dict[str, float]:
        """One discriminator (and, for InfoGAN, Q-head) update; returns ``{"d_loss", "info_loss"}``."""
        noise = np.asarray(noise, "float32")
        return {name: float(value) for name, value in self._discriminator_step(
            np.asarray(real_images, "float32"), self._condition(condition, len(noise)), noise).items()}

    def generator_step(self, condition, noise, real_images=None) -> dict[str, float]:
        """One generator update with the same noise (and condition); returns ``{"g_loss"}``. ``real_images`` (the
        step's real batch) is needed when the discriminator sees real and fake as one batch (``gan.joint_batch``)."""
        noise = np.asarray(noise, "float32")
        if real_images is None:
            if self.gan.joint_batch:
                raise ValueError(f"this {self.gan.kind} GAN's discriminator reads real and fake images as one batch: "
                                 "pass real_images")
            real_images = np.zeros((0, *_image_shape(self.gan)), "float32")
        return {name: float(value) for name, value in self._generator_step(
            np.asarray(real_images, "float32"), self._condition(condition, len(noise)), noise).items()}

    def train_step(self, real_images, condition, noise) -> dict[str, float]:
        """The source's step: one discriminator update, then ``generator_updates`` generator updates (same z).
        Returns ``{"d_loss", "g_loss", "info_loss"}`` (``g_loss`` of the last generator update)."""
        losses = self.discriminator_step(real_images, condition, noise)
        for _ in range(self.generator_updates):
            losses.update(self.generator_step(condition, noise, real_images))
        return losses

    def _condition(self, condition, count: int) -> np.ndarray:
        """The condition as float32; an empty ``(count, 0)`` array for the unconditional GANs."""
        width = _condition_width(self.gan)
        array = np.zeros((count, 0), "float32") if condition is None else np.asarray(condition, dtype="float32")
        if array.shape != (count, width):
            raise ValueError(f"condition for a {self.gan.kind} GAN must have shape ({count}, {width}); got "
                             f"{array.shape}")
        return array


def _image_shape(gan: Gan) -> tuple:
    return (32, 32, 1) if gan.convolutional else (models.IMAGE_PIXELS,)


def _condition_width(gan: Gan) -> int:
    """Columns of the generator's second input: 10 labels (CGAN), 1 + 10 codes (InfoGAN), 0 otherwise."""
    return {"cgan": gan.classes, "infogan": gan.continuous_codes + gan.classes}.get(gan.kind, 0)


# --------------------------------------------------------------------------------------------- the loop
@dataclasses.dataclass
class GanResult:
    """What :func:`train_gan` returns.

    ``history``: one value per epoch for ``d_loss``, ``g_loss`` (means over the epoch's steps), ``info_loss`` and
    whatever ``epoch_end`` returned (e.g. ``frechet_distance``). ``step_losses``: ``d_loss``/``g_loss`` of every
    step. ``grids``: float32 ``(epochs, 40, H, W)`` samples of the fixed grid after each epoch (stored as uint8).
    """

    history: dict[str, list[float]]
    step_losses: dict[str, list[float]]
    grids: np.ndarray
    seconds_per_epoch: list[float]
    epochs_run: int
    resumed_from: int
    run_dir: Path

    @property
    def epochs_completed(self) -> int:
        return len(self.seconds_per_epoch)


def train_gan(trainer: GanTrainer, images, labels=None, *, epochs: int, batch_size: int, run_dir,
              resume: bool = True, seed: int = 0, grid_noise=None, epoch_end: Callable | None = None,
              drop_remainder: bool = False, verbose: int = 1) -> GanResult:
    """Train ``trainer.gan`` for ``epochs`` epochs on ``images`` (already in the discriminator's layout, see
    :func:`prepare_images`); ``labels`` one-hot ``(N, 10)`` for CGAN. Resumes from ``run_dir`` when it holds a
    committed epoch of the same kind (``resume=False``: start again).

    Every epoch shuffles with ``np.random.default_rng([seed, epoch])`` and draws z from the same generator, so an
    interrupted and resumed run sees the same batches as an uninterrupted one. ``grid_noise``: the fixed
    ``(40, 100)`` noise of the sample grid (default: U(−1, 1) seeded by ``seed``). ``epoch_end(epoch, gan)`` may
    return a dict of numbers recorded in the history (epoch counts from 1). ``verbose``: 0 silent, 1 one line
    per epoch.
    """
    gan = trainer.gan
    images = np.asarray(images, dtype="float32")
    _check_training_arguments(gan, images, labels, epochs, batch_size)
    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    grid_noise = (sample_noise(np.random.default_rng(seed), gan_data.GRID_ROWS * gan_data.GRID_COLUMNS,
                               gan.noise_size) if grid_noise is None else np.asarray(grid_noise, "float32"))
    condition_for_grid = grid_condition(gan)
    config = {"kind": gan.kind, "images": int(len(images)), "image_shape": list(images.shape[1:]),
              "batch_size": batch_size, "seed": seed, "drop_remainder": bool(drop_remainder),
              "generator_parameters": int(gan.generator.count_params()),
              "discriminator_parameters": int(gan.discriminator.count_params())}
    state, grids = _resume_state(trainer, run_path, resume, config)
    completed = state["epochs_completed"]
    if completed >= epochs:
        print(f"run {run_path} already finished ({completed} epochs); not training again (resume=False trains "
              "from scratch)")
        return _result(state, grids, run_path, epochs_run=0, resumed_from=completed)
    if completed:
        print(f"resuming from epoch {completed} of {epochs} ({run_path / state['checkpoint']})")
    labels_array = None if labels is None else np.asarray(labels, dtype="float32")
    for epoch in range(completed, epochs):
        started = time.perf_counter()
        rng = np.random.default_rng([seed, epoch])
        step_losses = {"d_loss": [], "g_loss": [], "info_loss": []}
        for batch in gan_data.batch_indices(len(images), batch_size, rng, drop_remainder=drop_remainder):
            condition = training_condition(gan, rng, labels_array[batch] if labels_array is not None else batch)
            losses = trainer.train_step(images[batch], condition, sample_noise(rng, len(batch), gan.noise_size))
            for name in step_losses:
                step_losses[name].append(losses[name])
        grid = generate(gan, grid_noise, condition_for_grid)
        extra = dict(epoch_end(epoch + 1, gan) or {}) if epoch_end is not None else {}
        seconds = time.perf_counter() - started
        grids = np.concatenate([grids, _to_uint8(gan_data.as_display_images(grid))[None]]) if grids is not None \
            else _to_uint8(gan_data.as_display_images(grid))[None]
        state = _next_state(state, step_losses, extra, seconds)
        _commit(trainer, run_path, state, grids)
        if verbose:
            extras = "".join(f", {name}: {value:.4g}" for name, value in extra.items())
            print(f"Epoch {epoch + 1}/{epochs} - discriminator loss: {state['history']['d_loss'][-1]:.4f}, "
                  f"generator loss: {state['history']['g_loss'][-1]:.4f}{extras} ({seconds:.1f} s)", flush=True)
    return _result(state, grids, run_path, epochs_run=epochs - completed, resumed_from=completed)


def _check_training_arguments(gan, images, labels, epochs, batch_size) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    expected = (32, 32, 1) if gan.convolutional else (models.IMAGE_PIXELS,)
    if images.shape[1:] != tuple(expected):
        raise ValueError(f"images for a {gan.kind} GAN must have shape (N, {', '.join(map(str, expected))}); got "
                         f"{images.shape} (use prepare_images)")
    if gan.kind == "cgan" and (labels is None or np.shape(labels) != (len(images), gan.classes)):
        raise ValueError(f"a cgan needs labels, one-hot of shape ({len(images)}, {gan.classes})")


def _to_uint8(images) -> np.ndarray:
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype("uint8")


def _from_uint8(images) -> np.ndarray:
    return np.asarray(images, dtype="float32") / 127.5 - 1.0


def _fresh_state(kind: str, config: dict) -> dict:
    return {"format": STATE_FORMAT, "kind": kind, "config": config, "epochs_completed": 0, "history": {}, "step_losses": {},
            "seconds_per_epoch": [], "checkpoint": None, "checkpoint_bytes": None}


def _next_state(state: dict, step_losses: dict, extra: dict, seconds: float) -> dict:
    epoch_number = state["epochs_completed"] + 1
    history = {name: list(values) for name, values in state["history"].items()}
    row = {name: float(np.mean(values)) for name, values in step_losses.items()}
    row.update({name: float(value) for name, value in extra.items()})
    for name, value in row.items():
        history.setdefault(name, [float("nan")] * (epoch_number - 1)).append(value)
    steps = {name: list(state["step_losses"].get(name, [])) + [float(v) for v in values]
             for name, values in step_losses.items() if name != "info_loss"}
    return dict(state, epochs_completed=epoch_number, history=history, step_losses=steps,
                seconds_per_epoch=list(state["seconds_per_epoch"]) + [float(seconds)])


def _network_arrays(trainer: GanTrainer) -> dict[str, np.ndarray]:
    gan, arrays = trainer.gan, {}
    for prefix, values in (("generator", gan.generator.get_weights()),
                           ("discriminator", gan.discriminator.get_weights()),
                           ("generator_optimizer", [np.asarray(v) for v in trainer.generator_optimizer.variables]),
                           ("discriminator_optimizer",
                            [np.asarray(v) for v in trainer.discriminator_optimizer.variables])):
        for index, value in enumerate(values):
            arrays[f"{prefix}/{index:04d}"] = value
    return arrays


def _restore_arrays(trainer: GanTrainer, arrays) -> None:
    gan = trainer.gan

    def collect(prefix):
        return [arrays[name] for name in sorted(name for name in arrays.files if name.startswith(prefix + "/"))]

    gan.generator.set_weights(collect("generator"))
    gan.discriminator.set_weights(collect("discriminator"))
    for optimizer, prefix in ((trainer.generator_optimizer, "generator_optimizer"),
                              (trainer.discriminator_optimizer, "discriminator_optimizer")):
        values = collect(prefix)
        if len(values) != len(optimizer.variables):
            raise ValueError(f"the checkpoint's {prefix} state does not fit this optimizer")
        for variable, value in zip(optimizer.variables, values):
            variable.assign(value)


def _commit(trainer: GanTrainer, run_path: Path, state: dict, grids: np.ndarray) -> None:
    """Write the epoch's checkpoint (temporary file + ``os.replace``), then the state naming it (the commit),
    then delete the older checkpoints."""
    name = f"{CHECKPOINT_PREFIX}{state['epochs_completed']:04d}.npz"
    temporary = run_path / f"{core_training.TEMPORARY_PREFIX}{os.getpid()}-{name}"
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, grids=grids, **_network_arrays(trainer))
        core_training._fsync_file(temporary)  # noqa: SLF001 - the foundation's atomic-write helpers
        os.replace(temporary, run_path / name)
    finally:
        if temporary.exists():
            temporary.unlink()
    state.update(checkpoint=name, checkpoint_bytes=(run_path / name).stat().st_size)
    core_training.write_json_atomically(run_path / STATE_FILENAME, state)
    _remove_unnamed(run_path, keep=name)


def _remove_unnamed(run_path: Path, keep: str | None) -> None:
    for path in run_path.iterdir():
        ours = path.name.startswith((CHECKPOINT_PREFIX, core_training.TEMPORARY_PREFIX))
        if path.is_file() and ours and path.name != keep:
            path.unlink()


def read_state(run_dir) -> dict | None:
    """The stored state of a GAN run (``state.json``) or None."""
    try:
        with open(Path(run_dir) / STATE_FILENAME, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("format") == STATE_FORMAT else None


def _resume_state(trainer: GanTrainer, run_path: Path, resume: bool, config: dict):
    """The state to continue from (restoring weights and optimizer states) and the stored grids.

    A run of another kind raises ``ValueError``; a run with another configuration (data size, batch size,
    model sizes, seed) or whose checkpoint is missing or changed is discarded with a message."""
    state = read_state(run_path) if resume else None
    if state is not None and state["epochs_completed"] > 0:
        checkpoint = run_path / str(state["checkpoint"])
        if state["kind"] != trainer.gan.kind:
            raise ValueError(f"{run_path} holds a {state['kind']} run, not {trainer.gan.kind}; pass resume=False "
                             "or another run_dir")
        if state.get("config") != config:
            print(f"the run in {run_path} was trained with other settings ({state.get('config')}); starting fresh")
        elif checkpoint.is_file() and checkpoint.stat().st_size == state["checkpoint_bytes"]:
            _remove_unnamed(run_path, keep=checkpoint.name)
            with np.load(checkpoint) as arrays:
                _restore_arrays(trainer, arrays)
                grids = arrays["grids"]
            return state, grids
        else:
            print(f"the state in {run_path} does not match its checkpoint (missing or changed); starting fresh")
    _remove_unnamed(run_path, keep=None)
    (run_path / STATE_FILENAME).unlink(missing_ok=True)
    return _fresh_state(trainer.gan.kind, config), None


def _result(state: dict, grids, run_path: Path, *, epochs_run: int, resumed_from: int) -> GanResult:
    return GanResult(history={k: list(v) for k, v in state["history"].items()},
                     step_losses={k: list(v) for k, v in state["step_losses"].items()},
                     grids=_from_uint8(grids) if grids is not None else np.zeros((0, 40, 1, 1), "float32"),
                     seconds_per_epoch=list(state["seconds_per_epoch"]), epochs_run=epochs_run,
                     resumed_from=resumed_from, run_dir=run_path)


def plot_losses(result: GanResult, title: str | None = None):
    """Discriminator and generator loss of every step (thin) and their per-epoch means (dots), one axes."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    steps = result.step_losses
    count = len(steps.get("d_loss", []))
    if count == 0:
        raise ValueError("result holds no steps to plot")
    epochs = result.epochs_completed
    with plots.style_context():
        figure, axes = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
        for name, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
            line, = axes.plot(np.arange(1, count + 1), steps[name], linewidth=0.8, alpha=0.5)
            ends = np.linspace(count / epochs, count, epochs)
            axes.plot(ends, result.history[name], "o-", color=line.get_color(), markersize=4,
                      label=f"{label} (epoch mean)")
        axes.set_xlabel("training step")
        axes.set_ylabel("loss")
        axes.legend()
        axes.set_title(title or "GAN losses")
    return figure
