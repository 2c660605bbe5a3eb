"""The pre-training metric table: every ratio metric once, with its sum keys and its names.

Parts return metric *sums* (float32 scalars, summed over replicas and steps before dividing);
a ratio metric is numerator sum / denominator sum. From this table the trainer derives the
TensorBoard scalars of a log window, `evaluate` derives upstream's `unsup_results.txt` names, and
the console line picks the metrics marked `console`. Loss terms are reported as
`loss/<term>` (window mean of the step's loss) and, for the terms upstream reports, under its
eval name. A method's own sums (e.g. per-exit counts) go to its `summary_scalars`.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RatioMetric:
    tensorboard: str  # TensorBoard scalar name (docs/design.md, 'Metric names')
    numerator: str  # sum key
    denominator: str  # sum key; the metric is reported when the parts produce this sum
    eval_name: str  # upstream's name in results/unsup_results.txt
    console: bool = False  # on the trainer's log line


RATIOS = (
    RatioMetric("acc/mlm", "mlm_correct", "masked", "masked_lm_accuracy", console=True),
    RatioMetric("acc/sampled_mlm", "sampled_correct", "masked", "sampled_masked_lm_accuracy"),
    RatioMetric("acc/disc_mlm", "disc_mlm_correct", "disc_mlm_masked", "disc_mlm_accuracy", console=True),
    RatioMetric("acc/disc", "disc_correct", "disc_tokens", "disc_accuracy", console=True),
    RatioMetric("disc/precision", "disc_tp", "disc_predicted", "disc_precision"),
    RatioMetric("disc/recall", "disc_tp", "disc_replaced", "disc_recall"),
)
# Loss terms upstream's eval reports, and under which name.
LOSS_EVAL_NAMES = {"disc": "disc_loss", "mlm": "masked_lm_loss"}
TOTAL_LOSS = "total"
# Scalars computed outside the sums (the streaming AUC, the diagnostics) shown on the log line.
CONSOLE_SCALARS = ("disc/auc", "disc/auc_unigram", "disc/hidden_cosine")


def disc_sums(counts: dict) -> dict:
    """The discriminator's confusion counts (`metrics.disc_counts`: tp, fp, fn, tn, correct, count)
    → the pretrainer's sum keys that RATIOS read."""
    return {
        "disc_correct": counts["correct"],
        "disc_tokens": counts["count"],
        "disc_tp": counts["tp"],
        "disc_predicted": counts["tp"] + counts["fp"],
        "disc_replaced": counts["tp"] + counts["fn"],
    }


def _ratio(sums: dict[str, float], metric: RatioMetric) -> float:
    return sums.get(metric.numerator, 0.0) / max(sums.get(metric.denominator, 0.0), 1e-9)


def window_scalars(losses: dict[str, float], sums: dict[str, float], steps: int) -> dict[str, float]:
    """A log window's summed step losses (term → Σ_steps loss) and metric sums → TensorBoard scalars."""
    out = {f"loss/{term}": value / steps for term, value in losses.items()}
    out.update({m.tensorboard: _ratio(sums, m) for m in RATIOS if m.denominator in sums})
    return out


def eval_results(loss_sums: dict[str, tuple[float, float]], sums: dict[str, float]) -> dict[str, float]:
    """Evaluation's loss (numerator, denominator) sums per term and metric sums → upstream's names."""
    out = {m.eval_name: _ratio(sums, m) for m in RATIOS if m.denominator in sums}
    for term, name in LOSS_EVAL_NAMES.items():
        if term in loss_sums:
            numerator, denominator = loss_sums[term]
            out[name] = numerator / max(denominator, 1e-9)
    return out


def console_fields(scalars: dict[str, float]) -> list[str]:
    """`name=value` fields of the log line: every loss, then the console metrics present."""
    losses = sorted((k for k in scalars if k.startswith("loss/")), key=lambda k: k != f"loss/{TOTAL_LOSS}")
    fields = [f"{k}={scalars[k]:.4f}" for k in losses]
    names = [m.tensorboard for m in RATIOS if m.console] + list(CONSOLE_SCALARS)
    return fields + [f"{k}={scalars[k]:.3f}" for k in names if k in scalars]
