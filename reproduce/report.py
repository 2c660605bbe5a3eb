"""The report of a reproduction, built only from the units' files: `report/table1.json` and
`table1.md` (every GLUE cell read from the fine-tuning results file its record names, every speed
from benchmark.json), the figures, and `report/README.md` with one sentence per row on agreement
with the paper.

Speed of a row with exits: the benchmark timed its step with the exit pinned at each exit layer;
the row's steps/s is 1 / Σ_l share_l · t_l, the shares being where its pre-training run's exits
were: the mean of the logged `adaptive/p_<l>` (the generator's sampling distribution), or the share
of log lines whose `early_exit/exit_layer` was l (the discriminator's chosen exit).
"""

from __future__ import annotations

import json
import math
import os
import statistics

from electra_tf import atomic
from finetune.glue_tasks import get_task
from pretrain.curves import exit_shares
from reproduce import paper
from reproduce.plan import BENCHMARK, FINETUNE, INIT_CHECKPOINT, PRETRAIN, RANDOM_INIT, Plan

REPORT_DIR = "report"
INIT_CHECKPOINT_TITLE = "Init checkpoint (no continued pre-training)"
REFERENCE_TITLES = {INIT_CHECKPOINT: INIT_CHECKPOINT_TITLE, RANDOM_INIT: paper.RANDOM_INIT_TITLE}


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _json_number(value: float):
    return None if value is None or not math.isfinite(value) else value


def read_cell(results_json: str, task: str) -> dict:
    """{median, std, trials, metric, results_json} of `task`'s headline metric in a results file."""
    with open(results_json, encoding="utf-8") as f:
        results = json.load(f)
    metric = get_task(task).headline_metric
    stats = results["summary"].get(task, {}).get(metric, {})
    return {
        "metric": metric,
        "median": stats.get("median"),
        "std": stats.get("std"),
        "trials": [trial.get(task, {}).get(metric) for trial in results["trials"]],
        "results_json": results_json,
    }


def dev_examples(data_dir: str, task: str) -> int | None:
    """The examples of the task's dev file under `data_dir/finetuning_data` (None if unreadable)."""
    from finetune.glue_tasks import TaskError, find_task_dir, read_examples

    try:
        return len(read_examples(task, find_task_dir(data_dir, get_task(task)), "dev"))
    except (TaskError, OSError, ValueError):
        return None


def row_speed(label: str, timed: dict, curves: dict) -> dict | None:
    """{steps_per_sec, timed_as: {timed label: share}} of a row from benchmark.json's rows."""
    if label in timed:
        return {"steps_per_sec": timed[label]["steps_per_sec"], "timed_as": {label: 1.0}}
    pinned = {int(k.split("@")[1]): k for k in timed if k.split("@")[0] == label}
    if not pinned:
        return None
    layers = sorted(pinned)
    shares = exit_shares(curves, layers) or {layers[-1]: 1.0}  # no exit scalars: all layers
    seconds = sum(share * timed[pinned[n]]["median_step_seconds"] for n, share in shares.items())
    return {"steps_per_sec": 1.0 / seconds, "timed_as": {pinned[n]: share for n, share in shares.items()}}


def _paper_values(row: paper.Row | None, tasks) -> dict | None:
    if not row or not row.table1:
        return None
    return {
        "cells": {t: row.table1[t] for t in tasks},
        "glue_average": paper.glue_average(row.table1, tasks),
        "steps_per_sec": row.steps_per_sec,
        "ratio": row.steps_per_sec / paper.row(paper.BASELINE).steps_per_sec,
    }


def _speed(plan: Plan, row: paper.Row, records: dict[str, dict], timed: dict) -> dict | None:
    pretrained = records.get(f"{PRETRAIN}-{row.label}")
    if not pretrained or not timed:
        return None
    label = row.label
    if row.embeddings_from_baseline and not any(k.split("@")[0] == label for k in timed):
        # steps exactly as the same method without the init: timed once, as that row
        label = next(r.label for r in plan.rows if r.method == row.method and r is not row)
    return row_speed(label, timed, pretrained["result"]["curves"])


