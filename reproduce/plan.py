"""The plan of a reproduction: every unit of work (one side-by-side timing, one pre-training per
row, one fine-tuning per (model, task)), each keyed by everything that defines it, so a rerun
skips the finished ones (`units.run_plan`).

Model names: `repro_<budget>_<row>_<hash>`, the hash being the row's resolved pre-training config,
so a changed recipe trains into a new model dir and never over an old checkpoint. The random-init
floor fine-tunes `<baseline model>-random_init` (finetune/compare.py's convention).

With an init checkpoint (a warm start), every row's pre-training starts from it, Emb-Gen
(Pre-trained) takes its embeddings from it (not from the baseline's run), and it is fine-tuned as
it is, with no continued pre-training, as one more reference row (`repro_<budget>_init_<hash>`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from reproduce import paper
from reproduce.budgets import Budget

PRETRAIN, FINETUNE, BENCHMARK = "pretrain", "finetune", "benchmark"
RANDOM_INIT = "random_init"  # the floor's row label
INIT_CHECKPOINT = "init_checkpoint"  # the warm start's own row: fine-tuned without continued pre-training
BENCHMARK_FILE = "benchmark.json"


def digest(value: Any) -> str:
    """sha256 of `value`'s canonical JSON (sorted keys), hex."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Unit:
    """kind: PRETRAIN | FINETUNE | BENCHMARK; name: unique, file-safe; spec: everything that
    defines the work (its digest is the cache key); after: units that must finish first;
    steps: its training steps (pre-training or fine-tuning; timed steps for a benchmark), for the
    ETA and the dry run."""

    kind: str
    name: str
    spec: Mapping[str, Any]
    after: tuple[str, ...] = ()
    steps: int = 0

    @property
    def key(self) -> str:
        return digest({"kind": self.kind, "spec": self.spec})


@dataclasses.dataclass(frozen=True)
class Plan:
    budget: Budget
    data_dir: str
    rows: tuple[paper.Row, ...]
    tasks: tuple[str, ...]
    num_trials: int
    units: tuple[Unit, ...]
    model_names: Mapping[str, str]  # row label (and RANDOM_INIT, INIT_CHECKPOINT) → model name
    init_checkpoint: str = ""  # every row's starting point ("" = random initialisation)

    @property
    def reference_labels(self) -> tuple[str, ...]:
        """The rows fine-tuned beside Table 1's: the init checkpoint as it is (if any), random init."""
        return (INIT_CHECKPOINT, RANDOM_INIT) if self.init_checkpoint else (RANDOM_INIT,)

    def unit(self, name: str) -> Unit:
        return next(u for u in self.units if u.name == name)


def method_hparam_names(method: str) -> tuple[str, ...]:
    from electra_tf.pretraining.registry import get_method

    return get_method(method).hparam_names()


def exit_method(method: str) -> bool:
    """Whether the registered method has exit heads (takes the `exit_layers` hparam)."""
    return "exit_layers" in method_hparam_names(method)


def pretrain_hparams(
    budget: Budget,
    row: paper.Row,
    data_dir: str,
    overrides: Mapping,
    baseline_dir: str,
    init_checkpoint: str = "",
) -> dict:
    """The row's `--hparams`: the budget's recipe, the method, the budget's exit hparams that the
    method has, held-out records when `$DATA_DIR/eval_tfrecords/` exists, the init checkpoint (if
    any), the embeddings for Emb-Gen (Pre-trained) (the init checkpoint's, else the baseline's), then
    `overrides`."""
    hparams: dict[str, Any] = {**budget.pretrain, "method": row.method, **(row.hparams or {})}
    known = method_hparam_names(row.method)
    hparams.update({k: v for k, v in budget.exits_for(row.method).items() if k in known})
    if os.path.isdir(os.path.join(data_dir, "eval_tfrecords")):
        hparams["eval_tfrecords"] = os.path.join(data_dir, "eval_tfrecords", "*")
    if init_checkpoint:
        hparams["init_checkpoint"] = init_checkpoint
    if row.embeddings_from_baseline:
        hparams["emb_gen_init_checkpoint"] = init_checkpoint or baseline_dir
    return {**hparams, **overrides}


def resolved(model_name: str, data_dir: str, hparams: Mapping) -> dict:
    """The resolved pre-training config as hparams.json holds it (ConfigError on a bad key)."""
    from electra_tf import configs

    return json.loads(configs.config_from_hparams(model_name, data_dir, dict(hparams)).to_json())


def timing_rows(
    rows: Sequence[paper.Row], hparams: Mapping[str, dict], budget: Budget, vocab_size: int | None
) -> dict[str, dict]:
    """The benchmark's timed configurations: label → {"hparams", "exit_layer"}.
    One per method (Emb-Gen (Pre-trained) steps exactly as Emb-Gen); a method with exits once per
    exit layer, pinned there, so the report can weight the times by where the run's exits were."""
    timed: dict[str, dict] = {}
    for row in rows:
        if row.embeddings_from_baseline and any(r.method == row.method and r is not row for r in rows):
            continue  # steps exactly as its twin without the embedding init: timed once, as the twin
        h = {
            k: v
            for k, v in hparams[row.label].items()
            if k not in ("eval_tfrecords", "emb_gen_init_checkpoint", "init_checkpoint")
        }
        if vocab_size and "vocab_size" not in h:
            h["vocab_size"] = vocab_size  # as the pre-training: the MLM heads' width is the vocabulary's
        if not exit_method(row.method):
            timed[row.label] = {"hparams": h, "exit_layer": None}
            continue
        for layer in budget.exit_layers_for(
            row.method
        ):  # pins whichever part (generator or discriminator) has the exits
            timed[f"{row.label}@{layer}"] = {"hparams": h, "exit_layer": layer}
    return timed


