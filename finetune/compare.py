"""A/B table: fine-tunes several models on several GLUE tasks with identical settings and seeds.

    python finetune/compare.py --data_dir=$DATA_DIR --models=electra_small,my_model \
        --tasks=rte,mrpc,sts --num_trials=5 [--hparams='{"max_seq_length": 64}']

Each model is `$DATA_DIR/models/<name>/` (our checkpoints or an unzipped upstream release with its
`vocab.txt`). `<name>@random` fine-tunes the same architecture from random initialisation (the
pre-training ablation); it runs as model `<name>-random_init`, whose folder gets a copy of
`<name>`'s `hparams.json` (and `vocab.txt`) so the architecture and vocabulary match.

Every (model, task) pair is one `run_finetuning` call with the same hparams and seeds, so the
task defaults (10 epochs for rte and sts) apply as in a single-task run. Each model's own results
files are written as usual; the table — median over trials (± std) of each task's GLUE metric
and their average — is printed and saved as `$DATA_DIR/models/comparisons/<models>__<tasks>.md`
with a `.json` twin holding every number.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from collections.abc import Callable, Mapping, Sequence

from absl import app, flags

from electra_tf.cli import absl_main, flag_values
from finetune.glue_tasks import get_task

PROGRAM = "compare"
RANDOM_SUFFIX = "@random"


def parse_list(value: str, what: str) -> list[str]:
    """'a, b,a' → ['a', 'b'] (order kept, duplicates dropped); ValueError naming `what` if empty."""
    items = list(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))
    if not items:
        raise ValueError(f"--{what} is empty; give a comma-separated list")
    return items


def model_runs(models: Sequence[str]) -> list[tuple[str, str, bool]]:
    """Model specs → (label, model_name, random_init); 'x@random' → ('x@random', 'x-random_init', True)."""
    runs = []
    for spec in models:
        if spec.endswith(RANDOM_SUFFIX):
            base = spec[: -len(RANDOM_SUFFIX)]
            runs.append((spec, f"{base}-random_init", True))
        else:
            runs.append((spec, spec, False))
    return runs


def prepare_random_init_dir(data_dir: str, spec: str) -> None:
    """Gives `<base>-random_init` the architecture (hparams.json) and vocab.txt of `<base>`."""
    base = spec[: -len(RANDOM_SUFFIX)]
    source = os.path.join(data_dir, "models", base)
    target = os.path.join(data_dir, "models", f"{base}-random_init")
    if not os.path.isfile(os.path.join(source, "hparams.json")):
        raise ValueError(
            f"--models {spec}: {source}/hparams.json not found (the random-init twin copies its architecture)"
        )
    os.makedirs(target, exist_ok=True)
    for name in ("hparams.json", "vocab.txt"):
        if os.path.isfile(os.path.join(source, name)):
            shutil.copyfile(os.path.join(source, name), os.path.join(target, name))


# What identifies a checkpoint's weights for the unit key: checkpoint files at the top of its folder.
_WEIGHT_SUFFIXES = (".index", ".safetensors", ".bin", ".h5")


def checkpoint_identity(init_checkpoint: str | None) -> list:
    """[(file name, size, mtime_ns)] of the weight files `init_checkpoint` (a folder or a checkpoint
    prefix) consists of; [] for random init. A further pre-training step changes it."""
    if not init_checkpoint:
        return []
    if os.path.isdir(init_checkpoint):
        folder, names = init_checkpoint, sorted(os.listdir(init_checkpoint))
        names = [n for n in names if n == "checkpoint" or n.endswith(_WEIGHT_SUFFIXES) or ".data-" in n]
    else:
        folder, prefix = os.path.split(init_checkpoint)
        names = sorted(n for n in os.listdir(folder or ".") if n.startswith(prefix + "."))
    stats = [(n, os.stat(os.path.join(folder, n))) for n in names]
    return [(n, st.st_size, st.st_mtime_ns) for n, st in stats if os.path.isfile(os.path.join(folder, n))]


def unit_path(data_dir: str, label: str, task: str, config) -> str:
    """`$DATA_DIR/models/comparisons/units/<label>__<task>__<key>.json`: the key is a digest of the
    whole fine-tuning config and of the weights' files (`checkpoint_identity`), so a record is
    reused only for the same settings, seeds and checkpoint."""
    import dataclasses
    import hashlib

    identity = {"config": dataclasses.asdict(config), "weights": checkpoint_identity(config.init_checkpoint)}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
    name = f"{label.replace('@', '-')}__{task}__{key}.json"
    return os.path.join(data_dir, "models", "comparisons", "units", name)


def headline(task: str, summary: Mapping[str, Mapping[str, Mapping[str, float]]]) -> tuple[float, float]:
    """(median, std) over trials of task's headline metric from a run_finetuning summary."""
    stats = summary[task][get_task(task).headline_metric]
    return float(stats["median"]), float(stats["std"])


def build_table(rows: Mapping[str, Mapping[str, tuple[float, float]]], tasks: Sequence[str]) -> dict:
    """rows: model label → task → (median, std) → {"header", "rows": [[label, cells..., avg]], "average"}.

    The GLUE average is the mean of the task medians (as GLUE averages per-task scores).
    """
    header = ["model", *[f"{t} ({get_task(t).headline_metric})" for t in tasks], "average"]
    table_rows, averages = [], {}
    for label, per_task in rows.items():
        medians = [per_task[t][0] for t in tasks]
        averages[label] = statistics.fmean(medians)
        cells = [f"{per_task[t][0]:.2f} ± {per_task[t][1]:.2f}" for t in tasks]
        table_rows.append([label, *cells, f"{averages[label]:.2f}"])
    return {"header": header, "rows": table_rows, "average": averages}


