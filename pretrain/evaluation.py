"""Evaluation of a pre-training run (`"do_eval": true`): generator and discriminator metrics under
upstream's names over held-out batches, and `results/unsup_results.txt`."""

from __future__ import annotations

import os

import tensorflow as tf

from electra_tf.pretraining import metric_table
from electra_tf.pretraining.metrics import StreamingAUC
from pretrain.input_pipeline import pretraining_dataset
from pretrain.strategies import distribute
from pretrain.trainer import Trainer, accumulate, first_example_index


def evaluate(trainer: Trainer, files: list[str], num_steps: int, batch_size: int) -> dict[str, float]:
    """Generator and discriminator metrics on `num_steps` batches of `files` (upstream's names)."""
    cfg, strategy, model = trainer.config, trainer.strategy, trainer.model
    dataset = pretraining_dataset(files, batch_size, cfg.max_seq_length, cfg.seed, training=False)
    with strategy.scope():
        auc = StreamingAUC()

    def replica_fn(batch, seed):
        out = model(batch, seed, first_example_index(batch), training=False)
        auc.update_state(out.labels, out.disc_probs, out.input_mask)
        terms = {name: (term.numerator, term.denominator) for name, term in out.losses.items()}
        return tf.distribute.get_replica_context().all_reduce("sum", {"losses": terms, "sums": out.sums})

    @tf.function
    def eval_step(batch, seed):
        return strategy.experimental_local_results(strategy.run(replica_fn, args=(batch, seed)))[0]

    rng = tf.random.Generator.from_seed(cfg.seed + 1)
    loss_sums: dict[str, list[float]] = {}
    sums: dict[str, float] = {}
    steps = 0
    for batch in distribute(strategy, dataset.take(num_steps), batch_size):
        scalars = eval_step(batch, rng.make_seeds(1)[:, 0])
        accumulate(sums, scalars["sums"])
        for term, pair in scalars["losses"].items():
            total = loss_sums.setdefault(term, [0.0, 0.0])
            total[0] += float(pair[0])
            total[1] += float(pair[1])
        steps += 1
    if not steps:
        raise ValueError(f"no evaluation batch of {batch_size} examples in {len(files)} file(s)")
    results = metric_table.eval_results({k: tuple(v) for k, v in loss_sums.items()}, sums)
    results.update(disc_auc=float(auc.result()), global_step=trainer.step, eval_steps=steps)
    if trainer.diagnostics is not None:
        for name, value in trainer.diagnostics(model).items():
            results[name.replace("/", "_")] = value  # disc_auc_unigram, disc_hidden_cosine, probe_*
    return results


def write_results(path: str, results: dict[str, float]) -> None:
    """`results/unsup_results.txt`: one `name = value` line per metric, sorted (as upstream)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for name in sorted(results):
            f.write(f"{name} = {results[name]}\n")
