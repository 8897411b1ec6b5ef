"""Capsule networks (Sabour, Frosst & Hinton 2017, "Dynamic Routing Between Capsules"), in ``keras.ops``.

The source chapters give only the ideas and the squash formula (ch. 20 §10; ch. 8 §8.2); the code follows the
paper. Shapes for a 28×28×1 input with the paper's sizes:

    image (28, 28, 1) → Conv1 256 9×9 ReLU (20, 20, 256) → PrimaryCaps conv 32·8 9×9 stride 2 (6, 6, 256)
    → 1,152 capsules of 8D, squashed → DigitCaps: û_{j|i} = W_ij u_i, 3 routing iterations → 10 capsules of 16D
    → length = class probability; masked 160-vector → decoder 512 → 1024 → 784 (sigmoid) = reconstruction.

Parameters: Conv1 20,992; PrimaryCaps 5,308,672; DigitCaps W 1,152·10·16·8 = 1,474,560 (6.80 M, the paper's
"6.8M"); decoder 82,432 + 525,312 + 803,600 = 1,411,344.
"""
from __future__ import annotations

import numpy as np
import keras
from keras import ops

SQUASH_EPSILON = 1e-7


def squash(vectors, axis: int = -1, epsilon: float = SQUASH_EPSILON):
    """``v = ‖s‖²/(1 + ‖s‖²) · s/‖s‖`` along ``axis``: keeps the direction, maps the length into [0, 1).

    ``epsilon`` inside the square root keeps ``squash(0) = 0`` with a finite gradient.
    """
    squared_norm = ops.sum(ops.square(vectors), axis=axis, keepdims=True)
    return vectors * (squared_norm / (1.0 + squared_norm)) / ops.sqrt(squared_norm + epsilon)


def squash_reference(vectors: np.ndarray, axis: int = -1) -> np.ndarray:
    """NumPy version of :func:`squash` (for tests and figures)."""
    norm = np.linalg.norm(vectors, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, vectors * norm / (1.0 + norm ** 2), 0.0)