def vocab_size(data_dir: str) -> int | None:
    """Tokens in `$DATA_DIR/vocab.txt`, as pre-training counts them (None without a readable one)."""
    from electra_tf.tokenization import VocabError, load_vocab

    try:
        return len(load_vocab(os.path.join(data_dir, "vocab.txt")))
    except VocabError:
        return None


def finetune_steps(task_name: str, data_dir: str, values: Mapping, num_trials: int) -> int:
    """Training steps of one fine-tuning unit (train rows of the TSV, capped, doubled for unordered
    pairs, × epochs / batch × trials); 0 when the file is missing."""
    from finetune.config import FinetuningConfig
    from finetune.glue_tasks import find_task_dir, get_task

    task = get_task(task_name)
    defaults = FinetuningConfig()
    try:
        path = os.path.join(find_task_dir(data_dir, task), task.file_name("train"))
        with open(path, encoding="utf-8") as f:
            rows = max(sum(1 for line in f if line.strip()) - 1, 0)
    except (OSError, ValueError):
        return 0
    if values.get("max_train_examples"):
        rows = min(rows, values["max_train_examples"])
    if task.unordered_pair and values.get("double_unordered", True):
        rows *= 2
    epochs = values.get("num_train_epochs", task.single_task_epochs)
    batch = values.get("train_batch_size", defaults.train_batch_size)
    return int(rows * epochs / batch) * num_trials


def make_plan(
    budget: Budget,
    data_dir: str,
    labels: Sequence[str],
    tasks: Sequence[str],
    num_trials: int,
    pretrain_overrides: Mapping | None = None,
    finetune_overrides: Mapping | None = None,
    init_checkpoint: str = "",
) -> Plan:
    """Every unit, in running order: the timing, the baseline's pre-training (others may need its
    checkpoint), the other rows', then every (model, task) fine-tuning with the reference rows
    (`Plan.reference_labels`) last. Bad hparams raise ConfigError here, before anything runs."""
    labels = [paper.BASELINE] + [label for label in dict.fromkeys(labels) if label != paper.BASELINE]
    rows = tuple(paper.row(label) for label in labels)
    pretrain_overrides, finetune_overrides = dict(pretrain_overrides or {}), dict(finetune_overrides or {})
    names: dict[str, str] = {}
    hparams: dict[str, dict] = {}
    pretrain_units: list[Unit] = []
    for row in rows:
        baseline_dir = os.path.join(data_dir, "models", names.get(paper.BASELINE, ""))
        h = pretrain_hparams(budget, row, data_dir, pretrain_overrides, baseline_dir, init_checkpoint)
        config = resolved("-", data_dir, h)
        config.pop("model_name")  # the name is made from the rest
        names[row.label] = f"repro_{budget.name}_{row.label}_{digest(config)[:8]}"
        hparams[row.label] = h
        from_baseline = row.embeddings_from_baseline and not init_checkpoint
        after = (f"{PRETRAIN}-{paper.BASELINE}",) if from_baseline else ()
        spec = {
            "model_name": names[row.label],
            "hparams": h,
            "config": {**config, "model_name": names[row.label]},
        }
        pretrain_units.append(
            Unit(PRETRAIN, f"{PRETRAIN}-{row.label}", spec, after, config["num_train_steps"])
        )
    names[RANDOM_INIT] = f"{names[paper.BASELINE]}-random_init"
    if init_checkpoint:
        names[INIT_CHECKPOINT] = f"repro_{budget.name}_init_{digest(init_checkpoint)[:8]}"
    timed = timing_rows(rows, hparams, budget, vocab_size(data_dir))
    timing_steps = len(timed) * (budget.timing["warmup"] + budget.timing["steps"] * budget.timing["rounds"])
    benchmark = Unit(BENCHMARK, BENCHMARK, {"rows": timed, "timing": budget.timing}, (), timing_steps)
    shared = {**budget.finetune, **finetune_overrides, "num_trials": num_trials}
    finetune_units = []
    references = [INIT_CHECKPOINT] if init_checkpoint else []
    for label in [*labels, *references, RANDOM_INIT]:
        source = pretrain_units[labels.index(label)] if label in labels else pretrain_units[0]
        for task in tasks:
            values = {**shared, "task_names": [task]}
            spec = {"model_name": names[label], "pretrained": source.key, "hparams": values}
            after = (source.name,)
            if label == RANDOM_INIT:
                values["init_checkpoint"] = ""
                spec["architecture_from"] = names[paper.BASELINE]
            elif label == INIT_CHECKPOINT:  # the checkpoint as it is: no pre-training unit behind it
                values["init_checkpoint"] = init_checkpoint
                spec["pretrained"], after = init_checkpoint, ()
            steps = finetune_steps(task, data_dir, values, num_trials)
            finetune_units.append(Unit(FINETUNE, f"{FINETUNE}-{label}-{task}", spec, after, steps))
    units = (benchmark, *pretrain_units, *finetune_units)
    return Plan(budget, data_dir, rows, tuple(tasks), num_trials, units, names, init_checkpoint)
