"""--strategy → a tf.distribute strategy (the only place that reads the name)."""

from __future__ import annotations

import tensorflow as tf


def build_strategy(name: str, cpu_replicas: int = 0, tpu: str | None = None) -> tf.distribute.Strategy:
    """default | mirrored | multi_worker_mirrored | tpu.

    cpu_replicas > 1 splits the first CPU into that many logical devices and mirrors over them
    (how tests and single machines without GPUs exercise data parallelism).
    """
    if cpu_replicas > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = None
        if cpu_replicas > 1:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown --strategy {name!r}")
