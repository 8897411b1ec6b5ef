"""Fit a Keras model with progress, a checkpoint every epoch and resume after an interruption.

One call trains a compiled model and keeps everything needed to continue in ``run_dir``::

    result = training.fit(model, x_train, y_train, validation_data=(x_val, y_val),
                          epochs=settings.epochs, batch_size=settings.batch_size, run_dir="runs/mnist_convnet")
    training.plot_history(result)

Re-running the same cell after the kernel died (or the machine was switched off) continues from the last
completed epoch; re-running it after the run finished does not train again, it loads the trained weights.

Files in ``run_dir``:

- ``last.keras``   the full model (weights and optimizer state) after the last completed epoch;
- ``best.keras``   the model of the best epoch by ``monitor``;
- ``state.json``   last completed epoch, history of every epoch, best value, early-stopping counter.

Crash safety: each file is written to a temporary file in ``run_dir`` and moved into place with ``os.replace``
(atomic). ``state.json`` is the commit point of an epoch: the epoch's model is first saved as
``pending-epoch-NNNN.keras``, then the state naming that file is written, and only then the file is promoted
to ``last.keras`` (and copied to ``best.keras``). A process killed between two of these steps leaves either a
stray pending file that no state names (discarded on resume: that epoch runs again) or a committed state whose
pending file is promoted on resume. The state also records the byte size of ``last.keras``; a state whose
checkpoint is missing or differs is not trusted and the run starts fresh (with a message saying so).

Limits: one process per ``run_dir`` at a time. Internal counters of *your* callbacks (e.g. ``ReduceLROnPlateau``)
start again on resume; the learning rate itself is part of the optimizer state and is restored.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

STATE_FILENAME = "state.json"
LAST_CHECKPOINT_FILENAME = "last.keras"
BEST_CHECKPOINT_FILENAME = "best.keras"
PENDING_PREFIX = "pending-epoch-"
TEMPORARY_PREFIX = ".tmp-"
STATE_FORMAT_VERSION = 1
VERBOSE_CHOICES = ("auto", 0, 1, 2)
# Metrics where larger is better (same rule as keras.callbacks.EarlyStopping's "auto" mode).
_MAXIMISED_METRIC_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "top_k")


@dataclasses.dataclass
class TrainingResult:
    """What :func:`fit` returns.

    ``history`` maps each metric (``loss``, ``val_loss``, ...) to one value per epoch over the *whole* run,
    including epochs trained before an interruption. ``epochs_run`` counts the epochs trained by this call,
    ``resumed_from`` the epochs already done when it started (0 for a fresh run).
    """

    history: dict[str, list[float]]
    epochs_run: int
    resumed_from: int
    run_dir: Path
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    best_epoch: int | None
    best_value: float | None
    monitor: str
    stopped_early: bool
    model: Any = dataclasses.field(repr=False, default=None)

    @property
    def epochs_completed(self) -> int:
        """Epochs in the whole run (``resumed_from + epochs_run``, or the stored count for a finished run)."""
        return len(next(iter(self.history.values()), []))


def fit(
    model,
    x=None,
    y=None,
    *,
    train_data=None,
    validation_data=None,
    epochs: int,
    batch_size: int | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = True,
    early_stopping_patience: int | None = None,
    monitor: str = "val_loss",
    monitor_mode: str = "auto",
    restore_best_weights: bool = True,
    verbose="auto",
    callbacks: Iterable = (),
    fit_options: Mapping[str, Any] | None = None,
) -> TrainingResult:
    """Train ``model`` (compiled) for ``epochs`` epochs with a checkpoint per epoch in ``run_dir``; resume if possible.

    Data: either ``x`` (and ``y``) arrays as for ``model.fit`` with ``batch_size``, or ``train_data`` (a
    ``tf.data.Dataset`` or ``keras.utils.PyDataset`` yielding ``(inputs, targets)`` batches). ``fit_options``
    passes further ``model.fit`` keywords (``steps_per_epoch``, ``class_weight``, ``shuffle``, ...).

    ``early_stopping_patience``: stop after that many epochs without improvement of ``monitor`` (None: never).
    ``restore_best_weights``: with early stopping on, end with the weights of the best epoch (from ``best.keras``,
    optimizer state included). ``monitor_mode``: "min", "max" or "auto" (max for accuracy-like names).
    ``resume=False`` deletes the stored run and trains from the model's current weights.
    """
    _validate_fit_arguments(model, x, y, train_data, validation_data, epochs, batch_size, run_dir,
                            early_stopping_patience, monitor, monitor_mode, verbose, fit_options)
    run_path = Path(run_dir)
    mode = _resolve_mode(monitor, monitor_mode)
    user_callbacks = _validate_callbacks(callbacks)
    state = _prepare_run_dir(run_path, resume=resume, monitor=monitor, mode=mode)
    completed = state["epochs_completed"]
    if completed > 0:
        _ensure_built(model, x, train_data)
        _load_checkpoint(model, run_path / LAST_CHECKPOINT_FILENAME)
    if completed >= epochs or state["stopped_early"]:
        how = ", stopped early" if state["stopped_early"] else ""
        print(f"run {run_path} already finished ({completed} epochs{how}); not training again "
              "(resume=False trains from scratch)")
        _restore_best_if_wanted(model, run_path, state, early_stopping_patience, restore_best_weights)
        return _make_result(model, run_path, state, epochs_run=0, resumed_from=completed)
    if completed > 0:
        print(f"resuming from epoch {completed} of {epochs} (checkpoint {run_path / LAST_CHECKPOINT_FILENAME})")
    checkpointer = run_checkpoint_class()(run_path, state, monitor=monitor, mode=mode, patience=early_stopping_patience)
    model.fit(train_data if train_data is not None else x, y, batch_size=batch_size, epochs=epochs,
              initial_epoch=completed, validation_data=validation_data, verbose=verbose,
              callbacks=[*user_callbacks, checkpointer], **_fit_options(train_data, fit_options))
    state = checkpointer.state
    if state["stopped_early"]:
        print(f"early stopping after epoch {state['epochs_completed']}: no improvement of {monitor} for "
              f"{early_stopping_patience} epochs (best {_format_value(state['best_value'])} at epoch {state['best_epoch']})")
    _restore_best_if_wanted(model, run_path, state, early_stopping_patience, restore_best_weights)
    return _make_result(model, run_path, state, epochs_run=state["epochs_completed"] - completed,
                        resumed_from=completed)


def plot_history(result, metrics=None, title=None):
    """Learning curves of a :class:`TrainingResult` (or History / dict); see :func:`chapters_src.plots.learning_curves`."""
    from chapters_src import plots

    return plots.learning_curves(result, metrics=metrics, title=title)


def read_state(run_dir: str | os.PathLike) -> dict | None:
    """The stored state of ``run_dir`` as a dict, or None when there is none (or it cannot be read)."""
    path = Path(run_dir) / STATE_FILENAME
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("format") == STATE_FORMAT_VERSION else None


# --------------------------------------------------------------------------------------------- the callback
@functools.cache
def run_checkpoint_class():
    """The Keras callback class used by :func:`fit` (built on first use so that importing this module does not
    import TensorFlow).

    After each epoch it records the logs, tracks the best ``monitor`` value and the early-stopping counter, then
    commits the epoch (model → pending file → state.json → last.keras / best.keras). :func:`fit` places it after
    the user's callbacks so that the saved optimizer state includes their changes (e.g. a reduced learning rate).
    It never assigns ``self.model`` (Keras sets it; the attribute is read-only in Keras 3).
    """
    import keras

    class RunCheckpoint(keras.callbacks.Callback):
        __doc__ = run_checkpoint_class.__doc__

        def __init__(self, run_dir, state: dict, *, monitor: str, mode: str, patience: int | None):
            """``state``: the run's state so far (see :func:`_fresh_state`); ``mode``: "min" or "max"."""
            super().__init__()
            self.run_dir, self.state, self.monitor, self.mode, self.patience = (
                Path(run_dir), state, monitor, mode, patience)

        def on_epoch_end(self, epoch, logs=None):
            """Record ``logs``, update best value / early-stopping counter, commit the checkpoint and state."""
            logs = dict(logs or {})
            if self.monitor not in logs:
                raise ValueError(f"monitor={self.monitor!r} is not among the metrics of this model: {sorted(logs)}")
            if epoch != self.state["epochs_completed"]:
                raise RuntimeError(f"epoch {epoch + 1} ended but the state has {self.state['epochs_completed']} epochs")
            value = float(logs[self.monitor])
            improved = _is_improvement(value, self.state["best_value"], self.mode)
            new_state = _next_state(self.state, logs, value, improved, self.patience)
            _commit_epoch(self.model, self.run_dir, new_state, improved)
            self.state = new_state
            if new_state["stopped_early"]:
                self.model.stop_training = True

    return RunCheckpoint


