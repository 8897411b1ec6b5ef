"""Feature extraction and two-phase transfer learning (TF1 cookbook, ch. 5 recipes 4–5; Stewart §6).

- :func:`feature_extractor` / :func:`layer_listing`: a model ending at an intermediate layer (``block4_pool`` of
  VGG16 gives ``(1, 14, 14, 512)`` for a 224×224 image, ``fc2`` gives ``(1, 4096)``); listings use
  ``layer.output.shape`` (Keras 3 has no ``layer.output_shape``).
- :func:`build_transfer_model`: the source's new head GAP → Dense(1024, relu) → Dense(n, softmax) on a base.
- :func:`freeze`, :func:`unfreeze_from`, :func:`compile_phase`: phase 1 trains the head with the base frozen
  (RMSprop); phase 2 unfreezes the top of the base from a layer *found by name* and fine-tunes with
  ``SGD(learning_rate=1e-4, momentum=0.9)``. For InceptionV3 the top two inception blocks start right after
  ``mixed8`` (index 249 in today's Keras); the source's hard-coded 172 dates from Keras 1.
- :func:`digits_transfer_experiment`: the offline stand-in for "Hotdog / NotHotdog": a small CNN pretrained on
  digits 0–4, transferred to 5–9 with 100 labelled examples, against the same network trained from scratch.

Batch normalisation when frozen: in Keras 3 a ``BatchNormalization`` layer with ``trainable=False`` runs in
inference mode (it uses and keeps its moving statistics, even inside ``fit``), so unfreezing the base later does
not wreck what the head has learned. Keep such layers frozen in phase 2 as well (``keep_batch_norm_frozen``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

#: The source's freeze boundary for InceptionV3 (Keras 1 layer list) and today's: the top two blocks.
SOURCE_FREEZE_INDEX = 172
INCEPTION_TOP_BLOCKS_AFTER = "mixed8"


def feature_extractor(base, layer_name: str):
    """``keras.Model(inputs=base.input, outputs=base.get_layer(layer_name).output)`` (Keras 3 keywords; the
    source's ``Model(input=..., output=...)`` raises ``TypeError``)."""
    import keras

    return keras.Model(inputs=base.input, outputs=base.get_layer(layer_name).output, name=f"features_{layer_name}")


def layer_listing(model, last: int | None = None) -> list[tuple[int, str, tuple]]:
    """``(index, name, output shape)`` per layer (the last ``last`` only, if given)."""
    rows = [(index, layer.name, tuple(layer.output.shape)) for index, layer in enumerate(model.layers)]
    return rows[-last:] if last else rows


def build_transfer_model(base, num_classes: int, hidden_units: int = 1024, name: str = "transfer"):
    """``base`` (a model ending in a feature map) + GAP → Dense(hidden_units, relu) → Dense(num_classes, softmax).

    The head's layers are named ``head_pool``, ``head_dense`` and ``head_predictions``.
    """
    import keras

    if num_classes < 2 or hidden_units < 1:
        raise ValueError(f"num_classes must be ≥ 2 and hidden_units ≥ 1; got {num_classes}, {hidden_units}")
    if len(base.output.shape) != 4:
        raise ValueError(f"base must output a feature map (batch, h, w, c); got {base.output.shape}")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(base.output)
    x = keras.layers.Dense(hidden_units, activation="relu", name="head_dense")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head_predictions")(x)
    return keras.Model(inputs=base.input, outputs=outputs, name=name)


def head_layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers if layer.name.startswith("head_")]


def freeze(model, keep_trainable=()) -> None:
    """Phase 1: every layer frozen except the head (``head_*``) and the names in ``keep_trainable``."""
    for layer in model.layers:
        layer.trainable = layer.name.startswith("head_") or layer.name in keep_trainable


def layer_index(model, layer_name: str) -> int:
    """Index of ``layer_name`` in ``model.layers`` (``ValueError`` naming a few valid layers otherwise)."""
    for index, layer in enumerate(model.layers):
        if layer.name == layer_name:
            return index
    names = [layer.name for layer in model.layers]
    raise ValueError(f"layer_name {layer_name!r} is not in the model; layers include {names[:3]} … {names[-3:]}")


