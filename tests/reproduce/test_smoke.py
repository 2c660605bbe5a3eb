"""The `smoke` budget end to end, in-process, on the session's real data dir and the real GLUE
TSVs: interrupted after a few units, then rerun (acceptance 4), then every number of table1.json
checked against the results and benchmark files it names (acceptance 3)."""

from __future__ import annotations

import json
import math
import os
import statistics

import numpy as np
import pytest

from reproduce import paper
from reproduce.execute import EXECUTORS
from reproduce.reproduction import run

pytestmark = pytest.mark.slow
TASKS = ("rte", "mrpc")
STOP_BEFORE = 5  # the first run is interrupted when its 5th unit starts


def read(path: str, as_json: bool = True):
    with open(path, encoding="utf-8") as f:
        return json.load(f) if as_json else f.read()


class Interruption(Exception):  # stands for SIGINT/SIGTERM between units
    pass


def counting(executors: dict, ran: list[str], stop_before: int | None = None) -> dict:
    """The real executors, recording each unit they run; the `stop_before`-th raises first."""

    def wrap(kind):
        def execute(unit, ctx):
            if stop_before is not None and len(ran) + 1 == stop_before:
                raise Interruption(unit.name)
            ran.append(unit.name)
            return executors[kind](unit, ctx)

        return execute

    return {kind: wrap(kind) for kind in executors}


def smoke_runs(wiki_data_dir, glue_dir, tmp_path_factory) -> dict:
    """The three runs: interrupted, rerun, rerun again."""

    def build(folder: str) -> None:
        data_dir = os.path.join(folder, "data")
        os.mkdir(data_dir)
        for name in ("pretrain_tfrecords", "vocab.txt"):
            os.symlink(os.path.join(wiki_data_dir, name), os.path.join(data_dir, name))
        os.symlink(glue_dir, os.path.join(data_dir, "finetuning_data"))
        args = dict(
            budget="smoke",
            data_dir=data_dir,
            tasks=TASKS,
            output_dir=os.path.join(folder, "out"),
            pretrain_hparams={"max_seq_length": 64},  # the session's records
            log=lambda line: None,
        )
        first, second, third = [], [], []
        with pytest.raises(Interruption):
            run(**args, executors=counting(EXECUTORS, first, stop_before=STOP_BEFORE))
        table = run(**args, executors=counting(EXECUTORS, second))
        run(**args, executors=counting(EXECUTORS, third))
        with open(os.path.join(folder, "runs.json"), "w", encoding="utf-8") as f:
            json.dump({"table": table, "runs": [first, second, third]}, f)

    folder = str(tmp_path_factory.mktemp("reproduce_smoke"))
    build(folder)
    runs = read(os.path.join(folder, "runs.json"))
    return {"table": runs["table"], "output_dir": os.path.join(folder, "out"), "runs": runs["runs"]}


def check_a_rerun_repeats_no_finished_unit(smoke):
    first, second, third = smoke["runs"]
    assert len(first) == STOP_BEFORE - 1
    assert not set(first) & set(second)  # nothing finished before the interruption ran again
    units = set(first) | set(second)
    assert len(units) == len(first) + len(second) == 1 + 5 + 6 * len(TASKS)  # timing, rows, fine-tunings
    assert third == []  # a finished plan runs nothing
    records = os.listdir(os.path.join(smoke["output_dir"], "units"))
    assert sorted(records) == sorted(f"{name}.json" for name in units)


