"""compare.py's table logic against hand-computed medians, stds and averages."""

from __future__ import annotations

import json
import os
import statistics

import numpy as np
import pytest

from finetune import compare
from finetune.glue_tasks import TASK_NAMES, get_task
from tests.finetune.helpers import make_data_dir
from tests.helpers import call_tool


def _summary(task: str, values: list[float]) -> dict:
    """A run_finetuning-style summary for one task whose headline metric took `values` over trials."""
    metric = get_task(task).headline_metric
    stats = {"median": float(np.median(values)), "mean": float(np.mean(values)), "std": float(np.std(values))}
    return {task: {metric: stats}}


def test_headline_metrics_follow_the_electra_paper():
    assert get_task("cola").headline_metric == "mcc"
    assert get_task("sts").headline_metric == "spearman"
    others = {t for t in TASK_NAMES if get_task(t).headline_metric == "accuracy"}
    assert others == {"sst", "mrpc", "qqp", "mnli", "qnli", "rte"}


def test_table_medians_stds_and_average_by_hand():
    trials = {
        "a": {"rte": [60.0, 70.0, 65.0], "cola": [30.0, 10.0, 20.0]},
        "b": {"rte": [50.0, 52.0, 54.0], "cola": [0.0, 0.0, 3.0]},
    }
    rows = {
        label: {task: compare.headline(task, _summary(task, vals)) for task, vals in per.items()}
        for label, per in trials.items()
    }
    table = compare.build_table(rows, ["rte", "cola"])
    assert table["header"] == ["model", "rte (accuracy)", "cola (mcc)", "average"]
    # a: medians 65 and 20 → average 42.5; std of [60,70,65] = sqrt(50/3) = 4.08
    assert table["rows"][0] == ["a", "65.00 ± 4.08", "20.00 ± 8.16", "42.50"]
    assert table["average"]["b"] == pytest.approx((52.0 + 0.0) / 2)
    assert table["rows"][1][2] == f"0.00 ± {statistics.pstdev([0.0, 0.0, 3.0]):.2f}"
    md = compare.to_markdown(table, 3)
    assert md.splitlines()[0] == "| model | rte (accuracy) | cola (mcc) | average |"
    assert md.splitlines()[1] == "|---|---|---|---|"
    assert "3 fine-tuning trial(s)" in md


def test_model_specs_and_lists():
    assert compare.parse_list(" rte, mrpc,rte ", "tasks") == ["rte", "mrpc"]
    with pytest.raises(ValueError, match="--models is empty"):
        compare.parse_list(" , ", "models")
    assert compare.model_runs(["m", "m@random"]) == [("m", "m", False), ("m@random", "m-random_init", True)]


def test_random_init_twin_copies_architecture(tmp_path):
    src = tmp_path / "models" / "m"
    src.mkdir(parents=True)
    (src / "hparams.json").write_text(json.dumps({"vocab_size": 10}))
    (src / "vocab.txt").write_text("[PAD]\n")
    compare.prepare_random_init_dir(str(tmp_path), "m@random")
    twin = tmp_path / "models" / "m-random_init"
    assert json.loads((twin / "hparams.json").read_text()) == {"vocab_size": 10}
    assert (twin / "vocab.txt").read_text() == "[PAD]\n"
    with pytest.raises(ValueError, match="hparams.json not found"):
        compare.prepare_random_init_dir(str(tmp_path), "missing@random")


def test_output_paths_name_models_and_tasks(tmp_path):
    md, js = compare.output_paths(str(tmp_path), ["a", "a@random"], ["rte", "cola"])
    assert md == str(tmp_path / "models" / "comparisons" / "a_vs_a-random__rte_cola.md")
    assert js.endswith("a_vs_a-random__rte_cola.json")


