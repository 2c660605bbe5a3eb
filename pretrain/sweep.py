"""Runs a list of pre-training configurations back to back on the same records and tabulates them.

    python pretrain/sweep.py --data_dir=$DATA_DIR --sweep=pretrain/sweeps/plateau.json \
        [--max_minutes=15] [--max_steps=3000] [--only=a,b] [--threads=0]

The sweep file is a JSON object {"name": ..., "base": {hparams}, "runs": [{"name": ...,
"hparams": {...}}, ...]}: each run's hparams are merged over `base` and trained into
$DATA_DIR/models/<sweep>_<run>/ (a rerun resumes an unfinished run and skips a finished one), capped
by `--max_steps` (num_train_steps) and `--max_minutes` of training. The table — final and best
`disc/auc`, the lowest `disc/auc` once the generator's MLM accuracy passed 10%, final
`disc/auc_unigram`, MLM accuracy, probe, steps/s, wall time — is printed and written to
$DATA_DIR/models/sweeps/<sweep>.md with a .json twin (every run's logged curves) and <sweep>.png.
"""

from __future__ import annotations

import json
import math
import os
import time

from absl import app, flags

from electra_tf import atomic
from electra_tf.cli import absl_main


def define_flags() -> None:
    """The command line's flags (defined only when run as a program, so importing this module for
    `run_sweep` leaves absl's flag registry alone)."""
    flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/, vocab.txt and models/.")
    flags.DEFINE_string("sweep", None, "The sweep's JSON file.")
    flags.DEFINE_float("max_minutes", None, "Training wall-time cap per run (minutes).")
    flags.DEFINE_integer("max_steps", None, "Step cap per run (overrides num_train_steps).")
    flags.DEFINE_list("only", [], "Run only these runs of the sweep (by name).")
    flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0 = all cores).")


FLAGS = flags.FLAGS
PROGRAM = "sweep"
MLM_THRESHOLD = 0.10

COLUMNS = (
    ("run", "name", "{}"),
    ("steps", "steps", "{:d}"),
    ("final disc/auc", "final_auc", "{:.3f}"),
    ("best disc/auc", "best_auc", "{:.3f}"),
    ("min disc/auc after MLM acc 10%", "auc_after_mlm10", "{:.3f}"),
    ("final disc/auc_unigram", "final_auc_unigram", "{:.3f}"),
    ("best disc/auc_unigram", "best_auc_unigram", "{:.3f}"),
    ("MLM acc", "mlm_acc", "{:.3f}"),
    ("probe flagged", "probe_flagged", "{:.0f}"),
    ("probe median ratio", "probe_ratio", "{:.2f}"),
    ("hidden cosine", "hidden_cosine", "{:.2f}"),
    ("steps/s", "steps_per_sec", "{:.2f}"),
    ("wall min", "wall_minutes", "{:.1f}"),
)


def load_sweep(path: str) -> dict:
    """The sweep file, checked: a name, a base mapping and named runs (ValueError otherwise)."""
    try:
        with open(path, encoding="utf-8") as f:
            sweep = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read sweep file {path}: {e}") from None
    if not isinstance(sweep, dict) or not isinstance(sweep.get("runs"), list) or not sweep["runs"]:
        raise ValueError(f'sweep file {path}: needs a non-empty list under "runs"')
    names = [run.get("name") for run in sweep["runs"]]
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(f'sweep file {path}: every run needs a distinct "name", got {names}')
    sweep.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    sweep.setdefault("base", {})
    return sweep


