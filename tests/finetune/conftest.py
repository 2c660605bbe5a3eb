"""A tiny pre-trained ELECTRA (10 steps on the shared Wikipedia sample) and GLUE data dirs around it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import SHARED, TINY_MODEL, run_script

GLUE_DIR = os.path.join(SHARED, "data", "glue_data")
PRETRAINED_NAME = "finetune_tiny"


@pytest.fixture(scope="session")
def glue_dir() -> str:
    if not os.path.isdir(os.path.join(GLUE_DIR, "RTE")):
        pytest.skip(f"shared GLUE data not present at {GLUE_DIR}")
    return GLUE_DIR


@pytest.fixture(scope="session")
def pretrained_model_dir(wiki_data_dir) -> str:
    """models/<name>/ of a 10-step TINY_MODEL pre-training run: checkpoint + hparams.json."""
    hparams = dict(TINY_MODEL, train_batch_size=16, num_train_steps=10, num_warmup_steps=2, log_every=5)
    proc = run_script(
        "pretrain/run_pretraining.py",
        f"--data_dir={wiki_data_dir}",
        f"--model_name={PRETRAINED_NAME}",
        f"--hparams={json.dumps(hparams)}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return os.path.join(wiki_data_dir, "models", PRETRAINED_NAME)


def make_data_dir(root, glue_dir: str, pretrained_model_dir: str | None, vocab_file: str, name: str) -> str:
    """root/ with finetuning_data → glue_dir (symlink), vocab.txt, and models/<name>/ holding a copy
    of the pre-trained checkpoint and hparams.json (when given)."""
    os.makedirs(root, exist_ok=True)
    os.symlink(glue_dir, os.path.join(root, "finetuning_data"))
    shutil.copy(vocab_file, os.path.join(root, "vocab.txt"))
    models = os.path.join(root, "models", name)
    if pretrained_model_dir:
        shutil.copytree(
            pretrained_model_dir, models, ignore=shutil.ignore_patterns("events.out.tfevents.*", "results")
        )
    return str(root)
