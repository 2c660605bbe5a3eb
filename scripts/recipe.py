"""`make recipe`: corpus → (vocabulary) → records → pre-training with a recipe → summary and curves.

    python scripts/recipe.py --recipe=small_cpu --corpus_dir=$CORPUS --data_dir=$DATA_DIR \
        [--vocab_file=vocab.txt] [--num_processes=2]

A recipe is `pretrain/recipes/<name>.json`, an `--hparams` file, and optionally
`pretrain/recipes/<name>.data.json`: {"learn_vocab_size": N, "vocab_sample_mb": M} to learn an
N-token WordPiece vocabulary from the first M MB of the corpus (sorted file names),
"max_seq_length", and "init_from_recipe": R to start from the final checkpoint of recipe R, run
before into the same $DATA_DIR (a second stage; its `init_checkpoint` is models/R/). Without a
learned vocabulary `--vocab_file` is required. The corpus' last files (about `--heldout_share` of
it, at least one file) become held-out records for the diagnostics and the final evaluation; the
rest is trained on. Every stage is skipped when its output exists, so a rerun resumes training.
Output: $DATA_DIR/{vocab.txt, pretrain_tfrecords/, eval_tfrecords/, models/<name>/} with
`training_curves.png` and `recipe_summary.json` in the model dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from electra_tf.cli import absl_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(REPO, "pretrain", "recipes")


def define_flags() -> None:
    """The command line's flags (defined only when run as a program)."""
    flags.DEFINE_string("recipe", None, f"Name of a recipe in {RECIPES}.")
    flags.DEFINE_string(
        "corpus_dir", None, "Text corpus: folder (recursive), file or glob (as the data tools)."
    )
    flags.DEFINE_string("data_dir", None, "Where vocab.txt, the records and models/<recipe>/ go.")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary, when the recipe learns none.")
    flags.DEFINE_float("heldout_share", 0.05, "Share of the corpus (whole files, from the end) held out.")
    flags.DEFINE_integer("num_processes", 2, "Processes for building the records.")


FLAGS = flags.FLAGS
PROGRAM = "recipe"
DATA_KEYS = ("learn_vocab_size", "vocab_sample_mb", "max_seq_length", "init_from_recipe")


def load_recipe(name: str) -> tuple[dict, dict]:
    """(hparams, data settings) of recipe `name` (ValueError naming the file and the problem)."""
    from electra_tf import configs

    path = os.path.join(RECIPES, f"{name}.json")
    if not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(RECIPES) if f.endswith(".json") and ".data." not in f)
        raise ValueError(f"no recipe {name!r} ({path}); recipes: {', '.join(known)}")
    hparams = configs.load_hparams(path)
    configs.config_from_hparams(name, ".", hparams)  # bad hparams fail here, naming the key
    data_path = os.path.join(RECIPES, f"{name}.data.json")
    data = configs.load_hparams(data_path) if os.path.isfile(data_path) else {}
    unknown = sorted(set(data) - set(DATA_KEYS))
    if unknown:
        raise ValueError(f"{data_path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(DATA_KEYS)}")
    if "max_seq_length" in data and data["max_seq_length"] != hparams.get("max_seq_length", 128):
        raise ValueError(f"{data_path}: max_seq_length differs from the recipe's hparams")
    if "init_from_recipe" in data:
        if hparams.get("init_checkpoint"):
            raise ValueError(f"{path}: init_checkpoint and {data_path}'s init_from_recipe both set; keep one")
        if not os.path.isfile(os.path.join(RECIPES, f"{data['init_from_recipe']}.json")):
            raise ValueError(f"{data_path}: init_from_recipe names no recipe: {data['init_from_recipe']!r}")
    return hparams, data


def stage_one_checkpoint(data_dir: str, name: str, data: dict) -> str | None:
    """The model dir recipe `name` starts from (its data key "init_from_recipe"), None if it starts
    from scratch; ValueError naming the command to run first if that recipe has not finished in
    `data_dir` (no recipe_summary.json, which a recipe writes only after its final evaluation)."""
    first = data.get("init_from_recipe")
    if not first:
        return None
    model_dir = os.path.join(data_dir, "models", first)
    if not os.path.isfile(os.path.join(model_dir, "recipe_summary.json")):
        raise ValueError(
            f"recipe {name} starts from recipe {first}'s checkpoint, which has not finished in {data_dir}: "
            f"run `make recipe RECIPE={first} DATA_DIR={data_dir} ...` first"
        )
    return model_dir


def split_corpus(paths: list[str], heldout_share: float) -> tuple[list[str], list[str]]:
    """Sorted corpus files → (training files, held-out files): whole files from the end, about
    `heldout_share` of the bytes, at least one (none when the corpus is a single file)."""
    if len(paths) < 2:
        raise ValueError("the recipe needs a corpus of at least two files (one is held out)")
    sizes = [os.path.getsize(p) for p in paths]
    target, held, k = heldout_share * sum(sizes), 0, len(paths)
    while k > 1 and (held < target or k == len(paths)):
        k -= 1
        held += sizes[k]
    return paths[:k], paths[k:]


