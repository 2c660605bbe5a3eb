"""Readings of a reproduction against the paper: Figure 4's exit order, and one sentence per row
on whether it agrees with Table 1 (the numbers in each sentence come from table1.json)."""

from __future__ import annotations

import math
import statistics

from reproduce import paper
from reproduce.plan import INIT_CHECKPOINT


def line_noise(points, since: float = 0) -> float | None:
    """The noise of one log line of a slowly moving series: the std of successive differences of
    the points after step `since`, / √2 (a trend moves little between neighbours; None for < 3)."""
    values = [v for step, v in points or [] if step > since]
    if len(values) < 3:
        return None
    return statistics.pstdev(b - a for a, b in zip(values, values[1:], strict=False)) / math.sqrt(2)


def figure4_reading(curves: dict[str, dict], exit_layers) -> dict | None:
    """Per-exit RTD accuracy of the first run that logs `adaptive/rtd_acc_exit_<l>`: the mean
    over the second half of its log lines (and over all of them), the exits ordered from easiest
    (highest accuracy) down with the spread between them, whether the lowest exit is the easiest
    and whether accuracy falls monotonically with the exit's depth (the paper's Figure 4).

    Against the noise: `line_noise` is the root mean square over exits of `line_noise` (one log
    line's); each adjacent gap (upper exit's mean minus the next deeper one's) is given in units of
    it, and counts as resolved when it exceeds two standard errors of a difference of two
    second-half means (2·√2·line_noise/√n, n the fewest second-half lines of an exit)."""
    for label, run in curves.items():
        series = {n: run.get(f"adaptive/rtd_acc_exit_{n}") for n in exit_layers}
        if not any(series.values()):
            continue
        last_step = max(step for s in series.values() if s for step, _ in s)

        def mean(points, since=0):
            values = [v for step, v in points or [] if step > since]
            return statistics.fmean(values) if values else None

        late = {n: mean(s, last_step / 2) for n, s in series.items()}
        whole = {n: mean(s) for n, s in series.items()}
        measured = [n for n in exit_layers if late[n] is not None]
        order = sorted(measured, key=lambda n: -late[n])
        values = [late[n] for n in measured]
        noises = [x for n in measured if (x := line_noise(series[n], last_step / 2)) is not None]
        noise = math.sqrt(statistics.fmean(x * x for x in noises)) if noises else None
        lines = min((sum(1 for step, _ in series[n] if step > last_step / 2) for n in measured), default=0)
        gaps = {f"{a}-{b}": late[a] - late[b] for a, b in zip(measured, measured[1:], strict=False)}
        resolvable = 2 * math.sqrt(2) * noise / math.sqrt(lines) if noise and lines else None
        return {
            "row": label,
            "second_half_mean": {str(n): late[n] for n in exit_layers},
            "whole_run_mean": {str(n): whole[n] for n in exit_layers},
            "log_lines": {str(n): len(series[n] or []) for n in exit_layers},
            "order_easiest_first": order,
            "spread": max(values) - min(values) if values else None,
            "lowest_exit_easiest": bool(order) and order[0] == exit_layers[0],
            "monotonic": len(values) == len(exit_layers)
            and all(a >= b for a, b in zip(values, values[1:], strict=False)),
            "line_noise": noise,
            "adjacent_gaps": gaps,
            "gaps_in_line_noise": {k: g / noise for k, g in gaps.items()} if noise else None,
            "resolvable_gap": resolvable,
            "gaps_resolved": sum(g > resolvable for g in gaps.values()) if resolvable else None,
        }
    return None


CORRELATIONS = ("mcc", "pearson", "spearman")


def noise_floor(metric: str, dev_examples: int | None) -> float:
    """The least std a task's score can be credited with, in points: a binomial error of the dev
    set, 100·√(0.25/n) for accuracy and F1 (p = ½, the widest), 100/√n for a correlation (its
    standard error near 0). A collapsed fine-tuning (every trial predicting one class) has a trial
    std of 0 but still this much sampling error. 0 without a dev size."""
    if not dev_examples:
        return 0.0
    return (100.0 if metric in CORRELATIONS else 50.0) / math.sqrt(dev_examples)


