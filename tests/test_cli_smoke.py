"""One run of each command-line program through its real CLI (a subprocess apiece): flags reach
`run`, and bad input is one `<program>: error: ...` line on stderr, exit status 1, nothing
written. Everything else about the tools is tested in-process through their `run(...)`."""

from __future__ import annotations

import json
import os
import re
import shutil

from tests.checkpoint_io.helpers import FAST, make_upstream_checkpoint, write_vocab
from tests.data.helpers import write_bad_record
from tests.finetune.helpers import make_data_dir
from tests.helpers import TINY_MODEL, run_program


def _error_lines(proc) -> list[str]:
    return [x for x in proc.stderr.splitlines() if x.strip()]


def test_build_pretraining_dataset(bert_vocab_file, tmp_path):
    """tests/data/test_build_pretraining_dataset.py's bad input "no_text", through the CLI."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("\n \n\t\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run_program(
        "data_prep/build_pretraining_dataset.py",
        f"--corpus_dir={good}",
        f"--vocab_file={bert_vocab_file}",
        f"--output_dir={out}",
    )
    assert proc.returncode == 1
    err_lines = _error_lines(proc)
    assert len(err_lines) == 1, proc.stderr
    assert re.search(r"no examples were built", err_lines[0]), err_lines[0]
    assert err_lines[0].startswith("build_pretraining_dataset: error: ")
    assert not out.exists()


def test_build_openwebtext_pretraining_dataset(tmp_path):
    """tests/data/test_openwebtext.py's missing vocabulary, through the CLI."""
    proc = run_program(
        "data_prep/build_openwebtext_pretraining_dataset.py", f"--data_dir={tmp_path / 'nothing'}"
    )
    assert proc.returncode == 1 and "vocab file not found" in proc.stderr
    assert _error_lines(proc)[0].startswith("build_openwebtext_pretraining_dataset: error: ")


def test_inspect_tfrecords(tmp_path):
    """tests/data/test_inspect_tfrecords.py's bad record (and the positional file argument)."""
    path = write_bad_record(tmp_path)
    proc = run_program("data_prep/inspect_tfrecords.py", str(path))
    assert proc.returncode == 1
    assert re.search(
        r"inspect_tfrecords: error: .*00001 record 0: feature lengths differ: "
        r"input_ids=3, input_mask=2, segment_ids=3",
        proc.stderr,
    )


def test_run_pretraining(wiki_data_dir, tmp_path):
    """tests/pretrain/test_run_pretraining.py's bad input "indivisible_batch": --strategy=mirrored
    over --cpu_replicas=2 needs a TensorFlow of its own (logical devices), so only here."""
    data_dir = tmp_path / "data"
    shutil.copytree(wiki_data_dir, data_dir, ignore=shutil.ignore_patterns("models", "corpus"))
    hparams = dict(TINY_MODEL, num_train_steps=2, train_batch_size=15)
    proc = run_program(
        "pretrain/run_pretraining.py",
        f"--data_dir={data_dir}",
        "--model_name=bad",
        f"--hparams={json.dumps(hparams)}",
        "--strategy=mirrored",
        "--cpu_replicas=2",
    )
    assert proc.returncode == 1
    lines = _error_lines(proc)
    assert len(lines) == 1, proc.stderr[-2000:]
    pattern = r"train_batch_size=15 is not divisible by the 2 replicas"
    assert lines[0].startswith("run_pretraining: error: ") and re.search(pattern, lines[0]), lines[0]
    assert not (data_dir / "models").exists()


