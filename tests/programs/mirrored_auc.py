"""StreamingAUC under MirroredStrategy over two logical CPUs vs one replica on the same examples.

    python -m tests.programs.mirrored_auc

Prints `replicas mirrored_auc single_auc auc_after_reset`; tests/pretraining/test_losses.py checks
them. A program of its own: the logical devices must be configured before TensorFlow starts.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def main() -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from electra_tf.pretraining.metrics import StreamingAUC

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        auc = StreamingAUC(num_bins=10)
    probs = np.array([[0.05, 0.95, 0.5, 0.3], [0.7, 0.2, 0.85, 0.15]], np.float32)
    labels = np.array([[0, 1, 1, 0], [1, 0, 0, 1]], np.float32)
    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: (probs[ctx.replica_id_in_sync_group], labels[ctx.replica_id_in_sync_group])
    )

    @tf.function
    def step(batch):
        strategy.run(lambda p, y: auc.update_state(y, p), args=batch)

    step(dist)
    mirrored = float(auc.result())
    single = StreamingAUC(num_bins=10)
    single.update_state(labels, probs)
    auc.reset_state()
    print(strategy.num_replicas_in_sync, mirrored, float(single.result()), float(auc.result()))


if __name__ == "__main__":
    main()
