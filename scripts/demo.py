"""`make demo`: corpus → vocabulary → records → a few hundred ELECTRA steps → summary and plot.

The text is the Python Language Reference that ships inside every CPython installation
(`pydoc_data.topics`, the text `help()` shows): real English prose, present wherever this package
is installed, so the demo runs offline on a fresh clone. Each reference topic is one document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEMO_HPARAMS = {
    "num_train_steps": 400,
    "num_warmup_steps": 50,
    # Upstream's AdamW has no bias correction (first updates ~3x lr), so short runs need a small rate.
    "learning_rate": 1.5e-4,
    "train_batch_size": 32,
    "eval_batch_size": 32,
    "max_seq_length": 128,
    "embedding_size": 64,
    "generator_hidden_size": 0.5,
    "model_hparam_overrides": {
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 512,
    },
    "save_checkpoints_steps": 100,
    "log_every": 20,
    "do_eval": True,
    "num_eval_steps": 5,
}


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


def summarize(model_dir: str, plot_path: str) -> dict[str, list[tuple[int, float]]]:
    from pretrain.curves import plot_curves, read_scalars

    curves = read_scalars(model_dir)
    plot_curves(curves, plot_path, "electra-tf demo: tiny ELECTRA on the Python Language Reference")
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work_dir", default=os.path.join(REPO, "demo_output"))
    args = parser.parse_args()
    start = time.time()
    data_dir = args.work_dir
    corpus_dir = os.path.join(data_dir, "corpus")
    os.makedirs(corpus_dir, exist_ok=True)
    n_docs = write_corpus(os.path.join(corpus_dir, "python_reference.txt"))
    print(f"demo: wrote {n_docs} documents of the Python Language Reference to {corpus_dir}")
    records = os.path.join(data_dir, "pretrain_tfrecords")
    run(
        "build records and learn a 4000-token vocabulary",
        "data_prep/build_pretraining_dataset.py",
        f"--corpus_dir={corpus_dir}",
        f"--output_dir={records}",
        "--learn_vocab_size=4000",
    )
    os.replace(os.path.join(records, "vocab.txt"), os.path.join(data_dir, "vocab.txt"))
    run(
        "pre-train",
        "pretrain/run_pretraining.py",
        f"--data_dir={data_dir}",
        "--model_name=demo",
        f"--hparams={json.dumps(DEMO_HPARAMS)}",
    )
    model_dir = os.path.join(data_dir, "models", "demo")
    plot = os.path.join(model_dir, "training_curves.png")
    curves = summarize(model_dir, plot)
    print("\n=== summary")
    for tag in ("loss/total", "loss/mlm", "loss/disc", "acc/mlm", "acc/disc", "disc/auc"):
        if tag in curves:
            (s0, v0), (s1, v1) = curves[tag][0], curves[tag][-1]
            print(f"{tag:12s} step {s0:4d}: {v0:8.4f}  ->  step {s1:4d}: {v1:8.4f}")
    print(f"TensorBoard logs: {model_dir}   (tensorboard --logdir {model_dir})")
    print(f"training curves:  {plot}")
    print(f"demo finished in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
