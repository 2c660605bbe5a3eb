"""FinetuningConfig: upstream defaults, size/task/debug defaults, explicit values win, paths."""

from __future__ import annotations

import json
import os

import pytest

from electra_tf.checkpoint_io import CheckpointError
from electra_tf.configs import ConfigError
from finetune.config import finetuning_config
from finetune.glue_tasks import TaskError

RANDOM = {"init_checkpoint": ""}


def config(tmp_path, **hparams):
    return finetuning_config("m", str(tmp_path), {**RANDOM, **hparams})


def test_upstream_defaults_and_size_and_task_defaults(tmp_path):
    c = config(tmp_path, task_names=["cola"])
    assert (c.learning_rate, c.layerwise_lr_decay, c.num_train_epochs) == (3e-4, 0.8, 3.0)
    assert (c.weight_decay_rate, c.warmup_proportion, c.max_seq_length) == (0.01, 0.1, 128)
    assert (c.train_batch_size, c.eval_batch_size, c.predict_batch_size) == (32, 32, 32)
    assert c.double_unordered and c.do_train and c.do_eval and c.keep_all_models and c.num_trials == 1
    assert c.embedding_size_resolved == 128 and c.bert_config.hidden_size == 256
    assert config(tmp_path, task_names=["rte"]).num_train_epochs == 10.0
    assert config(tmp_path, task_names=["sts"]).num_train_epochs == 10.0
    assert config(tmp_path, task_names=["rte", "cola"]).num_train_epochs == 3.0
    large = config(tmp_path, task_names=["mrpc"], model_size="large")
    assert (large.learning_rate, large.layerwise_lr_decay) == (5e-5, 0.9)
    assert config(tmp_path, task_names=["mrpc"], model_size="base").learning_rate == 1e-4


def test_explicit_values_win_over_size_task_and_debug_defaults(tmp_path):
    c = config(tmp_path, task_names="rte", model_size="large", learning_rate=1e-3, num_train_epochs=2)
    assert (c.task_names, c.learning_rate, c.num_train_epochs, c.layerwise_lr_decay) == (
        ("rte",),
        1e-3,
        2.0,
        0.9,
    )
    debug = config(tmp_path, task_names=["rte"], debug=True, train_batch_size=16)
    assert debug.train_batch_size == 16
    assert (debug.num_trials, debug.num_train_epochs, debug.log_examples) == (1, 3.0, True)
    explicit = config(tmp_path, task_names=["rte"], debug=True, num_trials=2, train_batch_size=8)
    assert (explicit.num_trials, explicit.train_batch_size) == (2, 8)


def test_paths(tmp_path):
    c = config(tmp_path, task_names=["rte", "cola"])
    models = os.path.join(str(tmp_path), "models", "m")
    assert c.vocab_file == os.path.join(str(tmp_path), "vocab.txt")
    assert c.model_dir == os.path.join(models, "finetuning_models", "rte,cola_model")
    assert c.trial_model_dir(2) == c.model_dir + "_2"
    assert c.results_txt == os.path.join(models, "results", "rte,cola_results.txt")
    assert c.results_json == os.path.join(models, "results", "rte,cola_results.json")
    assert c.test_predictions == os.path.join(models, "test_predictions")
    os.makedirs(models)
    with open(os.path.join(models, "vocab.txt"), "w") as f:
        f.write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    assert c.vocab_file == os.path.join(models, "vocab.txt")
    # Unset init_checkpoint = models/<name>; without a checkpoint there, the error suggests "".
    with pytest.raises(CheckpointError, match=r'no checkpoint in .*models/m.*"init_checkpoint": ""'):
        finetuning_config("m", str(tmp_path), {"task_names": ["rte"]})


def test_architecture_from_the_pretraining_hparams_json(tmp_path):
    models = tmp_path / "models" / "m"
    models.mkdir(parents=True)
    overrides = {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
    }
    pretraining = {"model_name": "m", "data_dir": "elsewhere", "embedding_size": 32, "vocab_size": 2000}
    pretraining.update(model_hparam_overrides=overrides, num_train_steps=10)
    (models / "hparams.json").write_text(json.dumps(pretraining))
    c = config(tmp_path, task_names=["rte"], model_hparam_overrides={"hidden_dropout_prob": 0.2})
    assert (c.embedding_size_resolved, c.vocab_size) == (32, 2000)
    bert = c.bert_config
    assert (bert.hidden_size, bert.num_hidden_layers, bert.intermediate_size) == (64, 2, 128)
    assert bert.hidden_dropout_prob == 0.2  # explicit overrides are merged over the pre-trained ones


def test_vocab_size_defaults_to_the_vocab_without_a_pretrained_model(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x"]) + "\n")
    assert config(tmp_path, task_names=["rte"]).vocab_size == 6
    assert config(tmp_path, task_names=["rte"], vocab_size=10).vocab_size == 10


@pytest.mark.parametrize(
    "hparams, error, pattern",
    [
        (
            {"task_names": ["rte"], "learning_rte": 1},
            ConfigError,
            r"unknown hparam\(s\) learning_rte; valid keys: ",
        ),
        ({"task_names": ["rte", "wnli"]}, TaskError, r"unknown GLUE task 'wnli'; valid tasks: cola, sst"),
        ({}, ConfigError, r"task_names is required"),
        ({"task_names": ["rte"], "num_trials": 1.5}, ConfigError, r"num_trials must be an integer"),
        ({"task_names": ["rte"], "model_size": "huge"}, ConfigError, r"model_size must be one of"),
        ({"task_names": ["rte"], "max_train_examples": -1}, ConfigError, r"max_train_examples must be >= 0"),
        (
            {"task_names": ["rte"], "mixed_precision": "bf16"},
            ConfigError,
            r'mixed_precision must be true, false or "auto"',
        ),
    ],
)
def test_bad_hparams(tmp_path, hparams, error, pattern):
    with pytest.raises(error, match=pattern):
        config(tmp_path, **hparams)
