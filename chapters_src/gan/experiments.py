"""What the four GAN notebooks run: train a model with its quality tracked per epoch, measure it, compare runs,
and draw the latent-space explorer's frames.

A notebook does::

    digits = gan_data.load_digits(max_images=settings.max_images)
    judge = metrics.train_judge(digits, run_dir=...)           # once; later notebooks load it
    reference = metrics.quality_reference(judge, digits.images)
    run = experiments.run_model("vanilla", settings, digits, reference, run_dir=...)
    experiments.final_quality(run)                             # numbers of the comparison table (saved as JSON)

Notebook 18 also runs :func:`compare_padding`: the DCGAN trained on digits padded with -1 and with the source's 0.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .. import training as core_training
from . import data as gan_data
from . import metrics
from . import training as gan_training

QUALITY_FILENAME = "quality.json"
NAMES = {"vanilla": "vanilla GAN", "dcgan": "DCGAN", "cgan": "conditional GAN", "infogan": "InfoGAN"}


@dataclasses.dataclass
class ModelRun:
    """A trained GAN with its training result, settings and the quality reference it was measured against."""

    kind: str
    gan: gan_training.Gan
    trainer: gan_training.GanTrainer
    result: gan_training.GanResult
    settings: object
    reference: metrics.QualityReference
    evaluation_noise: np.ndarray


def evaluation_condition(kind: str, count: int, seed: int = 7):
    """The condition used to measure a model: CGAN labels 0–9 in turn, InfoGAN sampled codes, else None."""
    if kind == "cgan":
        return gan_data.one_hot(np.arange(count) % 10)
    if kind == "infogan":
        return gan_training.sample_codes(np.random.default_rng(seed), count)
    return None


def run_model(kind: str, settings, digits: gan_data.GanDigits, reference: metrics.QualityReference, run_dir,
              *, seed: int = 0, padding_value: float = gan_data.BACKGROUND, book_continuous_loss: bool = False,
              resume: bool = True, verbose: int = 1) -> ModelRun:
    """Build and train a ``kind`` GAN with ``settings`` on ``digits``; the Fréchet distance to real digits
    (``frechet_distance``) is measured every ``settings.quality_every`` epochs (and after the last), on
    ``settings.quality_samples`` samples from fixed noise. Resumes from / reloads ``run_dir``."""
    import keras

    keras.utils.set_random_seed(seed)
    gan = gan_training.build_gan(kind, base_filters=settings.base_filters, width_divisor=settings.width_divisor,
                                 book_continuous_loss=book_continuous_loss,
                                 dense_initializer=settings.dense_initializer if kind in ("vanilla", "cgan") else None)
    trainer = gan_training.GanTrainer(gan, compiled=settings.compiled,
                                      learning_rate=settings.discriminator_learning_rate,
                                      generator_learning_rate=settings.generator_learning_rate,
                                      generator_updates=settings.generator_updates)
    noise = gan_training.sample_noise(np.random.default_rng(seed + 1), settings.quality_samples, gan.noise_size)
    condition = evaluation_condition(kind, settings.quality_samples)

    def epoch_end(epoch, model):
        if epoch % settings.quality_every and epoch != settings.epochs:
            return {"frechet_distance": float("nan")}
        return {"frechet_distance": reference.distance_to_real(gan_training.generate(model, noise, condition))}

    labels = gan_data.one_hot(digits.labels) if kind == "cgan" else None
    result = gan_training.train_gan(trainer, gan_training.prepare_images(gan, digits.images, padding_value), labels,
                                    epochs=settings.epochs, batch_size=settings.batch_size, run_dir=run_dir,
                                    resume=resume, seed=seed, epoch_end=epoch_end, verbose=verbose)
    return ModelRun(kind, gan, trainer, result, settings, reference, noise)


def final_quality(run: ModelRun, samples_per_code: int = 50, seed: int = 11) -> dict:
    """The comparison table's row for ``run`` (also written to ``quality.json`` in its run folder): the last
    Fréchet distance, the two baselines, seconds per epoch and, for CGAN, label fidelity, for InfoGAN, the code →
    digit map, its purity and the rotation (degrees from c = −3 to c = 3)."""
    history = run.result.history["frechet_distance"]
    row = {"model": NAMES[run.kind], "kind": run.kind, "epochs": run.result.epochs_completed,
           "frechet_distance": float(history[-1]), "real_vs_real": run.reference.real_vs_real,
           "noise_vs_real": run.reference.noise_vs_real,
           "seconds_per_epoch": float(np.median(run.result.seconds_per_epoch)),
           "frechet_history": [None if np.isnan(v) else float(v) for v in history],
           "settings": _settings_dict(run.settings)}
    judge, rng = run.reference.judge, np.random.default_rng(seed)
    if run.kind == "cgan":
        labels = np.repeat(np.arange(10), samples_per_code)
        images = gan_training.generate(run.gan, gan_training.sample_noise(rng, len(labels)), gan_data.one_hot(labels))
        fidelity = metrics.label_fidelity(judge.predict(images), labels)
        row.update(label_fidelity=float(np.nanmean(fidelity)), fidelity_per_label=fidelity.tolist())
    if run.kind == "infogan":
        row.update(infogan_codes(run, samples_per_code, rng))
    core_training.write_json_atomically(Path(run.result.run_dir, QUALITY_FILENAME), row)
    return row


def _settings_dict(settings) -> dict:
    return dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else {}


def infogan_codes(run: ModelRun, samples_per_code: int, rng: np.random.Generator) -> dict:
    """Code purity (one categorical code at a time, continuous code 0) and rotation (continuous −3 … 3)."""
    categories = np.repeat(np.arange(10), samples_per_code)
    codes = np.zeros((len(categories), 11), "float32")
    codes[np.arange(len(categories)), 1 + categories] = 1.0
    noise = gan_training.sample_noise(rng, len(categories))
    digits, purity = metrics.code_purity(run.reference.judge.predict(gan_training.generate(run.gan, noise, codes)),
                                         categories)
    values = np.linspace(-3, 3, 7)
    orientations = []
    for value in values:
        codes[:, 0] = value
        orientations.append(metrics.orientation_degrees(gan_training.generate(run.gan, noise, codes)))
    orientation = np.stack(orientations)                             # (values, samples)
    slope = metrics.rotation_by_code(orientation.ravel(), np.repeat(values, orientation.shape[1]))
    return {"code_to_digit": digits.tolist(), "code_purity": float(np.nanmean(purity)),
            "purity_per_code": purity.tolist(), "distinct_digits": int(len(set(digits.tolist()))),
            "rotation_degrees": float(6 * slope)}


def load_quality_rows(root, kinds=("vanilla", "dcgan", "cgan", "infogan"),
                      expected_settings=None) -> tuple[list[dict], dict[str, str]]:
    """The ``quality.json`` rows found under ``root/<kind>`` and, for every kind without a usable row, why:
    ``{kind: reason}`` (no file yet, unreadable, or measured with other settings than ``expected_settings[kind]``
    when that mapping is given, e.g. a run of an earlier configuration). Never raises for a missing model: the
    notebooks run in any order, also in parallel."""
    rows, missing = [], {}
    for kind in kinds:
        path = Path(root, kind, QUALITY_FILENAME)
        if not path.is_file():
            missing[kind] = f"no {path} yet: run the {NAMES[kind]} notebook in this profile first"
            continue
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            missing[kind] = f"{path} could not be read ({error})"
            continue
        expected = None if expected_settings is None else expected_settings.get(kind)
        if expected is not None and row.get("settings") != _settings_dict(expected):
            missing[kind] = (f"{path} was measured with other settings than this profile's; re-run the "
                             f"{NAMES[kind]} notebook")
            continue
        rows.append(row)
    return rows, missing


def quality_table(rows, missing=None) -> str:
    """A Markdown table of the rows of :func:`final_quality` (one per model); each kind in ``missing`` (a mapping
    kind → reason, as :func:`load_quality_rows` returns) gets a row saying it was not measured."""
    lines = ["| model | epochs | Fréchet distance | real vs real | noise vs real | s / epoch | label fidelity | "
             "code purity | rotation (°) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        fidelity = f"{row['label_fidelity']:.2f}" if "label_fidelity" in row else "–"
        purity = f"{row['code_purity']:.2f}" if "code_purity" in row else "–"
        rotation = f"{row['rotation_degrees']:+.0f}" if "rotation_degrees" in row else "–"
        lines.append(f"| {row['model']} | {row['epochs']} | {row['frechet_distance']:.1f} | {row['real_vs_real']:.1f} "
                     f"| {row['noise_vs_real']:.1f} | {row['seconds_per_epoch']:.1f} | {fidelity} | {purity} | "
                     f"{rotation} |")
    for kind in (missing or {}):
        lines.append(f"| {NAMES.get(kind, kind)} | not measured | – | – | – | – | – | – | – |")
    return "\n".join(lines)


def plot_quality(rows_or_history, reference: metrics.QualityReference | None = None, title: str | None = None):
    """Fréchet distance against epochs, for one history (with ``reference``) or several ``final_quality`` rows,
    with the real-vs-real floor and the noise ceiling as dashed lines (log scale)."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    if isinstance(rows_or_history, dict):
        rows = [{"model": "this model", "frechet_history": rows_or_history["frechet_distance"],
                 "real_vs_real": reference.real_vs_real, "noise_vs_real": reference.noise_vs_real}]
    else:
        rows = list(rows_or_history)
    if not rows:
        raise ValueError("nothing to plot: no history or rows given")
    with plots.style_context():
        figure, axes = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
        for row in rows:
            values = np.array([np.nan if v is None else v for v in row["frechet_history"]], dtype=float)
            epochs = np.arange(1, len(values) + 1)
            measured = ~np.isnan(values)
            axes.plot(epochs[measured], values[measured], "o-", markersize=4, label=row["model"])
        axes.axhline(rows[0]["noise_vs_real"], color="grey", linestyle="--", label="uniform noise vs real")
        axes.axhline(rows[0]["real_vs_real"], color="black", linestyle=":", label="real vs real")
        axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_ylabel("Fréchet distance (judge features)")
        axes.legend(fontsize=9)
        axes.set_title(title or "sample quality per epoch (lower is better)")
    return figure


