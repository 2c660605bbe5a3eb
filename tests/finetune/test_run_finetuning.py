"""run_finetuning.py end to end: a tiny pre-trained model on real RTE and CoLA, results files,
trials' statistics, GLUE submission files, and bad input (one line, exit 1, nothing written)."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import checkpoint_io
from finetune import run_finetuning as run_finetuning_tool
from finetune.config import finetuning_config
from finetune.runner import load_inputs, run_finetuning
from tests.finetune.helpers import make_data_dir
from tests.helpers import TINY_MODEL, assert_one_line, call_tool

NAME = "tiny"


def finetune(data_dir: str, **hparams) -> str:
    """run_finetuning.py's `run` in-process; returns what it printed (bad input raises)."""
    _, stdout = call_tool(
        run_finetuning_tool.run, data_dir=data_dir, model_name=NAME, hparams=json.dumps(hparams)
    )
    return stdout


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, glue_dir, pretrained_model_dir, wiki_data_dir):
    data_dir = make_data_dir(
        tmp_path_factory.mktemp("e2e") / "data",
        glue_dir,
        pretrained_model_dir,
        wiki_data_dir + "/vocab.txt",
        NAME,
    )
    stdout = finetune(
        data_dir, task_names=["rte", "cola"], debug=True, num_trials=2, max_seq_length=64, log_every=4
    )
    return data_dir, stdout


@pytest.mark.slow
def test_results_files_hold_every_trial_and_their_summary(e2e):
    """Acceptance: per-trial metrics in percent with the tasks' metric names; median/mean/std over
    trials as numpy computes them; the txt file says the same as the json twin."""
    data_dir, _ = e2e
    results_dir = os.path.join(data_dir, "models", NAME, "results")
    with open(os.path.join(results_dir, "rte,cola_results.json")) as f:
        results = json.load(f)
    trials = results["trials"]
    assert len(trials) == 2
    for trial in trials:
        assert set(trial) == {"rte", "cola"}
        assert set(trial["rte"]) == {"accuracy", "loss"} and set(trial["cola"]) == {"mcc", "loss"}
        assert 0.0 <= trial["rte"]["accuracy"] <= 100.0 and -100.0 <= trial["cola"]["mcc"] <= 100.0
        assert trial["rte"]["accuracy"] * 99 / 100 == pytest.approx(
            round(trial["rte"]["accuracy"] * 99 / 100)
        )
    for key, metric in (("rte", "accuracy"), ("cola", "mcc"), ("rte", "loss"), ("cola", "loss")):
        values = np.array([t[key][metric] for t in trials])
        stats = results["summary"][key][metric]
        assert stats["median"] == pytest.approx(np.median(values), abs=1e-9)
        assert stats["mean"] == pytest.approx(np.mean(values), abs=1e-9)
        assert stats["std"] == pytest.approx(np.std(values), abs=1e-9)
    with open(os.path.join(data_dir, "vocab.txt")) as f:
        vocab_size = len(f.read().splitlines())
    assert results["hparams"]["learning_rate"] == 3e-4 and results["hparams"]["vocab_size"] == vocab_size
    assert results["hparams"]["embedding_size"] == 64  # from the pre-trained model's hparams.json
    with open(os.path.join(results_dir, "rte,cola_results.txt")) as f:
        lines = f.read().splitlines()
    expected = []
    for trial in trials:
        expected.append(f"rte: accuracy: {trial['rte']['accuracy']:.2f} - loss: {trial['rte']['loss']:.2f}")
        expected.append(f"cola: mcc: {trial['cola']['mcc']:.2f} - loss: {trial['cola']['loss']:.2f}")
    for key, metric in (("rte", "accuracy"), ("cola", "mcc")):
        for stat in ("median", "mean", "std"):
            s = results["summary"][key]
            expected.append(f"{key} {stat}: {metric}: {s[metric][stat]:.2f} - loss: {s['loss'][stat]:.2f}")
    assert lines == expected
    assert not [n for n in os.listdir(results_dir) if n.endswith(".tmp")]


@pytest.mark.slow
def test_starts_from_the_pretrained_weights_and_saves_each_trial(e2e, pretrained_model_dir):
    data_dir, stdout = e2e
    unused = re.findall(
        r"initialised \d+ variables from \S+ \(ours format\); (\d+) checkpoint variable\(s\) unused",
        stdout,
    )
    assert len(unused) == 4 and int(unused[0]) > 0, stdout[-3000:]  # the generator is not used
    for task in ("rte", "cola"):  # debug: 99 rte / 100 cola examples → 4 batches x 3 epochs
        assert re.search(rf"{task} trial 2/2: step 12/12 \| loss \d+\.\d+ \| [\d.]+ steps/s \| ETA", stdout)
        assert re.search(rf"{task} trial 1/2 dev: ", stdout)
    pretrained = checkpoint_io.read_checkpoint_arrays(pretrained_model_dir).arrays[
        "electra/embeddings/word_embeddings"
    ]
    for trial in (1, 2):
        folder = os.path.join(data_dir, "models", NAME, "finetuning_models", f"rte,cola_model_{trial}", "rte")
        reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(folder))
        key = next(k for k in reader.get_variable_to_shape_map() if "word_embeddings" in k)
        tuned = reader.get_tensor(key)
        # 12 small updates (lr 3e-4 x 0.8^4) away from the pre-trained table, not a fresh random one
        assert tuned.shape == pretrained.shape and 0 < np.abs(tuned - pretrained).max() < 0.01
        head = [k for k in reader.get_variable_to_shape_map() if "task_specific" in k or "head" in k]
        assert head, "the task head is saved too"