def to_markdown(table: dict, num_trials: int) -> str:
    """The table as GitHub markdown, with a note on what the cells are."""
    lines = ["| " + " | ".join(table["header"]) + " |", "|" + "---|" * len(table["header"])]
    lines += ["| " + " | ".join(row) + " |" for row in table["rows"]]
    lines.append("")
    lines.append(
        f"Cells: median ± std over {num_trials} fine-tuning trial(s) (same seeds for every model), "
        "GLUE dev metrics in percent; average = mean of the task medians."
    )
    return "\n".join(lines) + "\n"


def output_paths(data_dir: str, labels: Sequence[str], tasks: Sequence[str]) -> tuple[str, str]:
    """(markdown path, json path) under $DATA_DIR/models/comparisons/."""
    stem = "_vs_".join(label.replace("@", "-") for label in labels) + "__" + "_".join(tasks)
    folder = os.path.join(data_dir, "models", "comparisons")
    return os.path.join(folder, stem + ".md"), os.path.join(folder, stem + ".json")


def compare(
    data_dir: str,
    models: Sequence[str],
    tasks: Sequence[str],
    num_trials: int,
    hparams: Mapping | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Runs every (model, task) fine-tuning not finished before (`unit_path`), writes the table
    files and returns {"table", "results"}.

    Every configuration is built and checked (finetune.runner.load_inputs) before any training.
    """
    from electra_tf import atomic
    from finetune import runner
    from finetune.config import finetuning_config

    for task in tasks:
        get_task(task)  # unknown task names fail first, with the list of valid ones
    if num_trials < 1:
        raise ValueError(f"--num_trials must be positive, got {num_trials}")
    shared = dict(hparams or {})
    clashes = sorted({"task_names", "num_trials"} & set(shared))
    if clashes:
        raise ValueError(f"--hparams must not set {', '.join(clashes)}; use --tasks / --num_trials")
    runs = model_runs(models)
    for label, _, random_init in runs:
        if random_init:
            prepare_random_init_dir(data_dir, label)
    configs = {}
    for label, name, random_init in runs:
        for task in tasks:
            values = dict(shared, task_names=[task], num_trials=num_trials)
            if random_init:
                values["init_checkpoint"] = ""
            config = finetuning_config(name, data_dir, values)
            runner.load_inputs(config)
            configs[label, task] = config
    rows: dict[str, dict[str, tuple[float, float]]] = {label: {} for label, _, _ in runs}
    results: dict[str, dict[str, dict]] = {label: {} for label, _, _ in runs}
    for (label, task), config in configs.items():
        unit = unit_path(data_dir, label, task, config)
        if os.path.isfile(unit):
            with open(unit, encoding="utf-8") as f:
                outcome = json.load(f)
            log(f"{PROGRAM}: {label} on {task}: finished before, reused ({unit})")
        else:
            log(f"{PROGRAM}: fine-tuning {label} on {task} ({num_trials} trial(s))")
            outcome = runner.run_finetuning(config, log=log)
            atomic.write_text(unit, json.dumps(outcome, indent=2, sort_keys=True, default=str) + "\n")
        results[label][task] = outcome
        rows[label][task] = headline(task, outcome["summary"])
    table = build_table(rows, tasks)
    markdown = to_markdown(table, num_trials)
    md_path, json_path = output_paths(data_dir, [label for label, _, _ in runs], tasks)
    payload = {"tasks": list(tasks), "num_trials": num_trials, "hparams": shared, "table": table}
    payload["results"] = results
    atomic.write_text(json_path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    atomic.write_text(md_path, markdown)
    log(markdown)
    log(f"{PROGRAM}: table saved to {md_path} (numbers in {json_path})")
    return {"table": table, "results": results, "markdown": md_path, "json": json_path}


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module leaves absl's flag registry alone)."""
    flags.DEFINE_string("data_dir", None, "Holds models/<name>/ for every model and finetuning_data/.")
    flags.DEFINE_string(
        "models", None, "Comma-separated model names under $DATA_DIR/models (name@random: random init)."
    )
    flags.DEFINE_string(
        "tasks", "rte,mrpc,sts,cola", "Comma-separated GLUE tasks (cola sst mrpc sts qqp mnli qnli rte)."
    )
    flags.DEFINE_integer(
        "num_trials", 3, "Fine-tuning trials per (model, task); the table shows their median."
    )
    flags.DEFINE_string("hparams", "{}", "Fine-tuning hparams (JSON or file) shared by every run.")


def run(
    data_dir: str | None,
    models: str | None,
    tasks: str = "rte,mrpc,sts,cola",
    num_trials: int = 3,
    hparams="{}",
) -> dict:
    """The tool as a plain function (keyword arguments = the flags: `models` and `tasks` comma-
    separated, `hparams` JSON, a file or a dict): `compare` printing its progress and the table.
    Bad input raises ValueError before any training."""
    from electra_tf.configs import load_hparams

    if not data_dir or not os.path.isdir(data_dir):
        raise ValueError(f"--data_dir not found: {data_dir}")
    model_list = parse_list(models, "models")
    task_list = parse_list(tasks, "tasks")
    return compare(data_dir, model_list, task_list, num_trials, load_hparams(hparams))


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