def _next_state(state: dict, logs: Mapping[str, float], value: float, improved: bool, patience: int | None) -> dict:
    """The state after one more epoch with ``logs`` (a new dict; ``state`` is not changed)."""
    epoch_number = state["epochs_completed"] + 1
    history = {name: list(values) for name, values in state["history"].items()}
    for name, metric_value in logs.items():
        history.setdefault(name, [math.nan] * (epoch_number - 1)).append(float(metric_value))
    new_state = dict(state, epochs_completed=epoch_number, history=history)
    if improved:
        new_state.update(best_value=value, best_epoch=epoch_number, wait=0)
    else:
        new_state["wait"] = state["wait"] + 1
    new_state["stopped_early"] = patience is not None and not improved and new_state["wait"] >= patience
    return new_state


def _is_improvement(value: float, best: float | None, mode: str) -> bool:
    """True when ``value`` beats ``best`` (None: nothing yet) in ``mode`` "min" or "max"; NaN never improves."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


# --------------------------------------------------------------------------------------------- arguments
def _validate_fit_arguments(model, x, y, train_data, validation_data, epochs, batch_size, run_dir,
                            early_stopping_patience, monitor, monitor_mode, verbose, fit_options) -> None:
    """Raise ``ValueError`` naming the first bad argument of :func:`fit`."""
    if not (hasattr(model, "fit") and hasattr(model, "load_weights")):
        raise ValueError(f"model must be a compiled keras.Model; got {type(model).__name__}")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError("model must be compiled (model.compile(optimizer=..., loss=...)) before training.fit")
    if not _is_count(epochs, minimum=1):
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}")
    if run_dir is None or not str(run_dir).strip():
        raise ValueError("run_dir is required: the folder for checkpoints and state, e.g. run_dir='runs/mnist_convnet'")
    if (x is None) == (train_data is None):
        raise ValueError("give exactly one of x (arrays, with y) or train_data (a tf.data.Dataset or PyDataset)")
    if train_data is not None and (y is not None or batch_size is not None):
        raise ValueError("y and batch_size must be None with train_data: the dataset yields (inputs, targets) batches")
    if batch_size is not None and not _is_count(batch_size, minimum=1):
        raise ValueError(f"batch_size must be None or an integer >= 1; got {batch_size!r}")
    if early_stopping_patience is not None and not _is_count(early_stopping_patience, minimum=0):
        raise ValueError(f"early_stopping_patience must be None or an integer >= 0; got {early_stopping_patience!r}")
    _validate_monitor(monitor, monitor_mode, validation_data, fit_options)
    if isinstance(verbose, bool) or verbose not in VERBOSE_CHOICES:
        raise ValueError(f"verbose must be one of {VERBOSE_CHOICES}; got {verbose!r}")
    reserved = {"x", "y", "epochs", "initial_epoch", "batch_size", "validation_data", "verbose", "callbacks"}
    if fit_options is not None and (not isinstance(fit_options, Mapping) or reserved & set(fit_options)):
        raise ValueError(f"fit_options must be a dict of other model.fit keywords, without {sorted(reserved)}; "
                         f"got {fit_options!r}")


def _validate_monitor(monitor, monitor_mode, validation_data, fit_options) -> None:
    """Check ``monitor`` (a non-empty name; ``val_*`` needs validation data) and ``monitor_mode``."""
    if not isinstance(monitor, str) or not monitor.strip():
        raise ValueError(f"monitor must be a metric name such as 'val_loss' or 'loss'; got {monitor!r}")
    has_validation = validation_data is not None or bool((fit_options or {}).get("validation_split"))
    if monitor.startswith("val_") and not has_validation:
        raise ValueError(f"monitor={monitor!r} needs validation_data (or fit_options={{'validation_split': ...}}); "
                         "use monitor='loss' to follow the training loss")
    if monitor_mode not in ("auto", "min", "max"):
        raise ValueError(f"monitor_mode must be 'auto', 'min' or 'max'; got {monitor_mode!r}")


def _validate_callbacks(callbacks) -> list:
    """``callbacks`` as a list, each a ``keras.callbacks.Callback`` (else ``ValueError``)."""
    import keras

    if callbacks is None:
        return []
    callback_list = list(callbacks)
    for callback in callback_list:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(f"callbacks must hold keras.callbacks.Callback instances; got {type(callback).__name__}")
    return callback_list


def _is_count(value, *, minimum: int) -> bool:
    """True for an int (not bool) ``>= minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _resolve_mode(monitor: str, monitor_mode: str) -> str:
    """"min" or "max"; "auto" means max for accuracy-like names (``val_accuracy``, ``auc``, ...), else min."""
    if monitor_mode != "auto":
        return monitor_mode
    return "max" if any(word in monitor.lower() for word in _MAXIMISED_METRIC_WORDS) else "min"


