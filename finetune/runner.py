"""Fine-tuning trials on GLUE, as upstream ELECTRA's `run_finetuning`.

`load_inputs(config)` validates everything (tasks, TSV files and rows, vocab, init checkpoint and
whether it fits the model) without writing anything; `run_finetuning(config)` calls it first, then
for each trial k = 1..num_trials (seed = config.seed + k - 1 for the head's initial weights,
dropout and shuffling) fine-tunes, evaluates on the dev set(s) and rewrites the results files.

Deliberate differences from upstream:
- several task_names: upstream trains one multi-task model; here each task is fine-tuned as its
  own model, one after the other with the same settings (the results files hold all tasks);
  a trial's weights are saved in `<model_dir>_<k>/<task>/`;
- debug: as upstream, only the first 100 lines of each TSV and 1 trial, but the model is not
  shrunk (upstream replaces it by a 3-layer, hidden-144 model in debug mode);
- MNLI is also scored on dev_mismatched when that file is present (result key "mnli-mm");
- do_train=false evaluates the fine-tuned weights saved by an earlier run in the trial dirs.

Training speed: each task's training loop logs and returns its seconds and train examples/s
(`"timing"`: one {task: {"train_seconds", "train_examples_per_second"}} per trial, in the
returned dict and the results json); the padding hparam ("longest") is what speeds it up.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable

from electra_tf import atomic
from finetune import features as features_lib
from finetune import glue_tasks, results
from finetune.config import FinetuningConfig, validate
from finetune.glue_tasks import Example, GlueTask


@dataclasses.dataclass
class TaskInputs:
    """One task's parsed examples: train, dev splits (split → examples) and test splits
    (split → (GLUE index column values, examples); only with write_test_outputs)."""

    task: GlueTask
    task_dir: str
    train: list[Example]
    dev: dict[str, list[Example]]
    test: dict[str, tuple[list[str], list[Example]]]


@dataclasses.dataclass
class Inputs:
    vocab: list[str]
    tasks: list[TaskInputs]
    init: InitCheckpoint | None  # None: random initialisation


@dataclasses.dataclass
class InitCheckpoint:
    """The pre-trained weights, read once: `arrays` (a checkpoint_io.CheckpointArrays) keeps only
    the arrays the model restores; `unused` counts the checkpoint's others (e.g. the generator)."""

    prefix: str
    format: str
    arrays: object
    unused: int


def _with_test_mismatched(task: GlueTask) -> GlueTask:
    """MNLI with its mismatched test file as split "test_mismatched" (glue_tasks reads only matched)."""
    if task.name != "mnli":
        return task
    return dataclasses.replace(
        task, split_files=(*task.split_files, ("test_mismatched", "test_mismatched.tsv"))
    )


def read_test_indices(task: GlueTask, task_dir: str, split: str) -> list[str]:
    """Column 0 (GLUE's "index") of every data row of a test file, read as glue_tasks does."""
    path = os.path.join(task_dir, task.file_name(split))
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().removeprefix("\ufeff").split("\n")
    rows = [line.removesuffix("\r") for line in lines if line.removesuffix("\r").strip()]
    if task.columns_for(split).header:
        rows = rows[1:]
    return [row.split("\t")[0] for row in rows]


def _read_task(config: FinetuningConfig, name: str) -> TaskInputs:
    task = _with_test_mismatched(glue_tasks.get_task(name))
    task_dir = glue_tasks.find_task_dir(config.data_dir, task)
    train: list[Example] = []
    if config.do_train:
        train = features_lib.read_split(task, task_dir, "train", config.debug)
        if not train:
            raise glue_tasks.TaskError(f"task {name!r}: no training examples in {task_dir}")
        if config.max_train_examples:
            train = train[: config.max_train_examples]  # the file's first N, before doubling
        train = features_lib.double_unordered(task, train, "train") if config.double_unordered else train
    dev: dict[str, list[Example]] = {}
    if config.do_eval:
        splits = glue_tasks.available_dev_splits(task, task_dir)
        if not splits:
            raise glue_tasks.TaskError(
                f"task {name!r}: dev file not found: {os.path.join(task_dir, task.dev_files[0])}"
            )
        for split in splits:
            dev[split] = features_lib.read_split(task, task_dir, split, config.debug)
            if not dev[split]:
                raise glue_tasks.TaskError(f"task {name!r}: no examples in its {split} file")
    test: dict[str, tuple[list[str], list[Example]]] = {}
    if config.write_test_outputs:
        for split in (s for s in task.splits if s.startswith("test")):
            if os.path.isfile(os.path.join(task_dir, task.file_name(split))):
                examples = features_lib.read_split(task, task_dir, split, config.debug)
                indices = read_test_indices(task, task_dir, split)[: len(examples)]
                test[split] = (indices, examples)
    return TaskInputs(task, task_dir, train, dev, test)