COMPETENT_AUC = 0.85  # issue 26: a discriminator that can read keeps disc/auc_unigram at or above this


def competence(curves: dict[str, dict], bar: float = COMPETENT_AUC) -> dict[str, dict]:
    """Per row, from its `disc/auc_unigram` log lines: the lowest value, the log steps below `bar`
    and the first step from which every later line is at or above it (None if the last is below)."""
    out = {}
    for label, run in curves.items():
        points = run.get("disc/auc_unigram") or []
        if not points:
            continue
        below = [step for step, v in points if v < bar]
        later = [step for step, _ in points if not below or step > below[-1]]
        out[label] = {
            "min": min(v for _, v in points),
            "log_lines": len(points),
            "below": below,
            "held_from": later[0] if later else None,
        }
    return out


def competence_sentence(reading: dict[str, dict], titles: dict[str, str], bar: float = COMPETENT_AUC) -> str:
    if not reading:
        return "Discriminator competence: no run logged `disc/auc_unigram`."
    held = [titles.get(k, k) for k, r in reading.items() if not r["below"]]
    fell = [
        f"{titles.get(k, k)} (min {r['min']:.3f}; below at step(s) {', '.join(map(str, r['below']))}"
        + (f", at or above from step {r['held_from']} on)" if r["held_from"] is not None else "; never held)")
        for k, r in reading.items()
        if r["below"]
    ]
    text = f"Discriminator competence (`disc/auc_unigram` ≥ {bar} at every log line): "
    text += f"held by {', '.join(held) or 'no row'}"
    return text + (f"; not by {'; '.join(fell)}." if fell else ".")


def _trial_noise(a: dict, b: dict, tasks, floors: dict[str, float] | None = None) -> float:
    """Std of the difference of two rows' task averages from their per-task trial stds, each at
    least the task's `floors` value (`noise_floor`)."""
    floors = floors or {}

    def var(row, t):
        return max(row["cells"][t]["std"] or 0.0, floors.get(t, 0.0)) ** 2

    terms = [var(a, t) + var(b, t) for t in tasks]
    return math.sqrt(sum(terms) / len(tasks)) / math.sqrt(len(tasks))


def row_sentence(
    row: dict,
    base: dict,
    floor: dict,
    tasks,
    start: dict | None = None,
    floors: dict[str, float] | None = None,
    parent: dict | None = None,
) -> str:
    """One sentence: the row's GLUE average against the baseline's, the floor's and (with a warm
    start) the init checkpoint's without continued pre-training, and its speed, each beside the
    paper's. `floors`: each task's `noise_floor`; `parent`: the Table 1 row this row is another
    reading of (its GLUE average and speed are compared too)."""
    if row["glue_average"] is None or base["glue_average"] is None:
        return f"**{row['title']}**: not fine-tuned on every task yet."
    avg = row["glue_average"]
    parts = []
    if row is base:
        parts.append(f"GLUE average {avg:.2f} (paper {row['paper']['glue_average']:.2f} over these tasks)")
    else:
        delta = avg - base["glue_average"]
        noise = _trial_noise(row, base, tasks, floors)
        text = f"GLUE average {avg:.2f}, {delta:+.2f} against the baseline (trial noise ±{noise:.2f})"
        if row["paper"]:
            p_delta = row["paper"]["glue_average"] - base["paper"]["glue_average"]
            if abs(delta) <= noise:
                verdict = "too close to tell at this budget"
            elif (delta > 0) == (p_delta > 0):
                verdict = "agrees"
            else:
                verdict = "disagrees"
            text += f"; the paper has {p_delta:+.2f}: {verdict}"
        parts.append(text)
    if floor["glue_average"] is not None and row is not floor:
        gain = avg - floor["glue_average"]
        parts.append(f"{gain:+.2f} against the random-init floor ({floor['glue_average']:.2f})")
    if parent and parent["glue_average"] is not None:
        noise = _trial_noise(row, parent, tasks, floors)
        text = f"{avg - parent['glue_average']:+.2f} against {parent['title']} (noise ±{noise:.2f})"
        if row["speed"] and parent["speed"]:
            text += f", {row['speed']['steps_per_sec'] / parent['speed']['steps_per_sec']:.2f}× its steps/s"
        parts.append(text)
    if start and start["glue_average"] is not None and row is not start:
        noise = _trial_noise(row, start, tasks, floors)
        parts.append(
            f"{avg - start['glue_average']:+.2f} against the init checkpoint without continued "
            f"pre-training ({start['glue_average']:.2f}, trial noise ±{noise:.2f})"
        )
    if row["speed"] and "ratio" in row["speed"] and row is not base:
        ratio = row["speed"]["ratio"]
        text = f"{ratio:.2f}× the baseline's steps/s"
        if row["paper"] and row["paper"]["ratio"]:
            p_ratio = row["paper"]["ratio"]
            same = (ratio > 1) == (p_ratio > 1)
            verdict = ("faster" if ratio > 1 else "slower") + (
                ", as in the paper" if same else ", unlike the paper"
            )
            text += f" (paper {p_ratio:.2f}×: {verdict})"
        parts.append(text)
    return f"**{row['title']}**: " + "; ".join(parts) + "."


