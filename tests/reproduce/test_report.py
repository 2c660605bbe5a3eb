"""The report's arithmetic on hand-made records: cells from results files, exit-weighted speeds,
the Figure 4 reading and the verdict sentences."""

from __future__ import annotations

import json

import numpy as np
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


def test_figure4_weighs_the_gaps_against_the_noise_of_one_log_line():
    rng = np.random.default_rng(0)
    steps = np.arange(25, 1001, 25)
    means = {3: 0.80, 6: 0.78, 9: 0.77, 12: 0.769}
    curves = {
        "adaptive_exit_gen": {
            f"adaptive/rtd_acc_exit_{n}": [[int(s), float(m + 0.01 * rng.standard_normal())] for s in steps]
            for n, m in means.items()
        }
    }
    reading = verdicts.figure4_reading(curves, [3, 6, 9, 12])
    run = curves["adaptive_exit_gen"]
    late = {n: np.array([v for s, v in run[f"adaptive/rtd_acc_exit_{n}"] if s > 500]) for n in means}
    noise = [np.std(np.diff(late[n])) / np.sqrt(2) for n in (3, 6, 9, 12)]
    pooled = float(np.sqrt(np.mean(np.square(noise))))
    assert reading["line_noise"] == pytest.approx(pooled)
    assert 0.007 < pooled < 0.013  # the noise put in: 0.01
    gaps = {f"{a}-{b}": late[a].mean() - late[b].mean() for a, b in ((3, 6), (6, 9), (9, 12))}
    assert reading["adjacent_gaps"] == pytest.approx(gaps)
    assert reading["gaps_in_line_noise"] == pytest.approx({k: g / pooled for k, g in gaps.items()})
    resolvable = 2 * np.sqrt(2) * pooled / np.sqrt(len(late[3]))  # 20 second-half lines
    assert reading["resolvable_gap"] == pytest.approx(resolvable)
    assert reading["gaps_resolved"] == sum(g > resolvable for g in gaps.values())
    text = verdicts.figure4_sentence(reading)
    assert f"Against the noise of one log line ({pooled:.2g})" in text
    assert f"3→6: {gaps['3-6']:+.2g} ({gaps['3-6'] / pooled:+.1f}×)" in text
    assert verdicts.line_noise([[1, 0.5], [2, 0.6]]) is None
    assert verdicts.line_noise([[1, 0.1], [2, 0.3], [3, 0.2]]) == pytest.approx(0.15 / np.sqrt(2))


def test_a_warm_start_row_is_compared_with_each_row():
    base = _row("Baseline", 60.0, paper_average=70.0)
    floor, start = _row("Random", 50.0), _row("Init", 58.0, stds=(2.0, 2.0))
    text = verdicts.row_sentence(base, base, floor, ("rte", "mrpc"), start)
    noise = np.sqrt((1 + 4 + 1 + 4) / 2) / np.sqrt(2)
    assert (
        f"+2.00 against the init checkpoint without continued pre-training (58.00, trial noise ±{noise:.2f})"
        in text
    )
    assert "init checkpoint" not in verdicts.row_sentence(start, base, floor, ("rte", "mrpc"), start)


def test_a_collapsed_fine_tuning_cannot_shrink_the_noise_below_the_dev_sets_binomial_error():
    """The smoke report's case: Emb-Gen +0.21 against the baseline, every trial one class (std 0).
    With the floor (RTE 277 and MRPC 408 dev examples: 50/√n points) it is too close to tell."""
    tasks = ("rte", "mrpc")
    base = _row("Baseline", 60.0, stds=(0.0, 0.0), paper_average=70.0)
    collapsed = _row("Emb-Gen", 60.21, stds=(0.0, 0.0), paper_average=60.0)
    floor = _row("Random", 50.0)
    assert "disagrees" in verdicts.row_sentence(collapsed, base, floor, tasks)  # no floor: ±0.00
    floors = {"rte": verdicts.noise_floor("accuracy", 277), "mrpc": verdicts.noise_floor("accuracy", 408)}
    assert floors["rte"] == pytest.approx(50 / np.sqrt(277))
    noise = np.sqrt((2 * floors["rte"] ** 2 + 2 * floors["mrpc"] ** 2) / 2) / np.sqrt(2)
    text = verdicts.row_sentence(collapsed, base, floor, tasks, floors=floors)
    assert f"+0.21 against the baseline (trial noise ±{noise:.2f})" in text and "too close to tell" in text
    assert verdicts.noise_floor("mcc", 1043) == pytest.approx(100 / np.sqrt(1043))
    assert verdicts.noise_floor("accuracy", None) == 0.0


def test_a_reading_row_is_compared_with_the_row_it_reads_differently():
    tasks = ("rte", "mrpc")
    base, floor = _row("Baseline", 60.0, paper_average=70.0), _row("Random", 50.0)
    parent = _row("Early-Exit (Disc)", 58.0)
    parent["speed"] = {"steps_per_sec": 2.0, "ratio": 1.0}
    fast = _row("Early-Exit (Disc), generator exits too", 57.0)
    fast["speed"] = {"steps_per_sec": 3.0, "ratio": 1.5}
    text = verdicts.row_sentence(fast, base, floor, tasks, parent=parent)
    assert "-1.00 against Early-Exit (Disc) (noise ±1.00), 1.50× its steps/s" in text


def test_competence_names_the_rows_that_fell_below_the_bar_and_when():
    curves = {
        "electra": {"disc/auc_unigram": [[25, 0.80], [50, 0.86], [75, 0.84], [100, 0.90]]},
        "emb_gen": {"disc/auc_unigram": [[25, 0.88], [50, 0.91]]},
        "noise": {"disc/auc": [[25, 0.5]]},
    }
    reading = verdicts.competence(curves)
    assert set(reading) == {"electra", "emb_gen"}
    assert reading["electra"] == {"min": 0.80, "log_lines": 4, "below": [25, 75], "held_from": 100}
    assert reading["emb_gen"] == {"min": 0.88, "log_lines": 2, "below": [], "held_from": 25}
    text = verdicts.competence_sentence(reading, {"electra": "Baseline", "emb_gen": "Emb-Gen"})
    assert (
        "held by Emb-Gen; not by Baseline (min 0.800; below at step(s) 25, 75, at or above from step 100 on)."
        in text
    )
    falling = verdicts.competence({"x": {"disc/auc_unigram": [[1, 0.9], [2, 0.7]]}})
    assert falling["x"]["held_from"] is None
