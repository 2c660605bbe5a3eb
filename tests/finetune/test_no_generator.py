"""Fine-tuning from a pre-trained checkpoint that has a generator builds no generator variable
(only the backbone, the task head and its optimizer), and derives its model as pre-training does."""

from __future__ import annotations

import dataclasses

import numpy as np

from electra_tf import configs
from electra_tf.checkpoint_io import translate
from electra_tf.pretraining.training_state import build_model_and_optimizer
from finetune.config import FinetuningConfig, finetuning_config
from finetune.runner import load_inputs, run_finetuning
from tests.checkpoint_io.helpers import (
    TINY_SHAPES,
    WORDS,
    created_variables,
    make_upstream_checkpoint,
    read_all,
    write_vocab,
)

NAME = "with_generator"


def _rte(root, rng) -> None:
    """root/finetuning_data/rte/{train,dev}.tsv: 16 and 4 rows of random sentences."""
    folder = root / "finetuning_data" / "rte"
    folder.mkdir(parents=True)
    labels = ["entailment", "not_entailment"]
    for split, n in (("train", 16), ("dev", 4)):
        rows = [["index", "sentence1", "sentence2", "label"]]
        rows += [
            [str(i), " ".join(rng.choice(WORDS, 5)), " ".join(rng.choice(WORDS, 3)), labels[i % 2]]
            for i in range(n)
        ]
        (folder / f"{split}.tsv").write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")


def test_finetuning_builds_no_generator_variable(tmp_path):
    upstream = make_upstream_checkpoint(tmp_path / "upstream", seed=4, step=3, **TINY_SHAPES)
    translate.to_ours(upstream, str(tmp_path / "models" / NAME), build=build_model_and_optimizer)
    write_vocab(tmp_path / "vocab.txt", TINY_SHAPES["vocab"])
    _rte(tmp_path, np.random.default_rng(0))
    hparams = dict(
        task_names=["rte"], max_seq_length=16, num_train_epochs=1.0, train_batch_size=8, log_every=1
    )
    config = finetuning_config(NAME, str(tmp_path), hparams)
    arrays = read_all(upstream)  # the checkpoint, read without the library
    assert any(name.startswith("generator") for name in arrays)
    backbone = [name for name in arrays if name.startswith("electra/")]

    with created_variables() as created:
        inputs = load_inputs(config)
    assert inputs.init is not None and inputs.init.unused > 0  # the generator's arrays are unused
    weights = [v for v in created if v.trainable]  # not RNG states
    assert [v.name for v in created if "generator" in v.name] == []
    assert len(weights) == len(backbone) + 2  # the backbone + task_specific/rte/dense/{kernel,bias}

    with created_variables() as created:
        outcome = run_finetuning(config, log=lambda _line: None)
    assert 0.0 <= outcome["trials"][0]["rte"]["accuracy"] <= 100.0
    assert created and [v.name for v in created if "generator" in v.name] == []


def test_finetuning_and_pretraining_derive_one_model_config():
    overrides = {"hidden_size": 96, "num_hidden_layers": 3, "intermediate_size": 200}
    values = dict(model_size="base", model_hparam_overrides=overrides, embedding_size=48, vocab_size=777)
    values["do_lower_case"] = False
    finetuning = FinetuningConfig(**values)
    model = finetuning.model
    assert model == configs.model_config(configs.PretrainingConfig(**values))
    # upstream's rules, spelled out: heads = hidden // 64, other fields at BertConfig's defaults
    bert = configs.BertConfig(vocab_size=777, hidden_size=96, num_hidden_layers=3, num_attention_heads=1)
    assert model == configs.ModelConfig(dataclasses.replace(bert, intermediate_size=200), 48, False)
    assert (finetuning.bert_config, finetuning.embedding_size_resolved) == (model.bert, 48)
    defaults = configs.PretrainingConfig()
    assert {k: getattr(FinetuningConfig(), k) for k in configs.ARCHITECTURE_KEYS} == {
        k: getattr(defaults, k) for k in configs.ARCHITECTURE_KEYS
    }
