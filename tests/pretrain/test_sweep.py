"""sweep.py: the sweep file's checks, the table's numbers from a run's curves, and a two-run sweep
in-process (trained, tabulated, then skipped on a rerun)."""

from __future__ import annotations

import json
import math
import os

import pytest

from pretrain.sweep import load_sweep, markdown_table, run_sweep, summarize
from tests.helpers import TINY_MODEL
from tests.pretraining.methods.helpers import NO_GENERATOR


def _write(tmp_path, value) -> str:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(value))
    return str(path)


@pytest.mark.parametrize(
    "value, message",
    [
        ([], "non-empty list"),
        ({"runs": []}, "non-empty list"),
        ({"runs": [{"name": "a"}, {"name": "a"}]}, "distinct"),
        ({"runs": [{"hparams": {}}]}, "distinct"),
    ],
)
def test_bad_sweep_files_are_one_clear_error(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        load_sweep(_write(tmp_path, value))
    with pytest.raises(ValueError, match="cannot read"):
        load_sweep(str(tmp_path / "missing.json"))


def test_sweep_defaults_name_and_base(tmp_path):
    sweep = load_sweep(_write(tmp_path, {"runs": [{"name": "a"}]}))
    assert sweep["name"] == "s" and sweep["base"] == {}


def test_summary_reads_final_best_and_post_threshold_values():
    history = [
        (100, {"disc/auc": 0.85, "acc/mlm": 0.05, "disc/auc_unigram": 0.55, "perf/steps_per_sec": 3.0}),
        (200, {"disc/auc": 0.60, "acc/mlm": 0.11, "disc/auc_unigram": 0.70, "perf/steps_per_sec": 1.0}),
        (300, {"disc/auc": 0.75, "acc/mlm": 0.12, "disc/auc_unigram": 0.65, "perf/steps_per_sec": 2.0}),
    ]
    row = summarize("r", history, 120.0)
    assert row["steps"] == 300
    assert row["final_auc"] == 0.75 and row["best_auc"] == 0.85
    assert row["auc_after_mlm10"] == 0.60  # the lowest AUC once MLM accuracy ≥ 10%
    assert row["final_auc_unigram"] == 0.65 and row["best_auc_unigram"] == 0.70
    assert row["steps_per_sec"] == 2.0 and row["wall_minutes"] == 2.0  # median rate
    assert math.isnan(row["probe_flagged"])
    table = markdown_table([row])
    assert "| r | 300 | 0.750 | 0.850 | 0.600 | 0.650 | 0.700 | 0.120 | — |" in table


@pytest.mark.slow
def test_two_runs_train_tabulate_and_are_skipped_on_a_rerun(wiki_data_dir, tmp_path):
    base = {**TINY_MODEL, "num_train_steps": 4, "log_every": 2, "save_checkpoints_steps": 4}
    base["diagnostic_examples"] = 32
    sweep = {
        "name": "t",
        "base": base,
        "runs": [
            {"name": "uni", "hparams": NO_GENERATOR},
            {"name": "mlm", "hparams": {"disc_mlm_weight": 1}},
        ],
    }
    lines = []
    rows = run_sweep(wiki_data_dir, sweep, log=lines.append)
    assert [r["name"] for r in rows] == ["uni", "mlm"]
    assert all(r["steps"] == 4 for r in rows)
    assert 0.0 <= rows[0]["final_auc_unigram"] <= 1.0 and math.isnan(rows[0]["mlm_acc"])
    assert 0.0 <= rows[1]["mlm_acc"] <= 1.0
    stem = os.path.join(wiki_data_dir, "models", "sweeps", "t")
    for suffix in (".md", ".json", ".png"):
        assert os.path.getsize(stem + suffix) > 0
    with open(stem + ".json") as f:
        saved = json.load(f)
    assert [step for step, _ in saved["runs"]["mlm"]["history"]] == [2, 4]
    assert os.path.exists(os.path.join(wiki_data_dir, "models", "t_mlm", "ckpt-4.index"))
    again = []
    run_sweep(wiki_data_dir, sweep, log=again.append)
    assert sum("done before, skipped" in line for line in again) == 2
