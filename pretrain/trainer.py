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
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable

import tensorflow as tf
import tf_keras

from electra_tf import configs, precision
from electra_tf.checkpoint_io import CheckpointError, restore_variables
from electra_tf.pretraining import metric_table, seeds
from electra_tf.pretraining.metrics import StreamingAUC
from electra_tf.pretraining.model import SpecialTokens, build_pretrainer
from electra_tf.pretraining.training_state import optimizer_for
from electra_tf.progress import format_duration
from pretrain.input_pipeline import dataset_token_counts, pretraining_dataset, token_counts
from pretrain.interruption import NonFiniteLoss, StopRequests
from pretrain.strategies import distribute, num_workers

CLIP_NORM = 1.0


def accumulate(acc: dict[str, float], values: dict) -> None:
    """Adds a step's scalar tensors into running float sums."""
    for k, v in values.items():
        acc[k] = acc.get(k, 0.0) + float(v)


def _nonfinite(losses: dict, grad_norm: float) -> list[str]:
    """Names of the loss terms (and "gradient norm") whose value is not finite."""
    bad = [f"loss {name}" for name, value in losses.items() if not math.isfinite(float(value))]
    return bad + (["gradient norm"] if not math.isfinite(grad_norm) else [])


def first_example_index(batch) -> tf.Tensor:
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
            self.iterator = iter(distribute(strategy, dataset, config.train_batch_size))
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
        # Every worker restores from model_dir; only the chief writes there. The others save (a
        # collective step of multi-worker checkpointing) into a temporary folder removed at the end.
        self.is_chief = strategy.extended.should_checkpoint
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            config.model_dir,
            max_to_keep=config.keep_checkpoint_max,
            step_counter=self.optimizer.iterations,
        )
        self.num_workers = num_workers(strategy)
        self._scratch: str | None = None  # a non-chief worker's, made at its first save
        self.save_manager = self.manager
        self._last_saved: int | None = None  # the step of the checkpoint written or restored last
        self._train_step = tf.function(self._step)
        self._replica_step = tf.function(self._replica_step_fn, jit_compile=config.jit_compile or None)

    def _build(self, config: configs.PretrainingConfig) -> None:
        """Creates every variable (model and optimizer slots) before any restore."""
        local = config.train_batch_size // self.num_replicas
        dummy = {k: tf.ones([local, config.max_seq_length], tf.int32) for k in ("input_ids", "input_mask")}
        dummy["segment_ids"] = tf.zeros([local, config.max_seq_length], tf.int32)
        seed = tf.constant([0, 0], tf.int64)
        build = lambda b: self.model(b, seed, 0).disc_probs  # noqa: E731  (every part has run)
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
            out = self.model(batch, seed, first_example_index(batch), training=training)
            terms = {}
            for name, term in out.losses.items():
                terms[name] = term.numerator / (ctx.all_reduce("sum", term.denominator) + 1e-6)
            loss = tf.add_n([out.losses[n].weight * t for n, t in terms.items()])
        grads = ctx.all_reduce("sum", tape.gradient(loss, variables))
        scalars = {"losses": {**terms, metric_table.TOTAL_LOSS: loss}, "sums": out.sums}
        return ctx.all_reduce("sum", scalars), grads, out

    def _replica_step_fn(self, batch, seed, stop):
        scalars, grads, out = self.loss_and_gradients(batch, seed)
        grads, norm = tf.clip_by_global_norm(grads, CLIP_NORM)
        finite = tf.math.is_finite(norm) & tf.math.is_finite(scalars["losses"][metric_table.TOTAL_LOSS])
        self.optimizer.apply_gradients(
            zip(grads, self.model.trainable_variables, strict=True),
            experimental_aggregate_gradients=False,
            update_gate=finite if self.config.skip_nonfinite_steps else None,
        )
        keep = tf.cast(finite, out.disc_probs.dtype)  # a non-finite step adds nothing to the AUC
        probs = tf.where(finite, out.disc_probs, tf.zeros_like(out.disc_probs))
        self.auc.update_state(out.labels, probs, tf.cast(out.input_mask, keep.dtype) * keep)
        # stop: any worker's stop request, so that every worker stops after the same step
        stop = tf.distribute.get_replica_context().all_reduce("sum", tf.identity(stop))
        control = {"grad_norm": norm, "stop": stop}
        return {**scalars, "control": control}

    def _step(self, iterator, stop):
        seed = self.rng.make_seeds(1)[:, 0]
        batch = next(iterator)
        results = self.strategy.run(self._replica_step, args=(batch, seed, stop))
        scalars = self.strategy.experimental_local_results(results)[0]
        self.model.after_step(scalars["sums"])  # the parts' own state (e.g. an exit distribution)
        return scalars

    def run_step(self, stop: bool = False) -> dict[str, dict[str, tf.Tensor]]:
        """One compiled train step on the next batch → {"losses": {term: loss, "total": loss},
        "sums": {metric sum key: value}, "control": {"grad_norm", "stop"}}, summed over replicas
        (`stop`: this worker's stop request, summed over every replica of every worker)."""
        return self._train_step(self.iterator, tf.constant(float(stop)))

    def restore(self) -> bool:
        """Restores the latest checkpoint of model_dir if there is one; True if it did. Otherwise
        the model variables come from `init_checkpoint`, if set (the optimizer stays at step 0),
        then from the parts' own `initial_checkpoints` (e.g. a method's pre-trained embeddings)."""
        path = self._restore_newest_readable()
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

    def _restore_newest_readable(self) -> str | None:
        """Restores the newest checkpoint of model_dir that reads back; one that does not (a
        truncated or corrupt file) is named in the log and the previous one is tried. None if
        there is no checkpoint; CheckpointError if there are some and none reads."""
        failures = []
        for path in reversed(self.manager.checkpoints):
            try:
                # Not every checkpoint holds every object (one written by `convert_checkpoint --to=ours`
                # has model and optimizer only; a multi-replica run's has no iterator): what it lacks
                # keeps its initial state. A file that cannot be read raises here.
                self.checkpoint.restore(path).expect_partial()
                self._last_saved = self.step
                return path
            except (tf.errors.OpError, ValueError, IndexError, KeyError) as e:
                reason = (getattr(e, "message", None) or str(e)).strip().splitlines()[0][:200]
                failures.append(path)
                self.log(
                    f"checkpoint {path} (.index / .data-*) cannot be read ({reason}); trying the one before"
                )
        if failures:
            raise CheckpointError(
                f"no checkpoint in {self.config.model_dir} can be read ({', '.join(failures)}); "
                "move them away to start afresh"
            )
        return None

    def train(
        self,
        stop_at_step: int | None = None,
        max_seconds: float | None = None,
        on_log: Callable[[int, dict[str, float]], None] | None = None,
    ) -> dict[str, float]:
        """Trains up to num_train_steps (or `stop_at_step`, to continue later; or until the first log
        line after `max_seconds` of training); returns the last logged scalars, which `on_log(step,
        scalars)` also receives at every log line. A checkpoint is always written at the last step
        run. SIGTERM/SIGINT: the step finishes, a checkpoint is written, `Interrupted` is raised. A
        non-finite loss or gradient norm raises `NonFiniteLoss` at its step, writing nothing
        (after `skip_nonfinite_steps` skipped steps)."""
        try:
            with StopRequests() as stop:
                return self._train(stop, stop_at_step, max_seconds, on_log)
        finally:
            if self._scratch:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def _train(self, stop: StopRequests, stop_at_step, max_seconds, on_log) -> dict[str, float]:
        cfg = self.config
        last_step = min(cfg.num_train_steps, stop_at_step or cfg.num_train_steps)
        writer = (
            tf.summary.create_file_writer(cfg.model_dir) if self.is_chief else tf.summary.create_noop_writer()
        )
        losses: dict[str, float] = {}
        sums: dict[str, float] = {}
        window_steps, window_start, last, skipped = 0, time.monotonic(), {}, 0
        run_start, run_start_step = time.monotonic(), self.step
        while self.step < last_step:
            scalars = self.run_step(stop.signal is not None)
            control = scalars.pop("control")
            step = self.step
            bad = _nonfinite(scalars["losses"], float(control["grad_norm"]))
            if bad and skipped >= cfg.skip_nonfinite_steps:
                raise NonFiniteLoss(
                    f"step {step}: non-finite {', '.join(bad)}; stopped without writing a checkpoint; "
                    f"last good checkpoint: {self.manager.latest_checkpoint or 'none'}"
                )
            if bad:
                skipped += 1
                allowed = cfg.skip_nonfinite_steps
                self.log(f"step {step}: skipped, non-finite {', '.join(bad)} ({skipped} of {allowed})")
                with writer.as_default(step=step):
                    tf.summary.scalar("train/skipped_steps", skipped)
            else:
                accumulate(losses, scalars["losses"])
                accumulate(sums, scalars["sums"])
                window_steps += 1
            if window_steps and (step % cfg.log_every == 0 or step == last_step):
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
                self.save(step)
            requested = stop.signal is not None if self.num_workers == 1 else float(control["stop"]) > 0
            if requested:
                if self._last_saved != step:
                    self.save(step)
                writer.flush()
                error = stop.interrupted(step, self._checkpoint_path(step))
                self.log(str(error))
                raise error
        if self._last_saved != self.step:
            self.save(self.step)
        writer.flush()
        if stop.signal is not None:  # came during the last step or the final save: honoured
            raise stop.interrupted(self.step, self._checkpoint_path(self.step))
        return last

    def save(self, step: int) -> str:
        """Writes the checkpoint of `step` (the chief into model_dir; other workers into their
        scratch folder). Refuses, writing nothing, if any weight or slot is not finite."""
        if not self._state_is_finite():
            raise NonFiniteLoss(
                f"step {step}: weights or optimizer slots are not finite; no checkpoint written; "
                f"last good checkpoint: {self.manager.latest_checkpoint or 'none'}"
            )
        if not self.is_chief and self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="electra-tf-worker-")
            self.save_manager = tf.train.CheckpointManager(self.checkpoint, self._scratch, max_to_keep=1)
        self._last_saved = step
        return self.save_manager.save(checkpoint_number=step)

    def _state_is_finite(self) -> bool:
        variables = [v for v in self.model.variables + self.optimizer.variables() if v.dtype.is_floating]
        if not hasattr(self, "_finite_fn"):
            self._finite_fn = tf.function(
                lambda: tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in variables])
            )
        return bool(self._finite_fn())

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
