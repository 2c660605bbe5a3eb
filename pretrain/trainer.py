"""The pre-training loop: one compiled train step, checkpoints, TensorBoard, console log.

Everything that changes training state lives in the checkpoint: model weights, optimizer
slots and step (`optimizer.iterations`), the `tf.random.Generator` that seeds masking and
sampling, and the input iterator (so a resumed run reads on where it stopped).

Losses are exact under any replica split: each loss term is Σ numerator / Σ_replicas
denominator, and gradients are summed over replicas before clipping (global norm 1.0, as
upstream) and applied once.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import tensorflow as tf
import tf_keras

from electra_tf import configs, precision
from electra_tf.checkpoint_io import restore_variables
from electra_tf.pretraining import metric_table, seeds
from electra_tf.pretraining.metrics import StreamingAUC
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from electra_tf.pretraining.training_state import optimizer_for
from electra_tf.progress import format_duration
from pretrain.input_pipeline import dataset_token_counts, pretraining_dataset, token_counts

CLIP_NORM = 1.0


def _accumulate(acc: dict[str, float], values: dict) -> None:
    """Adds a step's scalar tensors into running float sums."""
    for k, v in values.items():
        acc[k] = acc.get(k, 0.0) + float(v)


def _first_example_index(batch) -> tf.Tensor:
    """In a replica context: the global index of this replica's first example."""
    ctx = tf.distribute.get_replica_context()
    return ctx.replica_id_in_sync_group * tf.shape(batch["input_ids"])[0]