def unfreeze_from(model, layer_name: str | None = None, *, after: str | None = None,
                  keep_batch_norm_frozen: bool = True) -> int:
    """Phase 2: freeze ``model.layers[:i]`` and unfreeze ``model.layers[i:]``, where ``i`` is the index of
    ``layer_name`` or the index after ``after`` (e.g. ``after="mixed8"`` for InceptionV3's top two blocks).
    BatchNormalization layers stay frozen unless ``keep_batch_norm_frozen=False``. Returns ``i``."""
    import keras

    if (layer_name is None) == (after is None):
        raise ValueError("give exactly one of layer_name or after")
    start = layer_index(model, layer_name) if layer_name is not None else layer_index(model, after) + 1
    for index, layer in enumerate(model.layers):
        layer.trainable = index >= start and not (
            keep_batch_norm_frozen and isinstance(layer, keras.layers.BatchNormalization))
    return start


def trainable_layer_names(model) -> list[str]:
    """Names of the layers that own trainable weights now."""
    return [layer.name for layer in model.layers if layer.trainable and layer.trainable_weights]


def compile_phase(model, phase: int, learning_rate: float | None = None) -> None:
    """Compile for phase 1 (``RMSprop()``, Keras defaults as in the source) or phase 2 (``SGD(learning_rate=1e-4,
    momentum=0.9)``; the source's ``SGD(lr=...)`` is rejected by Keras 3). Sparse categorical cross-entropy
    (integer labels; the source used one-hot labels with categorical cross-entropy: the same loss)."""
    import keras

    if phase == 1:
        optimizer = keras.optimizers.RMSprop() if learning_rate is None else keras.optimizers.RMSprop(learning_rate)
    elif phase == 2:
        optimizer = keras.optimizers.SGD(learning_rate=1e-4 if learning_rate is None else learning_rate,
                                         momentum=0.9)
    else:
        raise ValueError(f"phase must be 1 or 2; got {phase}")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)


# ----------------------------------------------------------------------------------------------------------------
# The offline demo: digits 0–4 → 5–9
# ----------------------------------------------------------------------------------------------------------------

def build_digit_base(input_shape=(28, 28, 1), width: int = 16, name: str = "digit_base"):
    """A small VGG-style base: three blocks of [3×3 conv → BN → ReLU → 2×2 max pool] with ``width``, 2·width and
    4·width filters; layers ``block{b}_conv``, ``block{b}_bn``, ``block{b}_relu``, ``block{b}_pool``."""
    import keras

    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for block in (1, 2, 3):
        x = keras.layers.Conv2D(width * 2 ** (block - 1), 3, padding="same", use_bias=False,
                                name=f"block{block}_conv")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = keras.layers.Activation("relu", name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name=name)


def split_digits(mnist_data, target_train_examples: int = 100, seed: int = 0):
    """Source task (digits 0–4, all examples) and target task (5–9 relabelled 0–4, ``target_train_examples``
    training images, all test images), as float32 ``(n, 28, 28, 1)`` in [0, 1]."""
    (x_train, y_train), (x_test, y_test) = mnist_data

    def prepare(x):
        return (np.asarray(x, "float32") / 255.0)[..., None]

    source = ((prepare(x_train[y_train < 5]), y_train[y_train < 5].astype("int64")),
              (prepare(x_test[y_test < 5]), y_test[y_test < 5].astype("int64")))
    target_x, target_y = prepare(x_train[y_train >= 5]), y_train[y_train >= 5].astype("int64") - 5
    keep = np.random.default_rng(seed).permutation(len(target_x))[:target_train_examples]
    target = ((target_x[keep], target_y[keep]),
              (prepare(x_test[y_test >= 5]), y_test[y_test >= 5].astype("int64") - 5))
    return source, target


@dataclasses.dataclass
class TransferResult:
    """Histories (``phase1``, ``phase2``, ``scratch``; each ``{"accuracy": [...], "val_accuracy": [...]}``), test
    accuracies on the target task and the trained models."""

    histories: dict
    accuracy: dict
    base: object = dataclasses.field(repr=False, default=None)
    transfer_model: object = dataclasses.field(repr=False, default=None)
    source_model: object = dataclasses.field(repr=False, default=None)