def test_run_finetuning(tmp_path, glue_dir, wiki_data_dir):
    """tests/finetune/test_run_finetuning.py's bad input "unknown_task", through the CLI."""
    data_dir = make_data_dir(
        tmp_path / "data", glue_dir, None, os.path.join(wiki_data_dir, "vocab.txt"), "tiny"
    )
    hparams = {"task_names": ["rte", "wnli"], "debug": True, "max_seq_length": 64, "init_checkpoint": ""}
    proc = run_program(
        "finetune/run_finetuning.py",
        f"--data_dir={data_dir}",
        "--model_name=tiny",
        f"--hparams={json.dumps(hparams)}",
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = _error_lines(proc)
    assert len(lines) == 1, proc.stderr[-2000:]
    pattern = r"unknown GLUE task 'wnli'; valid tasks: cola, sst, mrpc, sts, qqp, mnli, qnli, rte"
    assert lines[0].startswith("run_finetuning: error: ") and re.search(pattern, lines[0]), lines[0]
    models = os.path.join(data_dir, "models", "tiny")
    assert not os.path.exists(os.path.join(models, "results"))
    assert not os.path.exists(os.path.join(models, "finetuning_models"))


def test_compare(tmp_path):
    """tests/finetune/test_compare.py's unknown task, through the CLI."""
    (tmp_path / "models").mkdir()
    proc = run_program("finetune/compare.py", f"--data_dir={tmp_path}", "--models=m", "--tasks=rte,squad")
    assert proc.returncode == 1
    assert "compare: error: unknown GLUE task 'squad'" in proc.stderr
    assert not (tmp_path / "models" / "comparisons").exists()


def test_convert_checkpoint(tmp_path):
    """tests/checkpoint_io/test_cli.py's busy --output, through the CLI."""
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    output = tmp_path / "models" / "busy"
    output.mkdir(parents=True)
    (output / "notes.txt").write_text("keep me")
    proc = run_program(
        "-m",
        "electra_tf.convert_checkpoint",
        "--to=ours",
        f"--input={tmp_path / 'upstream'}",
        f"--output={output}",
    )
    assert proc.returncode == 1
    assert _error_lines(proc) == [
        f"convert_checkpoint: error: --output exists and is not an empty directory: {output}"
    ]
    assert os.listdir(output) == ["notes.txt"] and sorted(os.listdir(tmp_path / "models")) == ["busy"]


def test_score(tmp_path):
    """tests/checkpoint_io/test_cli.py's vocabulary of another size, through the CLI."""
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    vocab_file = write_vocab(tmp_path / "small_vocab.txt", FAST["vocab"] - 1)
    proc = run_program(
        "-m",
        "electra_tf.score",
        f"--checkpoint={tmp_path / 'upstream'}",
        f"--vocab_file={vocab_file}",
        "--text=a cat",
    )
    assert proc.returncode == 1
    assert _error_lines(proc) == [
        f"score: error: vocab file {vocab_file} has 999 tokens "
        "but the checkpoint's word embeddings have 1000 rows"
    ]


def test_reproduce_paper(tmp_path):
    """tests/reproduce/test_plan.py's unknown row through the CLI; then a dry run's plan."""
    (tmp_path / "finetuning_data" / "rte").mkdir(parents=True)
    for split in ("train", "dev"):
        (tmp_path / "finetuning_data" / "rte" / f"{split}.tsv").write_text(
            "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n"
        )
    proc = run_program("scripts/reproduce_paper.py", f"--data_dir={tmp_path}", "--methods=electra,bert")
    assert proc.returncode == 1
    assert _error_lines(proc) == [
        "reproduce_paper: error: --methods: unknown row 'bert'; rows: electra, emb_gen, emb_gen_pretrained, "
        "early_exit_disc, adaptive_exit_gen, adaptive_exit_gen_exit, early_exit_disc_gen, noise, mlm"
    ]
    proc = run_program("scripts/reproduce_paper.py", f"--data_dir={tmp_path}", "--budget=paper", "--dry_run")
    assert proc.returncode == 0, proc.stderr
    assert "| pretrain-early_exit_disc | 200,000 | 17.9 (3.1 steps/s) |" in proc.stdout
    assert sorted(os.listdir(tmp_path)) == ["finetuning_data"]  # a dry run writes nothing
