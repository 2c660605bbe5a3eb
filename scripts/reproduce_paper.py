"""Reproduces the paper's Table 1 and Figure 4 at a budget: pre-trains every row under one recipe,
times them side by side, fine-tunes every checkpoint (and the random-init floor) on every task
with the same seeds, and writes a report beside the paper's numbers.

    python scripts/reproduce_paper.py --budget=cpu --data_dir=$DATA_DIR [--output_dir=DIR] \
        [--methods=electra,emb_gen,...] [--tasks=rte,mrpc] [--num_trials=N] [--dry_run]
    python scripts/reproduce_paper.py --budget=warm --data_dir=$DATA_DIR   # from all-MiniLM-L6-v2

$DATA_DIR holds pretrain_tfrecords/, vocab.txt, finetuning_data/ (GLUE) and optionally
eval_tfrecords/ (held-out records for the diagnostics), as `make recipe` builds it. Rerunning the
same command skips every finished unit (docs/reproduce.md).
"""

from __future__ import annotations

import os

from absl import app, flags

from electra_tf.cli import absl_main, flag_values

PROGRAM = "reproduce_paper"


def define_flags() -> None:
    from reproduce import paper
    from reproduce.budgets import BUDGETS

    flags.DEFINE_enum(
        "budget",
        "cpu",
        list(BUDGETS),
        "smoke: minutes; cpu: hours on 2 cores; warm: continued pre-training of a real encoder; "
        "paper: 200k steps.",
    )
    flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/, vocab.txt and finetuning_data/.")
    flags.DEFINE_list(
        "methods",
        [],
        f"Rows of Table 1 ({', '.join(r.label for r in paper.ROWS)}); the baseline always runs. "
        "Default: the budget's (Table 1's; warm leaves out emb_gen, the same as emb_gen_pretrained there).",
    )
    flags.DEFINE_list("tasks", [], "GLUE tasks (default: every task with train and dev data).")
    flags.DEFINE_integer("num_trials", 0, "Fine-tuning trials per (model, task); 0 = the budget's.")
    flags.DEFINE_string(
        "output_dir", None, "Unit records and report/ (default $DATA_DIR/models/reproduce_<budget>)."
    )
    flags.DEFINE_bool("dry_run", False, "Print the plan (runs, steps, V100 hours, disk) and stop.")
    flags.DEFINE_string(
        "pretrain_hparams", "{}", "JSON (or file) merged over every row's pre-training hparams."
    )
    flags.DEFINE_string("finetune_hparams", "{}", "JSON (or file) merged over the fine-tuning hparams.")
    flags.DEFINE_string(
        "init_checkpoint",
        "",
        "Every row's pre-training starts from this checkpoint (ours, upstream's, BERT or Hugging Face), "
        "which is also fine-tuned as it is as a reference row. Default: none, or for --budget=warm "
        "all-MiniLM-L6-v2 from --cache_dir.",
    )
    flags.DEFINE_string(
        "cache_dir", os.path.join("~", ".cache", "electra_tf"), "Where --budget=warm's model is downloaded."
    )


def _main() -> None:
    from reproduce.reproduction import run

    run(**flag_values(run, log=lambda line: print(f"{PROGRAM}: {line}", flush=True), executors=None))


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    define_flags()
    app.run(main)