def _tsv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.slow
def test_write_test_outputs_writes_glue_submission_files(tmp_path):
    words = ["red", "blue", "cat", "dog", "big", "small"]
    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n"
    )
    rng = np.random.default_rng(0)

    def sentence():
        return " ".join(rng.choice(words, size=4))

    root = tmp_path / "finetuning_data"
    rte_labels = ["entailment", "not_entailment"]
    for split, n in (("train", 40), ("dev", 10)):
        rte = [[str(i), sentence(), sentence(), rte_labels[i % 2]] for i in range(n)]
        _tsv(root / "rte" / f"{split}.tsv", [["index", "sentence1", "sentence2", "label"], *rte])
        sts = [[str(i), "g", "f", "y", "o", "s", "s", sentence(), sentence(), f"{i % 6}.0"] for i in range(n)]
        _tsv(root / "sts" / f"{split}.tsv", [["h"] * 10, *sts])
    _tsv(
        root / "rte" / "test.tsv",
        [["index", "sentence1", "sentence2"]] + [[str(100 + i), sentence(), "x"] for i in range(7)],
    )
    sts_test = [[str(200 + i), "g", "f", "y", "o", "s", "s", sentence(), sentence()] for i in range(5)]
    _tsv(root / "sts" / "test.tsv", [["h"] * 9, *sts_test])
    model = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 64}
    hparams = dict(
        task_names=["rte", "sts"], init_checkpoint="", embedding_size=16, model_hparam_overrides=model
    )
    hparams.update(
        max_seq_length=16, num_train_epochs=1, num_trials=2, n_writes_test=1, write_test_outputs=True
    )
    hparams.update(keep_all_models=False, train_batch_size=8)
    config = finetuning_config(NAME, str(tmp_path), hparams)
    summary = run_finetuning(config, log=lambda _line: None)
    assert len(summary["trials"]) == 2 and set(summary["summary"]) == {"rte", "sts"}
    assert set(summary["trials"][0]["sts"]) == {"pearson", "spearman", "loss"}
    out = tmp_path / "models" / NAME / "test_predictions"
    assert sorted(os.listdir(out)) == ["trial_1"]  # n_writes_test = 1
    rte_rows = (out / "trial_1" / "RTE.tsv").read_text().splitlines()
    assert rte_rows[0] == "index\tprediction" and len(rte_rows) == 8
    assert [r.split("\t")[0] for r in rte_rows[1:]] == [str(100 + i) for i in range(7)]
    assert {r.split("\t")[1] for r in rte_rows[1:]} <= set(rte_labels)
    sts_rows = (out / "trial_1" / "STS-B.tsv").read_text().splitlines()
    assert sts_rows[0] == "index\tprediction" and [r.split("\t")[0] for r in sts_rows[1:]] == [
        str(200 + i) for i in range(5)
    ]
    assert all(0.0 <= float(r.split("\t")[1]) <= 5.0 for r in sts_rows[1:])
    models = tmp_path / "models" / NAME / "finetuning_models"
    assert sorted(os.listdir(models)) == ["rte,sts_model_2"]  # keep_all_models false: only the last trial
    evaluate_only = finetuning_config(NAME, str(tmp_path), {**hparams, "do_train": False})
    with pytest.raises(
        ValueError, match=r"do_train is false but there are no fine-tuned weights in .*_model_1/rte"
    ):
        load_inputs(evaluate_only)


BAD_CASES = [
    ("unknown_task", r"unknown GLUE task 'wnli'; valid tasks: cola, sst, mrpc, sts, qqp, mnli, qnli, rte"),
    ("missing_tsv", r"task 'rte': train file not found: .*rte/train\.tsv"),
    ("malformed_row", r"rte/train\.tsv:5: expected 4 columns, found 5"),
    ("missing_checkpoint", r"no checkpoint in .*models/tiny.*\"init_checkpoint\": \"\""),
    ("vocab_size", r"vocab\.txt has (\d+) tokens but the model's vocab_size is (\d+)"),
    (
        "checkpoint_mismatch",
        r"layer_0/intermediate/dense/kernel: checkpoint \[128, 512\] vs model \[128, 256\]: "
        r"the checkpoint's intermediate size is 512 but intermediate_size=256",
    ),
]


