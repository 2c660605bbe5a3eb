"""Training curves: the scalars of a model dir's TensorBoard event files, and a PNG of them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

Curves = dict[str, list[tuple[int, float]]]

# The panels a pre-training run is judged by: losses; generator and discriminator skill; diagnostics.
PRETRAINING_PANELS = (
    ("loss/total", "loss/mlm", "loss/disc", "loss/disc_mlm"),
    ("acc/mlm", "acc/disc_mlm", "disc/auc", "disc/auc_unigram"),
    ("disc/hidden_cosine", "probe/median_ratio"),
)


def read_scalars(model_dir: str) -> Curves:
    """tag → [(step, value)] for every scalar `tf.summary.scalar` wrote into `model_dir` (a resumed
    run's repeated steps keep the last value)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(model_dir, size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    curves = {}
    for tag in acc.Tags()["tensors"]:
        by_step = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}
        curves[tag] = sorted(by_step.items())
    return curves


def exit_shares(curves: dict, layers: list[int]) -> dict[int, float] | None:
    """Where a run's exits were, exit layer → share, None without exit scalars: the mean of the
    logged `adaptive/p_<l>` (the generator's sampling distribution), or the share of log lines whose
    `early_exit/exit_layer` was l (the discriminator's chosen exit)."""
    p_series = [curves.get(f"adaptive/p_{n}") for n in layers]
    if all(p_series):
        means = [statistics.fmean(v for _, v in series) for series in p_series]
        return {n: m / sum(means) for n, m in zip(layers, means, strict=True)}
    chosen = curves.get("early_exit/exit_layer")
    if chosen:
        counts = {n: sum(1 for _, v in chosen if round(v) == n) for n in layers}
        return {n: c / len(chosen) for n, c in counts.items()}
    return None


def plot_curves(curves: Curves, path: str, title: str, panels: Sequence[Sequence[str]] = PRETRAINING_PANELS):
    """One subplot per panel (its tags that `curves` has), saved as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [[t for t in tags if t in curves] for tags in panels]
    panels = [tags for tags in panels if tags]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, tags in zip(axes[0], panels, strict=True):
        for tag in tags:
            steps, values = zip(*curves[tag], strict=True)
            ax.plot(steps, values, label=tag)
        if tags[0].startswith("loss/"):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
