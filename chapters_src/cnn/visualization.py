"""What a CNN sees: activation maximization, saliency (vanilla / guided / rectified), Grad-CAM, activation atlas.

The sources used keras-vis (dead since Keras 2.2): 001 §2 ``visualize_class_activation`` on VGG16, 004 §3
``visualize_saliency`` / ``visualize_cam`` on an MNIST model. Everything here is plain gradients in Keras 3 with
TensorFlow's ``GradientTape``; modified backprop rules are ReLUs with a ``keras.ops.custom_gradient``.

Network choice (notebook 07): VGG16 with ImageNet weights when :mod:`chapters_src.cnn.pretrained` can have them,
otherwise :func:`build_digit_cnn` trained here on the digits the data registry provides. The same functions run on
both: they only need a Keras model, a layer name and an index.

Usage::

    result = activation_maximization(model, "predictions", 3, steps=100, seed=0)   # pre-softmax logit 3
    maps = saliency(model, images, class_index=3, modifier="guided")             # (n, h, w) in [0, 1]
    cam = grad_cam(model, images, class_index=3, conv_layer="block2_conv1")      # (n, h, w) in [0, 1]
    atlas = activation_atlas(features, grid_size=6, class_scores=head)           # cells with counts, labels
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

MODIFIERS = (None, "guided", "relu")
REDUCTIONS = ("max", "mean", None)


# ----------------------------------------------------------------------------------------------- small networks
def build_digit_cnn(input_shape: Sequence[int] = (28, 28, 1), classes: int = 10, conv_filters=(32, 64),
                    dense_units: int = 128, seed: int = 0):
    """The keras-vis MNIST model of 004 §3 (``examples/mnist/attention.ipynb``), named like VGG16's layers.

    ``Conv2D(32, 3, relu)`` → ``Conv2D(64, 3, relu)`` → ``MaxPool 2×2`` → ``Dropout 0.25`` → ``Flatten`` →
    ``Dense(128, relu)`` → ``Dropout 0.5`` → ``Dense(classes, softmax)``. Layer names: ``block1_conv1``,
    ``block2_conv1``, ``block2_pool``, ``flatten``, ``fc1``, ``predictions`` (softmax inside the Dense layer, as in
    VGG16: the functions below strip it). 28×28×1 input, (32, 64), 128: 1,199,882 parameters.
    """
    import keras

    if len(conv_filters) != 2 or min(conv_filters) < 1:
        raise ValueError(f"conv_filters must be two positive ints; got {conv_filters!r}")
    if dense_units < 1 or classes < 2:
        raise ValueError(f"dense_units must be ≥ 1 and classes ≥ 2; got {dense_units}, {classes}")
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(tuple(input_shape)),
        keras.layers.Conv2D(conv_filters[0], 3, activation="relu", name="block1_conv1"),
        keras.layers.Conv2D(conv_filters[1], 3, activation="relu", name="block2_conv1"),
        keras.layers.MaxPooling2D(2, name="block2_pool"),
        keras.layers.Dropout(0.25, name="dropout1"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(dense_units, activation="relu", name="fc1"),
        keras.layers.Dropout(0.5, name="dropout2"),
        keras.layers.Dense(classes, activation="softmax", name="predictions"),
    ], name="digit_cnn")


def digits_as_images(mnist_data, train_examples: int | None = None, seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))`` uint8 28×28 → float32 ``(n, 28, 28, 1)`` in [0, 1], int labels."""
    (x_train, y_train), (x_test, y_test) = mnist_data
    if train_examples is not None:
        if train_examples < 10:
            raise ValueError(f"train_examples must be ≥ 10 or None; got {train_examples}")
        keep = np.random.default_rng(seed).permutation(len(x_train))[:train_examples]
        x_train, y_train = x_train[keep], y_train[keep]

    def prepare(images):
        return (np.asarray(images, dtype="float32") / 255.0)[..., None]

    return (prepare(x_train), np.asarray(y_train, "int64")), (prepare(x_test), np.asarray(y_test, "int64"))