def _fit_options(train_data, fit_options) -> dict:
    """Further ``model.fit`` keywords; ``shuffle=False`` for a ``tf.data.Dataset`` (which shuffles itself, and
    for which Keras would warn that ``shuffle=True`` is ignored)."""
    options = dict(fit_options or {})
    if hasattr(train_data, "element_spec"):
        options.setdefault("shuffle", False)
    return options


# --------------------------------------------------------------------------------------------- run folder
def _fresh_state(monitor: str, mode: str) -> dict:
    """The state of a run with no completed epoch."""
    return {
        "format": STATE_FORMAT_VERSION, "epochs_completed": 0, "history": {}, "monitor": monitor, "mode": mode,
        "best_value": None, "best_epoch": None, "wait": 0, "stopped_early": False,
        "pending_checkpoint": None, "pending_is_best": False,
        "last_checkpoint_bytes": None, "best_checkpoint_bytes": None,
    }


def _prepare_run_dir(run_path: Path, *, resume: bool, monitor: str, mode: str) -> dict:
    """Create ``run_path``, tidy interrupted writes and return the state to continue from (fresh if none)."""
    if run_path.exists() and not run_path.is_dir():
        raise ValueError(f"run_dir must be a folder; {run_path} is a file")
    run_path.mkdir(parents=True, exist_ok=True)
    state = read_state(run_path) if resume else None
    if state is None or state["epochs_completed"] == 0:
        _remove_files(run_path, keep_checkpoints=False)
        return _fresh_state(monitor, mode)
    _promote_pending(run_path, state)  # finish an epoch committed just before a kill
    _remove_files(run_path, keep_checkpoints=True)  # temporary files and uncommitted pending checkpoints
    last_checkpoint = run_path / LAST_CHECKPOINT_FILENAME
    if not last_checkpoint.is_file() or last_checkpoint.stat().st_size != state["last_checkpoint_bytes"]:
        print(f"the state in {run_path} does not match {last_checkpoint} (missing or changed); starting fresh")
        _remove_files(run_path, keep_checkpoints=False)
        return _fresh_state(monitor, mode)
    if state["monitor"] != monitor:
        raise ValueError(f"monitor={monitor!r} differs from the stored run's monitor {state['monitor']!r} in "
                         f"{run_path}; pass resume=False or another run_dir")
    return state


