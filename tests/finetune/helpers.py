"""Helpers of the fine-tuning tests: a fine-tuning data dir around the shared GLUE data and a model."""

from __future__ import annotations

import os
import shutil

PRETRAINED_NAME = "finetune_tiny"


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