def load_inputs(config: FinetuningConfig) -> Inputs:
    """All validation, before anything is trained or written.

    Raises (all ValueErrors): configs.ConfigError, glue_tasks.TaskError (missing folder or file,
    malformed row as file:line), tokenization.VocabError, vocab size ≠ the model's vocab_size,
    checkpoint_io.CheckpointError (init checkpoint missing or not fitting the model), missing
    fine-tuned weights when do_train is false.
    """
    from electra_tf.tokenization import load_vocab

    validate(config)
    vocab = load_vocab(config.vocab_file)
    if len(vocab) != config.vocab_size:
        raise ValueError(
            f"{config.vocab_file} has {len(vocab)} tokens but the model's vocab_size is {config.vocab_size} "
            "(from the pre-trained model's hparams.json or the vocab_size hparam)"
        )
    tasks = [_read_task(config, name) for name in config.task_names]
    if not config.do_train:
        for trial in range(1, config.num_trials + 1):
            for name in config.task_names:
                folder = os.path.join(config.trial_model_dir(trial), name)
                if not os.path.isfile(os.path.join(folder, "checkpoint")):
                    raise ValueError(f"do_train is false but there are no fine-tuned weights in {folder}")
    init = None
    if config.do_train and config.init_checkpoint:
        from electra_tf import checkpoint_io
        from finetune.model import build_classifier

        checkpoint = checkpoint_io.read_checkpoint_arrays(config.init_checkpoint)
        model = build_classifier(config.bert_config, config.embedding_size_resolved, tasks[0].task)
        _, report = checkpoint_io.plan_restore(checkpoint, model.backbone_variables, config)
        kept = {name: checkpoint.arrays[name] for name in report.restored}
        init = InitCheckpoint(
            checkpoint.prefix,
            checkpoint.format,
            dataclasses.replace(checkpoint, arrays=kept),
            len(report.unused),
        )
    return Inputs(vocab, tasks, init)


@dataclasses.dataclass
class _TaskFeatures:
    train: features_lib.Features | None
    dev: dict[str, features_lib.Features]
    test: dict[str, features_lib.Features]


def _featurize(config: FinetuningConfig, inputs: Inputs, log) -> dict[str, _TaskFeatures]:
    from electra_tf.tokenization import FullTokenizer

    featurizer = features_lib.Featurizer(
        FullTokenizer(inputs.vocab, config.do_lower_case), config.max_seq_length, log
    )
    out = {}
    for t in inputs.tasks:
        name = t.task.name
        train = featurizer.featurize(t.task, t.train, f"{name} train") if t.train else None
        dev = {s: featurizer.featurize(t.task, ex, f"{name} {s}") for s, ex in t.dev.items()}
        test = {s: featurizer.featurize(t.task, ex, f"{name} {s}") for s, (_, ex) in t.test.items()}
        out[name] = _TaskFeatures(train, dev, test)
        sizes = [f"train {len(t.train)}"] if t.train else []
        sizes += [f"{s} {len(ex)}" for s, ex in t.dev.items()] + [
            f"{s} {len(ex)}" for s, (_, ex) in t.test.items()
        ]
        log(f"{name}: {', '.join(sizes)} examples")
        if config.log_examples and train is not None:
            log(f"{name} example: {featurizer.describe(t.task, train)}")
    return out


def _train_or_restore(config, inputs: Inputs, t: TaskInputs, feats: _TaskFeatures, trial: int, log):
    """(a classifier for task t in trial `trial`, trainer.TrainStats): fine-tuned now (and saved),
    or restored (stats None)."""
    import tensorflow as tf
    import tf_keras

    from finetune import trainer
    from finetune.model import build_classifier

    seed = config.seed + trial - 1
    tf_keras.utils.set_random_seed(seed)
    from electra_tf import precision

    mixed, _ = precision.resolve(config.mixed_precision)
    model = build_classifier(config.bert_config, config.embedding_size_resolved, t.task, mixed)
    folder = os.path.join(config.trial_model_dir(trial), t.task.name)
    checkpoint = tf.train.Checkpoint(model=model)
    if not config.do_train:
        checkpoint.restore(tf.train.latest_checkpoint(folder)).expect_partial()
        log(f"{t.task.name} trial {trial}: restored fine-tuned weights from {folder}")
        return model, None
    if inputs.init is not None:
        from electra_tf import checkpoint_io

        plan, _ = checkpoint_io.plan_restore(inputs.init.arrays, model.backbone_variables, config)
        for variable, value in plan:
            variable.assign(value)
        log(
            f"initialised {len(plan)} variables from {inputs.init.prefix} ({inputs.init.format} format); "
            f"{inputs.init.unused} checkpoint variable(s) unused"
        )
    else:
        log("random initialisation (init_checkpoint is empty)")
    total = trainer.num_train_steps(len(feats.train), config.train_batch_size, config.num_train_epochs)
    optimizer = trainer.create_optimizer(
        config.learning_rate,
        total,
        config.warmup_proportion,
        config.weight_decay_rate,
        config.layerwise_lr_decay,
        config.bert_config.num_hidden_layers,
        bias_correction=config.adam_bias_correction,
    )
    shutil.rmtree(folder, ignore_errors=True)  # upstream: utils.rmkdir(model_dir) before training
    prefix = f"{t.task.name} trial {trial}/{config.num_trials}: "
    stats = trainer.train(
        model,
        optimizer,
        feats.train,
        total,
        config.train_batch_size,
        seed,
        config.log_every,
        log,
        prefix=prefix,
        padding=config.padding,
    )
    log(
        f"{prefix}trained {stats.steps} steps x {config.train_batch_size} examples in "
        f"{stats.seconds:.1f}s: {stats.examples_per_second:.1f} examples/s (padding {config.padding}, "
        f"{precision.describe(mixed)})"
    )
    checkpoint.save(os.path.join(folder, "ckpt"))
    return model, stats


