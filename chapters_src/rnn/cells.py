"""One step of the vanilla RNN, LSTM and GRU in NumPy, written to match Keras' layers weight for weight.

Keras stores each recurrent layer as ``kernel`` (input → gates, shape ``(features, g·units)``),
``recurrent_kernel`` (state → gates, ``(units, g·units)``) and ``bias``. The gates are stacked side by side:

- ``SimpleRNN`` (g = 1):  ``h_t = a(x_t K + h_{t-1} R + b)``; the source writes ``s_t = a(U x_t + W s_{t-1})``.
- ``LSTM`` (g = 4, order **i, f, c, o**): ``c_t = f ⊙ c_{t-1} + i ⊙ tanh(...)``, ``h_t = o ⊙ tanh(c_t)``.
- ``GRU`` (g = 3, order **z, r, h**): ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃``. Keras' update gate ``z`` is the
  source's ``p``. With ``reset_after=False`` (the source's formula) the reset gate multiplies the state *before*
  the recurrent matrix, ``h̃ = tanh(x K_h + (r ⊙ h_{t-1}) R_h + b_h)``; Keras' default ``reset_after=True`` (the
  cuDNN form) multiplies *after* it, ``h̃ = tanh(x K_h + b_h + r ⊙ (h_{t-1} R_h + b'_h))``, with a second bias
  row (bias shape ``(2, 3·units)``).

All functions take batches: ``x`` is ``(batch, features)``, states are ``(batch, units)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}
LSTM_GATE_ORDER = ("input i", "forget f", "candidate c", "output o")
GRU_GATE_ORDER = ("update z (the source's p)", "reset r", "candidate h")
ARCHITECTURES = ("one_to_many", "many_to_one", "many_to_many_synced", "many_to_many_unsynced")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + e^{-z})`` (Keras' default ``recurrent_activation``)."""
    return ACTIVATIONS["sigmoid"](z)


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]


def simple_rnn_step(x, h, kernel, recurrent_kernel, bias, activation: str = "tanh") -> np.ndarray:
    """Vanilla RNN: ``h_t = a(x_t K + h_{t-1} R + b)``; x ``(batch, features)``, h ``(batch, units)``."""
    return _activation(activation)(x @ kernel + h @ recurrent_kernel + bias)


