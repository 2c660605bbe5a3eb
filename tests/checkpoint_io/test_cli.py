"""The command-line tools `python -m electra_tf.score` and `python -m electra_tf.convert_checkpoint`,
through their `run` in-process (their error lines and exit status: tests/test_cli_smoke.py)."""

from __future__ import annotations

import json
import os
import re

import pytest

from electra_tf import convert_checkpoint, score, standalone_discriminator
from electra_tf.tokenization import FullTokenizer, load_vocab
from tests.checkpoint_io.helpers import FAST, make_upstream_checkpoint, write_vocab
from tests.helpers import assert_one_line, call_tool

TEXT = "The quick brown fox jumps over the lazy dog"


def test_score_prints_the_same_probabilities_for_upstream_and_converted_checkpoints(tmp_path):
    upstream_dir = tmp_path / "upstream"
    make_upstream_checkpoint(upstream_dir, seed=3, **FAST)
    vocab_file = write_vocab(tmp_path / "vocab.txt", FAST["vocab"])
    _, stdout = call_tool(
        score.run, checkpoint=str(upstream_dir), vocab_file=vocab_file, text=TEXT, json=True
    )
    scored = json.loads(stdout)
    assert scored["tokens"] == ["[CLS]", *TEXT.lower().split(), "[SEP]"]
    assert len(scored["p_replaced"]) == 11 and all(0 < p < 1 for p in scored["p_replaced"])

    twin_dir = tmp_path / "models" / "twin"
    _, converted = call_tool(convert_checkpoint.run, to="ours", input=str(upstream_dir), output=str(twin_dir))
    assert "convert_checkpoint: wrote " in converted and (twin_dir / "hparams.json").is_file()

    model, config = standalone_discriminator.load_discriminator(str(twin_dir), log=None)
    tokenizer = FullTokenizer(load_vocab(vocab_file), do_lower_case=config.do_lower_case)
    tokens, probabilities = standalone_discriminator.score_text(model, tokenizer, TEXT)
    assert standalone_discriminator.format_scores(tokens, probabilities, as_json=True) == stdout.strip()
    lines = standalone_discriminator.format_scores(tokens, probabilities).splitlines()
    assert lines[1] == f"the\t{scored['p_replaced'][1]:.4f}" and len(lines) == 11


def test_score_rejects_a_vocab_of_another_size(tmp_path):
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    vocab_file = write_vocab(tmp_path / "small_vocab.txt", FAST["vocab"] - 1)
    message = f"vocab file {vocab_file} has 999 tokens but the checkpoint's word embeddings have 1000 rows"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        score.run(checkpoint=str(tmp_path / "upstream"), vocab_file=vocab_file, text="a cat")


def test_convert_bad_output_is_one_error_line_and_touches_nothing(tmp_path):
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    output = tmp_path / "models" / "busy"
    output.mkdir(parents=True)
    (output / "notes.txt").write_text("keep me")
    message = f"--output exists and is not an empty directory: {output}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as error:
        convert_checkpoint.run(to="ours", input=str(tmp_path / "upstream"), output=str(output))
    assert_one_line(error)
    assert os.listdir(output) == ["notes.txt"] and sorted(os.listdir(tmp_path / "models")) == ["busy"]
