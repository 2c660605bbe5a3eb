"""A tiny pre-trained ELECTRA (10 steps on the shared Wikipedia sample), for the GLUE tests."""

from __future__ import annotations

import json
import os

import pytest

from tests.finetune.helpers import PRETRAINED_NAME
from tests.helpers import TINY_MODEL, build_once


@pytest.fixture(scope="session")
def pretrained_model_dir(wiki_data_dir, tmp_path_factory) -> str:
    """models/<name>/ of a 10-step TINY_MODEL pre-training run on wiki_data_dir's records:
    checkpoint + hparams.json. Run in-process, once per test run (for all xdist workers)."""

    def build(data_dir: str) -> None:
        from pretrain import run_pretraining

        for name in ("pretrain_tfrecords", "vocab.txt"):
            os.symlink(os.path.join(wiki_data_dir, name), os.path.join(data_dir, name))
        hparams = dict(TINY_MODEL, train_batch_size=16, num_train_steps=10, num_warmup_steps=2, log_every=5)
        run_pretraining.run(data_dir=data_dir, model_name=PRETRAINED_NAME, hparams=json.dumps(hparams))

    return os.path.join(build_once(tmp_path_factory, "pretrained", build), "models", PRETRAINED_NAME)
