"""Pre-trains ELECTRA (or one of the paper's methods) on TFRecords, as upstream's script does.

    python pretrain/run_pretraining.py --data_dir=$DATA_DIR --model_name=electra_small_owt \
        --hparams='{"num_train_steps": 1000000}'

Reads $DATA_DIR/pretrain_tfrecords/pretrain_data.tfrecord* and $DATA_DIR/vocab.txt, writes
checkpoints, TensorBoard events and hparams.json to $DATA_DIR/models/$MODEL_NAME/, and resumes
from the latest checkpoint there. "do_eval": true writes results/unsup_results.txt.
"init_checkpoint": a checkpoint (ours or upstream ELECTRA's) to start from when there is none yet.
"""

from __future__ import annotations

from absl import app, flags

from electra_tf.cli import absl_main

flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/, vocab.txt and models/.")
flags.DEFINE_string("model_name", None, "Name of the run: checkpoints go to $DATA_DIR/models/$MODEL_NAME.")
flags.DEFINE_string("hparams", "{}", "JSON object or path to a JSON file merged over the defaults.")
flags.DEFINE_enum(
    "strategy", "default", ["default", "mirrored", "multi_worker_mirrored", "tpu"], "tf.distribute strategy."
)
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into this many logical devices (mirrored on CPU).")
flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
flags.DEFINE_integer(
    "stop_at_step", None, "Stop (with a checkpoint) at this global step; a later run resumes."
)

FLAGS = flags.FLAGS
PROGRAM = "run_pretraining"


def _main() -> None:
    from pretrain.runner import train_or_eval
    from pretrain.strategies import build_strategy

    strategy = build_strategy(FLAGS.strategy, FLAGS.cpu_replicas, FLAGS.tpu)  # before any TF op runs
    train_or_eval(FLAGS.data_dir, FLAGS.model_name, FLAGS.hparams, strategy, stop_at_step=FLAGS.stop_at_step)


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
