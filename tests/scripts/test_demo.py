"""scripts/demo.py: the discriminator verdict, the corpus it writes and its hparams."""

from __future__ import annotations

import importlib.util
import os

from electra_tf import configs
from tests.helpers import REPO


def _demo_module():
    spec = importlib.util.spec_from_file_location("demo_script", os.path.join(REPO, "scripts", "demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verdict_holds_when_the_end_is_within_tolerance_of_the_best():
    demo = _demo_module()
    # best 0.91 at step 30; last 0.895 ≥ 0.91 − 0.02; below 0.85 only at step 10 → competent from 20
    held, line = demo.discriminator_verdict([(10, 0.60), (20, 0.86), (30, 0.91), (40, 0.895)], tolerance=0.02)
    assert held
    assert "best 0.910 (step 30)" in line and "last 0.895 (step 40" in line
    assert "≥ 0.85 from step 20 on" in line


def test_verdict_reports_a_discriminator_that_got_worse():
    demo = _demo_module()
    # the RTD plateau's shape: a peak, then a fall of 0.13 > 0.02
    held, line = demo.discriminator_verdict([(20, 0.70), (100, 0.65), (200, 0.57)], tolerance=0.02)
    assert not held
    assert line.startswith("discriminator got worse") and "below 0.85 at the end" in line
    held, line = demo.discriminator_verdict([(20, 0.90), (40, 0.88)], tolerance=0.05)
    assert held and "at every log line" in line


def test_corpus_has_one_document_per_topic(tmp_path):
    from pydoc_data.topics import topics

    demo = _demo_module()
    path = tmp_path / "corpus.txt"
    assert demo.write_corpus(str(path)) == len(topics)
    text = path.read_text(encoding="utf-8")
    assert len(text.strip().split("\n\n")) == len(topics)  # documents are separated by one blank line


def test_demo_hparams_are_valid_configs_and_the_encoder_one_is_minilm(tmp_path):
    demo = _demo_module()
    for hparams in (demo.ENCODER_HPARAMS, demo.SCRATCH_HPARAMS):
        config = configs.config_from_hparams("demo", str(tmp_path), hparams)  # unknown keys would fail
        assert config.num_train_steps == hparams["num_train_steps"]
        assert configs.bert_config(config).hidden_size == hparams["model_hparam_overrides"]["hidden_size"]
    model = demo.ENCODER_HPARAMS["model_hparam_overrides"]
    assert (model["hidden_size"], model["num_hidden_layers"], model["num_attention_heads"]) == (384, 6, 12)
    assert demo.ENCODER_HPARAMS["embedding_size"] == model["hidden_size"]