def summarize(name: str, history: list[tuple[int, dict]], wall_seconds: float) -> dict:
    """A run's logged scalars [(step, scalars)] → one table row (NaN where a scalar is absent)."""

    def series(key):
        return [s[key] for _, s in history if key in s]

    def pick(values, fn):
        return fn(values) if values else math.nan

    last = history[-1][1] if history else {}
    after = [s["disc/auc"] for _, s in history if s.get("acc/mlm", 0.0) >= MLM_THRESHOLD]
    return {
        "name": name,
        "steps": history[-1][0] if history else 0,
        "final_auc": last.get("disc/auc", math.nan),
        "best_auc": pick(series("disc/auc"), max),
        "auc_after_mlm10": pick(after, min),
        "final_auc_unigram": last.get("disc/auc_unigram", math.nan),
        "best_auc_unigram": pick(series("disc/auc_unigram"), max),
        "mlm_acc": last.get("acc/mlm", math.nan),
        "probe_flagged": last.get("probe/flagged", math.nan),
        "probe_ratio": last.get("probe/median_ratio", math.nan),
        "hidden_cosine": last.get("disc/hidden_cosine", math.nan),
        "steps_per_sec": pick(series("perf/steps_per_sec"), lambda v: sorted(v)[len(v) // 2]),
        "wall_minutes": wall_seconds / 60.0,
    }


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(c[0] for c in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = []
        for _, key, fmt in COLUMNS:
            value = row.get(key)
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            cells.append("—" if missing else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("disc/auc", "disc/auc_unigram", "acc/mlm", "disc/hidden_cosine")
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, key in zip(axes, keys, strict=True):
        for name, run in results.items():
            points = [(step, s[key]) for step, s in run["history"] if key in s]
            if points:
                ax.plot(*zip(*points, strict=True), label=name)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_sweep(
    data_dir: str,
    sweep: dict,
    max_minutes: float | None = None,
    max_steps: int | None = None,
    only=(),
    log=print,
) -> list[dict]:
    """Trains every run (resuming unfinished ones), writes the table, curves and plot; returns rows."""
    from electra_tf import configs
    from pretrain.runner import train_or_eval

    out_dir = os.path.join(data_dir, "models", "sweeps")
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, f"{sweep['name']}.json")
    results = {}
    if os.path.exists(json_path):
        with open(json_path, encoding="utf-8") as f:
            results = json.load(f).get("runs", {})
    runs = [r for r in sweep["runs"] if not only or r["name"] in only]
    for k, run in enumerate(runs, 1):
        name = f"{sweep['name']}_{run['name']}"
        hparams = {**sweep["base"], **run.get("hparams", {})}
        if max_steps:
            hparams["num_train_steps"] = max_steps
        configs.config_from_hparams(name, data_dir, hparams)  # bad hparams fail before training
        previous = results.get(run["name"], {})
        if previous.get("done") and previous.get("hparams") == hparams:
            log(f"[{k}/{len(runs)}] {run['name']}: done before, skipped")
            continue
        log(f"[{k}/{len(runs)}] {run['name']}: {json.dumps(run.get('hparams', {}))}")
        history = (
            [tuple(h) for h in previous.get("history", [])] if previous.get("hparams") == hparams else []
        )
        start = time.monotonic()
        train_or_eval(
            data_dir,
            name,
            json.dumps(hparams),
            max_seconds=max_minutes * 60 if max_minutes else None,
            on_log=lambda step, scalars, h=history: h.append((step, scalars)),
            log=lambda line, n=run["name"]: log(f"  {n}: {line}"),
        )
        wall = time.monotonic() - start + previous.get("wall_seconds", 0.0)
        results[run["name"]] = {"hparams": hparams, "history": history, "wall_seconds": wall, "done": True}
        _write(out_dir, sweep, results)
        import tf_keras

        tf_keras.backend.clear_session()
    rows = _write(out_dir, sweep, results)
    log(markdown_table(rows))
    return rows


def _write(out_dir: str, sweep: dict, results: dict) -> list[dict]:
    rows = [summarize(n, r["history"], r["wall_seconds"]) for n, r in results.items()]
    stem = os.path.join(out_dir, sweep["name"])
    for suffix, text in (
        (".json", json.dumps({"sweep": sweep, "runs": results, "table": rows}, indent=1, default=float)),
        (".md", markdown_table(rows) + "\n"),
    ):
        atomic.write_text(stem + suffix, text)
    plot(results, stem + ".png")
    return rows


def _main() -> None:
    if not FLAGS.data_dir or not FLAGS.sweep:
        raise ValueError("--data_dir and --sweep are required")
    sweep = load_sweep(FLAGS.sweep)
    unknown = sorted(set(FLAGS.only) - {r["name"] for r in sweep["runs"]})
    if unknown:
        raise ValueError(f"--only names runs not in {FLAGS.sweep}: {', '.join(unknown)}")
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    run_sweep(
        FLAGS.data_dir,
        sweep,
        FLAGS.max_minutes,
        FLAGS.max_steps,
        FLAGS.only,
        log=lambda line: print(f"{PROGRAM}: {line}", flush=True),
    )


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    define_flags()
    app.run(main)
