"""The fine-tuning validation's report (reproduce/validation.py runs it): from the finished unit
records, one row per model with median ± std of each task's headline metric, the GLUE average of
the medians, pretrained − random init per task, and each unit's training speed and wall time."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence

from electra_tf.progress import format_duration

SCORES_NOTE = (
    "Cells: median ± std over {trials} fine-tuning trial(s) (the same seeds for both rows), GLUE dev, "
    "percent (finetune.compare.headline's metric); GLUE avg: the mean of the task medians."
)
SPEED_NOTE = (
    "Cells: training examples/s over the trials (examples trained on / training seconds, as the "
    "runner measures them), then the unit's wall time (reading and featurizing the data, every "
    "trial's training and dev evaluation)."
)


def speed(record: Mapping) -> tuple[float, float | None]:
    """(training examples/s, training seconds or None) of a finished unit: from the runner's
    per-trial timing when the result has it (seconds-weighted over the trials), else train
    examples × epochs × trials / the unit's seconds."""
    spec, task = record["spec"], record["spec"]["task"]
    timing = [t[task] for t in record["result"].get("timing") or () if task in t]
    if timing:
        seconds = sum(t["train_seconds"] for t in timing)
        return sum(t["train_examples_per_second"] * t["train_seconds"] for t in timing) / seconds, seconds
    h = spec["hparams"]
    return spec["train_examples"] * h["num_train_epochs"] * h["num_trials"] / record["seconds"], None


def report_rows(records: Iterable[Mapping]) -> list[dict]:
    """Finished unit records → one row per model, in the records' order: {"model", "pretrained",
    "tasks": {task: {"metric", "median", "std", "train_examples", "max_train_examples",
    "examples_per_second", "train_seconds", "wall_seconds"}}, "glue_average"}."""
    rows: dict[str, dict] = {}
    for record in records:
        spec, result = record["spec"], record["result"]
        row = rows.setdefault(
            spec["model"], {"model": spec["model"], "pretrained": spec["pretrained"], "tasks": {}}
        )
        rate, train_seconds = speed(record)
        row["tasks"][spec["task"]] = {
            "metric": result["metric"],
            "median": result["median"],
            "std": result["std"],
            "train_examples": spec["train_examples"],
            "max_train_examples": spec["hparams"].get("max_train_examples", 0),
            "examples_per_second": rate,
            "train_seconds": train_seconds,
            "wall_seconds": record["seconds"],
        }
    for row in rows.values():
        row["glue_average"] = statistics.fmean(c["median"] for c in row["tasks"].values())
    return list(rows.values())


def differences(rows: Sequence[Mapping]) -> dict[str, float]:
    """Pretrained − random init: per task both rows have, and "glue_average" (the mean of those
    differences); {} unless there is one row of each with a task in common."""
    pretrained = next((r for r in rows if r["pretrained"]), None)
    floor = next((r for r in rows if r["pretrained"] is False), None)
    if pretrained is None or floor is None:
        return {}
    tasks = [t for t in pretrained["tasks"] if t in floor["tasks"]]
    out = {t: pretrained["tasks"][t]["median"] - floor["tasks"][t]["median"] for t in tasks}
    # over the tasks both rows have (= the difference of the averages when both are complete)
    return {**out, "glue_average": statistics.fmean(out.values())} if out else {}


HF_TASKS = {"cola": "cola", "sst": "sst2", "mrpc": "mrpc", "sts": "stsb", "rte": "rte"}
REFERENCE = "Hugging Face reference"


def reference_row(results: Mapping, tasks: Sequence[str], metrics: Mapping[str, str]) -> dict:
    """scripts/hf_reference_finetune.py's JSON ({"results": {hf task: {trial: {"metrics", ...}}}})
    → a report row: each task's `metrics[task]` as median ± std (population std, as ours) over
    its trials, examples/s the median of the trials', train_examples the trials' (to compare)."""
    row: dict = {"model": REFERENCE, "pretrained": None, "tasks": {}}
    for task in tasks:
        trials = list((results.get("results") or {}).get(HF_TASKS[task], {}).values())
        if not trials:
            continue
        values = [t["metrics"][metrics[task]] for t in trials]
        row["tasks"][task] = {
            "metric": metrics[task],
            "median": statistics.median(values),
            "std": statistics.pstdev(values),
            "trials": len(values),
            "train_examples": trials[0].get("train_examples"),
            "max_train_examples": 0,
            "examples_per_second": statistics.median(t["train_examples_per_second"] for t in trials),
            "train_seconds": sum(t["train_seconds"] for t in trials),
            "wall_seconds": sum(t["train_seconds"] for t in trials),
        }
    if row["tasks"]:
        row["glue_average"] = statistics.fmean(c["median"] for c in row["tasks"].values())
    return row


