"""chapters_src.training: checkpoints every epoch, resume after a real SIGKILL, no retraining, early stopping."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chapters_src import training

keras = pytest.importorskip("keras")

HELPER = Path(__file__).parent / "helpers" / "training_kill_target.py"
SAMPLES, BATCH_SIZE = 64, 16  # 4 steps per epoch


def build_model(seed: int = 0):
    """A compiled 4 → 8 → 1 regression model; ``seed`` fixes the initial weights."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse")
    return model


def make_data(seed: int = 0):
    """(x, y) with ``x`` (64, 4) and ``y = sum(x) + 1`` (64, 1)."""
    x = np.random.default_rng(seed).normal(size=(SAMPLES, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True) + 1.0


def fit_small(run_dir, model=None, epochs=2, **keywords):
    """``training.fit`` on :func:`make_data` with validation data, quiet."""
    x, y = make_data()
    keywords.setdefault("validation_data", make_data(seed=1))
    return training.fit(model or build_model(), x, y, epochs=epochs, batch_size=BATCH_SIZE, run_dir=run_dir,
                        verbose=0, **keywords)


def assert_same_weights(model_a, model_b):
    for weights_a, weights_b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(weights_a, weights_b)


class StateProbe(keras.callbacks.Callback):
    """At the start of each epoch after the first, record what the run folder holds on disk."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir, self.seen = Path(run_dir), []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch > 0:
            state = training.read_state(self.run_dir)
            last = self.run_dir / training.LAST_CHECKPOINT_FILENAME
            self.seen.append((state["epochs_completed"], last.stat().st_size == state["last_checkpoint_bytes"]))


class EpochRecorder(keras.callbacks.Callback):
    """Counts trained epochs and keeps a copy of the weights at the end of each one (1-based epoch keys)."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [np.array(value) for value in self.model.get_weights()]


def test_importing_training_does_not_import_tensorflow():
    code = "import sys, chapters_src.training; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


# ------------------------------------------------------------------------------------------ fresh runs
def test_fresh_run_commits_a_checkpoint_and_state_every_epoch(tmp_path, capsys):
    run_dir = tmp_path / "run"
    probe = StateProbe(run_dir)
    model = build_model()
    x, y = make_data()
    result = training.fit(model, x, y, validation_data=make_data(seed=1), epochs=3, batch_size=BATCH_SIZE,
                          run_dir=run_dir, verbose=2, callbacks=[probe])
    assert probe.seen == [(1, True), (2, True)]  # epoch k+1 starts with epoch k on disk
    assert (result.epochs_run, result.resumed_from, result.epochs_completed) == (3, 0, 3)
    assert {name: len(values) for name, values in result.history.items()} == {"loss": 3, "val_loss": 3}
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.last_checkpoint == run_dir / "last.keras" and result.best_checkpoint == run_dir / "best.keras"
    assert sorted(path.name for path in run_dir.iterdir()) == ["best.keras", "last.keras", "state.json"]
    assert training.read_state(run_dir)["epochs_completed"] == 3
    reloaded = keras.models.load_model(run_dir / "last.keras")
    assert_same_weights(reloaded, model)
    assert int(reloaded.optimizer.iterations.numpy()) == 3 * SAMPLES // BATCH_SIZE  # optimizer state saved
    assert "Epoch 3/3" in capsys.readouterr().out


def test_finished_run_is_not_retrained_but_its_weights_are_loaded(tmp_path, capsys):
    first = fit_small(tmp_path / "run", epochs=2)
    recorder, fresh_model = EpochRecorder(), build_model(seed=7)
    again = fit_small(tmp_path / "run", model=fresh_model, epochs=2, callbacks=[recorder])
    assert recorder.weights == {} and again.epochs_run == 0 and again.resumed_from == 2
    assert again.history == first.history
    assert_same_weights(fresh_model, first.model)
    assert "already finished" in capsys.readouterr().out


def test_more_epochs_continue_the_run_and_resume_false_starts_over(tmp_path, capsys):
    fit_small(tmp_path / "run", epochs=2)
    continued = fit_small(tmp_path / "run", model=build_model(seed=7), epochs=4)
    assert (continued.resumed_from, continued.epochs_run, len(continued.history["loss"])) == (2, 2, 4)
    assert int(continued.model.optimizer.iterations.numpy()) == 4 * SAMPLES // BATCH_SIZE
    assert f"resuming from epoch 2 of 4 (checkpoint {tmp_path / 'run' / 'last.keras'})" in capsys.readouterr().out
    fresh = fit_small(tmp_path / "run", epochs=2, resume=False)
    assert (fresh.resumed_from, fresh.epochs_run, len(fresh.history["loss"])) == (0, 2, 2)
    assert training.read_state(tmp_path / "run")["epochs_completed"] == 2


# ------------------------------------------------------------------------------------------ crash consistency
class SimulatedKill(BaseException):
    """Stands in for SIGKILL at an exact point between two writes."""


def kill_on_call(function, call_number):
    """A wrapper of ``function`` that raises :class:`SimulatedKill` on its ``call_number``-th call."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call_number:
            raise SimulatedKill
        return function(*args, **kwargs)

    return wrapper


def test_kill_after_checkpoint_before_state_discards_the_uncommitted_epoch(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    monkeypatch.setattr(training, "write_json_atomically", kill_on_call(training.write_json_atomically, 2))
    with pytest.raises(SimulatedKill):
        fit_small(run_dir, epochs=3)
    monkeypatch.undo()
    assert training.read_state(run_dir)["epochs_completed"] == 1
    assert (run_dir / "pending-epoch-0002.keras").is_file()  # epoch 2's model, never committed
    result = fit_small(run_dir, model=build_model(seed=7), epochs=3)
    assert (result.resumed_from, result.epochs_run, len(result.history["loss"])) == (1, 2, 3)
    assert sorted(path.name for path in run_dir.iterdir()) == ["best.keras", "last.keras", "state.json"]


def test_kill_after_state_before_promotion_finishes_the_committed_epoch(tmp_path, monkeypatch):
    run_dir, recorder = tmp_path / "run", EpochRecorder()
    monkeypatch.setattr(training, "_promote_pending", kill_on_call(training._promote_pending, 2))
    with pytest.raises(SimulatedKill):
        fit_small(run_dir, epochs=2, callbacks=[recorder])
    monkeypatch.undo()
    assert training.read_state(run_dir)["epochs_completed"] == 2  # committed, but last.keras still holds epoch 1
    resumed_model = build_model(seed=7)
    result = fit_small(run_dir, model=resumed_model, epochs=2)
    assert result.epochs_run == 0 and len(result.history["loss"]) == 2
    for loaded, expected in zip(resumed_model.get_weights(), recorder.weights[2], strict=True):
        np.testing.assert_array_equal(loaded, expected)  # epoch 2's weights, not epoch 1's


def test_state_that_does_not_match_its_checkpoint_is_not_trusted(tmp_path, capsys):
    fit_small(tmp_path / "run", epochs=2)
    (tmp_path / "run" / "last.keras").write_bytes(b"not a model")
    result = fit_small(tmp_path / "run", epochs=2)
    assert (result.resumed_from, result.epochs_run) == (0, 2)
    assert "does not match" in capsys.readouterr().out


@pytest.mark.slow
def test_resume_after_sigkill_of_a_real_training_process(tmp_path):
    """Kill a real training process mid-epoch with SIGKILL, run the same command again, check the continuation."""
    run_dir, total_epochs = tmp_path / "run", 3
    command = [sys.executable, str(HELPER), str(run_dir), str(total_epochs)]
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([*command, str(tmp_path / "first.json")], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (training.read_state(run_dir) or {}).get("epochs_completed", 0) < 2:
        assert process.poll() is None, "the training process ended before it was killed"
        assert time.monotonic() < deadline, "epoch 2 did not complete within 60 s"
        time.sleep(0.05)
    time.sleep(0.3)  # into epoch 3 (an epoch lasts >= 0.8 s)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    completed_at_kill = training.read_state(run_dir)["epochs_completed"]
    losses_at_kill = training.read_state(run_dir)["history"]["loss"]
    assert 2 <= completed_at_kill < total_epochs and not (tmp_path / "first.json").exists()

    second = subprocess.run([*command, str(tmp_path / "second.json")], env=environment, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resuming from epoch {completed_at_kill} of {total_epochs}" in second.stdout
    result = json.loads((tmp_path / "second.json").read_text())
    assert result["resumed_from"] == completed_at_kill
    assert result["epochs_run"] == total_epochs - completed_at_kill
    assert len(result["history"]["loss"]) == total_epochs  # every epoch exactly once
    assert result["history"]["loss"][:completed_at_kill] == losses_at_kill  # the stored epochs kept as they were
    steps_per_epoch = 10
    assert result["optimizer_iterations"] == total_epochs * steps_per_epoch  # optimizer state restored, not reset
    first_resumed_loss = result["first_batch_losses"][str(completed_at_kill + 1)]
    initial_loss = result["history"]["loss"][0]
    last_recorded_loss = losses_at_kill[-1]
    assert first_resumed_loss < 1.1 * last_recorded_loss  # continues from the checkpoint ...
    assert first_resumed_loss < 0.6 * initial_loss  # ... not from freshly initialised weights
    assert result["history"]["loss"][-1] < last_recorded_loss


# ------------------------------------------------------------------------------------------ early stopping
def diverging_validation():
    """Validation targets of the opposite sign: the better the model fits the training data, the worse val_loss."""
    x, y = make_data(seed=1)
    return x, -y


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path, capsys):
    import tensorflow as tf

    x, y = make_data()
    train_data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH_SIZE)
    recorder, model = EpochRecorder(), build_model()
    result = training.fit(model, train_data=train_data, validation_data=diverging_validation(), epochs=20,
                          run_dir=tmp_path / "run", early_stopping_patience=2, verbose=0, callbacks=[recorder])
    assert result.stopped_early and (result.epochs_run, result.best_epoch) == (3, 1)
    assert result.best_value == pytest.approx(result.history["val_loss"][0])
    for restored, best in zip(model.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_allclose(restored, best)
    output = capsys.readouterr().out
    assert "early stopping after epoch 3" in output and "restoring the weights of epoch 1" in output


def test_early_stopping_counter_and_best_value_survive_resume(tmp_path):
    run_dir = tmp_path / "run"
    recorder = EpochRecorder()
    first = fit_small(run_dir, epochs=2, validation_data=diverging_validation(), early_stopping_patience=2,
                      callbacks=[recorder])
    assert not first.stopped_early and training.read_state(run_dir)["wait"] == 1
    model = build_model(seed=7)
    second = fit_small(run_dir, model=model, epochs=20, validation_data=diverging_validation(),
                       early_stopping_patience=2)
    assert second.stopped_early and (second.resumed_from, second.epochs_run, second.best_epoch) == (2, 1, 1)
    for restored, best in zip(model.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_allclose(restored, best)  # from best.keras: epoch 1 was trained by the first call
    third = fit_small(run_dir, model=build_model(seed=8), epochs=20, validation_data=diverging_validation(),
                      early_stopping_patience=2)
    assert third.epochs_run == 0 and third.stopped_early and len(third.history["val_loss"]) == 3


# ------------------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "keywords, argument",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"run_dir": None}, "run_dir"),
        ({"run_dir": " "}, "run_dir"),
        ({"validation_data": None}, "monitor"),
        ({"monitor": ""}, "monitor"),
        ({"monitor_mode": "up"}, "monitor_mode"),
        ({"early_stopping_patience": -1}, "early_stopping_patience"),
        ({"batch_size": 0}, "batch_size"),
        ({"verbose": 3}, "verbose"),
        ({"callbacks": [object()]}, "callbacks"),
        ({"fit_options": {"epochs": 3}}, "fit_options"),
        ({"train_data": [1, 2]}, "train_data"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(tmp_path, keywords, argument):
    arguments = {"epochs": 2, "run_dir": tmp_path / "run", "validation_data": make_data(seed=1), **keywords}
    x, y = make_data()
    with pytest.raises(ValueError, match=argument):
        training.fit(build_model(), x, y, **{"batch_size": BATCH_SIZE, "verbose": 0, **arguments})


def test_uncompiled_model_and_missing_data_are_rejected(tmp_path):
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compiled"):
        training.fit(uncompiled, *make_data(), epochs=1, run_dir=tmp_path / "run", monitor="loss")
    with pytest.raises(ValueError, match="train_data"):
        training.fit(build_model(), epochs=1, run_dir=tmp_path / "run", monitor="loss")


def test_unknown_monitor_raises_before_anything_is_committed(tmp_path):
    with pytest.raises(ValueError, match="monitor='val_accuracy'"):
        fit_small(tmp_path / "run", epochs=2, monitor="val_accuracy")
    assert training.read_state(tmp_path / "run") is None


def test_resume_with_another_monitor_or_another_model_is_refused(tmp_path):
    fit_small(tmp_path / "run", epochs=1)
    with pytest.raises(ValueError, match="monitor"):
        fit_small(tmp_path / "run", epochs=2, monitor="loss")
    wider = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    wider.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="resume=False"):
        fit_small(tmp_path / "run", model=wider, epochs=2)


def test_plot_history_draws_the_learning_curves(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = training.plot_history(fit_small(tmp_path / "run", epochs=2))
    assert [axes.get_title() for axes in figure.axes] == ["loss"]
    assert len(figure.axes[0].get_lines()) == 3  # training, validation, best-epoch marker
    plt.close(figure)


def test_predict_in_batches_equals_one_call_for_arrays_named_inputs_and_two_outputs():
    import keras
    import numpy as np

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = keras.layers.Concatenate()([a, b])
    model = keras.Model({"a": a, "b": b}, [keras.layers.Dense(4)(joined), keras.layers.Dense(1)(joined)])
    rng = np.random.default_rng(0)
    inputs = {"a": rng.normal(size=(11, 3)).astype("float32"), "b": rng.normal(size=(11, 2)).astype("float32")}
    whole = [keras.ops.convert_to_numpy(out) for out in model(inputs)]
    batched = training.predict_in_batches(model, inputs, batch_size=4)          # 4 + 4 + 3
    assert [part.shape for part in batched] == [(11, 4), (11, 1)]
    for got, expected in zip(batched, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    single = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    np.testing.assert_allclose(training.predict_in_batches(single, inputs["a"], batch_size=5),
                               keras.ops.convert_to_numpy(single(inputs["a"])), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        training.predict_in_batches(single, inputs["a"][:0])