def check_the_report_holds_every_file(smoke):
    folder = os.path.join(smoke["output_dir"], "report")
    for name in ("figure4.png", "early_exit.png", "curves.png"):
        with open(os.path.join(folder, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    readme = read(os.path.join(folder, "README.md"), as_json=False)
    table_md = read(os.path.join(folder, "table1.md"), as_json=False)
    assert table_md in readme
    for name in ("figure4.png", "early_exit.png", "curves.png"):
        assert f"]({name})" in readme
    for row in paper.ROWS[:5]:
        assert f"**{row.title}**" in readme and row.title in table_md
    assert "Figure 4 (adaptive_exit_gen" in readme
    on_disk = read(os.path.join(folder, "table1.json"))
    assert on_disk == smoke["table"]


def check_every_glue_number_equals_its_results_file(smoke):
    table = smoke["table"]
    assert [r["label"] for r in table["rows"]] == [*paper.DEFAULT_ROWS, "random_init"]
    assert table["tasks"] == list(TASKS) and table["num_trials"] == 2
    for row in table["rows"]:
        medians = []
        for task in TASKS:
            cell = row["cells"][task]
            results = read(cell["results_json"])
            metric = {"rte": "accuracy", "mrpc": "accuracy"}[task]
            assert cell["metric"] == metric
            trials = [t[task][metric] for t in results["trials"]]
            assert len(trials) == 2 and cell["trials"] == trials
            assert cell["median"] == pytest.approx(float(np.median(trials)), abs=1e-9)
            assert cell["std"] == pytest.approx(float(np.std(trials)), abs=1e-9)
            assert os.path.dirname(os.path.dirname(cell["results_json"])).endswith(row["model_name"])
            medians.append(cell["median"])
        assert row["glue_average"] == pytest.approx(statistics.fmean(medians))
        if row["paper"]:
            source = paper.row(row["label"])
            assert row["paper"]["cells"] == {t: source.table1[t] for t in TASKS}
            assert row["paper"]["ratio"] == pytest.approx(source.steps_per_sec / 2.4)


def check_every_speed_equals_the_benchmark_file_and_the_runs_exits(smoke):
    table, out = smoke["table"], smoke["output_dir"]
    timed = read(table["benchmark_file"])["rows"]
    assert table["benchmark_file"] == os.path.join(out, "benchmark.json")
    step_time = {label: float(np.median(r["step_times"])) for label, r in timed.items()}
    rows = {r["label"]: r for r in table["rows"]}
    for label in ("electra", "emb_gen"):
        assert rows[label]["speed"]["steps_per_sec"] == pytest.approx(1.0 / step_time[label])
    assert rows["emb_gen_pretrained"]["speed"]["steps_per_sec"] == rows["emb_gen"]["speed"]["steps_per_sec"]

    def curves(label):
        return read(os.path.join(out, "units", f"pretrain-{label}.json"))["result"]["curves"]

    p = [statistics.fmean(v for _, v in curves("adaptive_exit_gen")[f"adaptive/p_{n}"]) for n in (1, 2)]
    expected = (
        p[0] / sum(p) * step_time["adaptive_exit_gen@1"] + p[1] / sum(p) * step_time["adaptive_exit_gen@2"]
    )
    assert rows["adaptive_exit_gen"]["speed"]["steps_per_sec"] == pytest.approx(1.0 / expected)
    chosen = [v for _, v in curves("early_exit_disc")["early_exit/exit_layer"]]
    share = [chosen.count(float(n)) / len(chosen) for n in (1, 2)]
    expected = share[0] * step_time["early_exit_disc@1"] + share[1] * step_time["early_exit_disc@2"]
    assert rows["early_exit_disc"]["speed"]["steps_per_sec"] == pytest.approx(1.0 / expected)
    base = rows["electra"]["speed"]["steps_per_sec"]
    for row in table["rows"][:-1]:
        assert row["speed"]["ratio"] == pytest.approx(row["speed"]["steps_per_sec"] / base)
    assert rows["random_init"]["speed"] is None


def check_figure4_reading_equals_the_runs_curves(smoke):
    reading = smoke["table"]["figure4"]
    out = smoke["output_dir"]
    run_curves = read(os.path.join(out, "units", "pretrain-adaptive_exit_gen.json"))["result"]["curves"]
    last = max(step for n in (1, 2) for step, _ in run_curves[f"adaptive/rtd_acc_exit_{n}"])
    for n in (1, 2):
        late = [v for step, v in run_curves[f"adaptive/rtd_acc_exit_{n}"] if step > last / 2]
        assert reading["second_half_mean"][str(n)] == pytest.approx(statistics.fmean(late))
    means = [reading["second_half_mean"][str(n)] for n in (1, 2)]
    assert reading["order_easiest_first"] == sorted((1, 2), key=lambda n: -means[n - 1])
    assert reading["monotonic"] == (means[0] >= means[1])
    assert not any(math.isnan(m) for m in means)
    late = {n: [v for s, v in run_curves[f"adaptive/rtd_acc_exit_{n}"] if s > last / 2] for n in (1, 2)}
    assert reading["adjacent_gaps"] == pytest.approx({"1-2": means[0] - means[1]})
    if min(len(v) for v in late.values()) < 3:  # too few lines to measure one line's noise
        assert reading["line_noise"] is None and reading["gaps_resolved"] is None
    else:
        noise = np.sqrt(np.mean([np.var(np.diff(late[n])) / 2 for n in (1, 2)]))
        assert reading["line_noise"] == pytest.approx(noise)
        resolvable = 2 * np.sqrt(2) * noise / np.sqrt(min(len(v) for v in late.values()))
        assert reading["gaps_resolved"] == int(means[0] - means[1] > resolvable)


def check_competence_equals_the_runs_curves(smoke):
    out, table = smoke["output_dir"], smoke["table"]
    for label in paper.DEFAULT_ROWS:
        points = read(os.path.join(out, "units", f"pretrain-{label}.json"))["result"]["curves"][
            "disc/auc_unigram"
        ]
        reading = table["competence"][label]
        assert reading["min"] == pytest.approx(min(v for _, v in points))
        assert reading["below"] == [s for s, v in points if v < 0.85]
    assert "Discriminator competence" in read(os.path.join(out, "report", "README.md"), as_json=False)


def test_smoke_budget_end_to_end(wiki_data_dir, glue_dir, tmp_path_factory):
    """One test (one xdist worker) for the one expensive run; each check names what it asserts."""
    smoke = smoke_runs(wiki_data_dir, glue_dir, tmp_path_factory)
    check_a_rerun_repeats_no_finished_unit(smoke)
    check_the_report_holds_every_file(smoke)
    check_every_glue_number_equals_its_results_file(smoke)
    check_every_speed_equals_the_benchmark_file_and_the_runs_exits(smoke)
    check_figure4_reading_equals_the_runs_curves(smoke)
    check_competence_equals_the_runs_curves(smoke)
