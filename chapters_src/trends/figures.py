"""Figures of the new-trends chapters (matplotlib; each function returns the Figure it drew)."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from ..plots import style_context


def gaussian_weights(means=(1.0, 3.0), variances=(1.0, 2.0)):
    """The source's picture of Bayesian weights: ``w1 ~ N(1, 1)``, ``w2 ~ N(3, 2)`` against point estimates."""
    with style_context():
        figure, axes = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
        grid = np.linspace(-3, 8, 400)
        for index, (mean, variance) in enumerate(zip(means, variances), start=1):
            density = np.exp(-(grid - mean) ** 2 / (2 * variance)) / np.sqrt(2 * np.pi * variance)
            line, = axes.plot(grid, density, label=f"$w_{index} \\sim N({mean:g}, {variance:g})$")
            axes.axvline(mean, color=line.get_color(), linestyle=":", linewidth=1)
        axes.set_xlabel("weight value")
        axes.set_ylabel("density")
        axes.set_title("a trained network keeps one number per weight (dotted); a Bayesian one a distribution")
        axes.legend()
    return figure


def image_and_votes(image, predictions, title: str, n_classes: int = 10, class_names=None, xlabel="prediction"):
    """An image (Blues, as in the source) beside the histogram of the posterior draws' predicted classes."""
    predictions = np.asarray(predictions).astype(int)
    with style_context():
        figure, (left, right) = plt.subplots(1, 2, figsize=(6.4, 2.6), layout="constrained",
                                             gridspec_kw={"width_ratios": [1, 1.8]})
        left.imshow(np.asarray(image).reshape(28, 28), cmap="Blues")
        left.set_axis_off()
        left.set_title(title)
        counts = np.bincount(predictions, minlength=n_classes)
        right.bar(np.arange(n_classes), counts, color="tab:blue")
        right.set_xticks(np.arange(n_classes))
        if class_names is not None:
            right.set_xticklabels(class_names)
        right.set_ylim(0, len(predictions))
        right.set_xlabel(xlabel)
        right.set_ylabel("frequency")
        right.set_title(f"{len(predictions)} posterior draws")
    return figure


def uncertainty_histograms(in_scores, out_scores, measure: str, in_label="digits (in distribution)",
                           out_label="letters (out of distribution)"):
    """Overlaid histograms of an uncertainty measure on in- and out-of-distribution images."""
    with style_context():
        figure, axes = plt.subplots(figsize=(6.0, 3.0), layout="constrained")
        bins = np.linspace(0, max(np.max(in_scores), np.max(out_scores)) + 1e-9, 30)
        axes.hist(in_scores, bins=bins, alpha=0.6, density=True, label=in_label)
        axes.hist(out_scores, bins=bins, alpha=0.6, density=True, label=out_label)
        axes.set_xlabel(measure)
        axes.set_ylabel("density")
        axes.legend()
    return figure


def rejection_curve(rows, title="accuracy after rejecting the most uncertain test images"):
    """Accuracy (y) against the rejected fraction (x) from ``accuracy_after_rejection`` rows."""
    fractions, accuracies = zip(*rows)
    with style_context():
        figure, axes = plt.subplots(figsize=(5.2, 3.0), layout="constrained")
        axes.plot(np.array(fractions) * 100, np.array(accuracies) * 100, marker="o")
        axes.set_xlabel("rejected (%)")
        axes.set_ylabel("accuracy on the rest (%)")
        axes.set_title(title)
    return figure


def squash_curve():
    """Output length against input length for the squash non-linearity."""
    lengths = np.linspace(0, 6, 200)
    with style_context():
        figure, axes = plt.subplots(figsize=(5.0, 2.8), layout="constrained")
        axes.plot(lengths, lengths ** 2 / (1 + lengths ** 2))
        axes.axhline(1.0, color="grey", linestyle=":")
        axes.set_xlabel(r"$\|s_j\|$")
        axes.set_ylabel(r"$\|v_j\|$")
        axes.set_title("squash: short vectors shrink to ~0, long ones approach length 1")
    return figure


def capsule_lengths(images, lengths, labels):
    """Test images (top) and the lengths of their 10 DigitCaps capsules (bars; true class in orange)."""
    count = len(images)
    with style_context():
        figure, axes = plt.subplots(2, count, figsize=(1.9 * count, 3.6), layout="constrained",
                                    gridspec_kw={"height_ratios": [1, 1.1]})
        for column in range(count):
            axes[0, column].imshow(np.asarray(images[column]).squeeze(), cmap="gray")
            axes[0, column].set_axis_off()
            colours = ["tab:orange" if k == labels[column] else "tab:blue" for k in range(lengths.shape[1])]
            axes[1, column].bar(np.arange(lengths.shape[1]), lengths[column], color=colours)
            axes[1, column].set_ylim(0, 1)
            axes[1, column].set_xticks(range(0, lengths.shape[1], 3))
            if column:
                axes[1, column].set_yticklabels([])
        axes[1, 0].set_ylabel("capsule length")
    return figure


