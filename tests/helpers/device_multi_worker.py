"""Subprocess worker for tests/test_device.py: one worker of a two-process MultiWorkerMirroredStrategy run.

Usage: TF_CONFIG='{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": I}}' \
       python device_multi_worker.py OUTPUT_DIR

Uses ``device.strategy()`` with no arguments, so the TF_CONFIG detection is what picks the strategy. Every
worker builds the same model from the same seed, runs a few SGD steps of a custom ``strategy.run`` loop over
the same seeded data (auto-sharded between the workers; gradients all-reduced over 127.0.0.1) and writes
its initial and final weights and losses to OUTPUT_DIR/worker_I.npz.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

GLOBAL_BATCH = 16
STEPS = 3


def distributed_train_step(strategy, model, optimizer):
    """A ``tf.function`` running one SGD step on every replica; gradients are all-reduced across workers.

    A custom loop because ``model.fit`` under MultiWorkerMirroredStrategy fails in Keras 3 (PerReplica
    "unsupported type" error, keras-team/keras#20585)."""
    import tensorflow as tf

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            per_example = tf.reduce_mean(tf.square(model(x, training=True) - y), axis=-1)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=GLOBAL_BATCH)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def step(batch):
        losses = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return step


def main(output_dir: str) -> None:
    from chapters_src import device

    device.setup(seed=1)  # the notebook order: setup first, then the strategy
    strategy = device.strategy()  # no arguments: TF_CONFIG must be detected
    import keras
    import tensorflow as tf

    kind = type(strategy).__name__
    assert isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy), f"TF_CONFIG not detected: got {kind}"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(GLOBAL_BATCH * STEPS, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 1))).astype("float32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(learning_rate=0.05)
    initial = [np.array(value) for value in model.get_weights()]
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    )
    step = distributed_train_step(strategy, model, optimizer)
    losses = [float(step(batch)) for batch in dataset]
    final = model.get_weights()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    arrays = {f"initial_{i}": value for i, value in enumerate(initial)}
    arrays.update({f"final_{i}": value for i, value in enumerate(final)})
    path = os.path.join(output_dir, f"worker_{index}.npz")
    np.savez(path, replicas=strategy.num_replicas_in_sync, count=len(final), losses=np.array(losses), **arrays)
    print(f"worker {index}: {kind}, {strategy.num_replicas_in_sync} replicas, losses {losses}, wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