class Trainer:
    """Builds model, optimizer and input under `strategy` and runs/resumes training."""

    def __init__(
        self,
        config: configs.PretrainingConfig,
        strategy: tf.distribute.Strategy,
        special: SpecialTokens,
        files: list[str],
        log: Callable[[str], None] = print,
        dataset: tf.data.Dataset | None = None,
        diagnostics: Callable[[tf_keras.Model], dict[str, float]] | None = None,
    ):
        """files: the record files to train on; `dataset` (batches of the pretraining schema)
        replaces them when given, e.g. synthetic batches for benchmarks. `diagnostics`
        (`pretrain.diagnostics.Diagnostics`): model → extra scalars, computed at every log line."""
        self.diagnostics = diagnostics
        mixed, why = precision.resolve(config.mixed_precision)
        config = dataclasses.replace(config, mixed_precision=mixed)  # hparams.json records the choice
        self.config = config
        self.strategy = strategy
        self.log = log
        log(f"precision: {precision.describe(mixed)} (mixed_precision {why})")
        self.num_replicas = strategy.num_replicas_in_sync
        # Deterministic initial weights; dropout draws from tf.random.Generator variables that
        # live in the layers and hence in the checkpoint (Keras' legacy RNG state is not saved).
        tf_keras.utils.set_random_seed(config.seed)
        tf_keras.backend.experimental.enable_tf_random_generator()
        # Layers take the precision policy when constructed or first built: both happen here.
        with precision.precision_policy(config.mixed_precision):
            with strategy.scope():
                if dataset is not None:
                    counts = lambda: dataset_token_counts(dataset, config.vocab_size)  # noqa: E731
                else:
                    counts = (lambda: token_counts(files, config.vocab_size)) if files else None
                # read only by a method that needs them, while building (eagerly)
                self.model = build_pretrainer(config, special, counts)
                self.optimizer = optimizer_for(config)
                self.auc = StreamingAUC()
            self.rng = tf.random.Generator.from_seed(config.seed)
            if dataset is None:
                dataset = pretraining_dataset(
                    files, config.train_batch_size, config.max_seq_length, config.seed
                )
            self.iterator = iter(strategy.experimental_distribute_dataset(dataset))
            self._build(config)
        self.dropout_rngs = self._seed_dropout(config.seed)
        state = dict(model=self.model, optimizer=self.optimizer, rng=self.rng, dropout_rngs=self.dropout_rngs)
        try:
            self.checkpoint = tf.train.Checkpoint(iterator=self.iterator, **state)
        except ValueError:
            # TF cannot save a multi-device DistributedIterator: a resumed multi-replica run
            # restarts the (seeded) input stream; everything else continues exactly.
            log("note: the input position is not checkpointable under this strategy")
            self.checkpoint = tf.train.Checkpoint(**state)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            config.model_dir,
            max_to_keep=config.keep_checkpoint_max,
            step_counter=self.optimizer.iterations,
        )
        self._train_step = tf.function(self._step)
        self._replica_step = tf.function(self._replica_step_fn, jit_compile=config.jit_compile or None)

    def _build(self, config: configs.PretrainingConfig) -> None:
        """Creates every variable (model and optimizer slots) before any restore."""
        local = config.train_batch_size // self.num_replicas
        dummy = {k: tf.ones([local, config.max_seq_length], tf.int32) for k in ("input_ids", "input_mask")}
        dummy["segment_ids"] = tf.zeros([local, config.max_seq_length], tf.int32)
        seed = tf.constant([0, 0], tf.int64)
        build = lambda b: self.model(b, seed, 0).losses["disc"].numerator  # noqa: E731
        tf.function(lambda: self.strategy.run(build, args=(dummy,)))()
        with self.strategy.scope():
            self.optimizer._create_all_weights(self.model.trainable_variables)

    def _seed_dropout(self, seed: int) -> tf.Module:
        """Seeds every dropout layer's tf.random.Generator from `seed` and returns them, tracked.

        Keras creates these generators lazily and keeps them out of the layers' variables, so
        they are collected here (through tf_keras' private `_random_generator`) and checkpointed.
        """
        generators = []
        for layer in self.model.submodules:
            keras_rng = getattr(layer, "_random_generator", None)
            if keras_rng is None or not hasattr(keras_rng, "_maybe_init"):
                continue
            with self.strategy.scope():
                keras_rng._maybe_init()
            if getattr(keras_rng, "_generator", None) is not None:
                generators.append(keras_rng._generator)
        for i, generator in enumerate(generators):
            generator.reset_from_seed(seed * seeds.EXAMPLE_STRIDE + i + 1)
        holder = tf.Module()
        holder.generators = generators
        return holder

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def loss_and_gradients(self, batch, seed, training=True):
        """In a replica context: (scalars summed over replicas, gradients of the global loss).

        Each replica's loss is its share of the global loss (numerators over global
        denominators), so the summed gradients equal one replica's on the whole batch.
        """
        ctx = tf.distribute.get_replica_context()
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            out = self.model(batch, seed, _first_example_index(batch), training=training)
            terms = {}
            for name, term in out.losses.items():
                terms[name] = term.numerator / (ctx.all_reduce("sum", term.denominator) + 1e-6)
            loss = tf.add_n([out.losses[n].weight * t for n, t in terms.items()])
        grads = ctx.all_reduce("sum", tape.gradient(loss, variables))
        scalars = {"losses": {**terms, metric_table.TOTAL_LOSS: loss}, "sums": out.sums}
        return ctx.all_reduce("sum", scalars), grads, out

    def _replica_step_fn(self, batch, seed):
        scalars, grads, out = self.loss_and_gradients(batch, seed)
        grads, _ = tf.clip_by_global_norm(grads, CLIP_NORM)
        self.optimizer.apply_gradients(
            zip(grads, self.model.trainable_variables, strict=True), experimental_aggregate_gradients=False
        )
        self.auc.update_state(out.labels, out.disc_probs, out.input_mask)
        return scalars

    def _step(self, iterator):
        seed = self.rng.make_seeds(1)[:, 0]
        batch = next(iterator)
        results = self.strategy.run(self._replica_step, args=(batch, seed))
        scalars = self.strategy.experimental_local_results(results)[0]
        self.model.after_step(scalars["sums"])  # the parts' own state (e.g. an exit distribution)
        return scalars

    def run_step(self) -> dict[str, dict[str, tf.Tensor]]:
        """One compiled train step on the next batch → {"losses": {term: loss, "total": loss},
        "sums": {metric sum key: value}}, summed over replicas."""
        return self._train_step(self.iterator)

    def restore(self) -> bool:
        """Restores the latest checkpoint of model_dir if there is one; True if it did. Otherwise
        the model variables come from `init_checkpoint`, if set (the optimizer stays at step 0),
        then from the parts' own `initial_checkpoints` (e.g. a method's pre-trained embeddings)."""
        path = self.manager.restore_or_initialize()
        if path:
            self.log(f"resumed from {path} at step {self.step}")
            if self.config.init_checkpoint:
                self.log(f"init_checkpoint {self.config.init_checkpoint} ignored: resuming from {path}")
        else:
            if self.config.init_checkpoint:
                # Variables the checkpoint has but this model lacks are reported as unused.
                restore_variables(
                    self.config.init_checkpoint, self.model.trainable_variables, self.config, self.log
                )
            for checkpoint, variables in self.model.initial_checkpoints():
                restore_variables(checkpoint, variables, self.config, self.log)
        return path is not None

    def train(
        self,
        stop_at_step: int | None = None,
        max_seconds: float | None = None,
        on_log: Callable[[int, dict[str, float]], None] | None = None,
    ) -> dict[str, float]:
        """Trains up to num_train_steps (or `stop_at_step`, to continue later; or until the first log
        line after `max_seconds` of training); returns the last logged scalars, which `on_log(step,
        scalars)` also receives at every log line. A checkpoint is always written at the last step
        run."""
        cfg = self.config
        last_step = min(cfg.num_train_steps, stop_at_step or cfg.num_train_steps)
        writer = tf.summary.create_file_writer(cfg.model_dir)
        losses: dict[str, float] = {}
        sums: dict[str, float] = {}
        window_steps, window_start, last = 0, time.monotonic(), {}
        run_start, run_start_step = time.monotonic(), self.step
        while self.step < last_step:
            scalars = self.run_step()
            _accumulate(losses, scalars["losses"])
            _accumulate(sums, scalars["sums"])
            window_steps += 1
            step = self.step
            if step % cfg.log_every == 0 or step == last_step:
                elapsed = time.monotonic() - window_start
                last = metric_table.window_scalars(losses, sums, window_steps)
                last.update(self.model.summary_scalars(sums))
                last["disc/auc"] = float(self.auc.result())
                last["lr"] = float(self.optimizer.learning_rate(step - 1))
                last["perf/steps_per_sec"] = window_steps / elapsed
                last["perf/examples_per_sec"] = window_steps * cfg.train_batch_size / elapsed
                if self.diagnostics is not None:
                    last.update(self.diagnostics(self.model))
                with writer.as_default(step=step):
                    for name, value in last.items():
                        tf.summary.scalar(name, value)
                rate = (step - run_start_step) / (time.monotonic() - run_start)
                self.log(self._log_line(step, last, (last_step - step) / max(rate, 1e-9)))
                if on_log is not None:
                    on_log(step, dict(last))
                losses, sums, window_steps, window_start = {}, {}, 0, time.monotonic()
                self.auc.reset_state()
                if max_seconds is not None and time.monotonic() - run_start >= max_seconds:
                    last_step = step
            if step % cfg.save_checkpoints_steps == 0:
                self.manager.save(checkpoint_number=step)
        if self.manager.latest_checkpoint != self._checkpoint_path(self.step):
            self.manager.save(checkpoint_number=self.step)
        writer.flush()
        return last

    def _checkpoint_path(self, step: int) -> str:
        return os.path.join(self.config.model_dir, f"ckpt-{step}")

    def _log_line(self, step: int, s: dict[str, float], eta: float) -> str:
        parts = [f"step {step}/{self.config.num_train_steps}"] + metric_table.console_fields(s)
        if "probe/flagged" in s:
            parts.append(
                f"probe flagged {int(s['probe/flagged'])} (median ratio {s['probe/median_ratio']:.2f})"
            )
        parts.append(f"{s['perf/steps_per_sec']:.2f} steps/s")
        parts.append(f"ETA {format_duration(eta)}")
        return " | ".join(parts)


def evaluate(trainer: Trainer, files: list[str], num_steps: int, batch_size: int) -> dict[str, float]:
    """Generator and discriminator metrics on `num_steps` batches of `files` (upstream's names)."""
    cfg, strategy, model = trainer.config, trainer.strategy, trainer.model
    dataset = pretraining_dataset(files, batch_size, cfg.max_seq_length, cfg.seed, training=False)
    with strategy.scope():
        auc = StreamingAUC()

    def replica_fn(batch, seed):
        out = model(batch, seed, _first_example_index(batch), training=False)
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
    for batch in strategy.experimental_distribute_dataset(dataset.take(num_steps)):
        scalars = eval_step(batch, rng.make_seeds(1)[:, 0])
        _accumulate(sums, scalars["sums"])
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