def perturbation_row(reconstructions, deltas, title: str):
    """Decoded images for one capsule dimension moved by each of ``deltas``."""
    with style_context():
        figure, axes = plt.subplots(1, len(deltas), figsize=(0.95 * len(deltas), 1.5), layout="constrained")
        for axis, image, delta in zip(axes, reconstructions, deltas):
            axis.imshow(np.asarray(image).squeeze(), cmap="gray", vmin=0, vmax=1)
            axis.set_axis_off()
            axis.set_title(f"{delta:+.2f}", fontsize=8)
        figure.suptitle(title, fontsize=9)
    return figure


def data_hunger_schematic():
    """The source's chart, redrawn as a schematic: performance against the amount of data (not measured)."""
    data = np.linspace(0.01, 10, 200)
    with style_context():
        figure, axes = plt.subplots(figsize=(5.6, 3.0), layout="constrained")
        axes.plot(data, 0.55 + 0.25 * (1 - np.exp(-data / 1.2)), label="traditional machine learning")
        axes.plot(data, 0.2 + 0.75 / (1 + np.exp(-(data - 4.0) / 1.0)), label="deep learning")
        axes.set_xlabel("amount of training data")
        axes.set_ylabel("performance")
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title("schematic (after the source's chart): deep learning needs data")
        axes.legend()
    return figure


def n_way_case(queries, candidates, scores, title: str):
    """An N-way test case: the query, then every candidate with the Siamese score (ground truth first)."""
    count = len(candidates)
    with style_context():
        figure, axes = plt.subplots(1, count + 1, figsize=(1.25 * (count + 1), 2.0), layout="constrained")
        axes[0].imshow(np.asarray(queries[0]).squeeze(), cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("query", fontsize=8)
        best = int(np.argmax(scores))
        for index in range(count):
            axis = axes[index + 1]
            axis.imshow(np.asarray(candidates[index]).squeeze(), cmap="gray", vmin=0, vmax=1)
            mark = " ✓" if index == 0 else ""
            axis.set_title(f"{scores[index]:.2f}{mark}", fontsize=8, color="tab:red" if index == best else "black")
        for axis in axes:
            axis.set_axis_off()
        figure.suptitle(title, fontsize=9)
    return figure


def n_way_results(rows_by_name, source=None):
    """Accuracy against N for several result sets ``{name: rows}`` (and the source's numbers, dashed)."""
    with style_context():
        figure, axes = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
        for name, rows in rows_by_name.items():
            ways = [row["n_way"] for row in rows]
            axes.plot(ways, [row["siamese"] for row in rows], marker="o", label=f"Siamese, {name}")
            axes.plot(ways, [row["knn"] for row in rows], marker="x", linestyle=":", label=f"1-NN pixels, {name}")
        if source is not None:
            ways = sorted(source)
            axes.plot(ways, [source[n][0] for n in ways], "k--", label="Siamese, source")
            axes.plot(ways, [source[n][1] for n in ways], "k:", label="1-NN, source")
        ways = np.arange(2, 41)
        axes.plot(ways, 1 / ways, color="grey", linewidth=0.8, label="chance 1/N")
        axes.set_xlabel("N (candidates per test case)")
        axes.set_ylabel("accuracy")
        axes.set_ylim(0, 1.02)
        axes.legend(fontsize=7, ncol=2)
    return figure


def mann_diagram(steps: int = 4):
    """The model-based (MANN) set-up: at step t the network sees sample x_t with the *previous* label y_{t−1},
    reads and writes an external memory, and must predict y_t; the last step is the query."""
    with style_context():
        figure, axes = plt.subplots(figsize=(7.2, 2.8), layout="constrained")
        axes.set_xlim(0, steps * 2 + 0.5)
        axes.set_ylim(0, 4.2)
        axes.set_axis_off()
        axes.add_patch(plt.Rectangle((0.3, 3.3), steps * 2 - 0.2, 0.7, color="tab:orange", alpha=0.25))
        axes.text(steps + 0.2, 3.65, "external memory (read / write)", ha="center", va="center")
        for step in range(steps):
            x = 0.5 + step * 2
            last = step == steps - 1
            axes.add_patch(plt.Rectangle((x, 1.6), 1.4, 1.0, color="tab:blue", alpha=0.3))
            axes.text(x + 0.7, 2.1, "controller\n(RNN)", ha="center", va="center", fontsize=8)
            inputs = "$x_\\mathrm{query}$, $y_{%d}$" % step if last else "$x_{%d}$, $y_{%d}$" % (step + 1, step)
            axes.annotate(inputs, xy=(x + 0.7, 1.6), xytext=(x + 0.7, 0.4), ha="center",
                          arrowprops=dict(arrowstyle="->"))
            axes.annotate("$\\hat y_\\mathrm{query}$" if last else "$\\hat y_{%d}$" % (step + 1),
                          xy=(x + 0.7, 3.3), xytext=(x + 0.7, 2.6), ha="center", va="bottom",
                          arrowprops=dict(arrowstyle="<->"))
            if not last:
                axes.annotate("", xy=(x + 2.0, 2.1), xytext=(x + 1.4, 2.1), arrowprops=dict(arrowstyle="->"))
        axes.set_title("model-based meta-learning (MANN): each label arrives one step late", fontsize=9)
    return figure
