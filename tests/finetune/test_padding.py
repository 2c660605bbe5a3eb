"""The padding hparam: "longest" batches are the "max_length" ones cut to their longest example,
predictions and training match within float noise, the step functions trace once, and the
runner reports train examples/s; plus adam_bias_correction reaching the optimizer."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import tf_keras

from electra_tf.configs import BertConfig, ConfigError
from finetune import glue_tasks, trainer
from finetune.config import finetuning_config
from finetune.features import Features
from finetune.model import build_classifier
from finetune.runner import run_finetuning

TINY = BertConfig(
    vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
)
EMB = 16
LENGTH = 24


def pair_features(rng, n: int, regression: bool = False) -> Features:
    """`[CLS] a [SEP] b [SEP]` rows of random lengths 5..LENGTH-4 (never the full LENGTH)."""
    input_ids = np.zeros([n, LENGTH], np.int32)
    input_mask = np.zeros([n, LENGTH], np.int32)
    segment_ids = np.zeros([n, LENGTH], np.int32)
    for i in range(n):
        a, b = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        input_ids[i, : a + b + 3] = [2, *rng.integers(5, 50, a), 3, *rng.integers(5, 50, b), 3]
        input_mask[i, : a + b + 3] = 1
        segment_ids[i, a + 2 : a + b + 3] = 1
    labels = rng.random(n).astype(np.float32) if regression else rng.integers(0, 2, n).astype(np.int32)
    return Features(input_ids, input_mask, segment_ids, labels)


class CountingModel:
    """Delegates to a classifier and counts its calls: in a tf.function, one call per trace."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, batch, training=False):
        self.calls += 1
        return self.model(batch, training=training)

    def __getattr__(self, name):
        return getattr(self.model, name)


def as_numpy(batches):
    return [{k: v.numpy() for k, v in batch.items()} for batch in batches]


def check_cut(longest: dict, full: dict) -> int:
    """longest = full[:, :L] with L the numpy longest row; full is zero beyond L. Returns L."""
    length = int(full["input_mask"].sum(axis=1).max())
    assert longest["input_ids"].shape == (full["input_ids"].shape[0], length)
    for key in ("input_ids", "input_mask", "segment_ids"):
        np.testing.assert_array_equal(longest[key], full[key][:, :length])
        assert not full[key][:, length:].any()
    np.testing.assert_array_equal(longest["labels"], full["labels"])
    return length


def test_longest_batches_are_the_same_rows_cut_to_the_numpy_length():
    feats = pair_features(np.random.default_rng(0), 43)
    train = {
        p: as_numpy(trainer.train_dataset(feats, 8, seed=5, padding=p).take(12)) for p in trainer.PADDINGS
    }
    lengths = [check_cut(a, b) for a, b in zip(train["longest"], train["max_length"], strict=True)]
    assert len(set(lengths)) > 1 and max(lengths) < LENGTH  # lengths vary: the cut is real
    ids = np.concatenate([b["input_ids"] for b in train["max_length"][:5]])  # one epoch: 5 batches
    assert len({row.tobytes() for row in ids}) == 40  # shuffled without repeats within the epoch
    assert not np.array_equal(ids, feats.input_ids[:40])  # and shuffled
    evaluation = {p: as_numpy(trainer.eval_dataset(feats, 10, padding=p)) for p in trainer.PADDINGS}
    for a, b in zip(evaluation["longest"], evaluation["max_length"], strict=True):
        check_cut(a, b)
    assert [len(b["labels"]) for b in evaluation["longest"]] == [10, 10, 10, 10, 3]
    with pytest.raises(ValueError, match="padding must be one of max_length, longest, got 'dynamic'"):
        trainer.eval_dataset(feats, 10, padding="dynamic")