@pytest.mark.slow
def test_compare_end_to_end_on_real_rte_and_cola(tmp_path, glue_dir, pretrained_model_dir, wiki_data_dir):
    """Acceptance: compare.py fine-tunes a tiny pre-trained model and its random-init twin on real RTE
    and CoLA with identical settings; the saved table's cells are the medians/stds of each model's
    own results file, and the average is their mean."""
    data_dir = make_data_dir(
        tmp_path / "data", glue_dir, pretrained_model_dir, wiki_data_dir + "/vocab.txt", "m"
    )
    hparams = {"debug": True, "max_seq_length": 64, "log_every": 100}
    _, stdout = call_tool(
        compare.run,
        data_dir=data_dir,
        models="m,m@random",
        tasks="rte,cola",
        num_trials=2,
        hparams=json.dumps(hparams),
    )
    md_path, json_path = compare.output_paths(data_dir, ["m", "m@random"], ["rte", "cola"])
    with open(json_path) as f:
        saved = json.load(f)
    rows = {row[0]: row for row in saved["table"]["rows"]}
    assert set(rows) == {"m", "m@random"}
    for label, name in (("m", "m"), ("m@random", "m-random_init")):
        medians = []
        for col, task in enumerate(("rte", "cola"), start=1):
            with open(os.path.join(data_dir, "models", name, "results", f"{task}_results.json")) as f:
                own = json.load(f)
            values = [trial[task][get_task(task).headline_metric] for trial in own["trials"]]
            assert len(values) == 2
            medians.append(float(np.median(values)))
            assert rows[label][col] == f"{np.median(values):.2f} ± {np.std(values):.2f}"
        assert rows[label][3] == f"{np.mean(medians):.2f}"
    with open(md_path) as f:
        assert f.read().splitlines()[0] == "| model | rte (accuracy) | cola (mcc) | average |"
    assert "| m@random |" in stdout
    # A rerun trains nothing: every (model, task) is reused and the table is the same.
    _, again = call_tool(
        compare.run, data_dir=data_dir, models="m,m@random", tasks="rte,cola", num_trials=2, hparams=hparams
    )
    assert again.count("finished before, reused") == 4 and "fine-tuning m on" not in again
    with open(json_path) as f:
        assert json.load(f)["table"] == saved["table"]


def test_compare_rejects_unknown_task_before_training(tmp_path):
    """In-process (the CLI's `compare: error: ` line and exit status 1: test_cli_smoke)."""
    (tmp_path / "models").mkdir()
    with pytest.raises(ValueError, match="unknown GLUE task 'squad'"):
        compare.run(data_dir=str(tmp_path), models="m", tasks="rte,squad")
    assert not (tmp_path / "models" / "comparisons").exists()


def test_unit_key_follows_the_settings_and_the_checkpoint_files(tmp_path):
    """The same config and weights give the same unit; another hparam, another trial count or a
    rewritten checkpoint give another one; random init has no weight files."""
    import dataclasses

    from finetune.config import FinetuningConfig

    model = tmp_path / "models" / "m"
    model.mkdir(parents=True)
    for name in ("checkpoint", "ckpt-5.index", "ckpt-5.data-00000-of-00001", "hparams.json"):
        (model / name).write_text(name)
    config = FinetuningConfig(model_name="m", data_dir=str(tmp_path), init_checkpoint=str(model))
    first = compare.unit_path(str(tmp_path), "m", "rte", config)
    assert first == compare.unit_path(str(tmp_path), "m", "rte", config)
    assert os.path.basename(first).startswith("m__rte__")
    ids = [entry[0] for entry in compare.checkpoint_identity(str(model))]
    assert ids == ["checkpoint", "ckpt-5.data-00000-of-00001", "ckpt-5.index"]  # not hparams.json
    assert [e[0] for e in compare.checkpoint_identity(str(model / "ckpt-5"))] == ids[1:]
    assert compare.checkpoint_identity("") == []
    assert compare.unit_path(str(tmp_path), "m", "cola", config) != first
    assert compare.unit_path(str(tmp_path), "m", "rte", dataclasses.replace(config, num_trials=9)) != first
    (model / "ckpt-5.index").write_text("a longer, rewritten index")
    assert compare.unit_path(str(tmp_path), "m", "rte", config) != first
