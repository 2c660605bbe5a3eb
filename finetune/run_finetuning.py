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

from electra_tf.cli import absl_main

flags.DEFINE_string("data_dir", None, "Holds finetuning_data/, vocab.txt and models/.")
flags.DEFINE_string("model_name", None, "The pre-trained model's name ($DATA_DIR/models/$MODEL_NAME).")
flags.DEFINE_string("hparams", "{}", "JSON object or path to a JSON file merged over the defaults.")

FLAGS = flags.FLAGS
PROGRAM = "run_finetuning"


def _main() -> None:
    from finetune.config import finetuning_config
    from finetune.runner import run_finetuning

    if not FLAGS.data_dir or not FLAGS.model_name:
        raise ValueError("--data_dir and --model_name are required")
    if not os.path.isdir(FLAGS.data_dir):
        raise ValueError(f"--data_dir not found: {FLAGS.data_dir}")
    config = finetuning_config(FLAGS.model_name, FLAGS.data_dir, FLAGS.hparams)

    def log(line: str) -> None:
        print(f"{PROGRAM}: {line}", flush=True)

    run_finetuning(config, log=log)


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