def routing_by_agreement(predictions, iterations: int = 3):
    """Dynamic routing (Sabour et al. 2017, Procedure 1).

    predictions: ``û`` of shape ``(batch, n_children, n_parents, dim)`` (child ``i``'s prediction for parent ``j``).
    Returns ``(v, c)``: parent capsules ``(batch, n_parents, dim)`` and the coupling coefficients
    ``(batch, n_children, n_parents)`` of the last iteration (they sum to 1 over parents for every child).

    Each iteration: ``c = softmax_j(b)``, ``s_j = Σ_i c_ij û_{j|i}``, ``v_j = squash(s_j)`` and, except after the
    last, ``b_ij ← b_ij + û_{j|i} · v_j``: children move their vote towards the parents they agree with.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer; got {iterations!r}")
    logits = ops.zeros_like(predictions[..., 0])
    for iteration in range(iterations):
        coupling = ops.softmax(logits, axis=2)
        parents = squash(ops.sum(coupling[..., None] * predictions, axis=1))
        if iteration < iterations - 1:
            logits = logits + ops.sum(predictions * parents[:, None, :, :], axis=-1)
    return parents, coupling


def routing_reference(predictions: np.ndarray, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """NumPy version of :func:`routing_by_agreement`, written loop by loop as in the paper."""
    batch, n_children, n_parents, _ = predictions.shape
    logits = np.zeros((batch, n_children, n_parents))
    for iteration in range(iterations):
        coupling = np.exp(logits - logits.max(axis=2, keepdims=True))
        coupling /= coupling.sum(axis=2, keepdims=True)
        parents = squash_reference(np.einsum("bij,bijd->bjd", coupling, predictions))
        if iteration < iterations - 1:
            logits = logits + np.einsum("bijd,bjd->bij", predictions, parents)
    return parents, coupling


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class Squash(keras.layers.Layer):
    """:func:`squash` over the last axis, as a layer."""

    def call(self, inputs):
        return squash(inputs)


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class DigitCapsules(keras.layers.Layer):
    """A fully connected capsule layer with routing by agreement.

    Input ``(batch, n_children, child_dim)`` → output ``(batch, n_capsules, capsule_dim)``. Weights ``W`` of
    shape ``(n_children, n_capsules, capsule_dim, child_dim)`` (no bias, as in the paper): ``û_{j|i} = W_ij u_i``.
    """

    def __init__(self, n_capsules: int = 10, capsule_dim: int = 16, routings: int = 3, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("n_capsules", n_capsules), ("capsule_dim", capsule_dim), ("routings", routings)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.n_capsules, self.capsule_dim, self.routings = n_capsules, capsule_dim, routings

    def build(self, input_shape):
        n_children, child_dim = int(input_shape[1]), int(input_shape[2])
        self.kernel = self.add_weight(shape=(n_children, self.n_capsules, self.capsule_dim, child_dim),
                                      initializer=keras.initializers.GlorotUniform(), name="W")

    def predictions(self, inputs):
        """``û``: ``(batch, n_children, n_capsules, capsule_dim)``."""
        return ops.einsum("ijdk,bik->bijd", self.kernel, inputs)

    def route(self, inputs):
        """``(v, c)`` as :func:`routing_by_agreement` returns them."""
        return routing_by_agreement(self.predictions(inputs), self.routings)

    def call(self, inputs):
        return self.route(inputs)[0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_capsules, self.capsule_dim)

    def get_config(self):
        return {**super().get_config(), "n_capsules": self.n_capsules, "capsule_dim": self.capsule_dim,
                "routings": self.routings}


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class CapsuleLength(keras.layers.Layer):
    """``(batch, n, dim)`` → ``(batch, n)``: the length of each capsule (its probability)."""

    def call(self, inputs):
        return ops.sqrt(ops.sum(ops.square(inputs), axis=-1) + keras.backend.epsilon())


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class MaskCapsules(keras.layers.Layer):
    """Keep one capsule, zero the others, flatten: ``(batch, n, dim)`` → ``(batch, n·dim)``.

    Called with ``[capsules, one_hot]`` it keeps the true class (training); with ``capsules`` alone it keeps the
    longest capsule (prediction).
    """

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            capsules, mask = inputs
        else:
            capsules = inputs
            lengths = ops.sum(ops.square(capsules), axis=-1)
            mask = ops.one_hot(ops.argmax(lengths, axis=-1), ops.shape(capsules)[1], dtype=capsules.dtype)
        masked = capsules * ops.cast(mask, capsules.dtype)[..., None]
        return ops.reshape(masked, (-1, ops.shape(capsules)[1] * ops.shape(capsules)[2]))

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)) \
            else input_shape
        return (shape[0], shape[1] * shape[2])


@keras.saving.register_keras_serializable(package="chapters_src.trends")
def margin_loss(y_true, lengths, m_plus: float = 0.9, m_minus: float = 0.1, down_weight: float = 0.5):
    """Margin loss per example: ``Σ_k T_k max(0, m⁺ − ‖v_k‖)² + λ (1 − T_k) max(0, ‖v_k‖ − m⁻)²``.

    y_true: one-hot ``(batch, classes)``; lengths: ``(batch, classes)``. Paper: m⁺ = 0.9, m⁻ = 0.1, λ = 0.5.
    """
    y_true = ops.cast(y_true, lengths.dtype)
    present = y_true * ops.square(ops.relu(m_plus - lengths))
    absent = down_weight * (1.0 - y_true) * ops.square(ops.relu(lengths - m_minus))
    return ops.sum(present + absent, axis=-1)


RECONSTRUCTION_WEIGHT = 0.0005 * 784  # the paper scales the summed squared error by 0.0005; Keras' MSE is a mean


def build_capsnet(input_shape=(28, 28, 1), n_classes: int = 10, conv_filters: int = 256,
                  primary_channels: int = 32, primary_dim: int = 8, digit_dim: int = 16, routings: int = 3,
                  decoder_units=(512, 1024), learning_rate: float = 1e-3, name: str = "capsnet",
                  reconstruction_weight: float = RECONSTRUCTION_WEIGHT):
    """The paper's CapsNet. Returns ``(train_model, eval_model, decoder)`` sharing their layers:

    - ``train_model``: ``[image (h, w, c), one_hot (classes,)]`` → ``[lengths (classes,), reconstruction (h, w, c)]``,
      compiled with margin loss + ``reconstruction_weight`` · MSE (default :data:`RECONSTRUCTION_WEIGHT`, the
      paper's 0.0005 · summed squared error) and Adam(``learning_rate``); the decoder sees the true class's capsule;
    - ``eval_model``: ``image`` → ``[lengths, digit_capsules (classes, digit_dim), reconstruction]`` (the longest
      capsule is decoded);
    - ``decoder``: masked, flattened capsules ``(classes · digit_dim,)`` → image.
    """
    image = keras.Input(input_shape, name="image")
    one_hot = keras.Input((n_classes,), name="one_hot")
    features = keras.layers.Conv2D(conv_filters, 9, activation="relu", name="conv1")(image)
    primary = keras.layers.Conv2D(primary_channels * primary_dim, 9, strides=2, name="primarycaps_conv")(features)
    primary = keras.layers.Reshape((-1, primary_dim), name="primarycaps_reshape")(primary)
    primary = Squash(name="primarycaps")(primary)
    digit = DigitCapsules(n_classes, digit_dim, routings, name="digitcaps")(primary)
    lengths = CapsuleLength(name="lengths")(digit)

    decoder = keras.Sequential([keras.Input((n_classes * digit_dim,))]
                               + [keras.layers.Dense(units, activation="relu") for units in decoder_units]
                               + [keras.layers.Dense(int(np.prod(input_shape)), activation="sigmoid"),
                                  keras.layers.Reshape(input_shape)], name="decoder")
    train_reconstruction = keras.layers.Identity(name="reconstruction")(decoder(MaskCapsules()([digit, one_hot])))
    eval_reconstruction = keras.layers.Identity(name="reconstruction")(decoder(MaskCapsules()(digit)))
    train_model = keras.Model([image, one_hot], [lengths, train_reconstruction], name=f"{name}_train")
    eval_model = keras.Model(image, [lengths, digit, eval_reconstruction], name=f"{name}_eval")
    train_model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                        loss={"lengths": margin_loss, "reconstruction": "mse"},
                        loss_weights={"lengths": 1.0, "reconstruction": reconstruction_weight},
                        metrics={"lengths": ["categorical_accuracy"]})
    return train_model, eval_model, decoder


BASELINE_PARAMETER_TOLERANCE = 0.05   # |CNN parameters / CapsNet parameters without decoder − 1| allowed (tested)


def capsnet_classifier_parameters(settings, input_shape=(28, 28, 1), n_classes: int = 10) -> int:
    """Parameters of the CapsNet of ``settings`` without its reconstruction decoder (Conv1 + PrimaryCaps + W),
    computed from the layer sizes (valid 9×9 convolutions, PrimaryCaps stride 2)."""
    height, width, channels = input_shape
    conv1 = 81 * channels * settings.conv_filters + settings.conv_filters
    primary_maps = settings.primary_channels * settings.primary_dim
    primary = 81 * settings.conv_filters * primary_maps + primary_maps
    grid = ((height - 8 - 9) // 2 + 1) * ((width - 8 - 9) // 2 + 1)
    digitcaps = grid * settings.primary_channels * n_classes * settings.digit_dim * settings.primary_dim
    return conv1 + primary + digitcaps


def build_baseline_cnn(input_shape=(28, 28, 1), n_classes: int = 10, filters=(32, 64), dense_units: int = 128,
                       learning_rate: float = 1e-3) -> keras.Model:
    """A small CNN to compare with: Conv 5×5 ReLU → MaxPool 2 (×2) → Dense ReLU → Dropout 0.5 → softmax.

    The defaults give 184,586 parameters; :func:`train_baseline` sizes it from the settings so that it has as many
    parameters as the profile's CapsNet without its decoder (``baseline_filters``, ``baseline_dense_units``).
    """
    layers = [keras.Input(input_shape)]
    for count in filters:
        layers += [keras.layers.Conv2D(count, 5, activation="relu"), keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(dense_units, activation="relu"),
               keras.layers.Dropout(0.5), keras.layers.Dense(n_classes, activation="softmax")]
    model = keras.Sequential(layers, name="baseline_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def prepare_digits(mnist_data, train_examples: int | None = None):
    """``((x_train, y_train), (x_test, y_test))`` uint8 → float32 ``(n, 28, 28, 1)`` in 0..1 and int64 labels."""
    (x_train, y_train), (x_test, y_test) = mnist_data
    if train_examples is not None:
        x_train, y_train = x_train[:train_examples], y_train[:train_examples]
    as_float = lambda images: (np.asarray(images, dtype="float32") / 255.0)[..., None]  # noqa: E731
    return (as_float(x_train), np.asarray(y_train, "int64")), (as_float(x_test), np.asarray(y_test, "int64"))


def train_capsnet(settings, digits, run_dir, seed: int = 42, verbose="auto"):
    """Build the CapsNet of ``settings`` and fit it on prepared ``digits``; returns ``(train, eval, decoder, result)``."""
    from chapters_src import training

    (x_train, y_train), (x_test, y_test) = digits
    keras.utils.set_random_seed(seed)
    train_model, eval_model, decoder = build_capsnet(
        x_train.shape[1:], 10, settings.conv_filters, settings.primary_channels, settings.primary_dim,
        settings.digit_dim, settings.routings, settings.decoder_units, settings.learning_rate)
    one_hot_train, one_hot_test = np.eye(10, dtype="float32")[y_train], np.eye(10, dtype="float32")[y_test]
    result = training.fit(train_model, [x_train, one_hot_train], [one_hot_train, x_train],
                          validation_data=([x_test, one_hot_test], [one_hot_test, x_test]), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return train_model, eval_model, decoder, result


def train_baseline(settings, digits, run_dir, seed: int = 42, verbose="auto"):
    """The small CNN of ``settings`` (``baseline_filters``, ``baseline_dense_units``: parameter count matched to the
    CapsNet without decoder) on the same data, epochs and batch size; returns ``(model, result)``."""
    from chapters_src import training

    (x_train, y_train), (x_test, y_test) = digits
    keras.utils.set_random_seed(seed)
    model = build_baseline_cnn(x_train.shape[1:], 10, filters=settings.baseline_filters,
                               dense_units=settings.baseline_dense_units, learning_rate=settings.learning_rate)
    result = training.fit(model, x_train, y_train, validation_data=(x_test, y_test), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return model, result


def capsule_accuracy(eval_model, images, labels, batch_size: int = 100) -> float:
    """Share of images whose longest DigitCaps capsule is the true class."""
    lengths = eval_model.predict(images, batch_size=batch_size, verbose=0)[0]
    return float((lengths.argmax(axis=-1) == np.asarray(labels)).mean())


def perturb_capsule(capsules: np.ndarray, class_index: int, dimension: int, deltas) -> np.ndarray:
    """Masked decoder inputs ``(len(deltas), classes · dim)``: capsule ``class_index`` of one example's
    ``capsules (classes, dim)`` with ``deltas`` added to ``dimension``, every other capsule zeroed
    (the paper's Fig. 4 uses deltas −0.25 … 0.25 in steps of 0.05)."""
    capsules = np.asarray(capsules, dtype="float32")
    n_classes, dim = capsules.shape
    if not 0 <= class_index < n_classes or not 0 <= dimension < dim:
        raise ValueError(f"class_index must be in [0, {n_classes}) and dimension in [0, {dim}); "
                         f"got {class_index}, {dimension}")
    rows = np.zeros((len(deltas), n_classes, dim), dtype="float32")
    rows[:, class_index] = capsules[class_index]
    rows[:, class_index, dimension] += np.asarray(deltas, dtype="float32")
    return rows.reshape(len(deltas), -1)


# ------------------------------------------------------------------ the scrambled-face example (pooling loses pose)

FACE_PARTS = {
    "eye": np.array([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]], dtype="float32"),
    "nose": np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 1, 1]], dtype="float32"),
    "mouth": np.array([[1, 0, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1, 0]], dtype="float32"),
}
FACE_LAYOUT = [("eye", 8, 7), ("eye", 8, 19), ("nose", 13, 14), ("mouth", 21, 12)]
SCRAMBLED_LAYOUT = [("mouth", 5, 4), ("eye", 14, 20), ("nose", 6, 22), ("eye", 22, 6)]


def draw_parts(layout, size: int = 32) -> np.ndarray:
    """A ``(size, size)`` float image with each ``(part, row, col)`` of ``layout`` pasted at its top-left corner."""
    image = np.zeros((size, size), dtype="float32")
    for part, row, col in layout:
        template = FACE_PARTS[part]
        image[row:row + template.shape[0], col:col + template.shape[1]] += template
    return image


def pooled_part_detectors(image: np.ndarray) -> tuple[dict, dict]:
    """Match every part template everywhere (a convolution), then global max pooling.

    Returns ``(pooled, where)``: the pooled response per part (what a pooling CNN keeps) and the position of that
    maximum (the pose information pooling throws away). A perfect match scores 1.
    """
    pooled, where = {}, {}
    for name, template in FACE_PARTS.items():
        height, width = template.shape
        windows = np.lib.stride_tricks.sliding_window_view(image, (height, width))
        scores = (windows * template).sum(axis=(-2, -1)) / template.sum()
        scores -= (windows * (1 - template)).sum(axis=(-2, -1)) / template.size      # penalise extra ink
        index = np.unravel_index(np.argmax(scores), scores.shape)
        pooled[name], where[name] = float(scores[index]), tuple(int(i) for i in index)
    return pooled, where