@pytest.mark.parametrize("task_name", ["rte", "sts"])
def test_predict_is_the_same_under_longest_and_traces_once(task_name):
    task = glue_tasks.get_task(task_name)
    feats = pair_features(np.random.default_rng(1), 37, regression=task.is_regression)
    tf_keras.utils.set_random_seed(0)
    model = build_classifier(TINY, EMB, task)
    outputs = {}
    for padding in trainer.PADDINGS:
        counting = CountingModel(model)
        outputs[padding] = trainer.predict(counting, feats, 8, padding)
        assert counting.calls == 1, padding  # 5 batches, the last smaller, lengths vary: one trace
    for got, want in zip(outputs["longest"], outputs["max_length"], strict=True):
        assert got.shape == want.shape and got.shape[0] == 37
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_training_under_longest_matches_max_length_without_dropout():
    bert = dataclasses.replace(TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    task = glue_tasks.get_task("rte")
    rng = np.random.default_rng(2)
    train, dev = pair_features(rng, 40), pair_features(rng, 20)
    outputs, stats, calls = {}, {}, {}
    for padding in trainer.PADDINGS:
        tf_keras.utils.set_random_seed(0)
        model = build_classifier(bert, EMB, task)
        optimizer = trainer.create_optimizer(1e-3, 6, 0.1, 0.01, 0.8, bert.num_hidden_layers)
        counting, lines = CountingModel(model), []
        stats[padding] = trainer.train(
            counting, optimizer, train, 6, 8, seed=3, log_every=3, log=lines.append
        )
        calls[padding] = counting.calls
        assert len(lines) == 2 and lines[-1].startswith("step 6/6 | loss ")
        assert lines[-1].endswith(" examples/s")
        outputs[padding] = trainer.predict(model, dev, 8, padding)[0]
    np.testing.assert_allclose(outputs["longest"], outputs["max_length"], rtol=1e-4, atol=1e-5)
    # The 6 batches have several lengths, yet the step traces as often as with fixed-length batches
    # (twice: its first trace creates the optimizer's slots, so tf.function traces again).
    lengths = {
        b["input_ids"].shape[1] for b in as_numpy(trainer.train_dataset(train, 8, 3, "longest").take(6))
    }
    assert len(lengths) > 1 and calls["longest"] == calls["max_length"] <= 2
    for s in stats.values():
        assert (s.steps, s.examples) == (6, 48) and s.seconds > 0
        assert s.examples_per_second == pytest.approx(48 / s.seconds) and float(s) == s.loss
    assert stats["longest"].loss == pytest.approx(stats["max_length"].loss, rel=1e-4)


def test_config_values_and_the_bad_value_error(tmp_path):
    base = {"init_checkpoint": "", "task_names": ["rte"]}
    default = finetuning_config("m", str(tmp_path), base)
    assert (default.padding, default.adam_bias_correction) == ("max_length", False)
    chosen = finetuning_config(
        "m", str(tmp_path), {**base, "padding": "longest", "adam_bias_correction": True}
    )
    assert (chosen.padding, chosen.adam_bias_correction) == ("longest", True)
    for value, message in (
        ("dynamic", "hparam padding must be one of max_length, longest, got 'dynamic'"),
        (128, "hparam padding must be a string, got 128"),
    ):
        with pytest.raises(ConfigError) as error:
            finetuning_config("m", str(tmp_path), {**base, "padding": value})
        assert str(error.value) == message
    with pytest.raises(ConfigError, match="^hparam adam_bias_correction must be true or false, got 1$"):
        finetuning_config("m", str(tmp_path), {**base, "adam_bias_correction": 1})


def _tsv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.slow
def test_runner_reports_train_examples_per_second(tmp_path, monkeypatch):
    words = ["red", "blue", "cat", "dog", "big", "small"]
    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n"
    )
    rng = np.random.default_rng(0)
    labels = ["entailment", "not_entailment"]
    for split, n in (("train", 24), ("dev", 10)):
        rows = [
            [str(i), " ".join(rng.choice(words, 3)), " ".join(rng.choice(words, 2)), labels[i % 2]]
            for i in range(n)
        ]
        _tsv(tmp_path / "finetuning_data" / "rte" / f"{split}.tsv", [["index", "s1", "s2", "label"], *rows])
    created = []
    real = trainer.create_optimizer
    monkeypatch.setattr(
        trainer, "create_optimizer", lambda *a, **k: created.append(real(*a, **k)) or created[-1]
    )
    model = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 64}
    hparams = dict(task_names=["rte"], init_checkpoint="", embedding_size=16, model_hparam_overrides=model)
    hparams.update(max_seq_length=32, num_train_epochs=1, num_trials=2, train_batch_size=8)
    hparams.update(padding="longest", adam_bias_correction=True)
    config = finetuning_config("m", str(tmp_path), hparams)
    lines = []
    outcome = run_finetuning(config, log=lines.append)
    assert [o.bias_correction for o in created] == [True, True]
    assert len(outcome["timing"]) == 2
    for timing in outcome["timing"]:
        assert set(timing) == {"rte"} and timing["rte"]["train_seconds"] > 0
        assert timing["rte"]["train_examples_per_second"] == pytest.approx(
            24 / timing["rte"]["train_seconds"]
        )
    with open(config.results_json) as f:
        saved = json.load(f)
    assert saved["timing"] == outcome["timing"] and saved["hparams"]["padding"] == "longest"
    assert (
        sum(
            "trained 3 steps x 8 examples in " in line and "(padding longest, float32)" in line
            for line in lines
        )
        == 2
    )
