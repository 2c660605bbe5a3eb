"""Fine-tuning results: per-trial metrics, their summary, the results files and GLUE submissions.

Metrics are reported in percent (x100) like upstream's scorers; "loss" (the mean per-example dev
loss) is kept on its natural scale, as upstream. The summary of each metric over trials holds
the median, the mean and the population standard deviation (numpy's np.std, ddof=0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from electra_tf import atomic
from finetune.glue_tasks import GlueTask

TrialResults = dict[str, dict[str, float]]  # result key (task, or "mnli-mm") -> metric -> value


def result_key(task: GlueTask, split: str) -> str:
    """Key of one dev split's results: the task name, "mnli-mm" for MNLI's mismatched dev set."""
    return task.name + "-mm" if split.endswith("mismatched") else task.name


def summarize(trials: Sequence[TrialResults]) -> dict[str, dict[str, dict[str, float]]]:
    """{key: {metric: {"median", "mean", "std"}}} over the trials that have the key and metric."""
    pairs = dict.fromkeys(
        (key, metric) for trial in trials for key, metrics in trial.items() for metric in metrics
    )
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for key, metric in pairs:  # first-seen order
        values = np.array([t[key][metric] for t in trials if metric in t.get(key, {})], np.float64)
        summary.setdefault(key, {})[metric] = {
            "median": float(np.median(values)),
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
        }
    return summary


def format_metrics(metrics: dict[str, float]) -> str:
    """{"accuracy": 67.509, "loss": 0.6} → "accuracy: 67.51 - loss: 0.60"."""
    return " - ".join(f"{name}: {value:.2f}" for name, value in metrics.items())


def _line(key: str, metrics: dict[str, float]) -> str:
    return f"{key}: {format_metrics(metrics)}\n"


def results_text(trials: Sequence[TrialResults], summary: dict) -> str:
    """Upstream's lines ("rte: accuracy: 67.51 - loss: 0.62", one per trial and key), then
    "<key> median: ...", "<key> mean: ..." and "<key> std: ..." lines."""
    text = "".join(_line(key, metrics) for trial in trials for key, metrics in trial.items())
    for key, metrics in summary.items():
        for stat in ("median", "mean", "std"):
            text += _line(f"{key} {stat}", {name: values[stat] for name, values in metrics.items()})
    return text


def _json_safe(value):
    """NaN/inf (e.g. Pearson of a constant prediction) → None, so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_results(
    txt_path: str,
    json_path: str,
    trials: Sequence[TrialResults],
    hparams: dict,
    timing: Sequence[dict] | None = None,
) -> dict:
    """Writes both results files (atomically); returns {"trials": [...], "summary": {...}} plus
    "timing" when given (per trial {task: {"train_seconds", "train_examples_per_second"}}; json
    only, the txt file keeps upstream's lines)."""
    summary = summarize(trials)
    atomic.write_text(txt_path, results_text(trials, summary))
    out: dict = {"trials": list(trials), "summary": summary}
    if timing is not None:
        out["timing"] = list(timing)
    payload = {**out, "hparams": hparams}
    atomic.write_text(json_path, json.dumps(_json_safe(payload), indent=2, sort_keys=False) + "\n")
    return out


def submission_text(task: GlueTask, indices: Sequence[str], predictions: np.ndarray) -> str:
    """A GLUE submission TSV: "index\\tprediction" header, then one row per test example.

    predictions: label ids [N] (written as the label strings) or sts scores [N] (already on the
    0–5 scale).
    """
    if len(indices) != len(predictions):
        raise ValueError(f"{len(indices)} test indices but {len(predictions)} predictions")
    rows = ["index\tprediction"]
    for index, prediction in zip(indices, predictions, strict=True):
        value = f"{float(prediction):.3f}" if task.is_regression else task.labels[int(prediction)]
        rows.append(f"{index}\t{value}")
    return "\n".join(rows) + "\n"