def lstm_step(x, h, c, kernel, recurrent_kernel, bias) -> tuple[np.ndarray, np.ndarray]:
    """LSTM, Keras gate order i, f, c, o; returns ``(h_t, c_t)`` with ``h_t = o ⊙ tanh(c_t)``.

    The candidate uses tanh (the source prints "sigmoid", a typo its own text contradicts) and the hidden state is
    ``o ⊙ tanh(c_t)`` (the source prints ``o ⊙ c_t``)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, candidate, o = np.split(z, 4, axis=-1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(candidate)
    return sigmoid(o) * np.tanh(c_new), c_new


def gru_step(x, h, kernel, recurrent_kernel, bias, reset_after: bool = False) -> np.ndarray:
    """GRU, Keras gate order z, r, h; ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃``.

    ``reset_after=False``: the source's formula (bias ``(3·units,)``). ``reset_after=True``: Keras' default, bias
    ``(2, 3·units)`` = input bias and recurrent bias."""
    units = h.shape[-1]
    if reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    from_input = x @ kernel + input_bias
    z = sigmoid(from_input[:, :units] + h @ recurrent_kernel[:, :units] + recurrent_bias[:units])
    r = sigmoid(from_input[:, units:2 * units] + h @ recurrent_kernel[:, units:2 * units]
                + recurrent_bias[units:2 * units])
    if reset_after:
        candidate = np.tanh(from_input[:, 2 * units:] + r * (h @ recurrent_kernel[:, 2 * units:]
                                                             + recurrent_bias[2 * units:]))
    else:
        candidate = np.tanh(from_input[:, 2 * units:] + (r * h) @ recurrent_kernel[:, 2 * units:])
    return z * h + (1.0 - z) * candidate


def run_layer(kind: str, inputs, weights: Sequence[np.ndarray], *, activation: str = "tanh",
              reset_after: bool = False, return_sequences: bool = True) -> np.ndarray:
    """Run a whole sequence ``inputs`` ``(batch, time, features)`` through one cell from a zero state.

    ``kind``: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``; ``weights``: the layer's ``get_weights()`` list.
    Returns ``(batch, time, units)`` (or the last state ``(batch, units)`` without ``return_sequences``)."""
    inputs = np.asarray(inputs, dtype="float64")
    if inputs.ndim != 3:
        raise ValueError(f"inputs must have shape (batch, time, features); got {inputs.shape}")
    kernel, recurrent_kernel, bias = (np.asarray(w, dtype="float64") for w in weights)
    units = recurrent_kernel.shape[0]
    h = np.zeros((inputs.shape[0], units))
    c = np.zeros_like(h)
    outputs = []
    for t in range(inputs.shape[1]):
        x = inputs[:, t]
        if kind == "simple_rnn":
            h = simple_rnn_step(x, h, kernel, recurrent_kernel, bias, activation)
        elif kind == "lstm":
            h, c = lstm_step(x, h, c, kernel, recurrent_kernel, bias)
        elif kind == "gru":
            h = gru_step(x, h, kernel, recurrent_kernel, bias, reset_after=reset_after)
        else:
            raise ValueError(f"kind must be 'simple_rnn', 'lstm' or 'gru'; got {kind!r}")
        outputs.append(h)
    return np.stack(outputs, axis=1) if return_sequences else h


def parameter_count(kind: str, features: int, units: int, *, reset_after: bool = True) -> int:
    """Parameters of one Keras recurrent layer: ``g·(features·units + units² + units)`` with g = 1 / 4 / 3 gates
    (GRU with ``reset_after=True`` has a second bias: ``3·(features·units + units² + 2·units)``)."""
    for name, value in (("features", features), ("units", units)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}
    if kind not in gates:
        raise ValueError(f"kind must be one of {', '.join(gates)}; got {kind!r}")
    biases = 2 if (kind == "gru" and reset_after) else 1
    return gates[kind] * (features * units + units * units + biases * units)


# ------------------------------------------------------------------------------------------------ BPTT
def gradient_norms_by_lag(kind: str, *, units: int = 32, features: int = 8, time_steps: int = 60, batch: int = 16,
                          input_scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """‖∂h_T / ∂x_{T-k}‖ for k = 0 … time_steps-1, averaged over a random batch, for a freshly initialised
    Keras layer (``"simple_rnn"`` with tanh, ``"lstm"`` or ``"gru"``).

    Backpropagation through time multiplies one Jacobian per step: for the vanilla RNN
    ``∂h_t/∂h_{t-1} = diag(1 - h_t²) Rᵀ``, whose product shrinks geometrically; the LSTM's additive cell path
    (forget gate near 1, Keras' ``unit_forget_bias``) shrinks much more slowly. Uses a TensorFlow gradient tape."""
    import keras
    import tensorflow as tf

    layers = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if kind not in layers:
        raise ValueError(f"kind must be one of {', '.join(layers)}; got {kind!r}")
    layer = layers[kind](units, seed=seed)
    x = tf.Variable((input_scale * np.random.default_rng(seed).normal(size=(batch, time_steps, features))).astype("float32"))
    with tf.GradientTape() as tape:
        last_state = layer(x)
        target = tf.reduce_sum(last_state * tf.constant(
            np.random.default_rng(seed + 1).normal(size=(1, units)).astype("float32")))
    gradient = tape.gradient(target, x).numpy()                        # (batch, time, features)
    norms = np.linalg.norm(gradient, axis=-1).mean(axis=0)             # (time,)
    return norms[::-1].copy()                                          # index k = lag from the last step


# ------------------------------------------------------------------------------------------------ I/O architectures
@dataclass(frozen=True)
class ToyTask:
    """A small supervised task for one input/output architecture: inputs ``x``, targets ``y`` (int classes),
    the number of classes and what it asks, in words."""

    name: str
    x: np.ndarray
    y: np.ndarray
    classes: int
    description: str


def toy_task(architecture: str, samples: int = 512, length: int = 6, classes: int = 5, seed: int = 0) -> ToyTask:
    """Data for each of the source's four input/output architectures (§6.3), integer tokens ``0..classes-1``:

    - ``one_to_many``: one token d → the sequence d, d+1, … (mod ``classes``) of ``length`` tokens ("count on");
    - ``many_to_one``: a sequence → its **first** token (it must be remembered to the end);
    - ``many_to_many_synced``: a sequence → at each step the larger of the current and the previous token;
    - ``many_to_many_unsynced``: a sequence → the same tokens reversed, output only after the whole input is read.

    ``x`` is one-hot ``(samples, 1 or length, classes)`` float32; ``y`` int ``(samples,)`` or ``(samples, length)``."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise ValueError(f"length must be an integer >= 2; got {length!r}")
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, classes, size=(samples, length))
    if architecture == "one_to_many":
        start = tokens[:, :1]
        x, y = start, (start + np.arange(length)) % classes
        text = f"one token d → the {length} tokens d, d+1, … (mod {classes})"
    elif architecture == "many_to_one":
        x, y = tokens, tokens[:, 0]
        text = f"{length} tokens → the first token (it has to be remembered to the end)"
    elif architecture == "many_to_many_synced":
        previous = np.concatenate([np.zeros((samples, 1), dtype=tokens.dtype), tokens[:, :-1]], axis=1)
        x, y = tokens, np.maximum(tokens, previous)
        text = "at every step: the larger of this token and the previous one"
    else:
        x, y = tokens, tokens[:, ::-1]
        text = f"{length} tokens → the same tokens in reverse order"
    one_hot = np.eye(classes, dtype="float32")[x]
    return ToyTask(architecture, one_hot, y.astype("int64"), classes, text)


def build_io_model(architecture: str, *, classes: int = 5, length: int = 6, units: int = 32):
    """A small Keras model for ``architecture`` (see :func:`toy_task`), compiled with Adam(0.01) and sparse CE.

    - one-to-many: ``Dense`` → ``RepeatVector(length)`` → ``SimpleRNN(return_sequences)`` → per-step ``Dense``;
    - many-to-one: ``SimpleRNN`` (last state only) → ``Dense``;
    - synced many-to-many: ``SimpleRNN(return_sequences=True)`` → per-step ``Dense``;
    - unsynced many-to-many (encoder–decoder): ``LSTM`` encoder → ``RepeatVector(length)`` → ``LSTM`` decoder →
      per-step ``Dense``."""
    import keras
    from keras import layers

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
    steps_in = 1 if architecture == "one_to_many" else length
    inputs = keras.Input((steps_in, classes), name="tokens")
    if architecture == "one_to_many":
        h = layers.Flatten()(inputs)
        h = layers.Dense(units, activation="tanh")(h)
        h = layers.RepeatVector(length)(h)
        h = layers.SimpleRNN(units, return_sequences=True)(h)
    elif architecture == "many_to_one":
        h = layers.SimpleRNN(units)(inputs)
    elif architecture == "many_to_many_synced":
        h = layers.SimpleRNN(units, return_sequences=True)(inputs)
    else:
        h = layers.LSTM(units)(inputs)
        h = layers.RepeatVector(length)(h)
        h = layers.LSTM(units, return_sequences=True)(h)
    outputs = layers.Dense(classes, activation="softmax", name="token_probabilities")(h)
    model = keras.Model(inputs, outputs, name=architecture)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def draw_architecture(architecture: str, steps: int = 4):
    """Boxes and arrows of one input/output architecture (inputs bottom, RNN cells middle, outputs top)."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
    if architecture == "many_to_many_unsynced":
        columns = 2 * steps - 1
        inputs, outputs = range(steps), range(steps - 1, columns)
    else:
        columns = steps
        inputs = [0] if architecture == "one_to_many" else range(steps)
        outputs = [steps - 1] if architecture == "many_to_one" else range(steps)
    colours = plots.PALETTE
    with plots.style_context():
        figure, axes = plt.subplots(figsize=(1.0 + 0.9 * columns, 2.6))
        for column in range(columns):
            axes.add_patch(plt.Rectangle((column - 0.3, 0.8), 0.6, 0.5, color=colours[2], alpha=0.8))
            if column > 0:
                axes.annotate("", (column - 0.3, 1.05), (column - 0.7, 1.05), arrowprops=dict(arrowstyle="->"))
        for column in inputs:
            axes.add_patch(plt.Rectangle((column - 0.25, 0.0), 0.5, 0.4, color=colours[0], alpha=0.8))
            axes.annotate("", (column, 0.8), (column, 0.4), arrowprops=dict(arrowstyle="->"))
        for column in outputs:
            axes.add_patch(plt.Rectangle((column - 0.25, 1.7), 0.5, 0.4, color=colours[3], alpha=0.8))
            axes.annotate("", (column, 1.7), (column, 1.3), arrowprops=dict(arrowstyle="->"))
        axes.set_xlim(-0.7, columns - 0.3)
        axes.set_ylim(-0.2, 2.3)
        axes.set_aspect("equal")
        axes.axis("off")
        axes.set_title(architecture.replace("_", " ").replace("many to many", "many-to-many").replace(
            "one to many", "one-to-many").replace("many to one", "many-to-one"))
    return figure