def train_digit_cnn(settings, mnist_data, run_dir: str, verbose="auto", seed: int = 0):
    """Train :func:`build_digit_cnn` (Adam, sparse cross-entropy) with ``settings`` (a ``VisualizationSettings``).

    Returns ``(model, result, test_accuracy)``; ``result`` is :func:`chapters_src.training.fit`'s history.
    """
    import keras

    from .. import training

    (x_train, y_train), (x_test, y_test) = digits_as_images(mnist_data, settings.train_examples, seed)
    model = build_digit_cnn(x_train.shape[1:], conv_filters=settings.conv_filters,
                            dense_units=settings.dense_units, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    validation = max(len(x_train) // 10, 1)
    result = training.fit(model, x_train[:-validation], y_train[:-validation],
                          validation_data=(x_train[-validation:], y_train[-validation:]), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, resume=False, verbose=verbose)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return model, result, accuracy


def bright_square_images(count: int, size: int = 20, square: int = 5, seed: int = 0):
    """A localisation set with a known answer: ``(images (n, size, size, 1), labels (n,), boxes (n, 4))``.

    Background: uniform noise in [0, 0.3]. Label 1 images hold a bright (0.9–1.0) ``square``×``square`` patch at a
    random place, ``boxes[i] = (row, col, row + square, col + square)``; label 0 images hold none (box all −1).
    """
    if count < 2 or size < square + 2 or square < 1:
        raise ValueError(f"need count ≥ 2 and size ≥ square + 2 ≥ 3; got count={count}, size={size}, "
                         f"square={square}")
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.3, size=(count, size, size, 1)).astype("float32")
    labels = (np.arange(count) % 2).astype("int64")
    boxes = np.full((count, 4), -1, dtype="int64")
    for i in np.flatnonzero(labels):
        row, col = rng.integers(0, size - square + 1, size=2)
        images[i, row:row + square, col:col + square, 0] = rng.uniform(0.9, 1.0, size=(square, square))
        boxes[i] = (row, col, row + square, col + square)
    order = rng.permutation(count)
    return images[order], labels[order], boxes[order]


def build_square_detector(size: int = 20, filters: int = 8, seed: int = 0):
    """A tiny fully convolutional detector for :func:`bright_square_images`: two 3×3 convolutions, global max
    pooling, ``Dense(2, softmax)`` named ``predictions``. Layer ``conv2`` is the last convolution (Grad-CAM)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1)),
        keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.GlobalMaxPooling2D(name="pool"),
        keras.layers.Dense(2, activation="softmax", name="predictions"),
    ], name="square_detector")


# ----------------------------------------------------------------------------------------------- model surgery
def _layer(model, layer_name: str):
    try:
        return model.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"layer_name must be a layer of {model.name}: {names}; got {layer_name!r}") from None


def _inputs(model):
    """The model's symbolic input (one tensor for a single-input model: no structure warning when called)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def pre_activation_model(model, layer_name: str):
    """``keras.Model`` from ``model``'s input to ``layer_name``'s output **before** its activation.

    For a Dense/Conv layer with a built-in activation (VGG16's ``predictions`` has softmax inside, its convolutions
    ReLU) the layer is re-applied as a linear copy with the same weights. This is keras-vis'
    "swap softmax for linear" step that the source left out: maximising a softmax output mostly pushes the other
    classes down instead of making the chosen class appear. Other layers are returned as they are.
    """
    import keras

    layer = _layer(model, layer_name)
    activation = getattr(layer, "activation", None)
    if activation is None or getattr(activation, "__name__", "") == "linear":
        return keras.Model(_inputs(model), layer.output, name=f"{layer_name}_output")
    config = dict(layer.get_config(), activation="linear", name=f"{layer_name}_linear")
    linear_copy = layer.__class__.from_config(config)
    outputs = linear_copy(layer.input)
    linear_copy.set_weights(layer.get_weights())
    return keras.Model(_inputs(model), outputs, name=f"{layer_name}_pre_activation")


def _modified_relu(modifier: str):
    import keras
    from keras import ops

    @ops.custom_gradient
    def relu(x):
        y = ops.relu(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            if modifier == "guided":      # Springenberg et al.: pass where the input AND the gradient are positive
                return upstream * ops.cast(x > 0, upstream.dtype) * ops.cast(upstream > 0, upstream.dtype)
            return ops.relu(upstream)     # "relu" (rectified / deconvnet, Zeiler & Fergus): positive gradients only

        return y, grad

    relu.__name__ = f"{modifier}_relu"
    return keras.activations.get(relu)


_MODIFIED_CACHE: dict[tuple[int, Any], Any] = {}


def backprop_model(model, modifier: str | None = None):
    """A copy of ``model`` (same weights) whose softmax outputs are linear and whose ReLUs use ``modifier``'s rule.

    ``modifier``: ``None`` (vanilla gradients), ``"guided"`` (guided backpropagation) or ``"relu"`` (rectified,
    i.e. deconvnet, backpropagation), keras-vis' ``backprop_modifier`` values. Copies are cached per model.
    """
    import keras

    if modifier not in MODIFIERS:
        raise ValueError(f"modifier must be one of {MODIFIERS}; got {modifier!r}")
    key = (id(model), modifier)
    if key in _MODIFIED_CACHE and _MODIFIED_CACHE[key][0] is model:
        return _MODIFIED_CACHE[key][1]
    relu = _modified_relu(modifier) if modifier else None

    def clone_layer(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.ReLU) and relu is not None:
            return keras.layers.Activation(relu, name=layer.name)
        new_layer = layer.__class__.from_config(config)
        name = getattr(getattr(layer, "activation", None), "__name__", None)
        if name == "softmax":
            new_layer.activation = keras.activations.linear
        elif name == "relu" and relu is not None:
            new_layer.activation = relu
        return new_layer

    copy = keras.models.clone_model(model, clone_function=clone_layer)
    copy.set_weights(model.get_weights())
    _MODIFIED_CACHE[key] = (model, copy)
    return copy


def _as_batch(x, model) -> np.ndarray:
    array = np.asarray(x, dtype="float32")
    expected = tuple(model.input_shape[1:])
    if array.ndim == len(expected):
        array = array[None]
    if array.ndim != len(expected) + 1 or any(e is not None and e != s for e, s in zip(expected, array.shape[1:])):
        raise ValueError(f"x must have shape {expected} or (n, *{expected}); got {np.shape(x)}")
    return array


def _class_mask(model_output_size: int, class_index, batch_size: int) -> np.ndarray:
    """One-hot ``(n, classes)`` rows selecting ``class_index`` (one int, or one int per image)."""
    indices = np.broadcast_to(np.asarray(class_index, dtype="int64").reshape(-1), (batch_size,)) if np.ndim(
        class_index) == 0 else np.asarray(class_index, dtype="int64")
    if indices.shape != (batch_size,) or indices.min() < 0 or indices.max() >= model_output_size:
        raise ValueError(f"class_index must be in [0, {model_output_size}) (one int, or one per image of the "
                         f"{batch_size}); got {class_index}")
    return np.eye(model_output_size, dtype="float32")[indices]


# ----------------------------------------------------------------------------------------------- activation max.
@dataclasses.dataclass(frozen=True)
class MaximizationResult:
    """``images`` ``(count, *input_shape)`` in the model's input space; ``objective`` ``(steps + 1, count)``: the
    unit's activation (regularisers excluded) before the first step and after each step."""

    images: np.ndarray
    objective: np.ndarray
    layer_name: str
    index: int | tuple[int, ...]


def _unit_objective(outputs, index):
    """Mean activation of unit ``index`` per image: a Dense unit, or channel ``index`` of a convolution (mean
    over space). ``index`` is one int for the whole batch or one int per image (a ``(n, units)`` one-hot mask)."""
    from keras import ops

    units = ops.shape(outputs)[-1]
    means = ops.mean(ops.reshape(outputs, (ops.shape(outputs)[0], -1, units)), axis=1)   # (n, units)
    if isinstance(index, int):
        return means[:, index]
    return ops.sum(means * index, axis=1)


def activation_maximization(model, layer_name: str, index, *, steps: int = 100, step_size: float = 0.05,
                            count: int = 1, value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0,
                            l2_weight: float = 0.0, tv_weight: float = 0.0, jitter: int = 0,
                            linear_output: bool = True, initial: np.ndarray | None = None) -> MaximizationResult:
    """Synthesize ``count`` inputs that maximise unit ``index`` of ``layer_name`` by gradient ascent (001 §2).
    ``index`` may also be a sequence: one image per entry, all optimised together (``count`` is then ignored).

    At a Dense layer ``index`` is a class (on pre-softmax logits when ``linear_output``); at a convolution it is a
    **channel** (a filter), whatever the source's text says. Each step adds ``step_size · (range width)`` times the
    RMS-normalised gradient of ``objective − l2_weight·mean(x²) − tv_weight·mean(Δx² + Δy²)``, evaluated on the
    image shifted by a random roll of up to ``jitter`` pixels, and clips to ``value_range`` (the model's input
    range; keras-vis' ``max_iter=500`` is ``steps``). The start is the range's midpoint plus 10 % Gaussian noise
    from ``seed``, or ``initial``. Deterministic for a given seed.
    """
    import tensorflow as tf
    from keras import ops

    if steps < 1 or step_size <= 0 or count < 1 or jitter < 0 or l2_weight < 0 or tv_weight < 0:
        raise ValueError(f"need steps ≥ 1, step_size > 0, count ≥ 1 and jitter, l2_weight, tv_weight ≥ 0; got "
                         f"{steps}, {step_size}, {count}, {jitter}, {l2_weight}, {tv_weight}")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low; got {value_range}")
    feature_model = pre_activation_model(model, layer_name) if linear_output else keras_output_model(model,
                                                                                                     layer_name)
    units = int(feature_model.output_shape[-1])
    indices = [int(index)] if np.ndim(index) == 0 else [int(i) for i in index]
    if not indices or not all(0 <= i < units for i in indices):
        raise ValueError(f"index must be in [0, {units}) for layer {layer_name!r}; got {index}")
    if np.ndim(index) == 0:
        index = int(index)
    else:
        count = len(indices)
        index = np.eye(units, dtype="float32")[indices]
    rng = np.random.default_rng(seed)
    shape = (count, *model.input_shape[1:])
    if initial is None:
        start = (low + high) / 2 + 0.1 * (high - low) * rng.standard_normal(shape)
    else:
        start = np.broadcast_to(np.asarray(initial, dtype="float32"), shape)
    image = tf.constant(np.clip(start, low, high).astype("float32"))
    width = high - low

    def score(x):
        return _unit_objective(feature_model(x, training=False), index)

    @tf.function
    def ascend(image, shift):
        with tf.GradientTape() as tape:
            tape.watch(image)
            total = score(tf.roll(image, shift=shift, axis=(1, 2)))
            if l2_weight:
                total -= l2_weight * tf.reduce_mean(tf.square(image - (low + high) / 2), axis=[1, 2, 3]) / width ** 2
            if tv_weight:
                total -= tv_weight * total_variation_mean(image) / width ** 2
            objective = tf.reduce_sum(total)
        gradient = tape.gradient(objective, image)
        rms = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=[1, 2, 3], keepdims=True)) + 1e-8
        image = tf.clip_by_value(image + step_size * width * gradient / rms, low, high)
        return image, score(image)

    history = [ops.convert_to_numpy(score(image))]
    for _ in range(steps):
        shift = rng.integers(-jitter, jitter + 1, size=2) if jitter else np.zeros(2, dtype="int64")
        image, value = ascend(image, tf.constant(shift, dtype="int32"))
        history.append(value.numpy())
    return MaximizationResult(images=np.asarray(image), objective=np.stack(history), layer_name=layer_name,
                              index=indices[0] if len(indices) == 1 else tuple(indices))


