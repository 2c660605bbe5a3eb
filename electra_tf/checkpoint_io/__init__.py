"""Checkpoint I/O between electra-tf's object-based checkpoints, upstream ELECTRA's TF1 format and
Hugging Face directories; Google BERT (TF1) and HF BERT checkpoints are read as discriminators.

Public API (the fine-tuning code and the tools build on these). This package imports no
pretraining or optimizer module: it reads every checkpoint without building a model, and what it
restores or builds comes from its callers (`restore_variables(path, variables)`,
`translate.to_ours(..., build=...)`).

    CheckpointError                      ValueError subclass; every message names the checkpoint/variable
    find_checkpoint(path) -> (prefix, "ours" | "upstream" | "bert" | "hf")
    checkpoint_config(path) -> PretrainingConfig | None
    upstream_name(variable_name) -> str | None
    read_checkpoint_arrays(path, config=None) -> CheckpointArrays
    restore_variables(path, variables, config=None, log=print) -> RestoreReport
    write_upstream_checkpoint(arrays, prefix, step)
    config_for_checkpoint(path, model_size="small", hparams=None) -> PretrainingConfig
"""

from __future__ import annotations

from electra_tf.checkpoint_io.architecture import CheckpointError, config_for_upstream, infer_architecture
from electra_tf.checkpoint_io.io import (
    BERT,
    HF,
    OURS,
    UPSTREAM,
    CheckpointArrays,
    checkpoint_config,
    config_for_checkpoint,
    find_checkpoint,
    model_arrays,
    read_checkpoint_arrays,
    write_upstream_checkpoint,
)
from electra_tf.checkpoint_io.restore import RestoreReport, plan_restore, restore_variables
from electra_tf.checkpoint_io.upstream_names import upstream_name, upstream_shape

__all__ = [
    "BERT",
    "HF",
    "OURS",
    "UPSTREAM",
    "CheckpointArrays",
    "CheckpointError",
    "RestoreReport",
    "checkpoint_config",
    "config_for_checkpoint",
    "config_for_upstream",
    "find_checkpoint",
    "infer_architecture",
    "model_arrays",
    "plan_restore",
    "read_checkpoint_arrays",
    "restore_variables",
    "upstream_name",
    "upstream_shape",
    "write_upstream_checkpoint",
]