def build_table(plan: Plan, records: dict[str, dict]) -> dict:
    """table1.json's content from the finished records (cells missing where a unit has not run)."""
    bench = records.get(BENCHMARK)
    timed = {}
    if bench:
        with open(bench["result"]["file"], encoding="utf-8") as f:
            timed = json.load(f)["rows"]
    rows = []
    for row in [*plan.rows, *plan.reference_labels]:  # a label: a reference row (no Table 1 row)
        label = row.label if isinstance(row, paper.Row) else row
        row = row if isinstance(row, paper.Row) else None
        cells = {}
        for task in plan.tasks:
            record = records.get(f"{FINETUNE}-{label}-{task}")
            if record:
                cells[task] = read_cell(record["result"]["results_json"], task)
        medians = [_number(cells[t]["median"]) for t in plan.tasks if t in cells]
        average = statistics.fmean(medians) if len(medians) == len(plan.tasks) else math.nan
        rows.append(
            {
                "label": label,
                "title": row.title if row else REFERENCE_TITLES[label],
                "model_name": plan.model_names[label],
                "cells": cells,
                "glue_average": _json_number(average),
                "speed": _speed(plan, row, records, timed) if row else None,
                "reading_of": row.reading_of if row else None,
                "paper": _paper_values(row, plan.tasks),
            }
        )
    base = next(r for r in rows if r["label"] == paper.BASELINE)
    for r in rows:
        if r["speed"] and base["speed"]:
            r["speed"]["ratio"] = r["speed"]["steps_per_sec"] / base["speed"]["steps_per_sec"]
    return {
        "budget": plan.budget.name,
        "budget_description": plan.budget.description,
        "init_checkpoint": plan.init_checkpoint or None,
        "tasks": list(plan.tasks),
        "metrics": {t: get_task(t).headline_metric for t in plan.tasks},
        "dev_examples": {t: dev_examples(plan.data_dir, t) for t in plan.tasks},
        "num_trials": plan.num_trials,
        "benchmark_file": bench["result"]["file"] if bench else None,
        "rows": rows,
    }


def _cell_text(cell: dict | None, paper_value: float | None) -> str:
    ours = "—" if not cell or cell["median"] is None else f"{cell['median']:.2f} ± {_number(cell['std']):.2f}"
    return ours if paper_value is None else f"{ours} ({paper_value:.2f})"


def to_markdown(table: dict) -> str:
    tasks = table["tasks"]
    header = ["row", *[f"{t} ({table['metrics'][t]})" for t in tasks], "GLUE avg", "steps/s", "ratio"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in table["rows"]:
        p = r["paper"] or {}
        cells = [_cell_text(r["cells"].get(t), p.get("cells", {}).get(t)) for t in tasks]
        avg = "—" if r["glue_average"] is None else f"{r['glue_average']:.2f}"
        if p:
            avg += f" ({p['glue_average']:.2f})"
        speed, ratio = "—", "—"
        if r["speed"]:
            speed = f"{r['speed']['steps_per_sec']:.2f}"
            ratio = f"{r['speed'].get('ratio', math.nan):.2f}×"
        if p.get("steps_per_sec"):
            speed += f" ({p['steps_per_sec']:.2f})"
            ratio += f" ({p['ratio']:.2f}×)"
        lines.append("| " + " | ".join([r["title"], *cells, avg, speed, ratio]) + " |")
    lines += [
        "",
        f"Budget `{table['budget']}`: {table['budget_description']}. Cells: our median ± std over "
        f"{table['num_trials']} fine-tuning trial(s) (the same seeds for every row), GLUE dev, percent; "
        "in parentheses the paper's Table 1 (ELECTRA-small, 200k steps, V100). GLUE avg: the mean of the "
        "task medians over these tasks (the paper's over the same tasks). steps/s: our side-by-side "
        "timing on this machine (the paper's on a V100); ratio: to the baseline.",
    ]
    return "\n".join(lines) + "\n"


def write_report(plan: Plan, records: dict[str, dict], output_dir: str) -> dict:
    """Writes report/{table1.json, table1.md, figure4.png, early_exit.png, curves.png, README.md}."""
    from reproduce import figures, verdicts

    folder = os.path.join(output_dir, REPORT_DIR)
    os.makedirs(folder, exist_ok=True)
    table = build_table(plan, records)
    curves = {
        row.label: records[f"{PRETRAIN}-{row.label}"]["result"]["curves"]
        for row in plan.rows
        if f"{PRETRAIN}-{row.label}" in records
    }
    gen_exits = plan.budget.exit_layers_for("adaptive_exit_gen")
    table["figure4"] = verdicts.figure4_reading(curves, gen_exits)
    table["competence"] = verdicts.competence(curves)
    atomic.write_text(os.path.join(folder, "table1.json"), json.dumps(table, indent=1) + "\n")
    markdown = to_markdown(table)
    atomic.write_text(os.path.join(folder, "table1.md"), markdown)
    titles = {r.label: r.title for r in plan.rows}
    disc_exits = plan.budget.exit_layers_for("early_exit_disc")
    made = figures.draw_all(curves, titles, gen_exits, disc_exits, folder)
    atomic.write_text(os.path.join(folder, "README.md"), verdicts.readme(table, markdown, made))
    return table
