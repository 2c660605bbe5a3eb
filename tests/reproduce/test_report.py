"""The report's arithmetic on hand-made records: cells from results files, exit-weighted speeds,
the Figure 4 reading and the verdict sentences."""

from __future__ import annotations

import json

import pytest

from reproduce import paper, verdicts
from reproduce.report import exit_shares, read_cell, row_speed


def test_read_cell_takes_the_headline_metric_and_every_trial(tmp_path):
    path = tmp_path / "cola_results.json"
    trials = [{"cola": {"mcc": 10.0, "accuracy": 70.0}}, {"cola": {"mcc": 30.0, "accuracy": 71.0}}]
    summary = {"cola": {"mcc": {"median": 20.0, "mean": 20.0, "std": 10.0}}}
    path.write_text(json.dumps({"trials": trials, "summary": summary}))
    cell = read_cell(str(path), "cola")
    assert cell == {
        "metric": "mcc",
        "median": 20.0,
        "std": 10.0,
        "trials": [10.0, 30.0],
        "results_json": str(path),
    }


def test_speed_weights_pinned_step_times_by_where_the_exits_were():
    timed = {
        "electra": {"steps_per_sec": 2.0, "median_step_seconds": 0.5},
        "gen@1": {"steps_per_sec": 4.0, "median_step_seconds": 0.25},
        "gen@2": {"steps_per_sec": 2.0, "median_step_seconds": 0.5},
    }
    probs = {"adaptive/p_1": [[0, 0.2], [10, 0.6]], "adaptive/p_2": [[0, 0.8], [10, 0.4]]}
    assert exit_shares(probs, [1, 2]) == pytest.approx({1: 0.4, 2: 0.6})
    speed = row_speed("gen", timed, probs)
    assert speed["steps_per_sec"] == pytest.approx(1 / (0.4 * 0.25 + 0.6 * 0.5))
    chosen = {"early_exit/exit_layer": [[0, 2.0], [10, 1.0], [20, 1.0], [30, 1.0]]}
    assert exit_shares(chosen, [1, 2]) == {1: 0.75, 2: 0.25}
    assert row_speed("gen", timed, {})["timed_as"] == {"gen@2": 1.0}  # no exit scalars: the full depth
    assert row_speed("electra", timed, {})["steps_per_sec"] == 2.0
    assert row_speed("other", timed, {}) is None


def test_figure4_reading_orders_the_exits_by_late_accuracy():
    curves = {
        "electra": {"disc/auc": [[1, 0.5]]},
        "adaptive_exit_gen": {
            "adaptive/rtd_acc_exit_1": [[100, 0.5], [300, 0.9], [400, 0.7]],
            "adaptive/rtd_acc_exit_2": [[100, 0.9], [300, 0.85]],
            "adaptive/rtd_acc_exit_3": [[400, 0.6]],
        },
    }
    reading = verdicts.figure4_reading(curves, [1, 2, 3])
    assert reading["row"] == "adaptive_exit_gen"
    assert reading["second_half_mean"] == pytest.approx({"1": 0.8, "2": 0.85, "3": 0.6})
    assert reading["whole_run_mean"]["2"] == pytest.approx(0.875)
    assert reading["order_easiest_first"] == [2, 1, 3]
    assert reading["spread"] == pytest.approx(0.25)
    assert "Order, easiest first: 2 > 1 > 3; the exits differ by at most 0.250." in verdicts.figure4_sentence(
        reading
    )
    assert not reading["lowest_exit_easiest"] and not reading["monotonic"]
    assert verdicts.figure4_reading({"electra": {}}, [1, 2]) is None


def _row(title, average, stds=(1.0, 1.0), paper_average=None, ratio=None, paper_ratio=None):
    cells = {t: {"std": s} for t, s in zip(("rte", "mrpc"), stds, strict=True)}
    p = {"glue_average": paper_average, "ratio": paper_ratio} if paper_average is not None else None
    speed = {"ratio": ratio} if ratio is not None else None
    return {"title": title, "glue_average": average, "cells": cells, "paper": p, "speed": speed}


def test_verdicts_compare_signs_beyond_trial_noise():
    base = _row("Baseline", 60.0, paper_average=70.0, ratio=1.0, paper_ratio=1.0)
    floor = _row("Random", 50.0)
    tasks = ("rte", "mrpc")
    noise = ((1 + 1 + 1 + 1) / 2) ** 0.5 / 2**0.5  # sqrt(mean of summed variances) / sqrt(tasks) = 1
    assert noise == pytest.approx(1.0)
    below = verdicts.row_sentence(
        _row("Emb-Gen", 55.0, paper_average=60.0, ratio=1.8, paper_ratio=1.92), base, floor, tasks
    )
    assert "-5.00 against the baseline (trial noise ±1.00); the paper has -10.00: agrees" in below
    assert "+5.00 against the random-init floor (50.00)" in below and "1.80× the baseline's steps/s" in below
    assert "faster, as in the paper" in below
    above = verdicts.row_sentence(
        _row("X", 62.0, paper_average=60.0, ratio=0.9, paper_ratio=1.3), base, floor, tasks
    )
    assert "the paper has -10.00: disagrees" in above and "slower, unlike the paper" in above
    close = verdicts.row_sentence(_row("Y", 60.5, paper_average=75.0), base, floor, tasks)
    assert "too close to tell at this budget" in close
    assert paper.row("early_exit_disc").steps_per_sec == 3.1