def keras_output_model(model, layer_name: str):
    """``keras.Model`` from ``model``'s input to ``layer_name``'s output (after its activation)."""
    import keras

    return keras.Model(_inputs(model), _layer(model, layer_name).output)


def total_variation_mean(images):
    """Per-image mean of squared neighbour differences, ``(n,)``: mean(Δy²) + mean(Δx²) for ``(n, h, w, c)``."""
    from keras import ops

    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(dy), axis=(1, 2, 3)) + ops.mean(ops.square(dx), axis=(1, 2, 3))


# ----------------------------------------------------------------------------------------------- saliency / CAM
def input_gradient(model, x, class_index, modifier: str | None = None) -> np.ndarray:
    """∂(logit ``class_index``)/∂x for each image of ``x``: ``(n, *input_shape)``, signed, float32.
    ``class_index``: one class for every image, or one per image.

    Logits are the pre-softmax outputs (the source's step 2: "use the score, not the softmax"); ReLUs back-propagate
    with ``modifier``'s rule (see :func:`backprop_model`).
    """
    import tensorflow as tf

    network = backprop_model(model, modifier)
    batch = tf.convert_to_tensor(_as_batch(x, model))
    mask = _class_mask(int(network.output_shape[-1]), class_index, int(batch.shape[0]))
    with tf.GradientTape() as tape:
        tape.watch(batch)
        score = tf.reduce_sum(network(batch, training=False) * mask)
    return tape.gradient(score, batch).numpy()


