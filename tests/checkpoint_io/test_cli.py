"""The command-line tools: python -m electra_tf.score and python -m electra_tf.convert_checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from electra_tf import scoring
from electra_tf.tokenization import FullTokenizer, load_vocab
from tests.checkpoint_io.conftest import write_vocab
from tests.checkpoint_io.helpers import FAST, make_upstream_checkpoint
from tests.conftest import REPO

TEXT = "The quick brown fox jumps over the lazy dog"


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=600, cwd=REPO
    )


def test_score_prints_the_same_probabilities_for_upstream_and_converted_checkpoints(tmp_path):
    upstream_dir = tmp_path / "upstream"
    make_upstream_checkpoint(upstream_dir, seed=3, **FAST)
    vocab_file = write_vocab(tmp_path / "vocab.txt", FAST["vocab"])
    proc = run_module(
        "electra_tf.score",
        f"--checkpoint={upstream_dir}",
        f"--vocab_file={vocab_file}",
        f"--text={TEXT}",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    scored = json.loads(proc.stdout)
    assert scored["tokens"] == ["[CLS]", *TEXT.lower().split(), "[SEP]"]
    assert len(scored["p_replaced"]) == 11 and all(0 < p < 1 for p in scored["p_replaced"])

    twin_dir = tmp_path / "models" / "twin"
    convert = run_module(
        "electra_tf.convert_checkpoint", "--to=ours", f"--input={upstream_dir}", f"--output={twin_dir}"
    )
    assert convert.returncode == 0, convert.stderr[-2000:]
    assert "convert_checkpoint: wrote " in convert.stdout and (twin_dir / "hparams.json").is_file()

    model, config = scoring.load_discriminator(str(twin_dir), log=None)
    tokenizer = FullTokenizer(load_vocab(vocab_file), do_lower_case=config.do_lower_case)
    tokens, probabilities = scoring.score_text(model, tokenizer, TEXT)
    assert scoring.format_scores(tokens, probabilities, as_json=True) == proc.stdout.strip()
    lines = scoring.format_scores(tokens, probabilities).splitlines()
    assert lines[1] == f"the\t{scored['p_replaced'][1]:.4f}" and len(lines) == 11


def test_score_rejects_a_vocab_of_another_size(tmp_path):
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    vocab_file = write_vocab(tmp_path / "small_vocab.txt", FAST["vocab"] - 1)
    proc = run_module(
        "electra_tf.score",
        f"--checkpoint={tmp_path / 'upstream'}",
        f"--vocab_file={vocab_file}",
        "--text=a cat",
    )
    assert proc.returncode == 1
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert lines == [
        f"score: error: vocab file {vocab_file} has 999 tokens "
        "but the checkpoint's word embeddings have 1000 rows"
    ]


def test_convert_bad_output_is_one_error_line_and_touches_nothing(tmp_path):
    make_upstream_checkpoint(tmp_path / "upstream", **FAST)
    output = tmp_path / "models" / "busy"
    output.mkdir(parents=True)
    (output / "notes.txt").write_text("keep me")
    proc = run_module(
        "electra_tf.convert_checkpoint", "--to=ours", f"--input={tmp_path / 'upstream'}", f"--output={output}"
    )
    assert proc.returncode == 1
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert lines == [f"convert_checkpoint: error: --output exists and is not an empty directory: {output}"]
    assert os.listdir(output) == ["notes.txt"] and sorted(os.listdir(tmp_path / "models")) == ["busy"]