def _fit(model, data, epochs, batch_size):
    (x, y), (x_val, y_val) = data
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0)
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def _accuracy(model, data) -> float:
    import keras

    (_, _), (x_test, y_test) = data
    probabilities = keras.ops.convert_to_numpy(model(x_test, training=False))
    return float(np.mean(probabilities.argmax(axis=1) == y_test))


def digits_transfer_experiment(settings, mnist_data, seed: int = 0) -> TransferResult:
    """Pretrain :func:`build_digit_base` on digits 0–4, then the source's two phases on 5–9 (small data):
    phase 1 new head, base frozen, RMSprop; phase 2 unfreeze from ``block3_conv``, SGD(lr, momentum 0.9).
    Compare with the same network trained from scratch on the same small data for as many epochs in total."""
    import keras

    source, target = split_digits(mnist_data, settings.target_train_examples, seed)
    keras.utils.set_random_seed(seed)
    base = build_digit_base(width=settings.base_width)
    source_model = build_transfer_model(base, 5, settings.hidden_units, name="source_model")
    source_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                         metrics=["accuracy"], jit_compile=False)
    histories = {"pretrain": _fit(source_model, source, settings.pretrain_epochs, settings.batch_size)}
    accuracy = {"source task (0–4)": _accuracy(source_model, source)}

    model = build_transfer_model(base, 5, settings.hidden_units, name="transfer_model")   # new head, same base
    freeze(model)
    compile_phase(model, 1)
    histories["phase1"] = _fit(model, target, settings.phase1_epochs, settings.batch_size)
    accuracy["after phase 1 (head only)"] = _accuracy(model, target)
    unfreeze_from(model, "block3_conv")
    compile_phase(model, 2, settings.fine_tune_learning_rate)
    histories["phase2"] = _fit(model, target, settings.phase2_epochs, settings.batch_size)
    accuracy["after phase 2 (fine-tuned)"] = _accuracy(model, target)

    keras.utils.set_random_seed(seed + 1)
    scratch = build_transfer_model(build_digit_base(width=settings.base_width, name="scratch_base"), 5,
                                   settings.hidden_units, name="scratch_model")
    scratch.compile(optimizer=keras.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"], jit_compile=False)
    histories["scratch"] = _fit(scratch, target, settings.scratch_epochs, settings.batch_size)
    accuracy["from scratch"] = _accuracy(scratch, target)
    return TransferResult(histories, accuracy, base=base, transfer_model=model, source_model=source_model)


def plot_transfer(result: TransferResult):
    """Target-task validation accuracy per epoch: transfer (phase 1 then phase 2) against from scratch."""
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 3.4))
    phase1, phase2 = result.histories["phase1"]["val_accuracy"], result.histories["phase2"]["val_accuracy"]
    epochs = np.arange(1, len(phase1) + len(phase2) + 1)
    ax.plot(epochs[:len(phase1)], phase1, "o-", color="tab:blue", label="transfer, phase 1 (head, RMSprop)")
    ax.plot(epochs[len(phase1):], phase2, "s-", color="tab:green", label="transfer, phase 2 (top block, SGD)")
    scratch = result.histories["scratch"]["val_accuracy"]
    ax.plot(np.arange(1, len(scratch) + 1), scratch, "^--", color="tab:red", label="from scratch")
    ax.axhline(0.2, color="grey", linewidth=0.8, linestyle=":", label="chance (5 classes)")
    ax.set(xlabel="epoch", ylabel="test accuracy on digits 5–9", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def linear_probe(features_train, y_train, features_test, y_test, max_iter: int = 2000) -> float:
    """Test accuracy of a logistic regression on flattened features (are the features reusable?).

    Runs with one BLAS/OpenMP thread: the problem is tiny, and those threads competing with TensorFlow's made the
    same fit about 50× slower on a 2-core machine (same result either way)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        scaler = StandardScaler().fit(features_train.reshape(len(features_train), -1))
        classifier = LogisticRegression(max_iter=max_iter)
        classifier.fit(scaler.transform(features_train.reshape(len(features_train), -1)), y_train)
        return float(classifier.score(scaler.transform(features_test.reshape(len(features_test), -1)), y_test))