def _normalise(maps: np.ndarray) -> np.ndarray:
    flat = maps.reshape(len(maps), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    scale = np.where(high > low, high - low, 1.0)
    return ((maps - low.reshape(-1, *[1] * (maps.ndim - 1))) / scale.reshape(-1, *[1] * (maps.ndim - 1))
            ).astype("float32")


def saliency(model, x, class_index, modifier: str | None = None, reduce: str | None = "max",
             normalize: bool = True) -> np.ndarray:
    """Saliency map of class ``class_index`` (Simonyan et al. 2013; 004 §3): ``|∂S_c/∂x|`` per pixel.

    ``modifier``: ``None`` (vanilla), ``"guided"`` or ``"relu"`` (rectified). ``reduce``: over channels, ``"max"``
    (Simonyan's ``M_ij = max_c |w_ijc|``, keras-vis' default) or ``"mean"`` → ``(n, h, w)``; ``None`` keeps
    ``(n, h, w, c)``. ``normalize`` rescales each map to [0, 1] (keras-vis does); ``False`` returns raw |gradient|.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}; got {reduce!r}")
    magnitude = np.abs(input_gradient(model, x, class_index, modifier))
    if reduce == "max":
        magnitude = magnitude.max(axis=-1)
    elif reduce == "mean":
        magnitude = magnitude.mean(axis=-1)
    return _normalise(magnitude) if normalize else magnitude


def grad_cam(model, x, class_index, conv_layer: str) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): ``ReLU(Σ_k α_k A^k)`` with ``α_k`` = spatial mean of ∂logit/∂A^k.

    ``A``: the output of ``conv_layer`` (the last convolution, usually). The map is resized (bilinear) to the
    input's height and width and divided by its maximum: ``(n, h, w)`` in [0, 1] (all zeros if nothing is
    positive). This is what the source's "saliency" figure actually drew: it called ``visualize_cam``.
    """
    import keras
    import tensorflow as tf

    network = backprop_model(model, None)
    batch = tf.convert_to_tensor(_as_batch(x, model))
    mask = _class_mask(int(network.output_shape[-1]), class_index, int(batch.shape[0]))
    grad_model = keras.Model(_inputs(network), [_layer(network, conv_layer).output, network.outputs[0]])
    with tf.GradientTape() as tape:
        features, logits = grad_model(batch, training=False)
        score = tf.reduce_sum(logits * mask)
    gradients = tape.gradient(score, features)
    if features.shape.rank != 4:
        raise ValueError(f"conv_layer must output (n, h, w, channels); {conv_layer!r} gives {features.shape}")
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[..., None]
    cam = tf.image.resize(cam, batch.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype("float32")


def mass_inside(maps: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Fraction of each map's total inside its box ``(row0, col0, row1, col1)``: ``(n,)``."""
    fractions = []
    for single, (r0, c0, r1, c1) in zip(np.asarray(maps), np.asarray(boxes)):
        total = float(single.sum())
        fractions.append(float(single[r0:r1, c0:c1].sum()) / total if total > 0 else 0.0)
    return np.array(fractions)


# ----------------------------------------------------------------------------------------------- atlas
@dataclasses.dataclass(frozen=True)
class AtlasCell:
    """One grid cell: position, how many activations fell in it, their mean, indices and its top class."""

    row: int
    col: int
    count: int
    members: np.ndarray
    mean_activation: np.ndarray
    top_class: int | None


@dataclasses.dataclass(frozen=True)
class ActivationAtlas:
    """``coordinates`` ``(n, 2)`` in [0, 1] (x, y after the 2-D projection), ``cells`` (non-empty ones only)."""

    coordinates: np.ndarray
    grid_size: int
    cells: list[AtlasCell]
    method: str


def project_2d(activations: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """``(n, d)`` activations → ``(n, 2)`` with PCA or t-SNE (scikit-learn), scaled to [0, 1] per axis."""
    features = np.asarray(activations, dtype="float64").reshape(len(activations), -1)
    if method == "pca":
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(features)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, random_state=seed, init="pca",
                      perplexity=min(30.0, max(2.0, (len(features) - 1) / 3))).fit_transform(features)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne'; got {method!r}")
    low, high = points.min(axis=0), points.max(axis=0)
    return (points - low) / np.where(high > low, high - low, 1.0)


def activation_atlas(activations, grid_size: int = 8, method: str = "pca",
                     class_scores: Callable[[np.ndarray], np.ndarray] | None = None, labels=None,
                     seed: int = 0) -> ActivationAtlas:
    """A simplified activation atlas (Carter et al. 2019; 000 §5).

    Activations ``(n, d)`` are projected to 2-D (:func:`project_2d`), binned on a ``grid_size``×``grid_size`` grid
    and averaged per cell. Each cell's label is ``argmax(class_scores(mean_activation))`` (the class the averaged
    activation supports most, e.g. the network's head) or, without ``class_scores``, the most common of ``labels``.
    """
    if grid_size < 1:
        raise ValueError(f"grid_size must be ≥ 1; got {grid_size}")
    features = np.asarray(activations, dtype="float32").reshape(len(activations), -1)
    if len(features) < 3:
        raise ValueError(f"activations must hold at least 3 rows; got {len(features)}")
    coordinates = project_2d(features, method, seed)
    index = np.minimum((coordinates * grid_size).astype(int), grid_size - 1)
    rows = grid_size - 1 - index[:, 1]                               # y up, like a scatter plot
    cols = index[:, 0]
    cells = []
    for row in range(grid_size):
        for col in range(grid_size):
            members = np.flatnonzero((rows == row) & (cols == col))
            if not len(members):
                continue
            mean = features[members].mean(axis=0)
            if class_scores is not None:
                top = int(np.argmax(np.asarray(class_scores(mean[None]))[0]))
            elif labels is not None:
                top = int(np.bincount(np.asarray(labels)[members]).argmax())
            else:
                top = None
            cells.append(AtlasCell(row, col, len(members), members, mean, top))
    return ActivationAtlas(coordinates, grid_size, cells, method)


def direction_visualization(feature_model, directions: np.ndarray, *, steps: int = 60, step_size: float = 0.05,
                            value_range=(0.0, 1.0), seed: int = 0, tv_weight: float = 0.5) -> np.ndarray:
    """Feature visualisation of activation *directions* (the atlas' per-cell icons): for each row ``v`` of
    ``directions`` ``(k, d)``, gradient ascent on ``⟨f(x), v⟩ / |v|`` from noise, with a TV penalty. Returns
    ``(k, *input_shape)``. All cells are optimised together as one batch."""
    import tensorflow as tf

    low, high = value_range
    vectors = np.asarray(directions, dtype="float32")
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
    rng = np.random.default_rng(seed)
    shape = (len(vectors), *feature_model.input_shape[1:])
    image = tf.constant(np.clip((low + high) / 2 + 0.1 * (high - low) * rng.standard_normal(shape),
                                low, high).astype("float32"))
    targets = tf.constant(vectors)

    @tf.function
    def ascend(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            features = tf.reshape(feature_model(image, training=False), (len(vectors), -1))
            objective = tf.reduce_sum(features * targets) - tv_weight * tf.reduce_sum(
                total_variation_mean(image)) / (high - low) ** 2
        gradient = tape.gradient(objective, image)
        rms = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=[1, 2, 3], keepdims=True)) + 1e-8
        return tf.clip_by_value(image + step_size * (high - low) * gradient / rms, low, high)

    for _ in range(steps):
        image = ascend(image)
    return image.numpy()


def draw_atlas(atlas: ActivationAtlas, cell_images: Sequence[np.ndarray], class_names=None, cmap="gray",
               title: str | None = None):
    """Draw the atlas: each non-empty cell's image, scaled by √(count / max count), labelled with its top class
    and count. ``cell_images``: one image per ``atlas.cells`` entry (``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``)."""
    import matplotlib.pyplot as plt

    from ..plots import normalise_for_display

    if len(cell_images) != len(atlas.cells):
        raise ValueError(f"cell_images has {len(cell_images)} images for {len(atlas.cells)} cells")
    size = atlas.grid_size
    figure, axes = plt.subplots(figsize=(min(1.1 * size, 11), min(1.1 * size, 11)))
    biggest = max(cell.count for cell in atlas.cells)
    for cell, image in zip(atlas.cells, cell_images):
        picture = normalise_for_display(np.asarray(image))
        if picture.ndim == 3 and picture.shape[-1] == 1:
            picture = picture[..., 0]
        half = 0.5 * np.sqrt(cell.count / biggest) * 0.9
        x, y = cell.col + 0.5, size - cell.row - 0.5
        axes.imshow(picture, cmap=cmap, extent=(x - half, x + half, y - half, y + half), vmin=0, vmax=1)
        name = (class_names[cell.top_class] if class_names is not None and cell.top_class is not None
                else cell.top_class)
        axes.text(x, y - 0.5, f"{name} ({cell.count})", ha="center", va="bottom", fontsize=7, color="tab:red")
    axes.set_xlim(0, size)
    axes.set_ylim(0, size)
    axes.set_aspect("equal")
    axes.set_xticks(range(size + 1))
    axes.set_yticks(range(size + 1))
    axes.set_xticklabels([])
    axes.set_yticklabels([])
    axes.grid(True, alpha=0.3)
    axes.set_title(title or f"activation atlas ({atlas.method.upper()}, {size}×{size} grid; label = top class "
                            "(count), size ∝ √count)", fontsize=9)
    return figure


# ----------------------------------------------------------------------------------------------- display helpers
def stitch_images(images: Sequence[np.ndarray], cols: int | None = None, margin: int = 2) -> np.ndarray:
    """keras-vis ``utils.stitch_images``: images of one shape side by side (``cols`` per row) with a white
    ``margin``; float images in [0, 1] out, ``(rows·h + (rows−1)·margin, cols·w + (cols−1)·margin[, c])``."""
    from ..plots import normalise_for_display

    pictures = [normalise_for_display(np.asarray(image)) for image in images]
    if not pictures or len({p.shape for p in pictures}) != 1:
        raise ValueError("images must be a non-empty sequence of arrays with one shape")
    cols = len(pictures) if cols is None else int(cols)
    if cols < 1 or margin < 0:
        raise ValueError(f"cols must be ≥ 1 and margin ≥ 0; got {cols}, {margin}")
    rows = -(-len(pictures) // cols)
    h, w = pictures[0].shape[:2]
    canvas = np.ones((rows * h + (rows - 1) * margin, cols * w + (cols - 1) * margin, *pictures[0].shape[2:]),
                     dtype="float32")
    for i, picture in enumerate(pictures):
        r, c = divmod(i, cols)
        canvas[r * (h + margin):r * (h + margin) + h, c * (w + margin):c * (w + margin) + w] = picture
    return canvas


def draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """keras-vis ``utils.draw_text``: ``text`` written in the top-left corner (black on a white box) with Pillow.
    Returns a uint8 RGB copy of ``image`` (grey and [0, 1] float images are converted)."""
    from PIL import Image, ImageDraw

    from ..plots import normalise_for_display

    picture = normalise_for_display(np.asarray(image))
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    canvas = Image.fromarray(np.round(picture * 255).astype("uint8"))
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((2, 1), str(text))
    draw.rectangle((0, 0, right + 2, bottom + 1), fill=(255, 255, 255))
    draw.text((2, 1), str(text), fill=(0, 0, 0))
    return np.asarray(canvas)


def deprocess_caffe(x: np.ndarray) -> np.ndarray:
    """VGG16 input (BGR, ImageNet mean pixel subtracted) → RGB float in [0, 1] for display."""
    mean_bgr = np.array([103.939, 116.779, 123.68], dtype="float32")
    return np.clip((np.asarray(x, dtype="float32") + mean_bgr)[..., ::-1] / 255.0, 0.0, 1.0)


def saliency_figure(model, images, classes: Sequence[int], conv_layer: str | None = None, cmap: str = "jet"):
    """The source's figure (004 §3), fixed: one row per image with the input and the vanilla, guided and relu
    saliency maps (``cmap='jet'``); with ``conv_layer`` a fifth column shows Grad-CAM, which is what the source's
    code (``visualize_cam``) actually drew. Rows are 1.6 in high (the source used 5×5 in per 1×4 row)."""
    import matplotlib.pyplot as plt

    batch = _as_batch(images, model)
    if len(classes) != len(batch):
        raise ValueError(f"classes has {len(classes)} entries for {len(batch)} images")
    columns = ["input", "vanilla", "guided", "relu"] + (["Grad-CAM (the source's call)"] if conv_layer else [])
    figure, axes = plt.subplots(len(batch), len(columns), figsize=(1.7 * len(columns), 1.6 * len(batch)),
                                squeeze=False)
    labels = [int(c) for c in classes]
    all_maps = [saliency(model, batch, labels, modifier) for modifier in MODIFIERS]     # one batch per rule
    if conv_layer:
        all_maps.append(grad_cam(model, batch, labels, conv_layer))
    for row, (image, label) in enumerate(zip(batch, classes)):
        maps = [rule_maps[row] for rule_maps in all_maps]
        picture = image[..., 0] if image.shape[-1] == 1 else image
        axes[row, 0].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
        axes[row, 0].set_ylabel(f"class {label}", fontsize=8)
        for column, heat in enumerate(maps, start=1):
            axes[row, column].imshow(heat, cmap=cmap, vmin=0, vmax=1)
        for column, title in enumerate(columns):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
            if row == 0:
                axes[row, column].set_title(title, fontsize=8)
    figure.tight_layout()
    return figure