# --------------------------------------------------------------------------------------------- padding
@dataclasses.dataclass
class PaddingComparison:
    """:func:`compare_padding`'s result, one entry per padding value (``runs`` = ``len(padding_values)``).

    ``real_frame_means`` ``(runs,)``: the frame's mean pixel in the padded real digits; ``frame_mean_history``
    ``(runs, epochs)``: in generated digits after each epoch (``generated_frame_means`` is its last column);
    ``frechet_distances`` ``(runs,)``: the judge's distance to real digits after the last epoch (the judge reads
    the central 28×28, so the frame does not count); ``d_loss``/``g_loss`` ``(runs, epochs)``: epoch means;
    ``grids`` ``(runs, 40, 32, 32)``: the fixed sample grid after the last epoch (the same noise in every run);
    ``seconds`` ``(runs,)``: training time of each run (0 for a run loaded from its folder)."""

    padding_values: tuple
    real_frame_means: np.ndarray
    frame_mean_history: np.ndarray
    frechet_distances: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    grids: np.ndarray
    seconds: np.ndarray

    @property
    def generated_frame_means(self) -> np.ndarray:
        return self.frame_mean_history[:, -1]


def compare_padding(settings, digits: gan_data.GanDigits, reference: metrics.QualityReference, run_dir,
                    padding_values=(gan_data.BACKGROUND, 0.0), *, seed: int = 0, verbose: int = 0
                    ) -> PaddingComparison:
    """Train the DCGAN once per padding value, with the same seed, data, batches and noise (``settings``: a
    :class:`~chapters_src.gan.settings.PaddingSettings`), on a seeded subset of ``settings.max_images`` digits;
    after every epoch record the mean pixel of the 2-pixel frame of ``settings.samples`` generated digits.
    Each run lives in ``run_dir/pad<value>`` (a finished run is loaded, not trained again)."""
    import keras

    values = tuple(float(value) for value in padding_values)
    if not values or len(set(values)) != len(values):
        raise ValueError(f"padding_values must be distinct pixel values; got {padding_values!r}")
    images = np.asarray(digits.images)
    if settings.max_images is not None and settings.max_images < len(images):
        images = images[np.sort(np.random.default_rng(seed).permutation(len(images))[:settings.max_images])]
    real_means, histories, distances, d_losses, g_losses, grids, seconds = [], [], [], [], [], [], []
    for value in values:
        keras.utils.set_random_seed(seed)
        gan = gan_training.build_gan("dcgan", base_filters=settings.base_filters)
        trainer = gan_training.GanTrainer(gan, compiled=settings.compiled)
        noise = gan_training.sample_noise(np.random.default_rng(seed + 1), settings.samples, gan.noise_size)
        padded = gan_training.prepare_images(gan, images, padding_value=value)

        def epoch_end(epoch, model, noise=noise):
            return {"frame_mean": gan_data.frame_mean(gan_training.generate(model, noise))}

        result = gan_training.train_gan(trainer, padded, epochs=settings.epochs, batch_size=settings.batch_size,
                                        run_dir=Path(run_dir, f"pad{value:+g}"), seed=seed, epoch_end=epoch_end,
                                        verbose=verbose)
        real_means.append(gan_data.frame_mean(padded))
        histories.append(result.history["frame_mean"])
        distances.append(reference.distance_to_real(gan_training.generate(gan, noise)))
        d_losses.append(result.history["d_loss"])
        g_losses.append(result.history["g_loss"])
        grids.append(result.grids[-1])
        seconds.append(sum(result.seconds_per_epoch) if result.epochs_run else 0.0)
    return PaddingComparison(values, np.array(real_means), np.array(histories, dtype=float), np.array(distances),
                             np.array(d_losses, dtype=float), np.array(g_losses, dtype=float), np.stack(grids),
                             np.array(seconds))