def _linked(paths: list[str], parent: str) -> str:
    """A folder of symlinks to `paths` (the data tools take one folder, file or glob)."""
    folder = tempfile.mkdtemp(dir=parent)
    for i, p in enumerate(paths):
        os.symlink(os.path.abspath(p), os.path.join(folder, f"{i:05d}_{os.path.basename(p)}"))
    return folder


def _build(step: str, *args: str) -> None:
    print(f"{PROGRAM}: {step}", flush=True)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "data_prep", "build_pretraining_dataset.py"), *args]
    )
    if proc.returncode:
        raise ValueError(f"{step} failed (exit {proc.returncode})")


def prepare_data(
    data_dir: str,
    corpus_dir: str,
    data: dict,
    vocab_file: str | None,
    num_processes: int,
    heldout_share: float,
) -> None:
    from electra_tf.data.corpus import list_corpus_files

    paths = sorted(list_corpus_files(corpus_dir))
    train, heldout = split_corpus(paths, heldout_share)
    os.makedirs(data_dir, exist_ok=True)
    work = tempfile.mkdtemp(dir=data_dir, prefix=".recipe_")
    seq = f"--max_seq_length={data.get('max_seq_length', 128)}"
    common = [seq, f"--num_processes={num_processes}"]
    try:
        vocab = os.path.join(data_dir, "vocab.txt")
        if not os.path.exists(vocab):
            if data.get("learn_vocab_size"):
                budget, sample = data.get("vocab_sample_mb", 10) * 2**20, []
                for p in train:
                    if sum(os.path.getsize(s) for s in sample) >= budget:
                        break
                    sample.append(p)
                out = os.path.join(work, "vocab")
                _build(
                    f"learning a {data['learn_vocab_size']}-token vocabulary from {len(sample)} file(s)",
                    f"--corpus_dir={_linked(sample, work)}",
                    f"--learn_vocab_size={data['learn_vocab_size']}",
                    f"--output_dir={out}",
                    seq,
                )
                shutil.copy(os.path.join(out, "vocab.txt"), vocab)
            elif vocab_file:
                shutil.copy(vocab_file, vocab)
            else:
                raise ValueError("--vocab_file is required: the recipe learns no vocabulary")
        for name, files in (("pretrain_tfrecords", train), ("eval_tfrecords", heldout)):
            if not os.path.isdir(os.path.join(data_dir, name)):
                _build(
                    f"building {name} from {len(files)} file(s)",
                    f"--corpus_dir={_linked(files, work)}",
                    f"--vocab_file={vocab}",
                    f"--output_dir={os.path.join(data_dir, name)}",
                    *common,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _main() -> None:
    if not FLAGS.recipe or not FLAGS.corpus_dir or not FLAGS.data_dir:
        raise ValueError("--recipe, --corpus_dir and --data_dir are required")
    start = time.monotonic()
    hparams, data = load_recipe(FLAGS.recipe)
    init_checkpoint = stage_one_checkpoint(FLAGS.data_dir, FLAGS.recipe, data)
    prepare_data(
        FLAGS.data_dir, FLAGS.corpus_dir, data, FLAGS.vocab_file, FLAGS.num_processes, FLAGS.heldout_share
    )
    data_minutes = (time.monotonic() - start) / 60
    from pretrain.curves import plot_curves, read_scalars
    from pretrain.runner import train_or_eval

    hparams = {
        **hparams,
        "eval_tfrecords": os.path.join(FLAGS.data_dir, "eval_tfrecords", "*"),
        "do_eval": True,
    }
    if init_checkpoint:
        hparams["init_checkpoint"] = init_checkpoint
        print(f"{PROGRAM}: {FLAGS.recipe} starts from {init_checkpoint} (recipe {data['init_from_recipe']})")
    results = train_or_eval(FLAGS.data_dir, FLAGS.recipe, json.dumps(hparams))
    model_dir = os.path.join(FLAGS.data_dir, "models", FLAGS.recipe)
    curves = read_scalars(model_dir)
    plot = os.path.join(model_dir, "training_curves.png")
    plot_curves(curves, plot, f"electra-tf recipe {FLAGS.recipe}")
    summary = {
        "recipe": FLAGS.recipe,
        "data_minutes": data_minutes,
        "total_minutes": (time.monotonic() - start) / 60,
        "eval": results,
        "final": {tag: values[-1] for tag, values in curves.items()},
    }
    with open(os.path.join(model_dir, "recipe_summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print(f"\n{PROGRAM}: summary of {FLAGS.recipe}")
    for tag in (
        "acc/mlm",
        "acc/disc_mlm",
        "disc/auc",
        "disc/auc_unigram",
        "disc/hidden_cosine",
        "probe/flagged",
    ):
        if tag in curves:
            (s0, v0), (s1, v1) = curves[tag][0], curves[tag][-1]
            print(f"  {tag:20s} step {s0:6d}: {v0:7.3f}  ->  step {s1:6d}: {v1:7.3f}")
    print(f"  data {data_minutes:.1f} min, total {summary['total_minutes']:.1f} min")
    print(f"  TensorBoard: tensorboard --logdir {model_dir}\n  curves: {plot}")


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    define_flags()
    app.run(main)
