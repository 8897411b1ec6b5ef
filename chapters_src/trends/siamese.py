"""Metric-based meta-learning: the source's Siamese network for N-way few-shot faces (ch. 8 §8.3.3), in Keras 3.

The network: a shared CNN ``f`` (Conv2D 16 6×6 → ReLU → MaxPool 2 → Dropout 0.25 → Flatten → Dense 50 ReLU →
Dropout 0.1) embeds both images, an :class:`L1Distance` layer takes ``|f(x1) − f(x2)|`` and ``Dense(1, sigmoid)``
gives ``p = σ(wᵀ|f(x1) − f(x2)| + b)``, the probability that the two faces show the same person. At the source's
112×92 image size it has 1,823,893 parameters.

Data: ``id_image`` maps subject number (1…40) → uint8 array ``(10, height, width, 1)``, read by
:func:`load_images_ids` from ``s{i}/{j}.pgm`` files. Samplers take a ``numpy.random.Generator``.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import keras
from keras import ops

SOURCE_IMAGE_SHAPE = (112, 92, 1)     # PIL reports size (92, 112) = (width, height); arrays are (height, width)
SOURCE_N_WAYS = (4, 9, 16, 25, 36, 40)
SOURCE_RESULTS = {  # the source's printed results: N → (Siamese accuracy, 1-NN baseline accuracy)
    4: (0.963, 0.876), 9: (0.931, 0.752), 16: (0.845, 0.663), 25: (0.767, 0.55), 36: (0.679, 0.497),
    40: (0.659, 0.478)}


def load_images_ids(path, scale: int = 1) -> dict[int, np.ndarray]:
    """Read ``path/s{i}/{j}.pgm`` with PIL → ``{i: uint8 array (n_images, 112 // scale, 92 // scale, 1)}``.

    Images keep PIL's (height, width) = (112, 92) orientation (the source reshaped them to (92, 112, 1), which
    scrambles rows: see :func:`source_reshape`). ``scale`` > 1 shrinks them by averaging ``scale×scale`` blocks.
    """
    from PIL import Image

    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer; got {scale!r}")
    root = Path(path)
    folders = sorted((p for p in root.glob("s*") if p.is_dir() and p.name[1:].isdigit()), key=lambda p: int(p.name[1:]))
    if not folders:
        raise ValueError(f"{root} holds no s1, s2, … folders of .pgm images")
    id_image = {}
    for folder in folders:
        files = sorted(folder.glob("*.pgm"), key=lambda p: int(p.stem))
        images = np.stack([np.asarray(Image.open(file).convert("L"), dtype="uint8") for file in files])
        id_image[int(folder.name[1:])] = downscale(images, scale)[..., None]
    return id_image


def id_image_from_labels(images, labels) -> dict[int, np.ndarray]:
    """Group ``images (n, h, w)`` by ``labels (n,)`` into the samplers' ``{label: uint8 (k, h, w, 1)}`` dict
    (for Omniglot-style data, whose classes are characters instead of people)."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"images must be (n, height, width) with one label each; got {images.shape}, {labels.shape}")
    return {int(label): images[labels == label][..., None].astype("uint8") for label in np.unique(labels)}


def source_reshape(image: np.ndarray) -> np.ndarray:
    """What the source did: ``np.array(img).reshape([92, 112, 1])`` on a ``(112, 92)`` array. Same pixels in the
    same order, cut into rows of 112 instead of 92: every row now holds a row and a fifth of the real face."""
    return np.asarray(image).reshape(92, 112, 1)


def downscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor×factor`` blocks of ``(n, height, width)`` uint8 images (edges cropped) → uint8."""
    if factor == 1:
        return np.asarray(images, dtype="uint8")
    n, height, width = images.shape
    cropped = images[:, :height - height % factor, :width - width % factor].astype("float64")
    blocks = cropped.reshape(n, height // factor, factor, width // factor, factor).mean(axis=(2, 4))
    return np.rint(blocks).astype("uint8")


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class L1Distance(keras.layers.Layer):
    """``[a, b]`` → ``|a − b|`` elementwise; a named, serialisable layer instead of the source's ``Lambda``."""

    def call(self, inputs):
        first, second = inputs
        return ops.abs(first - second)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def build_shared_cnn(image_shape=SOURCE_IMAGE_SHAPE) -> keras.Sequential:
    """The source's ``siamese_network()`` base: ``(h, w, 1)`` → 50 features."""
    return keras.Sequential([
        keras.Input(image_shape),
        keras.layers.Conv2D(16, (6, 6), padding="valid"),
        keras.layers.Activation("relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(50, activation="relu"),
        keras.layers.Dropout(0.1),
    ], name="shared_cnn")


def build_siamese_network(image_shape=SOURCE_IMAGE_SHAPE, learning_rate: float = 0.001) -> keras.Model:
    """``[image_1, image_2]`` → P(same subject) ``(batch, 1)``; binary cross-entropy, Adam(``learning_rate``)."""
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels); got {image_shape!r}")
    base = build_shared_cnn(image_shape)
    first, second = keras.Input(image_shape, name="image_1"), keras.Input(image_shape, name="image_2")
    distance = L1Distance(name="l1_distance")([base(first), base(second)])
    probability = keras.layers.Dense(1, activation="sigmoid", name="same_subject")(distance)
    model = keras.Model([first, second], probability, name="siamese")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def pair_counts(n_subjects: int = 40, images_per_subject: int = 10) -> dict[str, int]:
    """How many distinct pairs exist (the source's counts for ORL: 45 / 1,800 positive, 100 / 78,000 negative)."""
    positive_per_subject = images_per_subject * (images_per_subject - 1) // 2
    negative_per_subject_pair = images_per_subject ** 2
    subject_pairs = n_subjects * (n_subjects - 1) // 2
    return {"positive_per_subject": positive_per_subject, "positive_total": positive_per_subject * n_subjects,
            "negative_per_subject_pair": negative_per_subject_pair,
            "negative_total": negative_per_subject_pair * subject_pairs}


def all_pairs(id_image: dict, subjects=None) -> tuple[list, list]:
    """Every positive ``(subject, i, subject, j)`` with i < j and every negative ``(a, i, b, j)`` with a < b."""
    subjects = sorted(id_image) if subjects is None else list(subjects)
    positives = [(s, i, s, j) for s in subjects for i, j in itertools.combinations(range(len(id_image[s])), 2)]
    negatives = [(a, i, b, j) for a, b in itertools.combinations(subjects, 2)
                 for i in range(len(id_image[a])) for j in range(len(id_image[b]))]
    return positives, negatives


def _as_float(images) -> np.ndarray:
    return np.asarray(images, dtype="float32") / 255.0


def gen_train_data(n: int, id_image: dict, rng: np.random.Generator, subjects=None, shuffle: bool = True):
    """``([x1, x2], y)``: ``n // 2`` positive pairs (a random subject, two different images) then ``n // 2``
    negative pairs (two different subjects, random images), pixels scaled to 0..1, y float32 (1 = same).

    ``shuffle=False`` keeps the source's order (all positives first), which made its ``validation_split=0.1``
    (the *last* 10 %) a validation set of negative pairs only.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2; got {n!r}")
    subjects = np.array(sorted(id_image) if subjects is None else list(subjects))
    if len(subjects) < 2:
        raise ValueError("subjects must hold at least two subjects")
    half = n // 2
    first, second = [], []
    for _ in range(half):
        subject = rng.choice(subjects)
        i, j = rng.choice(len(id_image[subject]), 2, replace=False)
        first.append(id_image[subject][i]); second.append(id_image[subject][j])
    for _ in range(half):
        a, b = rng.choice(subjects, 2, replace=False)
        first.append(id_image[a][rng.integers(len(id_image[a]))])
        second.append(id_image[b][rng.integers(len(id_image[b]))])
    labels = np.concatenate([np.ones(half), np.zeros(half)]).astype("float32")
    x1, x2 = _as_float(np.stack(first)), _as_float(np.stack(second))
    if shuffle:
        order = rng.permutation(len(labels))
        x1, x2, labels = x1[order], x2[order], labels[order]
    return [x1, x2], labels


def gen_test_case(n_way: int, id_image: dict, rng: np.random.Generator, subjects=None, corrected: bool = True):
    """One N-way test case: ``([queries, candidates], candidate_subjects)`` with ``n_way`` pairs; pair 0 holds the
    ground truth (the query's subject, another of its images), the others one image of a distractor subject.

    ``corrected=True``: distractor subjects are drawn *without* replacement from the subjects other than the
    true one, and the positive image is any image other than the query. ``corrected=False`` is the source's
    sampler: ``ids = choice(subjects, n_way)`` *with* replacement (a "distractor" can be the true subject, even
    the query image itself) and the positive image ``randint(q + 1, q + 9) % 10`` (never image ``q − 1``).
    """
    subjects = np.array(sorted(id_image) if subjects is None else list(subjects))
    if isinstance(n_way, bool) or not isinstance(n_way, int) or not 2 <= n_way <= len(subjects):
        raise ValueError(f"n_way must be an integer in [2, {len(subjects)}] (the number of subjects); got {n_way!r}")
    if corrected:
        true_subject = rng.choice(subjects)
        others = subjects[subjects != true_subject]
        ids = np.concatenate([[true_subject], rng.choice(others, n_way - 1, replace=False)])
        n_images = len(id_image[true_subject])
        query = int(rng.integers(n_images))
        positive = int((query + rng.integers(1, n_images)) % n_images)
    else:
        ids = rng.choice(subjects, n_way)                  # with replacement, as np.random.choice defaults
        true_subject = ids[0]
        n_images = len(id_image[true_subject])
        query = int(rng.integers(n_images))
        positive = int(rng.integers(query + 1, 9 + query) % n_images)
    queries = np.repeat(id_image[true_subject][query][None], n_way, axis=0)
    candidates = [id_image[true_subject][positive]]
    candidates += [id_image[subject][rng.integers(len(id_image[subject]))] for subject in ids[1:]]
    return [_as_float(queries), _as_float(np.stack(candidates))], ids


def nearest_neighbour_choice(queries: np.ndarray, candidates: np.ndarray) -> int:
    """The source's baseline: index of the candidate closest to its query in pixel space (L2)."""
    distances = np.sqrt(((queries - candidates) ** 2).reshape(len(candidates), -1).sum(axis=1))
    return int(np.argmin(distances))


def evaluate_n_way(model, id_image: dict, n_ways, trials: int, rng: np.random.Generator, subjects=None,
                   corrected: bool = True, batch_size: int = 1024, chunk: int = 100) -> list[dict]:
    """N-way accuracy of the Siamese ``model`` and of the 1-NN baseline: ``[{"n_way", "siamese", "knn",
    "trials"}, ...]``. Test cases go through ``predict`` ``chunk`` at a time (the source called it once per case)."""
    rows = []
    for n_way in n_ways:
        siamese_hits, knn_hits = 0, 0
        for start in range(0, trials, chunk):      # chunks of test cases keep memory bounded at full size
            cases = [gen_test_case(n_way, id_image, rng, subjects, corrected)[0]
                     for _ in range(min(chunk, trials - start))]
            queries = np.concatenate([case[0] for case in cases])
            candidates = np.concatenate([case[1] for case in cases])
            scores = model.predict([queries, candidates], batch_size=batch_size, verbose=0).reshape(len(cases), n_way)
            siamese_hits += int((scores.argmax(axis=1) == 0).sum())
            knn_hits += sum(nearest_neighbour_choice(*case) == 0 for case in cases)
        rows.append({"n_way": n_way, "siamese": siamese_hits / trials, "knn": knn_hits / trials, "trials": trials})
    return rows


def split_subjects(subject_ids, held_out: int) -> tuple[list[int], list[int]]:
    """``(training_subjects, unseen_subjects)``: the last ``held_out`` subject numbers are never trained on."""
    subject_ids = sorted(subject_ids)
    if isinstance(held_out, bool) or not isinstance(held_out, int) or not 0 <= held_out <= len(subject_ids) - 2:
        raise ValueError(f"held_out must be an integer in [0, {len(subject_ids) - 2}]; got {held_out!r}")
    return subject_ids[:len(subject_ids) - held_out], subject_ids[len(subject_ids) - held_out:]


def train_siamese(settings, id_image: dict, subjects, run_dir, seed: int = 42, verbose="auto"):
    """Fit a Siamese network on ``settings.train_pairs`` shuffled pairs of ``subjects`` and validate on a tenth as
    many fresh, balanced pairs of the same subjects. Returns ``(model, result)``."""
    from chapters_src import training

    rng = np.random.default_rng(seed)
    x_train, y_train = gen_train_data(settings.train_pairs, id_image, rng, subjects)
    x_val, y_val = gen_train_data(max(2, settings.train_pairs // 10), id_image, rng, subjects)
    keras.utils.set_random_seed(seed)
    model = build_siamese_network(x_train[0].shape[1:], settings.learning_rate)
    result = training.fit(model, x_train, y_train, validation_data=(x_val, y_val), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return model, result
