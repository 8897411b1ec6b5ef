"""Subprocess worker for tests/test_device.py: MirroredStrategy over two logical CPUs vs. one device.

Usage: python device_mirrored_worker.py OUTPUT.npz

Splits the one physical CPU into two logical CPUs (this must happen before TensorFlow initialises its
devices, hence a fresh process), then trains the same small Dense regression twice from the same initial
weights on the same global batches with plain SGD: once on the default (single-device) strategy and once
under ``device.strategy(kind="mirrored", devices=["/cpu:0", "/cpu:1"])``. Writes initial, single-device and
mirrored weights to OUTPUT.npz.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH = 16
STEPS = 4
LEARNING_RATE = 0.05


def split_cpu_into_two() -> None:
    """Two logical CPU devices on the one physical CPU (before any op runs)."""
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    assert len(tf.config.list_logical_devices("CPU")) == 2


def regression_data() -> tuple[np.ndarray, np.ndarray]:
    """Seeded linear-plus-noise data: x (64, 5), y (64, 1)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(GLOBAL_BATCH * STEPS, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 1)) + 0.1 * rng.normal(size=(len(x), 1))).astype("float32")
    return x, y


def build_model(initial_weights):
    """Dense(8, tanh) -> Dense(1) with given weights, compiled with SGD and mean squared error."""
    import keras

    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    if initial_weights is not None:
        model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss="mse", jit_compile=False)
    return model


def train(strategy, initial_weights, x, y) -> list[np.ndarray]:
    """STEPS SGD steps on global batches of GLOBAL_BATCH, in order, under ``strategy``; final weights."""
    with strategy.scope():
        model = build_model(initial_weights)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def main(output_path: str) -> None:
    split_cpu_into_two()
    from chapters_src import device

    device.setup(seed=1)
    x, y = regression_data()
    initial = build_model(None).get_weights()
    single = train(device.strategy(kind="default"), initial, x, y)
    mirrored_strategy = device.strategy(kind="mirrored", devices=["/cpu:0", "/cpu:1"])
    assert mirrored_strategy.num_replicas_in_sync == 2, mirrored_strategy.num_replicas_in_sync
    mirrored = train(mirrored_strategy, initial, x, y)
    arrays = {}
    for name, weights in (("initial", initial), ("single", single), ("mirrored", mirrored)):
        arrays.update({f"{name}_{index}": value for index, value in enumerate(weights)})
    np.savez(output_path, replicas=mirrored_strategy.num_replicas_in_sync, count=len(initial), **arrays)
    print(f"wrote {output_path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
