"""Lossless conversion between our model directories and upstream ELECTRA's TF1 checkpoints.

`to_ours` writes what the Trainer resumes from (`ckpt-<step>` with its `model=`/`optimizer=`
structure, plus hparams.json; the caller's `build` makes the model); `to_upstream` writes
`model.ckpt-<step>` and a `checkpoint` file.
Weights, Adam slots (upstream `adam_m`/`adam_v`) and the step survive a round trip bit for bit.
Output goes to a temporary sibling directory renamed at the end, so a failure writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import tensorflow as tf

from electra_tf import atomic, checkpoint_io, configs
from electra_tf.checkpoint_io.upstream_names import OPTIMIZER_SLOTS, strip_slot

# (config, with_slots) → (a tf_keras model, its optimizer), every variable created
ModelFactory = Callable[[configs.PretrainingConfig, bool], tuple]


def check_output(output: str) -> None:
    """--output must be given and be a new or empty directory (ValueError otherwise)."""
    if not output:
        raise ValueError("--output is required")
    if os.path.exists(output) and (not os.path.isdir(output) or os.listdir(output)):
        raise ValueError(f"--output exists and is not an empty directory: {output}")


def to_upstream(input_path: str, output: str) -> str:
    """Our checkpoint → `output/model.ckpt-<step>` (weights, global_step, adam_m/adam_v if the
    checkpoint has optimizer slots). Returns the written prefix."""
    check_output(output)
    prefix, fmt = checkpoint_io.find_checkpoint(input_path)
    if fmt != checkpoint_io.OURS:
        raise checkpoint_io.CheckpointError(f"{prefix} is already in upstream format")
    checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
    name = f"model.ckpt-{checkpoint.step}"
    with atomic.directory(output) as tmp:
        checkpoint_io.write_upstream_checkpoint(checkpoint.arrays, os.path.join(tmp, name), checkpoint.step)
    return os.path.join(output, name)


def to_ours(
    input_path: str, output: str, model_size: str = "small", hparams=None, *, build: ModelFactory
) -> str:
    """Upstream checkpoint → our model directory `output` (ckpt-<step>, hparams.json). Every array
    of the checkpoint must find a place (else CheckpointError): the conversion is lossless.

    `build(config, with_slots)` → (model, optimizer) with every variable (and, with slots, every
    Adam slot) created, as the Trainer checkpoints them: in practice
    `electra_tf.pretraining.training_state.build_model_and_optimizer`. Returns the written prefix."""
    check_output(output)
    prefix, fmt = checkpoint_io.find_checkpoint(input_path)
    if fmt != checkpoint_io.UPSTREAM:
        raise checkpoint_io.CheckpointError(f"{prefix} is already in our format")
    checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
    abs_output = os.path.abspath(output)
    shapes = {name: value.shape for name, value in checkpoint.arrays.items()}
    config = checkpoint_io.config_for_upstream(
        shapes,
        os.path.basename(abs_output),
        os.path.dirname(os.path.dirname(abs_output)),
        model_size,
        hparams,
    )
    slot_names = [n for n in checkpoint.arrays if strip_slot(n)[1]]
    model, optimizer = build(config, bool(slot_names))
    variables = model.trainable_variables
    plan, report = checkpoint_io.plan_restore(checkpoint, variables, config)
    slots = []
    if slot_names:
        for var, _ in plan:
            for slot, suffix in OPTIMIZER_SLOTS:
                name = checkpoint_io.upstream_name(var.name) + suffix
                if name not in checkpoint.arrays:
                    raise checkpoint_io.CheckpointError(f"{prefix} has optimizer slots but not {name}")
                slots.append((optimizer.get_slot(var, slot), checkpoint.arrays[name].reshape(var.shape)))
    lost = sorted(set(report.unused) - set(slot_names))
    if lost:
        more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
        raise checkpoint_io.CheckpointError(
            f"{prefix}: no place in our model for {', '.join(lost[:3])}{more} (conversion would lose them)"
        )
    for var, value in plan + slots:
        var.assign(value)
    optimizer.iterations.assign(checkpoint.step)
    with atomic.directory(output) as tmp:
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(model=model, optimizer=optimizer), tmp, max_to_keep=1
        )
        path = manager.save(checkpoint_number=checkpoint.step)
        configs.write_hparams_json(config, tmp)
    return os.path.join(output, os.path.basename(path))
