"""Fine-tunes a (pre-trained) ELECTRA model on GLUE tasks, as upstream's run_finetuning.py.

    python finetune/run_finetuning.py --data_dir=$DATA_DIR --model_name=electra_small_owt \
        --hparams='{"task_names": ["rte"], "num_trials": 5}'

Reads $DATA_DIR/finetuning_data/<task>/ (or the GLUE download's folder names), the vocab
($DATA_DIR/models/$MODEL_NAME/vocab.txt, else $DATA_DIR/vocab.txt) and the pre-trained checkpoint
in $DATA_DIR/models/$MODEL_NAME ("init_checkpoint": "" trains from random initialisation);
writes $DATA_DIR/models/$MODEL_NAME/results/<tasks>_results.{txt,json} and the fine-tuned
weights in models/$MODEL_NAME/finetuning_models/<tasks>_model_<trial>/. See finetune/config.py
for the hparams and finetune/runner.py for the differences from upstream.
"""

from __future__ import annotations

import os

from absl import app, flags

from electra_tf.cli import absl_main, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    flags.DEFINE_string("data_dir", None, "Holds finetuning_data/, vocab.txt and models/.")
    flags.DEFINE_string("model_name", None, "The pre-trained model's name ($DATA_DIR/models/$MODEL_NAME).")
    flags.DEFINE_string("hparams", "{}", "JSON object or path to a JSON file merged over the defaults.")


PROGRAM = "run_finetuning"


def run(data_dir: str | None, model_name: str | None, hparams="{}") -> dict:
    """The tool as a plain function (keyword arguments = the flags; `hparams` may be a dict):
    fine-tunes as the config says, printing its progress, and returns the results files' content
    ({"trials", "summary", ...}). Bad input raises ValueError (ConfigError, CheckpointError, ...)
    before anything is written."""
    from finetune.config import finetuning_config
    from finetune.runner import run_finetuning

    if not data_dir or not model_name:
        raise ValueError("--data_dir and --model_name are required")
    if not os.path.isdir(data_dir):
        raise ValueError(f"--data_dir not found: {data_dir}")
    config = finetuning_config(model_name, data_dir, hparams)

    def log(line: str) -> None:
        print(f"{PROGRAM}: {line}", flush=True)

    return run_finetuning(config, log=log)


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
