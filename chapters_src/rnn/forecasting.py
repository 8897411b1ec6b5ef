"""GRU forecasting of a daily stock index (source ch. 6 §6.9), with the honesty checks the source leaves out.

- :func:`generate_seq`: ``X[i] = data[i : i+T]``, ``Y[i] = data[i+T]`` → ``(N-T, T)`` and ``(N-T,)``; the DJIA's
  4,276 closes with T = 10 give (4266, 10).
- :func:`chronological_split`: the first 70 % for training (2,986 windows), the rest for testing (1,280).
- :func:`scale` / :func:`reverse_scale`: the source divides each window **and its target** by the window's last
  known price (future minima and maxima are unknown, so min–max scaling would leak); the inverse multiplies back.
- :func:`build_gru_forecaster`: ``GRU(256)`` → ``Dense(1)``, ``RMSprop(learning_rate=0.0006, rho=0.9,
  epsilon=1e-8)``, MSE: 199,169 parameters (Keras' default ``reset_after=True``; 198,401 with ``False``).
- :func:`persistence_mse`: the "tomorrow = today" baseline. In scaled units its MSE is the mean squared daily
  return; a model that only learned to output 1.0 reaches it exactly. The source never prints it.
- :func:`train_forecaster`: :func:`chapters_src.training.fit` (best checkpoint, early stopping, resume) plus a
  ``TensorBoard`` callback that writes event files; the figures come from the history, not a TensorBoard server.

The source validates (early stopping, checkpoint) on its test set; here the validation windows are the last part
of the training period, and the test period is scored once at the end.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOURCE_ROWS = 4_276
SOURCE_WINDOW = 10
SOURCE_TRAIN_RATIO = 0.7
SOURCE_PARAMETERS = {True: 199_169, False: 198_401}   # reset_after → parameters of GRU(256) + Dense(1)
SOURCE_VALIDATION_LOSS = {1: 0.0038, 11: 9.0839e-04, 52: 6.0911e-05, 99: 5.2291e-05, 241: 7.5277e-05,
                          242: 9.1636e-05}
SCALINGS = ("last_value", "standardise")


def generate_seq(data, window_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of a 1-D series: ``X`` ``(N - T, T)`` (float64) and the next values ``Y`` ``(N - T,)``."""
    data = np.asarray(data, dtype="float64")
    if data.ndim != 1:
        raise ValueError(f"data must be one-dimensional; got shape {data.shape}")
    if isinstance(window_size, bool) or not isinstance(window_size, int) or not 1 <= window_size < len(data):
        raise ValueError(f"window_size must be an integer in [1, {len(data) - 1}]; got {window_size!r}")
    x = np.lib.stride_tricks.sliding_window_view(data[:-1], window_size).copy()
    return x, data[window_size:].copy()


def chronological_split(x, y, train_ratio: float = SOURCE_TRAIN_RATIO):
    """``(x_train, y_train), (x_test, y_test)``: the first ``int(train_ratio · n)`` windows, then the rest (no
    shuffling: the test period lies after the training period)."""
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must be in (0, 1); got {train_ratio!r}")
    n_train = int(train_ratio * len(x))
    if n_train < 1 or n_train >= len(x):
        raise ValueError(f"train_ratio={train_ratio} leaves an empty split of {len(x)} windows")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def scale(x, y=None):
    """Divide every window (and its target) by the window's last value: ``X[:, -1]`` becomes 1.

    Returns ``x_scaled`` or ``(x_scaled, y_scaled)``. ``ValueError`` if a window ends in 0."""
    x = np.asarray(x, dtype="float64")
    last = x[:, -1]
    if np.any(last == 0):
        raise ValueError("a window ends in 0: per-window scaling by the last value is undefined (use standardise)")
    x_scaled = x / last[:, None]
    return x_scaled if y is None else (x_scaled, np.asarray(y, dtype="float64") / last)


def reverse_scale(x, y_scaled) -> np.ndarray:
    """Undo :func:`scale` for targets or predictions: ``y_scaled · X[:, -1]`` (``x`` unscaled)."""
    return np.asarray(y_scaled, dtype="float64").reshape(-1) * np.asarray(x, dtype="float64")[:, -1]