def plot_frame_means(comparison: PaddingComparison, title: str | None = None):
    """The generated digits' frame mean against epochs, one line per padding value, with the real digits' frame
    value of that run as a dashed line of the same colour."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    with plots.style_context():
        figure, axes = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
        epochs = np.arange(1, comparison.frame_mean_history.shape[1] + 1)
        for value, real, history in zip(comparison.padding_values, comparison.real_frame_means,
                                        comparison.frame_mean_history):
            line, = axes.plot(epochs, history, "o-", markersize=4, label=f"generated, trained on padding {value:+g}")
            axes.axhline(real, color=line.get_color(), linestyle="--", linewidth=1,
                         label=f"real digits padded with {value:+g}")
        axes.set_xlabel("epoch")
        axes.set_ylabel("mean pixel of the 2-pixel frame")
        axes.legend(fontsize=8)
        axes.set_title(title or "what the generator draws in the frame")
    return figure


# --------------------------------------------------------------------------------------------- explorer frames
def interpolation_images(gan, start, end, steps: int, condition=None) -> np.ndarray:
    """Generator outputs along the straight line from noise ``start`` ``(k, 100)`` to ``end``: ``(steps, k, H, W)``."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2; got {steps!r}")
    start, end = np.asarray(start, "float32"), np.asarray(end, "float32")
    frames = []
    for t in np.linspace(0.0, 1.0, steps):
        frames.append(gan_data.as_display_images(gan_training.generate(gan, (1 - t) * start + t * end, condition)))
    return np.stack(frames)


def row_figure(images, titles=None, title=None):
    """One row of images (``(k, H, W)`` in [-1, 1]) as a compact figure for a frame player."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    pictures = gan_data.as_display_images(images)
    with plots.style_context():
        figure, axes = plt.subplots(1, len(pictures), figsize=(0.9 * len(pictures), 1.25 if title else 1.0),
                                    squeeze=False, gridspec_kw=dict(wspace=0.05))
        for index, ax in enumerate(axes[0]):
            ax.imshow((np.clip(pictures[index], -1, 1) + 1) / 2, cmap="gray", vmin=0, vmax=1)
            ax.set_axis_off()
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=8)
        if title:
            figure.suptitle(title, fontsize=10)
    return figure