def _remove_files(run_path: Path, *, keep_checkpoints: bool) -> None:
    """Delete temporary files and pending checkpoints; unless ``keep_checkpoints``, also state and checkpoints."""
    for path in run_path.iterdir():
        name = path.name
        ours = name.startswith((TEMPORARY_PREFIX, PENDING_PREFIX))
        committed = name in (STATE_FILENAME, LAST_CHECKPOINT_FILENAME, BEST_CHECKPOINT_FILENAME)
        if path.is_file() and (ours or (committed and not keep_checkpoints)):
            path.unlink()


# --------------------------------------------------------------------------------------------- atomic writes
def _commit_epoch(model, run_path: Path, state: dict, improved: bool) -> None:
    """Save the epoch's model as a pending file, write ``state`` naming it (the commit), then promote it."""
    pending = run_path / f"{PENDING_PREFIX}{state['epochs_completed']:04d}.keras"
    _save_model_atomically(model, pending)
    size = pending.stat().st_size
    state.update(pending_checkpoint=pending.name, pending_is_best=improved, last_checkpoint_bytes=size)
    if improved:
        state["best_checkpoint_bytes"] = size
    write_json_atomically(run_path / STATE_FILENAME, state)
    _promote_pending(run_path, state)


def _promote_pending(run_path: Path, state: dict) -> None:
    """Move the committed pending checkpoint to ``last.keras`` (copy to ``best.keras`` first if it is the best).

    Idempotent: after a kill half-way, running it again finishes the job; the pending file goes last.
    """
    name = state.get("pending_checkpoint")
    pending = run_path / name if name else None
    if pending is None or not pending.is_file():
        return
    if state.get("pending_is_best"):
        temporary = run_path / f"{TEMPORARY_PREFIX}{os.getpid()}-{BEST_CHECKPOINT_FILENAME}"
        shutil.copyfile(pending, temporary)
        _fsync_file(temporary)
        os.replace(temporary, run_path / BEST_CHECKPOINT_FILENAME)
    os.replace(pending, run_path / LAST_CHECKPOINT_FILENAME)