def persistence_mse(x, y) -> dict[str, float]:
    """The "tomorrow = today" forecast ``ŷ = X[:, -1]``: MSE in price units and in scaled units (where ŷ = 1)."""
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    return {"price": float(np.mean((y - x[:, -1]) ** 2)), "scaled": float(np.mean((y / x[:, -1] - 1.0) ** 2))}


@dataclass
class ForecastData:
    """Windows of one series, split chronologically into train / validation / test.

    ``x_*`` are the raw windows ``(n, T)``, ``y_*`` the raw next values; ``inputs(split)`` and ``targets(split)``
    give the model's scaled arrays ``(n, T, 1)`` and ``(n,)``; ``to_original(split, predictions)`` undoes the
    scaling. ``scaling``: ``"last_value"`` (the source's) or ``"standardise"`` (train mean and standard
    deviation, for a series that reaches 0 such as sunspots)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scaling: str
    mean: float = 0.0
    std: float = 1.0

    def _split(self, split: str):
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test'; got {split!r}")
        return getattr(self, f"x_{split}"), getattr(self, f"y_{split}")

    def inputs(self, split: str) -> np.ndarray:
        x, _ = self._split(split)
        scaled = scale(x) if self.scaling == "last_value" else (x - self.mean) / self.std
        return scaled[..., None].astype("float32")

    def targets(self, split: str) -> np.ndarray:
        x, y = self._split(split)
        scaled = scale(x, y)[1] if self.scaling == "last_value" else (y - self.mean) / self.std
        return scaled.astype("float32")

    def to_original(self, split: str, predictions) -> np.ndarray:
        x, _ = self._split(split)
        predictions = np.asarray(predictions, dtype="float64").reshape(-1)
        return reverse_scale(x, predictions) if self.scaling == "last_value" else predictions * self.std + self.mean


def prepare_windows(values, window_size: int = SOURCE_WINDOW, *, train_ratio: float = SOURCE_TRAIN_RATIO,
                    validation_fraction: float = 0.15, scaling: str = "last_value") -> ForecastData:
    """:func:`generate_seq` + :func:`chronological_split`; the last ``validation_fraction`` of the training windows
    become the validation set (the source validated on its test set)."""
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}; got {scaling!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction!r}")
    x, y = generate_seq(values, window_size)
    (x_fit, y_fit), (x_test, y_test) = chronological_split(x, y, train_ratio)
    n_train = len(x_fit) - max(int(round(validation_fraction * len(x_fit))), 1)
    train_values = np.asarray(values, dtype="float64")[:n_train + window_size]
    return ForecastData(x_fit[:n_train], y_fit[:n_train], x_fit[n_train:], y_fit[n_train:], x_test, y_test,
                        scaling, float(train_values.mean()), float(train_values.std()))


def build_gru_forecaster(window_size: int = SOURCE_WINDOW, units: int = 256, *, learning_rate: float = 0.0006,
                         reset_after: bool = True):
    """``Input((window_size, 1))`` → ``GRU(units)`` → ``Dense(1)``, RMSprop(learning_rate, rho=0.9, epsilon=1e-8),
    MSE (the source: 256 units, learning rate 0.0006; its prose says 0.006, its code 0.0006)."""
    import keras

    for name, value in (("window_size", window_size), ("units", units)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    inputs = keras.Input((window_size, 1), name="scaled_window")
    h = keras.layers.GRU(units, reset_after=reset_after, name="gru")(inputs)
    outputs = keras.layers.Dense(1, name="next_value")(h)
    model = keras.Model(inputs, outputs, name="gru_forecaster")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, rho=0.9, epsilon=1e-8),
                  loss="mean_squared_error")
    return model


def tensorboard_callback(log_dir):
    """A callback writing TensorBoard event files to ``log_dir`` (view with ``tensorboard --logdir``).

    ``keras.callbacks.TensorBoard`` when the ``tensorboard`` package is installed; otherwise (the pinned CPU
    environment ships TensorFlow without it, and ``tf.summary.scalar`` then raises) :func:`event_file_logger`,
    which writes the same per-epoch scalars with TensorFlow's core summary ops."""
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorboard") is not None:
        return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=True, write_images=False)
    return event_file_logger(log_dir)


