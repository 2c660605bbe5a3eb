"""One replica vs MirroredStrategy over two logical CPUs, on the same global batch, per method.

    python -m tests.programs.mirrored_vs_single DATA_DIR '[HPARAMS, ...]'

Prints one JSON line per hparams object (losses, gradient differences, the method's scalars after
two full mirrored steps); tests/pretrain/test_mirrored.py checks them. A program of its own: the
logical devices must be configured before TensorFlow starts, and TF starts once for every method.
"""

from __future__ import annotations

import json
import sys


def first_batch(files: list[str], batch_size: int, seq_length: int) -> dict:
    """The records' first `batch_size` examples as int32 features."""
    import tensorflow as tf

    features = {
        n: tf.io.FixedLenFeature([seq_length], tf.int64) for n in ("input_ids", "input_mask", "segment_ids")
    }

    def parse(records):
        return {k: tf.cast(v, tf.int32) for k, v in tf.io.parse_example(records, features).items()}

    return next(iter(tf.data.TFRecordDataset(files).batch(batch_size).map(parse)))


def main(data_dir: str, hparams_list: list[dict]) -> None:
    import numpy as np
    import tensorflow as tf

    from pretrain.strategies import build_strategy

    mirrored = build_strategy("mirrored", cpu_replicas=2)  # before any other TensorFlow op
    from electra_tf import configs
    from electra_tf.pretraining.model import SpecialTokens
    from electra_tf.tokenization import load_vocab
    from pretrain.input_pipeline import list_record_files
    from pretrain.trainer import Trainer

    vocab = load_vocab(data_dir + "/vocab.txt")
    seed = tf.constant([11, 12], tf.int64)
    for hparams in hparams_list:
        config = configs.config_from_hparams("m", data_dir, dict(hparams, vocab_size=len(vocab)))
        files = list_record_files(config.pretrain_tfrecords)
        batch = first_batch(files, config.train_batch_size, config.max_seq_length)
        results = {}
        weights = None
        for name, strategy in (("single", tf.distribute.get_strategy()), ("mirrored", mirrored)):
            trainer = Trainer(config, strategy, SpecialTokens.from_vocab(vocab), files, log=lambda _: None)
            if name == "mirrored":
                for var, value in zip(trainer.model.weights, weights, strict=True):
                    var.assign(value)
            weights = [w.numpy() for w in trainer.model.weights]
            dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))

            def step(b, trainer=trainer):
                return trainer.loss_and_gradients(b, seed, training=False)[:2]

            fn = tf.function(lambda b, strategy=strategy, step=step: strategy.run(step, args=(b,)))
            scalars, grads = fn(next(iter(dist)))

            def local(x, strategy=strategy):
                return strategy.experimental_local_results(x)[0]

            results[name] = (
                {f"{group}/{k}": float(local(v)) for group, d in scalars.items() for k, v in d.items()},
                [tf.convert_to_tensor(local(g)).numpy() for g in grads],
            )
            results[name + "_replicas"] = strategy.num_replicas_in_sync
            if name == "mirrored" and trainer.model.summary_scalars({}):
                # a method with state: full steps run its after_step in cross-replica context
                for _ in range(2):
                    trainer.run_step()
            results["method_scalars"] = trainer.model.summary_scalars({})
        (s1, g1), (s2, g2) = results["single"], results["mirrored"]
        assert results["mirrored_replicas"] == 2 and results["single_replicas"] == 1
        row = {
            "method": config.method,
            "loss_single": s1["losses/total"],
            "loss_mirrored": s2["losses/total"],
            "max_loss_rel": max(abs(s1[k] - s2[k]) / max(abs(s1[k]), 1e-9) for k in s1),
            "max_grad_abs": max(float(np.abs(a - b).max()) for a, b in zip(g1, g2, strict=True)),
            "max_grad": max(float(np.abs(a).max()) for a in g1),
            "num_grads": len(g1),
            "method_scalars": results["method_scalars"],
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