def _evaluate(config, model, t: TaskInputs, feats: _TaskFeatures, trial: int, log) -> results.TrialResults:
    from finetune import trainer

    out: results.TrialResults = {}
    for split, split_features in feats.dev.items():
        outputs, losses = trainer.predict(model, split_features, config.eval_batch_size, config.padding)
        predictions = trainer.prediction_ids(model, outputs)
        metrics = glue_tasks.compute_metrics(t.task, split_features.labels, predictions)
        key = results.result_key(t.task, split)
        out[key] = {name: 100.0 * value for name, value in metrics.items()}
        out[key]["loss"] = float(losses.mean())
        log(f"{key} trial {trial}/{config.num_trials} dev: {results.format_metrics(out[key])}")
    return out


def _write_test_outputs(config, model, t: TaskInputs, feats: _TaskFeatures, trial: int, log) -> None:
    from finetune import trainer

    folder = os.path.join(config.test_predictions, f"trial_{trial}")
    for split, (indices, _) in t.test.items():
        outputs, _ = trainer.predict(model, feats.test[split], config.predict_batch_size, config.padding)
        predictions = trainer.prediction_ids(model, outputs)
        if t.task.is_regression:
            predictions = t.task.denormalized(predictions)
        path = os.path.join(folder, t.task.submission_file(split))
        atomic.write_text(path, results.submission_text(t.task, indices, predictions))
        log(f"wrote {len(indices)} {t.task.name} {split} predictions to {path}")


def run_finetuning(config: FinetuningConfig, log: Callable[[str], None] = print) -> dict:
    """Runs config.num_trials trials over config.task_names.

    Returns {"trials": [{key: {metric: value}}, ...], "summary": {key: {metric: {"median", "mean",
    "std"}}}, "timing": [{task: {"train_seconds", "train_examples_per_second"}}, ...]} (metrics in
    percent, loss as is; key = task name or "mnli-mm"; timing empty per trial without do_train),
    also written to config.results_txt / results_json (timing: json only) after every trial
    (when do_eval).
    """
    inputs = load_inputs(config)
    task_features = _featurize(config, inputs, log)
    bert = config.bert_config
    log(
        f"model: {bert.num_hidden_layers} layers, hidden {bert.hidden_size}, embedding "
        f"{config.embedding_size_resolved}, vocab {bert.vocab_size}; lr {config.learning_rate}, "
        f"layer-wise decay {config.layerwise_lr_decay}, {config.num_train_epochs} epochs, batch "
        f"{config.train_batch_size}, {config.num_trials} trial(s), padding {config.padding}"
        + (", AdamW with bias correction" if config.adam_bias_correction else "")
    )
    trials: list[results.TrialResults] = []
    timing: list[dict[str, dict[str, float]]] = []
    summary: dict = {"trials": [], "summary": {}, "timing": timing}
    for trial in range(1, config.num_trials + 1):
        trial_results: results.TrialResults = {}
        timing.append({})
        for t in inputs.tasks:
            feats = task_features[t.task.name]
            model, stats = _train_or_restore(config, inputs, t, feats, trial, log)
            if stats is not None:
                timing[-1][t.task.name] = {
                    "train_seconds": stats.seconds,
                    "train_examples_per_second": stats.examples_per_second,
                }
            if config.do_eval:
                trial_results.update(_evaluate(config, model, t, feats, trial, log))
            if config.write_test_outputs and trial <= config.n_writes_test:
                _write_test_outputs(config, model, t, feats, trial, log)
        if config.do_eval:
            trials.append(trial_results)
            summary = results.write_results(
                config.results_txt, config.results_json, trials, config.to_dict(), timing
            )
            log(f"results of {len(trials)} trial(s) written to {config.results_txt}")
        if trial != config.num_trials and not config.keep_all_models:
            shutil.rmtree(config.trial_model_dir(trial), ignore_errors=True)
    return summary
