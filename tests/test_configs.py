"""PretrainingConfig: upstream defaults, --hparams merging, errors that list valid keys."""

from __future__ import annotations

import json

import pytest

from electra_tf import configs


def test_defaults_are_upstream_electra_small_owt():
    c = configs.config_from_hparams("m", "/d")
    assert (c.learning_rate, c.train_batch_size, c.num_train_steps, c.num_warmup_steps) == (
        5e-4,
        128,
        1_000_000,
        10_000,
    )
    assert (c.gen_weight, c.disc_weight, c.mask_prob, c.temperature) == (1.0, 50.0, 0.15, 1.0)
    assert (c.weight_decay_rate, c.lr_decay_power, c.max_seq_length) == (0.01, 1.0, 128)
    assert c.max_predictions_per_seq == 19  # int((0.15 + 0.005) * 128)
    assert c.pretrain_tfrecords == "/d/pretrain_tfrecords/pretrain_data.tfrecord*"
    assert c.model_dir == "/d/models/m" and c.results_txt == "/d/models/m/results/unsup_results.txt"
    disc, gen = configs.bert_config(c), configs.generator_config(c)
    assert (disc.hidden_size, disc.num_hidden_layers, disc.num_attention_heads, disc.intermediate_size) == (
        256,
        12,
        4,
        1024,
    )
    assert (gen.hidden_size, gen.num_hidden_layers, gen.num_attention_heads, gen.intermediate_size) == (
        64,
        12,
        1,
        256,
    )
    assert configs.embedding_size(c) == 128


def test_hparams_json_string_file_and_overrides(tmp_path):
    c = configs.config_from_hparams("m", "/d", '{"generator_hidden_size": 1.0, "num_train_steps": 50}')
    assert configs.generator_config(c).hidden_size == 256 and c.num_train_steps == 50
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"model_hparam_overrides": {"hidden_size": 64, "num_hidden_layers": 2}}))
    c = configs.config_from_hparams("m", "/d", str(path))
    disc = configs.bert_config(c)
    assert (disc.hidden_size, disc.num_hidden_layers, disc.num_attention_heads, disc.intermediate_size) == (
        64,
        2,
        1,
        256,
    )
    assert configs.generator_config(c).hidden_size == 16
    debug = configs.config_from_hparams("m", "/d", {"debug": True, "num_train_steps": 7})
    assert (debug.train_batch_size, debug.num_train_steps) == (8, 7)  # passed values win


@pytest.mark.parametrize(
    "hparams, pattern",
    [
        ({"learning_rat": 1e-3}, r"unknown hparam\(s\) learning_rat; valid keys: .*learning_rate"),
        (
            {"model_hparam_overrides": {"hiden_size": 3}},
            r"unknown model_hparam_overrides key\(s\) hiden_size",
        ),
        ({"train_batch_size": "32"}, r"train_batch_size must be a number"),
        ({"train_batch_size": 3.5}, r"train_batch_size must be an integer"),
        ({"do_eval": 1}, r"do_eval must be true or false"),
        ({"model_size": "tiny"}, r"model_size must be one of small, base, large"),
        ({"mask_prob": 0}, r"mask_prob must be in \(0, 1\)"),
        ({"mixed_precision": "yes"}, r'mixed_precision must be true, false or "auto", got \'yes\''),
        ({"mixed_precision": 1}, r'mixed_precision must be true, false or "auto", got 1'),
        ("[1, 2]", r"must be a JSON object"),
        ("no/such/hparams.json", r"neither a JSON object nor an existing file: no/such/hparams.json"),
        ('{"a": }', r"not valid JSON"),
    ],
)
def test_bad_hparams(hparams, pattern):
    with pytest.raises(configs.ConfigError, match=pattern):
        configs.config_from_hparams("m", "/d", hparams if isinstance(hparams, str) else json.dumps(hparams))


def test_config_is_frozen_and_serializable():
    c = configs.config_from_hparams("m", "/d", {"model_hparam_overrides": {"hidden_size": 64}})
    with pytest.raises(AttributeError):
        c.learning_rate = 1.0  # type: ignore[misc]
    data = json.loads(c.to_json())
    assert data["model_hparam_overrides"] == {"hidden_size": 64} and data["learning_rate"] == 5e-4