@pytest.mark.parametrize("case, pattern", BAD_CASES, ids=[c for c, _ in BAD_CASES])
def test_bad_input_one_line_nothing_written(
    case, pattern, tmp_path, glue_dir, pretrained_model_dir, wiki_data_dir
):
    """In-process: the one-line message, nothing written (the CLI's `run_finetuning: error: ` line
    and exit status 1: test_cli_smoke)."""
    vocab = os.path.join(wiki_data_dir, "vocab.txt")
    with_checkpoint = case in ("vocab_size", "checkpoint_mismatch")
    data_dir = make_data_dir(
        tmp_path / "data", glue_dir, pretrained_model_dir if with_checkpoint else None, vocab, NAME
    )
    hparams = {"task_names": ["rte"], "debug": True, "max_seq_length": 64}
    if not with_checkpoint and case != "missing_checkpoint":
        hparams["init_checkpoint"] = ""
    if case in ("missing_tsv", "malformed_row"):
        os.unlink(os.path.join(data_dir, "finetuning_data"))
        task_dir = os.path.join(data_dir, "finetuning_data", "rte")
        os.makedirs(task_dir)
        shutil.copy(os.path.join(glue_dir, "RTE", "dev.tsv"), task_dir)
        if case == "malformed_row":
            with open(os.path.join(glue_dir, "RTE", "train.tsv"), encoding="utf-8") as f:
                lines = f.read().split("\n")
            lines[4] += "\textra"
            with open(os.path.join(task_dir, "train.tsv"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
    elif case == "unknown_task":
        hparams["task_names"] = ["rte", "wnli"]
    elif case == "missing_checkpoint":
        os.makedirs(os.path.join(data_dir, "models", NAME))
    elif case == "vocab_size":
        with open(vocab, encoding="utf-8") as f:
            tokens = f.read().splitlines()
        with open(os.path.join(data_dir, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(tokens[:-1]) + "\n")
    elif case == "checkpoint_mismatch":
        hparams["model_hparam_overrides"] = {"intermediate_size": 256}
    with pytest.raises(ValueError, match=pattern) as error:
        finetune(data_dir, **hparams)
    assert_one_line(error)
    if case == "vocab_size":  # one token fewer than the checkpoint's (= the pre-training vocab's)
        have, want = map(int, re.search(pattern, str(error.value)).groups())
        assert have + 1 == want == len(tokens)
    models = os.path.join(data_dir, "models", NAME)
    assert not os.path.exists(os.path.join(models, "results"))
    assert not os.path.exists(os.path.join(models, "finetuning_models"))


@pytest.mark.parametrize("release_format", ["upstream", "hf"])
def test_finetunes_from_an_upstream_format_release(
    tmp_path, glue_dir, pretrained_model_dir, wiki_data_dir, release_format
):
    """The released-checkpoint flow: models/<name>/ laid out like Google's zips (a TF1 checkpoint
    with upstream variable names + vocab.txt, no hparams.json; architecture from model_size and
    overrides) or like a Hugging Face directory (config.json, model.safetensors, vocab.txt). The
    backbone starts from exactly the pre-trained arrays and fine-tuning runs."""
    from electra_tf.checkpoint_io import translate

    name = f"{release_format}_release"
    data_dir = make_data_dir(tmp_path / "data", glue_dir, None, wiki_data_dir + "/vocab.txt", name)
    release = os.path.join(data_dir, "models", name)
    if release_format == "hf":
        translate.to_hf(pretrained_model_dir, release, vocab_file=os.path.join(wiki_data_dir, "vocab.txt"))
    else:
        translate.to_upstream(pretrained_model_dir, release)
        shutil.copy(os.path.join(wiki_data_dir, "vocab.txt"), release)
    assert not os.path.exists(os.path.join(release, "hparams.json"))
    assert checkpoint_io.read_checkpoint_arrays(release).format == release_format
    source = checkpoint_io.read_checkpoint_arrays(pretrained_model_dir)
    architecture = {k: TINY_MODEL[k] for k in ("embedding_size", "model_hparam_overrides")}
    hparams = dict(architecture, task_names=["rte"], debug=True, num_train_epochs=1.0, max_seq_length=64)
    config = finetuning_config(name, data_dir, hparams)
    inputs = load_inputs(config)
    assert inputs.init.format == release_format and inputs.init.unused > 0  # the RTD head is not used
    for key in ("electra/embeddings/word_embeddings", "electra/encoder/layer_1/attention/self/query/kernel"):
        assert np.array_equal(inputs.init.arrays.arrays[key], source.arrays[key])
    outcome = run_finetuning(config, log=lambda line: None)
    assert 0.0 <= outcome["trials"][0]["rte"]["accuracy"] <= 100.0
    with open(os.path.join(release, "results", "rte_results.json")) as f:
        assert json.load(f)["trials"] == outcome["trials"]