def _save_model_atomically(model, path: Path) -> None:
    """``model.save`` (full model with optimizer state) to a temporary ``.keras`` file, then ``os.replace``."""
    temporary = path.parent / f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}"
    try:
        model.save(str(temporary))
        _fsync_file(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def predict_in_batches(model, x, batch_size: int = 256):
    """``model(x, training=False)`` in batches of ``batch_size``, as NumPy (a list for several outputs); ``x`` is an
    array or a dict of arrays (named inputs). For the small arrays of the chapters a direct call is quicker than
    ``model.predict``, which first traces a prediction graph (about a second per model)."""
    import keras
    import numpy as np

    length = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    if length == 0:
        raise ValueError("x holds no examples")
    batches = []
    for start in range(0, length, batch_size):
        part = ({name: values[start:start + batch_size] for name, values in x.items()} if isinstance(x, dict)
                else x[start:start + batch_size])
        batches.append(model(part, training=False))
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([keras.ops.convert_to_numpy(b[i]) for b in batches]) for i in range(len(batches[0]))]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])


def write_json_atomically(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to a temporary file next to ``path``, flush it to disk, then ``os.replace``: a reader
    sees the old file or the new one, never half of one."""
    temporary = path.parent / f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _fsync_file(path: Path) -> None:
    """Flush ``path``'s contents to disk so that a rename after it never exposes a half-written file."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------- model state
def _ensure_built(model, x, train_data) -> None:
    """Build ``model`` on one input batch if needed, so that checkpoint weights can be loaded into it."""
    if model.built:
        return
    sample = _first_input_batch(x, train_data)
    if sample is None:
        raise ValueError("model is not built and no input batch could be taken from x/train_data to build it; "
                         "start the model with keras.Input(shape=...)")
    model(sample)


def _first_input_batch(x, train_data):
    """The inputs of one small batch from ``x`` (array, list or dict) or ``train_data``; None if unknown."""
    if x is not None:
        if isinstance(x, Mapping):
            return {name: value[:1] for name, value in x.items()}
        if isinstance(x, (list, tuple)):
            return [value[:1] for value in x]
        return x[:1] if hasattr(x, "__getitem__") and hasattr(x, "shape") else None
    if hasattr(train_data, "take") and hasattr(train_data, "element_spec"):  # tf.data.Dataset
        batch = next(iter(train_data.take(1)))
    elif hasattr(train_data, "__getitem__"):  # keras.utils.PyDataset
        batch = train_data[0]
    else:
        return None
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _load_checkpoint(model, path: Path) -> None:
    """Load weights *and* optimizer state from the ``.keras`` file ``path`` into ``model`` (built, compiled)."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(str(path))
    except ValueError as error:
        raise ValueError(f"the checkpoint {path} does not fit this model ({error}); if the model changed, "
                         "pass resume=False or another run_dir") from error


def _restore_best_if_wanted(model, run_path: Path, state: dict, patience, restore_best_weights: bool) -> None:
    """With early stopping and ``restore_best_weights``, load ``best.keras`` unless the last epoch is the best."""
    best_epoch = state["best_epoch"]
    if patience is None or not restore_best_weights or best_epoch in (None, state["epochs_completed"]):
        return
    print(f"restoring the weights of epoch {best_epoch} ({state['monitor']} = {state['best_value']:.4g}) "
          f"from {run_path / BEST_CHECKPOINT_FILENAME}")
    _load_checkpoint(model, run_path / BEST_CHECKPOINT_FILENAME)


def _format_value(value) -> str:
    """A metric value for messages: 4 significant digits, or "n/a" for None."""
    return "n/a" if value is None else f"{value:.4g}"


def _make_result(model, run_path: Path, state: dict, *, epochs_run: int, resumed_from: int) -> TrainingResult:
    """Package ``state`` as a :class:`TrainingResult`."""
    last_checkpoint, best_checkpoint = run_path / LAST_CHECKPOINT_FILENAME, run_path / BEST_CHECKPOINT_FILENAME
    return TrainingResult(
        history={name: list(values) for name, values in state["history"].items()},
        epochs_run=epochs_run, resumed_from=resumed_from, run_dir=run_path,
        last_checkpoint=last_checkpoint if last_checkpoint.is_file() else None,
        best_checkpoint=best_checkpoint if best_checkpoint.is_file() else None,
        best_epoch=state["best_epoch"], best_value=state["best_value"], monitor=state["monitor"],
        stopped_early=state["stopped_early"], model=model,
    )