def figure4_sentence(reading: dict | None) -> str:
    if not reading:
        return "Figure 4: no run logged per-exit RTD accuracy."
    means = ", ".join(
        f"exit {n}: {v:.3f}" if v is not None else f"exit {n}: —"
        for n, v in reading["second_half_mean"].items()
    )
    order = " > ".join(str(n) for n in reading["order_easiest_first"])
    lowest = reading["order_easiest_first"][0] if reading["order_easiest_first"] else None
    easiest = (
        "the easiest, as in the paper"
        if reading["lowest_exit_easiest"]
        else f"not the easiest (exit {lowest} is)"
    )
    text = (
        f"Figure 4 ({reading['row']}, mean RTD accuracy over the second half of the run): {means}. "
        f"Order, easiest first: {order}; the exits differ by at most {reading['spread']:.3f}. "
        f"The lowest exit is {easiest}; "
        f"accuracy {'falls' if reading['monotonic'] else 'does not fall'} monotonically with depth "
        f"(the paper: monotonic, exit {paper.FIGURE4_EXIT_LAYERS[0]} of 12 the easiest)."
    )
    if reading.get("line_noise"):
        gaps = ", ".join(
            f"{k.replace('-', '→')}: {g:+.2g} ({reading['gaps_in_line_noise'][k]:+.1f}×)"
            for k, g in reading["adjacent_gaps"].items()
        )
        text += (
            f" Against the noise of one log line ({reading['line_noise']:.2g}), the steps between "
            f"adjacent exits are {gaps}; {reading['gaps_resolved']} of {len(reading['adjacent_gaps'])} "
            f"exceed {reading['resolvable_gap']:.2g}, two standard errors of a difference of two "
            "second-half means."
        )
    return text


def readme(table: dict, markdown: str, figures: list[str]) -> str:
    rows = table["rows"]
    base = next(r for r in rows if r["label"] == paper.BASELINE)
    floor = rows[-1]
    start = next((r for r in rows if r["label"] == INIT_CHECKPOINT), None)
    floors = {
        t: noise_floor(table["metrics"][t], table.get("dev_examples", {}).get(t)) for t in table["tasks"]
    }
    by_label = {r["label"]: r for r in rows}

    def parent(r):
        return by_label.get(r.get("reading_of") or "")

    lines = [
        f"# Reproduction of the paper's Table 1 and Figure 4 — budget `{table['budget']}`",
        "",
        markdown,
        *[
            f"- {row_sentence(r, base, floor, table['tasks'], start, floors, parent(r))}"
            for r in rows
            if r is not floor
        ],
        f"- {figure4_sentence(table.get('figure4'))}",
        f"- {competence_sentence(table.get('competence', {}), {r['label']: r['title'] for r in rows})}",
        "",
        *[f"![{name}]({name})" for name in figures],
        "",
        "Every number above is in `table1.json`, read from the fine-tuning results files and "
        "`benchmark.json` that it names.",
    ]
    return "\n".join(lines) + "\n"
