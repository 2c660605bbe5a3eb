"""--strategy → a tf.distribute strategy (the only place that reads the name), and what training
needs to know of it: how many worker processes, and how the input reaches every replica."""

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


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Worker processes in the cluster (1 without multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return max(1, sum(len(tasks) for kind, tasks in spec.items() if kind in ("chief", "worker")))


def distribute(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset, global_batch_size: int):
    """A distributed dataset from `dataset`'s global batches [global_batch_size, L]: global replica r
    gets examples [r * B_r, (r + 1) * B_r) of every global batch (B_r = global / replicas), with one
    worker or several. Each worker reads the whole stream and keeps its replicas' rows, so N workers
    see exactly the batches one process sees (and the per-example seeds, which follow the global
    example index, agree)."""
    if num_workers(strategy) == 1:
        return strategy.experimental_distribute_dataset(dataset)

    def worker_input(context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_replica = context.get_per_replica_batch_size(global_batch_size)
        local = context.num_replicas_in_sync // context.num_input_pipelines
        start = context.input_pipeline_id * local * per_replica

        def rows(batch):  # [B, L] -> [local, B_r, L]: one element per local replica
            return {
                k: tf.reshape(v[start : start + local * per_replica], [local, per_replica, v.shape[-1]])
                for k, v in batch.items()
            }

        return dataset.map(rows).unbatch()

    return strategy.distribute_datasets_from_function(worker_input)