def event_file_logger(log_dir):
    """A Keras callback writing each epoch's logs as TensorBoard scalars (``epoch_loss`` in ``train/``,
    ``validation/``), as ``keras.callbacks.TensorBoard`` lays them out, without the tensorboard package."""
    import keras
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    class EventFileLogger(keras.callbacks.Callback):
        def __init__(self, folder):
            super().__init__()
            self.folder = Path(folder)
            self.writers = {}
            self.metadata = summary_pb2.SummaryMetadata()
            self.metadata.plugin_data.plugin_name = "scalars"

        def _writer(self, split):
            if split not in self.writers:
                self.writers[split] = tf.summary.create_file_writer(str(self.folder / split))
            return self.writers[split]

        def on_epoch_end(self, epoch, logs=None):
            for name, value in (logs or {}).items():
                split, metric = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
                with self._writer(split).as_default():
                    tf.summary.write(f"epoch_{metric}", tf.constant(float(value)), step=epoch,
                                     metadata=self.metadata)
            for writer in self.writers.values():
                writer.flush()

        def on_train_end(self, logs=None):
            for writer in self.writers.values():
                writer.close()
            self.writers = {}

    return EventFileLogger(log_dir)


def event_files(log_dir) -> list[Path]:
    """TensorBoard event files written under ``log_dir``."""
    return sorted(Path(log_dir).rglob("events.out.tfevents.*"))


def train_forecaster(windows: ForecastData, *, units: int, epochs: int, batch_size: int, run_dir,
                     patience: int | None = 100, learning_rate: float = 0.0006, verbose="auto"):
    """Train :func:`build_gru_forecaster` on ``windows`` with :func:`chapters_src.training.fit` (best checkpoint,
    early stopping on the validation loss, best weights restored, resume) and a TensorBoard callback writing to
    ``run_dir/logs``. Returns ``(model, result)``."""
    from chapters_src import training

    model = build_gru_forecaster(windows.x_train.shape[1], units, learning_rate=learning_rate)
    result = training.fit(model, windows.inputs("train"), windows.targets("train"),
                          validation_data=(windows.inputs("val"), windows.targets("val")), epochs=epochs,
                          batch_size=batch_size, run_dir=run_dir, early_stopping_patience=patience,
                          callbacks=[tensorboard_callback(Path(run_dir) / "logs")], verbose=verbose)
    return model, result


def evaluate(model, windows: ForecastData, split: str = "test") -> dict[str, float]:
    """Model vs persistence on ``split``: MSE in scaled units and in the series' units, and the ratio model/baseline
    (below 1: the model beats "tomorrow = today")."""
    x, y = windows._split(split)
    predictions = np.asarray(model.predict(windows.inputs(split), verbose=0)).reshape(-1)
    original = windows.to_original(split, predictions)
    baseline_scaled = (windows.inputs(split)[:, -1, 0] - windows.targets(split)).astype("float64")
    result = {
        "model_mse_scaled": float(np.mean((predictions - windows.targets(split)) ** 2)),
        "persistence_mse_scaled": float(np.mean(baseline_scaled ** 2)),
        "model_mse": float(np.mean((original - y) ** 2)),
        "persistence_mse": persistence_mse(x, y)["price"],
    }
    result["ratio"] = result["model_mse"] / result["persistence_mse"]
    return result


def plot_predictions(time_axis, truth, predictions: dict, title: str = "", ylabel: str = "price"):
    """The true series and one line per entry of ``predictions`` (label → values aligned with ``truth``)."""
    import matplotlib.pyplot as plt

    from chapters_src import plots

    with plots.style_context():
        figure, axes = plt.subplots(figsize=(8, 3.5))
        axes.plot(time_axis, truth, color="black", linewidth=1.0, label="original series")
        for label, values in predictions.items():
            axes.plot(time_axis, values, linewidth=1.0, alpha=0.85, label=label)
        axes.set_xlabel("time")
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.legend()
    return figure
