"""A real, slow training process for tests/test_training.py's kill-and-resume test.

Usage: ``python training_kill_target.py RUN_DIR EPOCHS RESULT_JSON``

Trains a small regression model with ``chapters_src.training.fit`` (seed 0, 10 batches per epoch, 0.08 s sleep per
batch so that an epoch lasts ~1 s and a kill lands mid-epoch), then writes the result to RESULT_JSON:
``history``, ``epochs_run``, ``resumed_from``, ``optimizer_iterations``, ``first_batch_losses`` (the loss after
the first batch of each epoch this process trained, keyed by 1-based epoch number).
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from chapters_src import training  # noqa: E402

SAMPLES, FEATURES, BATCH_SIZE = 320, 8, 32  # 10 batches per epoch
SECONDS_PER_BATCH = 0.08


class SlowDown(keras.callbacks.Callback):
    """Sleeps after every batch and records the loss after the first batch of each epoch."""

    def __init__(self):
        super().__init__()
        self.epoch_number = 0
        self.first_batch_losses = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_number = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.first_batch_losses[self.epoch_number] = float(logs["loss"])
        time.sleep(SECONDS_PER_BATCH)


def build_model() -> keras.Model:
    """Linear regression (8 → 1) with Adam; the same seed gives the same initial weights in every process."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mse")
    return model


def make_data():
    """``y = x @ w + 5`` with a little noise: the initial MSE is large, and Adam brings it down within 2 epochs."""
    generator = np.random.default_rng(0)
    x = generator.normal(size=(SAMPLES, FEATURES)).astype("float32")
    true_weights = generator.normal(scale=2.0, size=(FEATURES, 1)).astype("float32")
    y = x @ true_weights + 5.0 + 0.1 * generator.normal(size=(SAMPLES, 1)).astype("float32")
    return x, y


def main(run_dir: str, epochs: int, result_path: str) -> None:
    x, y = make_data()
    model = build_model()
    slow_down = SlowDown()
    result = training.fit(model, x, y, epochs=epochs, batch_size=BATCH_SIZE, run_dir=run_dir, monitor="loss",
                          verbose=2, callbacks=[slow_down])
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump({"history": result.history, "epochs_run": result.epochs_run, "resumed_from": result.resumed_from,
                   "optimizer_iterations": int(model.optimizer.iterations.numpy()),
                   "first_batch_losses": slow_down.first_batch_losses}, handle)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