def agreement(ours: Mapping, reference: Mapping) -> dict[str, dict]:
    """Per task both rows have: ours − reference, the tolerance max(1.5, the larger trial-std)
    and whether the difference is within it (issue 25's criterion)."""
    out = {}
    for task, cell in ours["tasks"].items():
        ref = reference["tasks"].get(task)
        if ref is None:
            continue
        tolerance = max(1.5, cell["std"], ref["std"])
        diff = cell["median"] - ref["median"]
        out[task] = {"difference": diff, "tolerance": tolerance, "agrees": abs(diff) <= tolerance}
    return out


def markdown_table(
    rows: Sequence[Mapping],
    tasks: Sequence[str],
    hparams: Mapping,
    command: str,
    date: str,
    notes: Sequence[str] = (),
    title: str = "Fine-tuning validation",
) -> str:
    """The report as markdown: the scores (a row per model, then pretrained − random), `notes`
    (e.g. a capped task), the training speed per unit, the hparams as JSON."""
    from finetune.glue_tasks import get_task

    header = ["model", *[f"{t} ({get_task(t).headline_metric}{_cap(rows, t)})" for t in tasks], "GLUE avg"]
    lines = [f"# {title}", "", f"{date}: `{command}`", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [_cell(row["tasks"].get(t), "{median:.2f} ± {std:.2f}") for t in tasks]
        done = sum(t in row["tasks"] for t in tasks)
        average = f"{row['glue_average']:.2f}" + (
            f" ({done} of {len(tasks)} tasks)" if done < len(tasks) else ""
        )
        lines.append(f"| {row['model']} | {' | '.join(cells)} | {average} |")
    diff = differences(rows)
    if diff:
        cells = [f"{diff[t]:+.2f}" if t in diff else "—" for t in tasks]
        lines.append(f"| pretrained − random | {' | '.join(cells)} | {diff['glue_average']:+.2f} |")
    reference = next((r for r in rows if r["model"] == REFERENCE), None)
    pretrained = next((r for r in rows if r["pretrained"]), None)
    if reference and pretrained:
        agree = agreement(pretrained, reference)
        cells = [
            f"{agree[t]['difference']:+.2f} ({'within' if agree[t]['agrees'] else 'outside'} "
            f"±{agree[t]['tolerance']:.2f})"
            if t in agree
            else "—"
            for t in tasks
        ]
        lines.append(f"| ours − reference | {' | '.join(cells)} | |")
    lines += ["", SCORES_NOTE.format(trials=hparams.get("num_trials", "?"))]
    lines += [line for note in notes for line in ("", note)] + [""]
    lines += ["## Training speed", "", "| model | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for row in rows:
        cells = [_cell(row["tasks"].get(t), "{examples_per_second:.1f} ex/s, {wall}") for t in tasks]
        lines.append(f"| {row['model']} | {' | '.join(cells)} |")
    lines += ["", SPEED_NOTE, "", "## Fine-tuning hparams (both rows)", ""]
    lines += ["```json", json.dumps(dict(hparams), indent=1, sort_keys=True), "```"]
    return "\n".join(lines) + "\n"


def _cap(rows: Sequence[Mapping], task: str) -> str:
    """ "; first N" when the task's training was capped (max_train_examples), else ""."""
    caps = {r["tasks"][task]["max_train_examples"] for r in rows if task in r["tasks"]} - {0}
    return f"; first {max(caps):,}" if caps else ""


def _cell(cell: Mapping | None, form: str) -> str:
    return form.format(**cell, wall=format_duration(cell["wall_seconds"])) if cell else "—"
