"""Fine-tuning speed side by side: run_finetuning with padding "max_length" (upstream) and
"longest" (per batch), with `--bfloat16` also "longest" under `"mixed_precision": true`, and
optionally the Hugging Face reference (scripts/hf_reference_finetune.py,
run with another interpreter that has torch + transformers), on one task and one checkpoint.

    python scripts/finetune_speed.py --model_dir=all-MiniLM-L6-v2/ --glue_dir=glue_data \
        --task=sts --max_train_examples=960 --rounds=3 [--hf_python=/path/to/venv/bin/python]

Each round runs every variant once, one after the other, with the same examples, 3 epochs, batch
32, max length 128 and seed; a variant's speed is its training examples per second over the whole
training loop (first-step tracing or start-up included, as each library pays it). Prints the
medians over the rounds and the ratios to "max_length", as a markdown table.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import tempfile

from absl import app, flags

from electra_tf.cli import absl_main, flag_values

HF_TASK_NAMES = {"cola": "cola", "sst": "sst2", "mrpc": "mrpc", "sts": "stsb", "rte": "rte"}
_RUNS = itertools.count()
PROGRAM = "finetune_speed"


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "A Hugging Face BERT/ELECTRA directory (or any checkpoint).")
    flags.DEFINE_string("glue_dir", None, "The GLUE folder (CoLA, SST-2, MRPC, STS-B, RTE).")
    flags.DEFINE_string("task", "sts", "One of cola, sst, mrpc, sts, rte.")
    flags.DEFINE_integer("max_train_examples", 960, "Train on the first N examples.")
    flags.DEFINE_integer("rounds", 3, "Rounds; the medians are reported.")
    flags.DEFINE_string("hf_python", None, "An interpreter with torch + transformers: adds the HF row.")
    flags.DEFINE_bool(
        "bfloat16", False, 'Adds "longest+bfloat16": padding "longest" with "mixed_precision": true.'
    )


# our variants: name → the hparams that differ
VARIANTS = {
    "max_length": {"padding": "max_length"},
    "longest": {"padding": "longest"},
    "longest+bfloat16": {"padding": "longest", "mixed_precision": True},
}


def ours(model_dir: str, glue_dir: str, task: str, n: int, variant: str, work: str) -> float:
    """Train examples/s of one run_finetuning trial (in-process) of one of `VARIANTS`."""
    import tf_keras

    from finetune.config import finetuning_config
    from finetune.runner import run_finetuning

    data_dir = os.path.join(work, variant)
    os.makedirs(data_dir, exist_ok=True)
    link = os.path.join(data_dir, "finetuning_data")
    if not os.path.islink(link):
        os.symlink(os.path.abspath(glue_dir), link)
    hparams = {
        "task_names": [task],
        "init_checkpoint": model_dir,
        "learning_rate": 1e-4,
        "layerwise_lr_decay": 0,
        "num_train_epochs": 3,
        "max_train_examples": n,
        "double_unordered": False,
        **VARIANTS[variant],
        "adam_bias_correction": True,
        "do_eval": False,
        "log_every": 10**6,
    }
    outcome = run_finetuning(finetuning_config("speed", data_dir, hparams), log=lambda _: None)
    tf_keras.backend.clear_session()
    return float(outcome["timing"][0][task]["train_examples_per_second"])


def hugging_face(python: str, model_dir: str, glue_dir: str, task: str, n: int, work: str) -> float:
    """Train examples/s of one trial of the Hugging Face reference (a subprocess)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf_reference_finetune.py")
    output = os.path.join(work, f"hf_{next(_RUNS)}.json")  # a new file: the reference resumes old ones
    command = [python, script, f"--model_dir={model_dir}", f"--glue_dir={glue_dir}"]
    command += [f"--tasks={HF_TASK_NAMES[task]}", "--num_trials=1", f"--max_train_examples={n}"]
    subprocess.run([*command, f"--output={output}"], check=True, capture_output=True)
    with open(output, encoding="utf-8") as f:  # {"results": {task: {"1": {..., examples/s}}}}
        trials = json.load(f)["results"][HF_TASK_NAMES[task]]
    return float(trials["1"]["train_examples_per_second"])


def run(
    model_dir: str | None,
    glue_dir: str | None,
    task: str = "sts",
    max_train_examples: int = 960,
    rounds: int = 3,
    hf_python: str | None = None,
    bfloat16: bool = False,
) -> str:
    if not model_dir or not glue_dir:
        raise ValueError("--model_dir and --glue_dir are required")
    if task not in HF_TASK_NAMES:
        raise ValueError(f"--task must be one of {', '.join(HF_TASK_NAMES)}, got {task!r}")
    variants = ["max_length", "longest"] + (["longest+bfloat16"] if bfloat16 else [])
    variants += ["hugging_face"] if hf_python else []
    speeds: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as work:
        for r in range(1, rounds + 1):
            for variant in variants:
                if variant == "hugging_face":
                    rate = hugging_face(hf_python, model_dir, glue_dir, task, max_train_examples, work)
                else:
                    rate = ours(model_dir, glue_dir, task, max_train_examples, variant, work)
                speeds[variant].append(rate)
                print(f"{PROGRAM}: round {r}/{rounds} {variant}: {rate:.1f} examples/s", flush=True)
    base = statistics.median(speeds["max_length"])
    lines = ["| variant | examples/s (median) | runs | × max_length |", "|---|---|---|---|"]
    for variant, values in speeds.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        lines.append(f"| {variant} | {median:.1f} | {runs} | {median / base:.2f}× |")
    table = "\n".join(lines)
    print(table, flush=True)
    return table


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
